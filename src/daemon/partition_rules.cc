#include "daemon/partition_rules.h"

#include <algorithm>
#include <cmath>

namespace outboxd::daemon {

std::int64_t partition_width(double ids_per_s, Millis age, Millis interval) {
    const Millis span = std::max(age / 2, interval);
    const double ids =
        std::ceil(std::max(0.0, ids_per_s) * static_cast<double>(span.count()) / 1000.0);
    if (!(ids < static_cast<double>(kMaxPartitionWidth))) { // NaN too
        return kMaxPartitionWidth;
    }
    return std::max(kMinPartitionWidth, static_cast<std::int64_t>(ids));
}

double id_rate(std::int64_t before, std::int64_t after, Millis dt, double previous) {
    if (dt < Millis(1000) || after < before) {
        return previous;
    }
    return static_cast<double>(after - before) * 1000.0 / static_cast<double>(dt.count());
}

PartitionPlan plan_partitions(const store::PartitionState& state, std::int64_t width) {
    PartitionPlan plan;
    std::vector<store::Partition> by_lo = state.partitions;
    std::sort(by_lo.begin(), by_lo.end(),
              [](const store::Partition& a, const store::Partition& b) { return a.lo < b.lo; });
    std::int64_t top = 0;
    for (const auto& p : by_lo) {
        top = std::max(top, p.hi);
        if (p.hi <= state.max_id && plan.candidates.size() < kMaxDropCandidates) {
            plan.candidates.push_back(p);
        }
    }
    // Ids at or below max_default_id are in the default partition: a new
    // partition may not cover them (PostgreSQL refuses to attach it). When
    // the ids have reached the top, the application goes on taking them
    // while the partition is added, and they land in the default
    // partition too: the new one starts a tenth of a width (a tenth of a
    // round's ids at least) above the newest id.
    std::int64_t lo = std::max({top, state.max_default_id + 1, INT64_C(1)});
    std::int64_t want = state.max_id + 2 * width;
    if (state.max_id > 0 && state.max_id + 1 >= lo) {
        lo = state.max_id + 1 + std::max<std::int64_t>(1, width / 10);
        want = lo + 2 * width - 1; // two partitions past the jump too
    }
    while (lo <= want && plan.create.size() < kMaxPartitionsCreated) {
        plan.create.push_back({lo, lo + width});
        lo += width;
    }
    return plan;
}

} // namespace outboxd::daemon
