// What the housekeeper (daemon/housekeeper.h) needs of the outbox table: the
// gauges' counts and retention. PgOutboxStore implements it; the
// housekeeper's unit tests use a fake. Errors as outbox_store.h says:
// StoreUnavailable for an outage, StoreFailure for anything else.
// One thread per instance.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

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

class HousekeepingStore {
public:
    virtual ~HousekeepingStore() = default;
    virtual HealthSummary health_summary() = 0;
    // Retention: deletes at most `limit` rows at 1 whose sent_at is older
    // than `age`, in one short transaction; never rows at 0 or 2. Returns
    // rows deleted (fewer than `limit`: nothing older is left).
    virtual std::size_t delete_sent_older_than(std::chrono::milliseconds age,
                                               std::size_t limit) = 0;
};

} // namespace outboxd::store
