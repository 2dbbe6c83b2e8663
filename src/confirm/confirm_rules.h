// The rules of consumer confirmation (statuses 3 and 4, docs/design.md §1): which
// rows a consumer group's committed offsets confirm, what an explicit
// consumer report does, and what happens to a row nobody confirmed in time.
// No I/O: the confirmer (confirm/confirmer.h) feeds these from Kafka and
// PostgreSQL and writes their decisions back; tests feed them by hand.
#pragma once

#include "common/clock.h"
#include "publish/consumer_report.h"
#include "store/confirm_store.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace outboxd::confirm {

struct Options {
    std::vector<std::string> consumers; // confirm.consumers; empty: the feature is off
    Millis deadline{0};                 // confirm.deadline_ms; 0: no deadline
    bool resend_unconfirmed = false;    // confirm.resend_unconfirmed
    int max_resends = 3;                // confirm.max_resends
};

// A (topic, partition) that holds sent rows still waiting for a consumer.
using Partition = store::SentPartition;

// One group's committed offsets: the next offset the group will read, per
// partition. Partitions the group never committed are absent.
using CommittedOffsets = std::map<Partition, std::int64_t>;

// "Rows of `partition` below `below` are confirmed by `group`": one UPDATE.
struct OffsetConfirmation {
    std::string group;
    Partition partition;
    std::int64_t below = 0;
};

// From each configured group's committed offsets, the confirmations to
// apply to the partitions that still hold waiting rows. A group absent from
// `committed` (not asked, or the ask failed) contributes nothing; offsets
// below 0 (librdkafka's "no committed offset") neither.
std::vector<OffsetConfirmation>
offset_confirmations(const Options& opt,
                     const std::vector<Partition>& waiting,
                     const std::map<std::string, CommittedOffsets>& committed);

// True when `confirmed_by` holds every configured consumer: status 3.
bool fully_confirmed(const Options& opt, const std::vector<std::string>& confirmed_by);

// The configured consumers not in `confirmed_by`, in configuration order.
std::vector<std::string> missing_consumers(const Options& opt,
                                           const std::vector<std::string>& confirmed_by);

// ---- explicit reports ------------------------------------------------------

// A consumer's report (confirm.ack_topic / confirm.ack_queue), as read from
// the message's headers and body.
using Report = publish::ConsumerReport;

// What to do with a report. Anything not kConsumed/kFailed is ignored and
// counted under `ignored_reason` (a metric label): never fatal.
struct ReportDecision {
    enum class Kind { kConsumed, kFailed, kIgnored };
    Kind kind = Kind::kIgnored;
    std::int64_t id = 0;
    std::string consumer;
    std::string last_error;     // kFailed: "<consumer>: <reason>"
    std::string ignored_reason; // kIgnored: other_source, malformed, unknown_consumer
};

// The longest reason kept from a failed report's body (last_error stays
// readable; a consumer may send a stack trace).
inline constexpr std::size_t kMaxReasonBytes = 1000;

ReportDecision decide_report(const Options& opt, const std::string& source, const Report& r);

// ---- the deadline ------------------------------------------------------------

// A sent row past confirm.deadline_ms without every consumer's confirmation.
using OverdueRow = store::OverdueRow;

struct OverdueDecision {
    enum class Kind { kReport, kResend, kPark };
    Kind kind = Kind::kReport; // kReport: stays at 1, shown as unconfirmed
    std::string last_error;    // kPark: names the consumers that never confirmed
};

OverdueDecision decide_overdue(const Options& opt, const OverdueRow& row);

} // namespace outboxd::confirm
