// The subcommands of the outboxd binary. Each returns the process exit code:
// 0 success, 1 a runtime problem (service unreachable, audit refused),
// 2 bad usage or configuration.
#pragma once

#include "config/config.h"

#include <string>

namespace outboxd::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// SIGTERM/SIGINT set a flag that `run` polls; installed by main() before the
// configuration is read, so a stop request during start-up is never lost.
void install_stop_handlers();

int cmd_run(const config::Config& cfg);
int cmd_migrate(const config::Config& cfg);
int cmd_check(const config::Config& cfg);

} // namespace outboxd::cli
