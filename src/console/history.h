// The console's last hour at a glance: the pending count and the send rate,
// sampled every kHistoryStep from the daemon's own metrics (no query). Pure:
// the caller passes the time and the readings.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace outboxd::console {

inline constexpr std::chrono::seconds kHistoryStep{15};
inline constexpr std::chrono::seconds kHistorySpan{3600};

struct HistoryPoint {
    std::int64_t at_ms = 0; // Unix milliseconds
    double pending = 0;
    double sent_per_minute = 0; // since the previous sample
};

class History {
public:
    // Takes a sample when kHistoryStep has passed since the last one (or on
    // the first call); `sent_total` is the counter of rows sent. Samples
    // older than kHistorySpan go. Returns true when a sample was taken.
    bool sample(std::int64_t now_ms, double pending, std::uint64_t sent_total);

    // Oldest first; the first sample has no rate and is left out.
    std::vector<HistoryPoint> points() const;
    // The rate of the latest step; nullopt before two samples.
    std::optional<double> sent_per_minute() const;

private:
    struct Sample {
        std::int64_t at_ms;
        double pending;
        std::uint64_t sent_total;
    };
    std::deque<Sample> samples_;
};

} // namespace outboxd::console
