// The outbox table on PostgreSQL: the relay's OutboxStore, and the
// statements of the read-back, confirmation, housekeeping and the admin
// commands. One instance holds up to three sessions, each opened on first
// use with the link bound of pg_session.h (docs/design.md G5):
//  - the data session (libpqxx): LISTEN, counted failures, synchronous
//    marks, the read-back's marks, admin, retention and confirmation;
//  - the fetch session (libpq_session.h, binary results), on the first fetch;
//  - the marking session (libpq_session.h, background mark writes), on the
//    first begin_mark_sent.
// Any error on any of them closes all three, and the next call opens them
// again (libpqxx 6.4 would silently open a new session otherwise,
// docs/design.md §6): an outage is reported as StoreUnavailable and the
// caller decides when to try again; a missing table or column as
// StoreMisconfigured; anything else as StoreFailure. The relay, the
// housekeeper and the confirm worker each own an instance.
// One thread only.
#pragma once

#include "config/config.h"
#include "store/confirm_store.h"
#include "store/housekeeping_store.h"
#include "store/outbox_store.h"
#include "store/sql.h"

#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace outboxd::store {

// `outboxd status`: exact, from one snapshot of the whole table.
struct StatusSummary {
    std::int64_t pending = 0;         // status 0
    std::int64_t sent = 0;            // status 1
    std::int64_t failed = 0;          // status 2
    std::int64_t consumed = 0;        // status 3 (consumer confirmation on)
    std::int64_t consumer_failed = 0; // status 4
    std::int64_t closed = 0;          // status 5 (closed by a person: store/review_store.h)
    std::int64_t other = 0;           // any other status value (not written by outboxd)
    // Age of the oldest pending row by created_at and the database clock;
    // nullopt when nothing is pending.
    std::optional<double> oldest_pending_age_s;
};

// The requested ids a requeue_ids() left alone, by reason.
struct RequeueSkipped {
    std::vector<std::int64_t> not_found;
    std::vector<std::int64_t> already_pending; // at 0: nothing to do
    std::vector<std::int64_t> sent;            // at 1 without include_sent
    std::vector<std::int64_t> other_status;    // a status value outboxd does not use
};

class PgOutboxStore final : public OutboxStore, public ConfirmStore, public HousekeepingStore {
public:
    explicit PgOutboxStore(config::Postgres cfg);
    ~PgOutboxStore() override;
    PgOutboxStore(const PgOutboxStore&) = delete;
    PgOutboxStore& operator=(const PgOutboxStore&) = delete;

    // Refuses a transaction-pooling connection (store/pg_session.h), then
    // connects and checks the table and its columns. Throws StoreUnavailable
    // when the server cannot be reached, StoreMisconfigured otherwise.
    void verify();
    // Rounds of the pooling probe: each a statement on each of two sessions.
    static constexpr int kPoolingProbeRounds = 4;

    std::vector<PendingRow> fetch_pending(std::int64_t after_id,
                                          std::size_t limit,
                                          std::size_t max_bytes,
                                          std::size_t max_row_bytes) override;
    void mark_sent(const std::vector<SentMark>& rows) override;
    // On a session of its own; any error closes all the store's sessions,
    // as every other error does.
    void begin_mark_sent(const std::vector<SentMark>& rows) override;
    bool mark_sent_finished(std::chrono::milliseconds wait) override;
    void record_failures(const std::vector<FailureUpdate>& updates) override;
    bool wait_for_wakeup(std::chrono::milliseconds timeout) override;
    bool take_wakeup() override;
    // poll(2) on the data session's socket (notifications), the marking
    // session's while a write runs, and `fd`.
    bool wait_for_activity(std::chrono::milliseconds timeout, int fd) override;

    // Closes all three sessions (the next call opens them again). A standby
    // calls it: an idle session that LISTENs but is never read stops draining
    // PostgreSQL's notification queue, which then fills until every NOTIFY,
    // and so every application INSERT through the trigger, fails.
    void disconnect() override;

    // Distinct topics of pending rows (bounded), for the start-up audit and
    // the read-back; with a route, the topics made from the route column.
    std::vector<std::string> pending_topics();

    // "dbname/schema.table": names this outbox in the outbox-source header.
    std::string source_id();

    // The earliest time a pending row can have been produced, in Unix
    // milliseconds: min over rows at 0 of coalesce(next_attempt_at,
    // created_at). nullopt when nothing is pending. Where the read-back starts.
    std::optional<std::int64_t> oldest_pending_created_ms();

