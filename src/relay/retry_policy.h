// Back-off for counted failures (docs/design.md G3): exponential from `initial`,
// capped at `max`, with downward jitter so many rows failing together do not
// come back in the same instant. Pure function of its inputs; any thread.
#pragma once

#include "common/clock.h"

namespace outboxd::relay {

struct RetryPolicy {
    int max_attempts = 5;
    Millis initial{1000};
    Millis max{60000};
    double jitter = 0.2; // fraction of the delay that may be taken off at random

    // True when a row that has now failed `attempts` times must be parked.
    bool exhausted(int attempts) const { return attempts >= max_attempts; }

    // Delay before the next try of a row that has failed `attempts` (>= 1) times.
    // `unit_random` is in [0, 1).
    Millis backoff(int attempts, double unit_random) const;
};

} // namespace outboxd::relay
