// ISO-8601 timestamps in UTC with milliseconds ("2024-05-01T12:00:00.123Z"):
// the one format outboxd prints times in (JSON logs, admin listings).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace outboxd {

// Unix milliseconds, negative ones included (floor, not truncation).
std::string iso8601_utc(std::int64_t unix_ms);
std::string iso8601_utc(std::chrono::system_clock::time_point t);

} // namespace outboxd
