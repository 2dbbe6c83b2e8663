// The relay's fetch in binary result format, on a libpq connection of its
// own: libpqxx 6.4 reads every result as text, so a bytea payload came as
// hex ("\x" and two digits per byte) that the server encoded and outboxd
// decoded again, twice the bytes on the socket. In binary format the
// payload arrives as its bytes. The session is opened like every other
// (session_dsn, watch_session: the link bound of DESIGN.md G5), and its
// errors are libpqxx's exception types, so the store's error policy
// (not_an_outage) applies unchanged. One thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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
    ~BinaryFetchSession();
    BinaryFetchSession(const BinaryFetchSession&) = delete;
    BinaryFetchSession& operator=(const BinaryFetchSession&) = delete;

    // Runs the prepared statement with four int8 parameters, result in
    // binary format. Throws like the constructor.
    BinaryResult run(std::int64_t p1, std::int64_t p2, std::int64_t p3, std::int64_t p4);

private:
    pg_conn* conn_ = nullptr;
};

} // namespace outboxd::store
