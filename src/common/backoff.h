// Exponential back-off between two bounds, in one place: the relay's
// database retries and the start-up wait for PostgreSQL use it. (The retry
// of a row after a counted failure is relay::RetryPolicy: attempt-based and
// jittered, a different rule.) No clock inside; one thread per object.
#pragma once

#include "common/clock.h"

#include <algorithm>

namespace outboxd {

class Backoff {
public:
    Backoff(Millis initial, Millis max)
        : initial_(initial)
        , max_(max) {}

    // The next delay: `initial` after a reset, then doubled up to `max`.
    Millis next() {
        current_ = current_.count() == 0 ? initial_ : std::min(current_ * 2, max_);
        return current_;
    }
    // After a success: the next failure starts at `initial` again.
    void reset() { current_ = Millis(0); }
    // New bounds (a reload), keeping the position.
    void set_bounds(Millis initial, Millis max) {
        initial_ = initial;
        max_ = max;
        current_ = std::min(current_, max_);
    }

private:
    Millis initial_;
    Millis max_;
    Millis current_{0};
};

} // namespace outboxd
