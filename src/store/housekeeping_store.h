// What the housekeeper (daemon/housekeeper.h) needs of the outbox table: the
// gauges' counts and retention. PgOutboxStore implements it; the
// housekeeper's unit tests use a fake. Errors as outbox_store.h says:
// StoreUnavailable for an outage, StoreFailure for anything else.
// One thread per instance.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace outboxd::store {

// The metrics refresh: cheap enough to run every few seconds on any backlog.
// Counts stop at kHealthCountCap (then *_capped is true and the count means
// "at least"); the age is that of the lowest pending id.
struct HealthSummary {
    std::int64_t pending = 0;
    bool pending_capped = false;
    std::int64_t parked = 0;
    bool parked_capped = false;
    double oldest_pending_age_s = 0; // 0 when nothing is pending
};

// One range partition of the outbox table (retention.mode partition): ids
// from lo up to, not including, hi.
struct Partition {
    std::string name; // in the table's schema
    std::int64_t lo = 0;
    std::int64_t hi = 0;
};

// The table's partitions as retention plans with them.
struct PartitionState {
    std::vector<Partition> partitions; // by lo; the default partition not among them
    bool has_default = false;
    // The newest id: the highest in the table, or the id sequence's last
    // value when higher (ids taken by transactions not yet committed).
    std::int64_t max_id = 0;
    std::int64_t max_default_id = 0; // the highest id in the default partition, 0 when empty
};

// What became of one partition retention tried to drop.
struct DropOutcome {
    enum class Kind {
        kDropped,
        kNotYet, // rows still pending, waiting for consumers, or sent too recently
        kHeld,   // rows at 2, 4 or 5 wait for a person
        kBusy,   // the table's lock was not free within the lock timeout
    };
    Kind kind = Kind::kNotYet;
    std::string why; // for kHeld and kBusy, in words
};

class HousekeepingStore {
public:
    virtual ~HousekeepingStore() = default;
    virtual HealthSummary health_summary() = 0;
    // Retention: deletes at most `limit` rows at 1 whose sent_at is older
    // than `age`, in one short transaction; never rows at 0 or 2. Returns
    // rows deleted (fewer than `limit`: nothing older is left).
    virtual std::size_t delete_sent_older_than(std::chrono::milliseconds age,
                                               std::size_t limit) = 0;
    // retention.mode partition. The table's partitions; StoreMisconfigured
    // when the table is not partitioned by range of id.
    virtual PartitionState partition_state() = 0;
    // Adds the partition [lo, hi) without blocking the application's inserts.
    virtual void create_partition(std::int64_t lo, std::int64_t hi) = 0;
    // Drops `p` if every row in it is sent (3 with confirmation) and older
    // than `age`; never while a row at 0, 2, 4 or 5 (or 1 with
    // confirmation) is in it, checked again under the table's lock.
    virtual DropOutcome drop_partition(const Partition& p, std::chrono::milliseconds age) = 0;
};

} // namespace outboxd::store
