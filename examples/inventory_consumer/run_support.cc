#include "run_support.h"

#include <atomic>
#include <csignal>
#include <thread>

namespace inventory {
namespace {

std::atomic<int> g_signal{0}; // the stop signal, once one came

void on_signal(int sig) {
    g_signal.store(sig);
}

} // namespace

void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
}

bool stopping() {
    return g_signal.load() != 0;
}

void sleep_unless_stopping(milliseconds d) {
    const auto until = Clock::now() + d;
    while (!stopping() && Clock::now() < until) {
        std::this_thread::sleep_for(
            std::min<Clock::duration>(milliseconds(100), until - Clock::now()));
    }
}

std::string summary(const Counts& c) {
    return "applied=" + std::to_string(c.applied) + " duplicates=" + std::to_string(c.duplicates)
           + " failed=" + std::to_string(c.failed);
}

} // namespace inventory
