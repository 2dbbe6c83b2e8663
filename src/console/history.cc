#include "console/history.h"

namespace outboxd::console {
namespace {

constexpr std::int64_t kStepMs = std::chrono::milliseconds(kHistoryStep).count();
constexpr std::int64_t kSpanMs = std::chrono::milliseconds(kHistorySpan).count();

double per_minute(std::uint64_t from, std::uint64_t to, std::int64_t ms) {
    if (ms <= 0 || to < from) {
        return 0; // a counter never goes back; a restart starts a new series
    }
    return static_cast<double>(to - from) * 60000.0 / static_cast<double>(ms);
}

} // namespace

bool History::sample(std::int64_t now_ms, double pending, std::uint64_t sent_total) {
    if (!samples_.empty() && now_ms - samples_.back().at_ms < kStepMs) {
        return false;
    }
    samples_.push_back({now_ms, pending, sent_total});
    while (!samples_.empty() && now_ms - samples_.front().at_ms > kSpanMs) {
        samples_.pop_front();
    }
    return true;
}

std::vector<HistoryPoint> History::points() const {
    std::vector<HistoryPoint> out;
    for (std::size_t i = 1; i < samples_.size(); ++i) {
        const auto& a = samples_[i - 1];
        const auto& b = samples_[i];
        out.push_back(
            {b.at_ms, b.pending, per_minute(a.sent_total, b.sent_total, b.at_ms - a.at_ms)});
    }
    return out;
}

std::optional<double> History::sent_per_minute() const {
    if (samples_.size() < 2) {
        return std::nullopt;
    }
    const auto& a = samples_[samples_.size() - 2];
    const auto& b = samples_.back();
    return per_minute(a.sent_total, b.sent_total, b.at_ms - a.at_ms);
}

} // namespace outboxd::console
