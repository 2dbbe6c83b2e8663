// What both broker loops of the inventory consumer share: the stop signal,
// back-off, the database retry loop and the counts of the summary line.
// Main thread only (the signal flag is also written by the handler).
#pragma once

#include "inventory_db.h"
#include "log.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

namespace inventory {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// SIGTERM / SIGINT handlers set the flag; the loops finish the current
// message and stop.
void install_stop_handlers();
bool stopping();

// Sleeps up to `d`, waking early for a stop signal.
void sleep_unless_stopping(milliseconds d);

// Doubling waits from 250 ms up to 10 s for the retry loops.
class Backoff {
public:
    milliseconds next() {
        current_ =
            current_.count() == 0 ? milliseconds(250) : std::min(current_ * 2, milliseconds(10000));
        return current_;
    }
    void reset() { current_ = milliseconds(0); }

private:
    milliseconds current_{0};
};

struct Counts {
    long applied = 0;
    long duplicates = 0;
    long failed = 0;
};

std::string summary(const Counts& c);

// The consumer cannot go on (not an outage): a database error that
// retrying will not fix, a report the broker refuses, a fatal Kafka error.
struct Stop : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class Outcome { kDone, kInterrupted };

// Runs `fn` until it returns; DbUnavailable waits with back-off (one line
// when the outage starts, one when it ends). DbFailure goes through.
// False: stopped by a signal while waiting.
template <typename F>
bool with_db_retry(const char* what, F fn) {
    Backoff backoff;
    bool down = false;
    for (;;) {
        try {
            fn();
            if (down) {
                log::info("db") << "database reachable again";
            }
            return true;
        } catch (const DbUnavailable& e) {
            const auto wait = backoff.next();
            if (!down || wait.count() >= 10000) {
                log::warn("db") << "database unavailable while " << what << ": " << e.what()
                                << "; retrying in " << wait.count() << " ms";
            }
            down = true;
            sleep_unless_stopping(wait);
            if (stopping()) {
                return false;
            }
        }
    }
}

} // namespace inventory
