// The process exit codes of every outboxd command (docs/admin.md, "Exit
// codes"; the systemd unit's RestartPreventExitStatus=2).
#pragma once

namespace outboxd {

inline constexpr int kExitOk = 0;
// A runtime problem: a service unreachable at a point where waiting cannot
// help, the table missing, a refused audit, a failure that is not an outage.
inline constexpr int kExitFailure = 1;
// Bad usage or an invalid configuration: restarting cannot fix it.
inline constexpr int kExitUsage = 2;

} // namespace outboxd
