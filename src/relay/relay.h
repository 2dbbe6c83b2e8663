// The relay's rules as a state machine: which pending rows to produce, in what
// order, when to stop reading (back-pressure), how to treat each outcome, and
// when to retry the database. It does no I/O of its own: it talks to the
// outbox table and to the broker only through OutboxStore and Publisher, and
// reads time only from the injected clock, so every rule is unit-tested with
// fakes. Nothing here knows which broker the publisher speaks to.
//
// Invariants kept here:
//  - A row is marked sent only after a successful delivery report (G1).
//  - Transient errors never count an attempt (G3); only row-level ones do.
//  - Rows of one (topic, key) are handed to the producer in id order, and a
//    row that waits for a retry holds back later rows of its key (G4).
//  - At most max_in_flight rows are in memory between fetch and outcome
//    write; beyond that the relay stops reading (back-pressure).
//  - No row is produced while max_in_flight_bytes (payload + key + headers)
//    are produced and not reported, and a fetch asks for no more bytes than
//    max_batch_bytes or the room left under that budget. The first row of a
//    fetch always comes, so a row larger than either budget is still sent
//    (on its own once the rows before it are reported): never stuck. The
//    bytes in flight therefore stay below max_in_flight_bytes plus one row.
//  - A fetched row's payload is released as soon as the producer has its
//    own copy: the relay never holds a batch twice. A row the producer
//    would refuse as too large (payload + key over max_message_bytes) is
//    fetched without its payload and counted as a row-level failure, so one
//    oversized row cannot take more memory than the budgets allow.
//  - An outcome that could not be written (database down) is kept and
//    written later; its row is not produced again meanwhile.
//  - Marks are written in the background (OutboxStore::begin_mark_sent), one
//    write at a time, while the relay goes on fetching and producing: a row
//    stays tracked until its mark has committed, so no fetch meanwhile can
//    produce it again, and a write that failed is begun again with the
//    same rows.
//
// One thread only: the daemon's main loop.
#pragma once

#include "common/backoff.h"
#include "common/clock.h"
#include "config/config.h"
#include "publish/publisher.h"
#include "relay/mapping.h"
#include "relay/observer.h"
#include "relay/retry_policy.h"
#include "store/outbox_store.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace outboxd::relay {

// Defaults: those of the relay.* options (config::defaults).
struct RelayOptions {
    // relay.* as the relay takes it; `max_message_bytes` is the broker's
    // (daemon/run/brokers.h max_message_bytes), 0 or less: none.
    static RelayOptions from(const config::Relay& relay, std::int64_t max_message_bytes);

    std::size_t batch_size = static_cast<std::size_t>(config::defaults::kRelayBatchSize);
    std::size_t max_in_flight = static_cast<std::size_t>(config::defaults::kRelayMaxInFlight);
    std::size_t max_batch_bytes = static_cast<std::size_t>(config::defaults::kRelayMaxBatchBytes);
    std::size_t max_in_flight_bytes =
        static_cast<std::size_t>(config::defaults::kRelayMaxInFlightBytes);
    // The producer's message.max.bytes: a row whose payload + key pass it
    // is counted as too large without its payload ever being read. 0: none.
    std::size_t max_message_bytes = 0;
    RetryPolicy retry;
    Millis poll_interval = config::defaults::kRelayPollInterval;
    Millis rescan_interval = config::defaults::kRelayRescanInterval;
    // Soonest a pass from id 0 follows the previous one when a fetch after a
    // wake-up found nothing past the cursor (the commit-gap check).
    Millis gap_rescan_min{100};
    Millis db_backoff_initial{100};
    Millis db_backoff_max{5000};
    // Longest single wait for delivery reports while rows are in flight;
    // also how late a notification of new rows is noticed meanwhile.
    Millis report_wait{1};
    // How rows become messages (postgres.layout and the mapping options,
    // message.envelope); the outboxd layout when left as it is.
    MappingOptions mapping;
};

