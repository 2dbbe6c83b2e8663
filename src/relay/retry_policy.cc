#include "relay/retry_policy.h"

#include <algorithm>

namespace outboxd::relay {

Millis RetryPolicy::backoff(int attempts, double unit_random) const {
    const auto cap = std::max<Millis::rep>(max.count(), 1);
    Millis::rep delay = std::max<Millis::rep>(initial.count(), 1);
    // Doubling stops at the cap, so this never overflows whatever `attempts` is.
    for (int i = 1; i < attempts && delay < cap; ++i) {
        delay *= 2;
    }
    delay = std::min(delay, cap);
    const double r = std::clamp(unit_random, 0.0, 1.0);
    const auto off = static_cast<Millis::rep>(static_cast<double>(delay) * jitter * r);
    return Millis(std::max<Millis::rep>(delay - off, 1));
}

} // namespace outboxd::relay
