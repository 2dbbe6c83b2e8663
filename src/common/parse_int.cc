#include "common/parse_int.h"

#include <charconv>
#include <system_error>

namespace outboxd {

IntParse parse_int64(std::string_view text, std::int64_t* out) {
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
    if (text.empty() || ptr != end || ec == std::errc::invalid_argument) {
        return IntParse::kNotANumber;
    }
    if (ec == std::errc::result_out_of_range) {
        return IntParse::kOutOfRange;
    }
    *out = value;
    return IntParse::kOk;
}

std::optional<std::int64_t> to_int64(std::string_view text) {
    std::int64_t v = 0;
    if (parse_int64(text, &v) != IntParse::kOk) {
        return std::nullopt;
    }
    return v;
}

} // namespace outboxd