// Counters since start, kept from the observer facts alone (see
// Relay::Counting); read by the main loop for logs and by benchmarks.
struct RelayStats {
    std::uint64_t fetched = 0;
    std::uint64_t produced = 0;
    std::uint64_t sent = 0;
    std::uint64_t failed_attempts = 0; // counted failures written, parked ones included
    std::uint64_t parked = 0;
    std::uint64_t transient_errors = 0;
    std::uint64_t producer_rebuilds = 0;
    std::uint64_t db_errors = 0;
    std::uint64_t passes = 0; // full rescans from the lowest pending id
    std::uint64_t batches = 0;

    // Adds another term's counters (the supervisor's totals over terms).
    RelayStats& operator+=(const RelayStats& o) {
        fetched += o.fetched;
        produced += o.produced;
        sent += o.sent;
        failed_attempts += o.failed_attempts;
        parked += o.parked;
        transient_errors += o.transient_errors;
        producer_rebuilds += o.producer_rebuilds;
        db_errors += o.db_errors;
        passes += o.passes;
        batches += o.batches;
        return *this;
    }
};

class Relay {
public:
    // Everything the relay uses is given here, in one shape. `observer`
    // (not owned; outlives the relay; null: nobody listens) hears every
    // fact and log line. `may_publish` (unset: always) is the fence of G5:
    // asked before every fetch and after every database error; once it says
    // no, the relay stops producing at once and fenced() turns true.
    Relay(RelayOptions options,
          store::OutboxStore& store,
          publish::Publisher& publisher,
          ClockSource& clock,
          RandomSource& random,
          RelayObserver* observer = nullptr,
          std::function<bool()> may_publish = {});

    // One turn of the loop: collect reports, write outcomes, read and produce
    // more rows when allowed, then wait (through the store or the publisher)
    // until there may be more to do. Never throws for database or broker
    // trouble; those become back-off and events.
    void step();

    // Stop reading rows; in-flight ones are still reported and recorded.
    void begin_shutdown();
    // After begin_shutdown: waits up to `timeout` for outstanding reports,
    // records every outcome it can. Returns the number of rows whose outcome
    // is unknown (left at status 0, sent again by the next run).
    std::size_t finish_shutdown(Millis timeout);

    bool fenced() const { return fenced_; }

    // After a fatal producer error the relay rebuilds the producer and then
    // reads and produces nothing until read_back_done(): rows in flight on
    // the dead producer may have reached the broker, and the owner runs the
    // read-back first (G6; daemon::Supervisor's kRebuilding).
    bool awaiting_read_back() const { return awaiting_read_back_; }
    void read_back_done() { awaiting_read_back_ = false; }

    // Replaces the tunable options (SIGHUP); takes effect on the next step.
    void set_options(const RelayOptions& options);

    std::size_t in_flight() const { return in_flight_count_; }
    // Bytes (payload + key + headers) of the rows in flight.
    std::size_t in_flight_bytes() const { return in_flight_bytes_; }
    std::size_t unwritten_outcomes() const {
        return marking_.size() + sent_unwritten_.size() + failures_unwritten_.size();
    }
    bool db_healthy() const { return !db_retry_at_.has_value(); }
    const RelayStats& stats() const { return counting_.stats; }

private:
    enum class RowState { kInFlight, kSentUnwritten, kFailedUnwritten };
    struct Tracked {
        RowState state = RowState::kInFlight;
        std::string topic;
        std::optional<std::string> key;
        std::int32_t attempts = 0;
        std::int64_t created_at_us = 0; // for the commit-to-ack latency
        std::size_t bytes = 0;          // counted in in_flight_bytes_ while kInFlight
        publish::FailureReason reason = publish::FailureReason::kOther; // kFailedUnwritten
    };

