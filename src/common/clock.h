// Time source for the relay core. Production code uses SteadyClock; tests
// inject a ManualClock so back-off and time-outs are deterministic.
// Not thread-safe by itself: each clock is used by the thread that owns it.
#pragma once

#include <chrono>
#include <cstdint>

namespace outboxd {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

class ClockSource {
public:
    virtual ~ClockSource() = default;
    virtual TimePoint now() const = 0;
};

class SteadyClock final : public ClockSource {
public:
    TimePoint now() const override { return Clock::now(); }
};

class ManualClock final : public ClockSource {
public:
    TimePoint now() const override { return now_; }
    void advance(Millis d) { now_ += d; }

private:
    TimePoint now_{std::chrono::hours(1)};
};

// Source of jitter in [0, 1). Injected for the same reason as the clock.
class RandomSource {
public:
    virtual ~RandomSource() = default;
    virtual double next_unit() = 0;
};

// xorshift64*: fast, good enough for back-off jitter, not for secrets.
class XorShiftRandom final : public RandomSource {
public:
    explicit XorShiftRandom(std::uint64_t seed);
    double next_unit() override;

private:
    std::uint64_t state_;
};

} // namespace outboxd
