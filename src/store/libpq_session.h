// Sessions that outboxd opens with libpq itself, where libpqxx 6.4 cannot
// do what the relay needs:
//  - BinaryFetchSession: the relay's fetch in binary result format. libpqxx
//    reads every result as text, so a bytea payload came as hex ("\x" and
//    two digits per byte) that the server encoded and outboxd decoded
//    again, twice the bytes on the socket. In binary format the payload
//    arrives as its bytes.
//  - MarkWriteSession: the relay's marking UPDATE sent without waiting for
//    it, so that PostgreSQL commits it (and flushes its WAL) while the relay
//    fetches and produces the next rows on its other sessions.
// Both are opened like every other session (session_dsn, watch_session: the
// link bound of docs/design.md G5), and their errors are libpqxx's exception
// types, so the store's error policy (not_an_outage) applies unchanged.
// One thread each.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;   // NOLINT(readability-identifier-naming): libpq's PGconn
struct pg_result; // NOLINT(readability-identifier-naming): libpq's PGresult

namespace outboxd::store {

class BinaryResult {
public:
    explicit BinaryResult(pg_result* r);
    int rows() const;
    bool is_null(int row, int col) const;
    std::string_view bytes(int row, int col) const; // text and bytea: the raw bytes
    std::int64_t int8(int row, int col) const;      // int8, int4 or int2
    bool boolean(int row, int col) const;

private:
    struct Clear {
        void operator()(pg_result* r) const;
    };
    std::unique_ptr<pg_result, Clear> r_;
};

// A connection opened as session_dsn makes it (application "outboxd"),
// watched with watch_session's server side of `bound`, with `sql` prepared
// as statement `name` taking `params` parameters of `types` (libpq type
// OIDs; null: the server infers them). Throws pqxx::broken_connection when
// it cannot connect, pqxx::sql_error (or a subclass by SQLSTATE) when the
// server refuses a statement.
class LibpqConnection {
public:
    LibpqConnection(const std::string& dsn,
                    std::chrono::milliseconds bound,
                    const char* name,
                    const std::string& sql,
                    int params,
                    const unsigned int* types);
    ~LibpqConnection();
    LibpqConnection(const LibpqConnection&) = delete;
    LibpqConnection& operator=(const LibpqConnection&) = delete;

    pg_conn* get() const { return conn_; }

private:
    pg_conn* conn_ = nullptr;
};

class BinaryFetchSession {
public:
    // Connects to `dsn` (as session_dsn makes it, application "outboxd"),
    // applies watch_session's server side of `bound`, and prepares `sql`
    // with int8 parameters $1..$`params`. Throws pqxx::broken_connection
    // when it cannot connect, pqxx::sql_error (or a subclass by SQLSTATE)
    // when the server refuses a statement.
    BinaryFetchSession(const std::string& dsn,
                       std::chrono::milliseconds bound,
                       const std::string& sql,
                       int params);

    // Runs the prepared statement with four int8 parameters, result in
    // binary format. Throws like the constructor.
    BinaryResult run(std::int64_t p1, std::int64_t p2, std::int64_t p3, std::int64_t p4);

private:
    LibpqConnection conn_;
};

class MarkWriteSession {
public:
    // Connects and prepares `sql` (a statement without result rows) with
    // `params` text parameters. Throws like LibpqConnection.
    MarkWriteSession(const std::string& dsn,
                     std::chrono::milliseconds bound,
                     const std::string& sql,
                     int params);

    // Sends the statement with these text parameters and returns without
    // waiting for its result. One at a time: only when !busy(). Throws
    // pqxx::broken_connection when it cannot be sent.
    void begin(const std::vector<std::string>& params);

    // Waits up to `wait` for the statement's result. True once it has
    // completed (committed: it runs in its own implicit transaction), or
    // when none was begun; false while it still runs. Throws like a query
    // (the statement's outcome is then in doubt).
    bool finished(std::chrono::milliseconds wait);

    bool busy() const { return busy_; }
    // Readable when the result (or an error) arrives, for a wait on several.
    int socket() const;

private:
    LibpqConnection conn_;
    bool busy_ = false;
};

} // namespace outboxd::store
