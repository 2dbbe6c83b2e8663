#include "common/duration.h"

#include "common/parse_int.h"

#include <array>
#include <cctype>
#include <utility>

namespace outboxd {
namespace {

// Longest suffix first: "ms" before "s" and "m".
constexpr std::array<std::pair<std::string_view, std::int64_t>, 5> kUnits{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

} // namespace

std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
    for (const auto& [suffix, unit_ms] : kUnits) {
        if (text.size() <= suffix.size() || text.substr(text.size() - suffix.size()) != suffix) {
            continue;
        }
        const auto digits = text.substr(0, text.size() - suffix.size());
        // parse_int64 takes a '-'; a duration is never negative.
        if (std::isdigit(static_cast<unsigned char>(digits.front())) == 0) {
            return std::nullopt;
        }
        const auto n = to_int64(digits);
        if (!n || *n > INT64_MAX / unit_ms) {
            return std::nullopt;
        }
        return *n * unit_ms;
    }
    return std::nullopt;
}

std::string duration_problem(std::string_view text) {
    if (parse_duration_ms(text)) {
        return "";
    }
    return "\"" + std::string(text)
           + "\" is not a duration (a whole number and a unit: 500ms, 90s, 15m, 2h, 3d)";
}

} // namespace outboxd
