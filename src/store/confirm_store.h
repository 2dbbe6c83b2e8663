// What consumer confirmation (confirm/) asks of the outbox table, behind an
// interface so the confirmer's rounds are unit-tested with a fake.
// PgOutboxStore implements it on its own session (the confirmer's, never
// the relay's). Only used while confirm.consumers is not empty.
#pragma once

#include "common/clock.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace outboxd::store {

// A Kafka (topic, partition) that holds rows at 1.
struct SentPartition {
    std::string topic;
    std::int32_t partition = 0;
    bool operator<(const SentPartition& o) const {
        return topic != o.topic ? topic < o.topic : partition < o.partition;
    }
    bool operator==(const SentPartition& o) const {
        return topic == o.topic && partition == o.partition;
    }
};

// A row at 1 past confirm.deadline_ms.
struct OverdueRow {
    std::int64_t id = 0;
    std::vector<std::string> confirmed_by;
    int resends = 0;
};

// One line of `outboxd unconfirmed`.
struct UnconfirmedRow {
    std::int64_t id = 0;
    std::string topic;
    std::optional<std::string> key;
    std::int64_t sent_at_ms = 0;
    std::vector<std::string> confirmed_by;
    int resends = 0;
};

// Confirmations recorded (one per row and consumer) and, of those rows, how
// many reached 3 with it.
struct ConfirmCount {
    std::size_t confirmed = 0;
    std::size_t consumed = 0;
};

class ConfirmStore {
public:
    virtual ~ConfirmStore() = default;

    virtual std::vector<SentPartition> waiting_partitions() = 0;
    // Up to `limit` rows at 1 of `p` with offset < `below` not yet
    // confirmed by `group` get it (3 when that completes them).
    virtual ConfirmCount confirm_offsets(const std::string& group,
                                         const SentPartition& p,
                                         std::int64_t below,
                                         std::size_t limit) = 0;
    // Explicit reports. Nothing changed (confirmed 0, false): an unknown id,
    // a row already at 4, 2 or deleted. A repeated `consumed` report
    // changes nothing but counts as applied.
    virtual ConfirmCount report_consumed(std::int64_t id, const std::string& consumer) = 0;
    virtual bool report_failed(std::int64_t id, const std::string& last_error) = 0;
    // Oldest first, at most `limit`.
    virtual std::vector<OverdueRow> overdue(Millis deadline, std::size_t limit) = 0;
    virtual std::size_t resend(const std::vector<std::int64_t>& ids) = 0;
    virtual std::size_t park(const std::vector<std::int64_t>& ids,
                             const std::vector<std::string>& errors) = 0;
    // Counts, each at most `cap` (a gauge, not an audit).
    virtual std::int64_t unconfirmed_count(Millis deadline, std::int64_t cap) = 0;
    virtual std::int64_t not_confirmed_by(const std::string& consumer, std::int64_t cap) = 0;
};

} // namespace outboxd::store
