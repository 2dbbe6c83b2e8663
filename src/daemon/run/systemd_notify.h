// The systemd service protocol (sd_notify): READY=1 once the daemon serves,
// WATCHDOG=1 from the main loop when the unit sets WatchdogSec, STOPPING=1
// on shutdown, and a one-line STATUS= for `systemctl status`. Without
// libsystemd at build time, or outside systemd (no NOTIFY_SOCKET), every call
// does nothing. Main thread only.
#pragma once

#include "common/clock.h"

#include <string>

namespace outboxd::daemon {

class SystemdNotifier {
public:
    SystemdNotifier();

    static void ready(const std::string& status);
    static void stopping(const std::string& status);
    static void status(const std::string& status);
    // Pings the watchdog at most every half of WatchdogSec; cheap to call on
    // every loop turn.
    void watchdog();

private:
    Clock::duration interval_{0}; // half of WatchdogSec; 0: watchdog off
    TimePoint next_ping_{};
};

} // namespace outboxd::daemon
