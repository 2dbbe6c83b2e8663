#include "daemon/run/systemd_notify.h"

#ifdef OUTBOXD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include <cstdint>

namespace outboxd::daemon {
namespace {

void notify([[maybe_unused]] const std::string& text) {
#ifdef OUTBOXD_HAVE_SYSTEMD
    // unset_environment=0: the environment is left alone, so a later
    // message (WATCHDOG=1, STOPPING=1) still finds the socket.
    sd_notify(0, text.c_str());
#endif
}

} // namespace

SystemdNotifier::SystemdNotifier() {
#ifdef OUTBOXD_HAVE_SYSTEMD
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        interval_ = std::chrono::microseconds(usec / 2);
    }
#endif
}

void SystemdNotifier::ready(const std::string& status) {
    notify("READY=1\nSTATUS=" + status);
}

void SystemdNotifier::stopping(const std::string& status) {
    notify("STOPPING=1\nSTATUS=" + status);
}

void SystemdNotifier::status(const std::string& status) {
    notify("STATUS=" + status);
}

void SystemdNotifier::watchdog() {
    if (interval_.count() == 0) {
        return;
    }
    const auto now = Clock::now();
    if (now < next_ping_) {
        return;
    }
    next_ping_ = now + interval_;
    notify("WATCHDOG=1");
}

} // namespace outboxd::daemon
