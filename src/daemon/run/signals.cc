#include "daemon/run/signals.h"

#include <atomic>
#include <csignal>

namespace outboxd::daemon {
namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_reload{false};

extern "C" void on_stop_signal(int sig) {
    g_stop_signal.store(sig);
}

extern "C" void on_reload_signal(int /*sig*/) {
    g_reload.store(true);
}

} // namespace

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    // No SA_RESTART: a blocking wait for notifications returns at once.
    sa.sa_flags = 0;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    // SIGHUP re-reads the configuration; before `run` reaches its loop the
    // flag simply waits there, so an early SIGHUP does not kill the daemon.
    struct sigaction hup {};
    hup.sa_handler = on_reload_signal;
    sigemptyset(&hup.sa_mask);
    hup.sa_flags = 0;
    sigaction(SIGHUP, &hup, nullptr);
}

int stop_signal() {
    return g_stop_signal.load();
}

bool take_reload_request() {
    return g_reload.exchange(false);
}

} // namespace outboxd::daemon
