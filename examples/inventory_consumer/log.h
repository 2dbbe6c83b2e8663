// One line per event on stderr, in outboxd's text format
// ("2025-01-31T12:00:00.000Z info  [consumer] message"). Each line is a
// single write(2), so lines from librdkafka's threads never interleave with
// ours and a kill -9 never leaves half a line. Any thread may call it.
#pragma once

#include <sstream>
#include <string>

namespace inventory::log {

enum class Level { kInfo, kWarn, kError };

void line(Level level, const char* component, const std::string& message) noexcept;

// log::info("db") << "reachable again";  -- the line is written at the end
// of the full expression.
class Line {
public:
    Line(Level level, const char* component)
        : level_(level)
        , component_(component) {}
    ~Line() { line(level_, component_, out_.str()); }
    Line(const Line&) = delete;
    Line& operator=(const Line&) = delete;

    template <typename T>
    Line& operator<<(const T& v) {
        out_ << v;
        return *this;
    }

private:
    Level level_;
    const char* component_;
    std::ostringstream out_;
};

inline Line info(const char* component) {
    return Line(Level::kInfo, component);
}
inline Line warn(const char* component) {
    return Line(Level::kWarn, component);
}
inline Line error(const char* component) {
    return Line(Level::kError, component);
}

} // namespace inventory::log
