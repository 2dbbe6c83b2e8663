#include "log.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <unistd.h>

namespace inventory::log {

void line(Level level, const char* component, const std::string& message) noexcept {
    try {
        const auto now = std::chrono::system_clock::now();
        const std::time_t secs = std::chrono::system_clock::to_time_t(now);
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count()
            % 1000;
        std::tm tm{};
        gmtime_r(&secs, &tm);
        char stamp[64]; // room for any int the compiler cannot rule out
        std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<int>(ms));
        const char* name = level == Level::kInfo   ? "info "
                           : level == Level::kWarn ? "warn "
                                                   : "error";
        std::string text;
        text.reserve(message.size() + 64);
        text.append(stamp).append(" ").append(name).append(" [").append(component).append("] ");
        for (char c : message) {
            // One event, one line: a reason with a newline in it (a SQL
            // error's DETAIL) must not look like two events.
            text.push_back(c == '\n' ? ' ' : c);
        }
        text.push_back('\n');
        const char* p = text.data();
        size_t left = text.size();
        while (left > 0) {
            const ssize_t n = ::write(2, p, left);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return;
            }
            p += n;
            left -= static_cast<size_t>(n);
        }
    } catch (...) {
        // Logging must never take the consumer down (nor unwind into C).
    }
}

} // namespace inventory::log