    // Marks sent the pending rows found in Kafka by the read-back: a row
    // matches only with the same id, topic and key (with a route: a value
    // of the route column that pending_topics() saw make this topic).
    // Returns rows marked.
    // With consumer confirmation on, `marks` gives each row's partition
    // and offset (as ids, or empty).
    std::size_t mark_found(const std::string& topic,
                           const std::vector<std::int64_t>& ids,
                           const std::vector<std::optional<std::string>>& keys,
                           const std::vector<SentMark>& marks = {});

    // ---- admin and maintenance, on the data session; each call is one short
    // statement or transaction, errors as StoreUnavailable like the relay's calls.

    StatusSummary status_summary();
    HealthSummary health_summary() override;

    // The given rows at 2 (and at 1 when include_sent) back to 0 with
    // attempts 0 and last_error, next_attempt_at (and sent_at) NULL, in one
    // transaction. Rows at 0 are never touched. Returns rows changed; the ids
    // left alone are listed in `skipped` when given. Wakes the relay through
    // the notify channel.
    std::size_t requeue_ids(const std::vector<std::int64_t>& ids,
                            bool include_sent,
                            RequeueSkipped* skipped = nullptr);

    // Retention: deletes at most `limit` rows at 1 (at 3 with consumer
    // confirmation, where rows at 1 still wait) whose sent_at is older than
    // `age`, in one short transaction; never rows at 0, 2 or 4. Returns rows
    // deleted (fewer than `limit`: nothing older is left).
    std::size_t delete_sent_older_than(std::chrono::milliseconds age, std::size_t limit) override;

    // retention.mode partition (housekeeping_store.h; store/pg_partitions.cc).
    PartitionState partition_state() override;
    void create_partition(std::int64_t lo, std::int64_t hi) override;
    DropOutcome drop_partition(const Partition& p, std::chrono::milliseconds age) override;

    // `outboxd migrate`: creates what is missing; returns the statements run.
    std::vector<std::string> migrate();

    // ---- consumer confirmation (ConfirmStore; cfg.confirming() only) -------
    std::vector<SentPartition> waiting_partitions() override;
    ConfirmCount confirm_offsets(const std::string& group,
                                 const SentPartition& p,
                                 std::int64_t below,
                                 std::size_t limit) override;
    ConfirmCount report_consumed(std::int64_t id, const std::string& consumer) override;
    bool report_failed(std::int64_t id, const std::string& last_error) override;
    std::vector<OverdueRow> overdue(Millis deadline, std::size_t limit) override;
    std::size_t resend(const std::vector<std::int64_t>& ids) override;
    std::size_t park(const std::vector<std::int64_t>& ids,
                     const std::vector<std::string>& errors) override;
    std::int64_t unconfirmed_count(Millis deadline, std::int64_t cap) override;
    std::int64_t not_confirmed_by(const std::string& consumer, std::int64_t cap) override;
    // `outboxd unconfirmed`: oldest first, at most `limit`.
    std::vector<UnconfirmedRow> unconfirmed_rows(Millis deadline, std::size_t limit);

private:
    struct Session; // store/pg_internal.h
    Session& session();
    [[noreturn]] void fail(const std::string& what, const std::exception& e);

    // The one error path of the data session's statements: session() (its
    // own errors pass through as they are), then body(session); whatever
    // body throws goes to fail(what, e). Returns what body returns.
    template <typename F>
    auto guarded(const char* what, F&& body) {
        auto& s = session();
        try {
            return std::forward<F>(body)(s);
        } catch (const std::exception& e) {
            fail(what, e);
        }
    }

    config::Postgres cfg_;
    std::unique_ptr<Session> session_;
    // With postgres.route.by_column: topic -> the column values it is made
    // from, as pending_topics() found them last (the read-back's match).
    std::map<std::string, std::vector<std::string>> routed_values_;
    bool mark_outstanding_ = false; // begun, its result not yet taken
};

// Why a database call's exception is not an outage ("insufficient privilege,
// SQLSTATE 42501"), or nullopt when it is one (connection lost, an outage
// SQLSTATE: see is_outage_sqlstate), for the error policy of outbox_store.h.
std::optional<std::string> not_an_outage(const std::exception& e);

// A failed connection attempt, as the store reports it: StoreMisconfigured
// when PostgreSQL refused this login (refused_connection), StoreUnavailable
// otherwise. Every session of outboxd opens through it.
[[noreturn]] void throw_connect_failure(const std::exception& e);

} // namespace outboxd::store
