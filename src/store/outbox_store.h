// The outbox table as the relay sees it. PgOutboxStore implements it with
// libpqxx; unit tests use an in-memory fake. Callers never see SQL or libpqxx.
//
// Error policy (src/README.md): an unreachable database, or an error whose
// SQLSTATE means "try again" (is_outage_sqlstate), is an expected condition,
// reported by throwing StoreUnavailable; the caller retries with back-off and
// keeps any outcome it could not write. Any other database error (permission
// revoked, column dropped, a bug of ours) is StoreFailure: never retried, the
// daemon stops with the message. A store is used by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace outboxd::store {

// How the payload column is read: every supported type is turned into bytea
// in SQL, so the row carries the exact bytes the broker should get; the
// type still decides what a mapping may do with them (relay/mapping.h).
enum class PayloadType { kBytea, kText, kJson };

// A pending (status 0) row, as read by the fetch.
struct PendingRow {
    std::int64_t id = 0;
    std::string topic;
    std::optional<std::string> key;                 // NULL: no Kafka key
    std::optional<std::string> payload;             // bytes; NULL: null Kafka value
    PayloadType payload_type = PayloadType::kBytea; // the payload column's type
    std::optional<std::string> headers;             // JSON text of the headers column
    std::int32_t attempts = 0;                      // counted failures so far
    bool due = true;                // next_attempt_at is NULL or past, by the database clock
    std::int64_t created_at_us = 0; // microseconds since the Unix epoch (latency metric)
    // Set when payload + key weigh more than the fetch's max_row_bytes: the
    // payload was not read (it stays null here) because the producer would
    // refuse the message anyway; the value is that weight in bytes.
    std::optional<std::size_t> withheld_bytes;
    // The mapped columns of postgres.columns.* and additional_fields
    // (docs/debezium.md), as text; unset when not configured or NULL.
    std::optional<std::string> event_id;
    std::optional<std::string> event_type;
    std::optional<std::int64_t> event_time_us; // event_timestamp, microseconds since the epoch
    std::optional<std::string> tracing;
    // One per postgres.additional_fields entry, in its order: the text of a
    // header or partition column, the JSON of an envelope member.
    std::vector<std::optional<std::string>> fields;
};

// One counted failure. `attempts` is the new count (the row's old count + 1);
// the write applies only if the row still has the old count, so repeating it
// after an in-doubt commit does not count twice.
struct FailureUpdate {
    std::int64_t id = 0;
    std::int32_t attempts = 0;
    std::string error;
    bool park = false;                        // true: status 2, needs a person
    std::chrono::milliseconds retry_after{0}; // when !park: next_attempt_at = now() + this
};

class StoreUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class StoreFailure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Raised for problems that retrying cannot fix (missing table or column,
// unsupported column type): the daemon reports them and exits.
class StoreMisconfigured : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// True for SQLSTATEs that mean the database, not the statement, is the
// problem for now: class 08 (connection), 53 (insufficient resources), 58
// (system error), 57P01-57P03 (shutdown, crash, cannot connect now), 57014
// (statement_timeout or a cancel), 40001/40P01 (serialization, deadlock),
// 55P03 (lock_timeout), 25006 (a read-only standby answered: failover in
// progress). Empty: libpq gave no SQLSTATE (client-side connection trouble).
bool is_outage_sqlstate(const std::string& sqlstate);

// A connection attempt PostgreSQL refused for a reason that waiting does
// not fix: a wrong password, no pg_hba.conf entry, an unknown role or
// database, no CONNECT privilege. libpq gives no SQLSTATE for a failed
// connection, so this reads its message (the server's own English text,
// the default lc_messages): the reason, or nullopt for anything else (a
// refused TCP connection, "the database system is starting up", too many
// clients), which is an outage.
std::optional<std::string> refused_connection(const std::string& libpq_message);

// A row the broker acknowledged, with where it put it (-1: not known).
struct SentMark {
    std::int64_t id = 0;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
};

class OutboxStore {
public:
    virtual ~OutboxStore() = default;

    // Up to `limit` rows with status 0 and id > after_id, in id order, due or
    // not (the relay needs the not-due ones to hold later rows of their key).
    // A row comes only while the rows before it in this page weigh less than
    // `max_bytes` (payload + key + headers lengths), so the first row always
    // comes, however large it is. A row whose payload + key alone weigh more
    // than `max_row_bytes` (0: no such limit) comes without its payload,
    // with withheld_bytes set: it could never be produced, and reading it
    // could take more memory than the process has.
    virtual std::vector<PendingRow> fetch_pending(std::int64_t after_id,
                                                  std::size_t limit,
                                                  std::size_t max_bytes,
                                                  std::size_t max_row_bytes) = 0;

    // status 0 -> 1, sent_at = now(), for the given rows still at 0; with
    // consumer confirmation on also their partition and offset.
    virtual void mark_sent(const std::vector<SentMark>& rows) = 0;

    // mark_sent without waiting for it: the write runs (on a session of its
    // own) while the caller fetches and collects reports, and
    // mark_sent_finished() says when it has committed. One write at a time:
    // begin the next only after mark_sent_finished() returned true. A
    // failure is thrown by either call, as mark_sent would throw it; the
    // write is then in doubt (it may have committed) and is simply begun
    // again: marking a row already at 1 changes nothing. The base class
    // writes synchronously.
    virtual void begin_mark_sent(const std::vector<SentMark>& rows) { mark_sent(rows); }

    // Waits up to `wait` for the write begun last. True once it has
    // committed, or when none is outstanding; false while it still runs.
    virtual bool mark_sent_finished(std::chrono::milliseconds wait) {
        (void)wait;
        return true;
    }

    // Counts one attempt per update; parks those marked `park`.
    virtual void record_failures(const std::vector<FailureUpdate>& updates) = 0;

    // Blocks up to `timeout` for a wake-up notification. Returns true if one
    // arrived. Without LISTEN it simply sleeps and returns false.
    virtual bool wait_for_wakeup(std::chrono::milliseconds timeout) = 0;

    // Non-blocking: true if a notification arrived since the last call.
    virtual bool take_wakeup() = 0;

    // Waits up to `timeout` until there may be something to do: a wake-up
    // notification, the result of the marking write, or `fd` readable (the
    // publisher's wakeup_fd()). The caller then takes whatever came
    // (take_wakeup, mark_sent_finished, the publisher's poll). Returns false
    // at once when it cannot wait on all of them (no session now, or a
    // store that does not know how): the caller then waits its own way.
    // Never throws; a broken session shows on the next call that reads it.
    virtual bool wait_for_activity(std::chrono::milliseconds timeout, int fd) {
        (void)timeout;
        (void)fd;
        return false;
    }

    // Closes the session until the next call needs one. A process that does
    // not publish must not keep a LISTENing session idle: PostgreSQL's
    // notification queue cannot advance past its slowest listener.
    virtual void disconnect() = 0;
};

} // namespace outboxd::store
