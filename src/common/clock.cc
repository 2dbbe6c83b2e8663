#include "common/clock.h"

namespace outboxd {

XorShiftRandom::XorShiftRandom(std::uint64_t seed)
    : state_(seed == 0 ? 0x9E3779B97F4A7C15ULL : seed) {}

double XorShiftRandom::next_unit() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    const std::uint64_t r = state_ * 0x2545F4914F6CDD1DULL;
    // 53 high bits -> [0, 1)
    return static_cast<double>(r >> 11) * (1.0 / 9007199254740992.0);
}

} // namespace outboxd
