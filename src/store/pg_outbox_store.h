// OutboxStore on PostgreSQL through libpqxx: one connection, reconnected on
// demand. Any libpqxx error drops the connection (libpqxx 6.4 would silently
// open a new session otherwise, see NOTES.md) and is reported as
// StoreUnavailable; the relay decides when to try again.
// One thread only.
#pragma once

#include "config/config.h"
#include "store/outbox_store.h"
#include "store/sql.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace outboxd::store {

// Raised for problems that retrying cannot fix (missing table or column,
// unsupported column type): the daemon reports them and exits.
class StoreMisconfigured : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class PgOutboxStore final : public OutboxStore {
public:
    explicit PgOutboxStore(config::Postgres cfg);
    ~PgOutboxStore() override;

    // Connects and checks the table and its columns. Throws StoreUnavailable
    // when the server cannot be reached, StoreMisconfigured otherwise.
    void verify();

    std::vector<PendingRow> fetch_pending(std::int64_t after_id, std::size_t limit) override;
    void mark_sent(const std::vector<std::int64_t>& ids) override;
    void record_failures(const std::vector<FailureUpdate>& updates) override;
    bool wait_for_wakeup(std::chrono::milliseconds timeout) override;
    bool take_wakeup() override;

    // Distinct topics of pending rows (bounded), for the start-up audit.
    std::vector<std::string> pending_topics();

    // "dbname/schema.table": names this outbox in the outbox-source header.
    std::string source_id();

    // created_at of the oldest pending row, in Unix milliseconds; nullopt
    // when nothing is pending.
    std::optional<std::int64_t> oldest_pending_created_ms();

    // Marks sent the pending rows found in Kafka by the read-back: a row
    // matches only with the same id, topic and key. Returns rows marked.
    std::size_t mark_found(const std::string& topic,
                           const std::vector<std::int64_t>& ids,
                           const std::vector<std::optional<std::string>>& keys);

    // `outboxd migrate`: creates what is missing; returns the statements run.
    std::vector<std::string> migrate();

private:
    struct Session;
    Session& session();
    [[noreturn]] void fail(const std::string& what, const std::exception& e);

    config::Postgres cfg_;
    std::unique_ptr<Session> session_;
};

// The DSN with fallback_application_name=`name` added, so outboxd's
// sessions are recognisable in pg_stat_activity ("outboxd" for the relay's
// data session, "outboxd-leader" for the session holding the lock).
std::string with_application_name(const std::string& dsn, const std::string& name = "outboxd");

} // namespace outboxd::store
