#include "common/iso_time.h"

#include <array>
#include <cstdio>
#include <ctime>

namespace outboxd {

std::string iso8601_utc(std::int64_t unix_ms) {
    std::int64_t secs = unix_ms / 1000;
    std::int64_t millis = unix_ms % 1000;
    if (millis < 0) {
        secs -= 1;
        millis += 1000;
    }
    const auto t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 40> buf{};
    const int n = std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                                tm.tm_sec, static_cast<int>(millis));
    return {buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0};
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
    return iso8601_utc(
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

} // namespace outboxd
