// The signals `outboxd run` answers (docs/operations.md): SIGTERM and SIGINT
// ask for a stop, SIGHUP for a reload. The handlers only set flags; the main
// loop polls them. Installed by main() before the configuration is read, so a
// stop asked for during start-up is never lost.
#pragma once

namespace outboxd::daemon {

void install_signal_handlers();

// The stop signal received (SIGTERM, SIGINT), or 0.
int stop_signal();
inline bool stopping() {
    return stop_signal() != 0;
}

// Whether a SIGHUP came since the last call (and forgets it).
bool take_reload_request();

} // namespace outboxd::daemon