    void collect(const std::vector<publish::DeliveryReport>& reports);
    void on_counted_failure(const Tracked& row,
                            std::int64_t id,
                            const std::string& error,
                            publish::FailureReason reason);
    void handle_fatal();
    void write_outcomes();
    // Takes the result of the mark being written, waiting up to `wait` for
    // it. True when none is outstanding any more (committed, or failed and
    // put back into sent_unwritten_ for the next write).
    bool settle_marks(Millis wait);
    bool fetch_wanted(TimePoint now) const;
    // False once the fence (lease) failed; asks it when not fenced yet.
    bool fence_holds();
    void fetch_and_produce();
    // Returns false when producing must stop for this page.
    bool produce_row(const store::PendingRow& row, std::size_t bytes);
    void leave_flight(Tracked& row);
    void wait();
    void db_failed(const std::string& what);
    void db_succeeded();
    void start_pass();
    void emit(RelayEvent::Kind kind, std::string text);

    static std::string hold_key(const std::string& topic, const std::optional<std::string>& key);

    RelayOptions options_;
    Mapping mapping_;
    store::OutboxStore& store_;
    publish::Publisher& publisher_;
    ClockSource& clock_;
    RandomSource& random_;

    std::unordered_map<std::int64_t, Tracked> tracked_; // rows between fetch and outcome write
    std::size_t in_flight_count_ = 0;
    std::size_t in_flight_bytes_ = 0;
    std::vector<store::SentMark> marking_;        // begun, commit not yet confirmed
    std::vector<store::SentMark> sent_unwritten_; // acknowledged, not yet begun
    std::vector<store::FailureUpdate> failures_unwritten_;

    // Keys held back in the current pass: rows waiting for a retry (G4).
    std::unordered_set<std::string> held_keys_;
    std::int64_t cursor_ = 0;       // keyset position within the current pass
    bool caught_up_ = false;        // last page was short: no more rows past cursor_ for now
    bool rescan_requested_ = false; // start a pass from the lowest pending id soon
    bool wakeup_ = true;            // a notification (or start-up) asks for a fetch
    TimePoint next_poll_at_;
    TimePoint next_rescan_at_;
    TimePoint last_pass_at_; // start of the current pass

    std::optional<TimePoint> db_retry_at_;
    Backoff db_backoff_;
    bool stopping_ = false;
    bool fatal_seen_ = false;
    std::function<bool()> fence_;
    bool fenced_ = false;             // the fence said this process may no longer publish
    bool awaiting_read_back_ = false; // producer rebuilt; nothing produced until read_back_done()
    // The one channel: every fact goes to counting_, which keeps RelayStats
    // and passes it on to the caller's observer.
    struct Counting final : RelayObserver {
        RelayObserver* next = nullptr;
        RelayStats stats;
        void on_batch(std::size_t rows) override {
            stats.fetched += rows;
            next->on_batch(rows);
        }
        void on_acked(std::int64_t created_at_us) override { next->on_acked(created_at_us); }
        void on_marked_sent(std::size_t rows) override {
            stats.sent += rows;
            next->on_marked_sent(rows);
        }
        void on_counted_failure(publish::FailureReason reason, bool parked) override {
            ++stats.failed_attempts;
            stats.parked += parked ? 1 : 0;
            next->on_counted_failure(reason, parked);
        }
        void on_transient_error() override {
            ++stats.transient_errors;
            next->on_transient_error();
        }
        void on_producer_rebuild() override {
            ++stats.producer_rebuilds;
            next->on_producer_rebuild();
        }
        void on_db_reconnected() override { next->on_db_reconnected(); }
        void on_db_error() override {
            ++stats.db_errors;
            next->on_db_error();
        }
        void on_produced() override {
            ++stats.produced;
            next->on_produced();
        }
        void on_batch_produced(std::size_t rows) override {
            ++stats.batches;
            next->on_batch_produced(rows);
        }
        void on_pass() override {
            ++stats.passes;
            next->on_pass();
        }
        void on_event(const RelayEvent& event) override { next->on_event(event); }
    };
    RelayObserver no_observer_;
    Counting counting_;
};

} // namespace outboxd::relay
