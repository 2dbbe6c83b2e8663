// retention.mode partition (docs/operations.md): which partitions to add
// ahead of the application's ids and which are past them and may be dropped.
// Pure rules, no I/O: the housekeeper (daemon/housekeeper.h) asks the store
// for the table's PartitionState, plans here, and has the store carry it out.
//
// A partition spans about half the retention age of ids at the rate the
// application inserts (at least one retention round's worth), so a few
// partitions hold the rows retention keeps; two spans stay ready ahead of
// the newest id. Ids past every partition land in the default partition,
// which retention empties by DELETE: an application insert never fails for
// want of a partition. Once ids have run past the top, the next partition
// starts a tenth of a width above the newest id, so the ids taken while it
// is added still land in the default partition and not in its range.
#pragma once

#include "store/housekeeping_store.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace outboxd::daemon {

using Millis = std::chrono::milliseconds;

struct IdRange {
    std::int64_t lo = 0;
    std::int64_t hi = 0; // excluded
};

struct PartitionPlan {
    std::vector<IdRange> create; // in order, each starting where the last ends
    // Partitions whose whole range lies below the newest id, oldest first:
    // no new id lands in them; the store checks their rows before a drop.
    std::vector<store::Partition> candidates;
};

// The smallest and largest span of ids per partition.
inline constexpr std::int64_t kMinPartitionWidth = 10000;
inline constexpr std::int64_t kMaxPartitionWidth = INT64_C(1000000000);
// Most partitions added in one round, and most drop candidates looked at.
inline constexpr std::size_t kMaxPartitionsCreated = 4;
inline constexpr std::size_t kMaxDropCandidates = 8;

// Ids per partition for `ids_per_s` inserted ids a second.
std::int64_t partition_width(double ids_per_s, Millis age, Millis interval);

// Ids a second between two looks at the newest id `dt` apart; `previous`
// when the look-back is too short to say (under a second) or ids went back.
double id_rate(std::int64_t before, std::int64_t after, Millis dt, double previous);

PartitionPlan plan_partitions(const store::PartitionState& state, std::int64_t width);

} // namespace outboxd::daemon
