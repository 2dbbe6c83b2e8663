// Durations an operator types ("90s", "15m", "2h", "3d"): `outboxd failed
// --older-than` and the other review commands. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace outboxd {

// A whole number >= 0 and one unit, nothing else: ms, s, m (minutes), h, d
// (24 hours). No bare number (seconds or milliseconds? the reader cannot
// tell), no sign, no spaces, no fractions. The milliseconds, or nullopt,
// also when they pass the int64 range.
std::optional<std::int64_t> parse_duration_ms(std::string_view text);

// What is wrong with `text` as a duration ("" for nothing), for CLI11's
// validators.
std::string duration_problem(std::string_view text);

} // namespace outboxd
