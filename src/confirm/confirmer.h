// One confirmation round (docs/consumers.md): committed offsets of the
// configured consumer groups confirm rows at 1, explicit consumer reports are
// applied, and rows past confirm.deadline_ms are reported, sent again or
// parked. The rules are confirm_rules.h; this drives them over the store and
// the broker through small interfaces, so it is unit-tested with fakes.
// The thread that calls round() (daemon/confirm_worker.h) owns everything here.
#pragma once

#include "common/status.h"
#include "confirm/confirm_rules.h"
#include "store/confirm_store.h"

#include <cstdint>
#include <string>
#include <vector>

namespace outboxd::confirm {

// Where a consumer group's committed offsets come from (Kafka's
// ListConsumerGroupOffsets). A failure skips that group for the round.
class OffsetSource {
public:
    virtual ~OffsetSource() = default;
    virtual Status committed(const std::string& group,
                             const std::vector<Partition>& partitions,
                             CommittedOffsets* out) = 0;
};

// Explicit consumer reports (confirm.ack_topic / confirm.ack_queue): a batch
// is taken, applied, then acknowledged (commit), so a crash in between
// applies it again, which changes nothing the second time.
class ReportSource {
public:
    virtual ~ReportSource() = default;
    // Up to `max` reports waiting now (none: empty). A failure is retried
    // next round.
    virtual Status take(std::size_t max, std::vector<Report>* out) = 0;
    // The reports of the last take() are applied: do not deliver them again.
    virtual Status done() = 0;
};

struct RoundResult {
    std::size_t confirmations = 0; // (row, consumer) pairs recorded
    std::size_t consumed = 0;      // rows that reached 3 with them
    std::size_t reports_applied = 0;
    std::size_t consumer_failures = 0; // rows moved to 4
    std::vector<std::string> ignored;  // reasons of ignored reports, one per report
    std::size_t resent = 0;
    std::size_t parked = 0;
    std::vector<std::string> problems; // what could not be asked or applied this round
};

class Confirmer {
public:
    // `offsets` or `reports` may be null (RabbitMQ has no offsets; a Kafka
    // config without confirm.ack_topic has no reports). `source` is this
    // outbox's outbox-source: reports for another are ignored.
    Confirmer(Options opt,
              std::string source,
              std::size_t batch,
              store::ConfirmStore& store,
              OffsetSource* offsets,
              ReportSource* reports);

    // May throw store::StoreUnavailable (the caller retries later).
    RoundResult round();

    // A reload: the rules' options and confirm.batch_size.
    void set_options(Options opt, std::size_t batch) {
        opt_ = std::move(opt);
        batch_ = batch == 0 ? 1 : batch;
    }

private:
    void confirm_by_offsets(RoundResult& r);
    void apply_reports(RoundResult& r);
    void check_deadline(RoundResult& r);

    Options opt_;
    std::string source_;
    std::size_t batch_;
    store::ConfirmStore& store_;
    OffsetSource* offsets_;
    ReportSource* reports_;
};

// A round's statements per partition and group stop after this many
// batches, so one round stays short however far a consumer caught up.
inline constexpr int kMaxBatchesPerStep = 50;

} // namespace outboxd::confirm
