#include "store/libpq_session.h"

#include "store/pg_session.h"

#include <pqxx/except>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <libpq-fe.h>
#include <poll.h>

namespace outboxd::store {
namespace {

constexpr const char* kStatement = "outboxd_fetch_binary";
constexpr const char* kMarkStatement = "outboxd_mark_sent";

std::uint64_t big_endian(const char* p, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    }
    return v;
}

// libpqxx's exception for a server error, chosen by SQLSTATE as libpqxx
// does for its own queries, so that not_an_outage() names it the same way.
[[noreturn]] void
throw_sql_error(const std::string& msg, const std::string& what, const char* sqlstate) {
    const std::string s = sqlstate != nullptr ? sqlstate : "";
    const auto cls = s.substr(0, 2);
    if (s == "42501") {
        throw pqxx::insufficient_privilege(msg, what, sqlstate);
    }
    if (s == "42P01") {
        throw pqxx::undefined_table(msg, what, sqlstate);
    }
    if (s == "42703") {
        throw pqxx::undefined_column(msg, what, sqlstate);
    }
    if (cls == "42") {
        throw pqxx::syntax_error(msg, what, sqlstate);
    }
    if (cls == "23") {
        throw pqxx::integrity_constraint_violation(msg, what, sqlstate);
    }
    if (cls == "22") {
        throw pqxx::data_exception(msg, what, sqlstate);
    }
    if (cls == "0A") {
        throw pqxx::feature_not_supported(msg, what, sqlstate);
    }
    if (cls == "40") {
        throw pqxx::transaction_rollback(msg);
    }
    if (cls == "53") {
        throw pqxx::insufficient_resources(msg, what, sqlstate);
    }
    throw pqxx::sql_error(msg, what, sqlstate);
}

// Throws unless `r` (consumed) has status `want`.
pg_result* checked(PGconn* c, PGresult* r, ExecStatusType want, const std::string& what) {
    if (r != nullptr && PQresultStatus(r) == want) {
        return r;
    }
    const std::string msg = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(c);
    const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state != nullptr ? state : "";
    if (r != nullptr) {
        PQclear(r);
    }
    if (PQstatus(c) != CONNECTION_OK || sqlstate.empty() || sqlstate.rfind("08", 0) == 0) {
        throw pqxx::broken_connection(msg.empty() ? "connection to the server lost" : msg);
    }
    throw_sql_error(msg, what, sqlstate.c_str());
}

} // namespace

void BinaryResult::Clear::operator()(pg_result* r) const {
    PQclear(r);
}

BinaryResult::BinaryResult(pg_result* r)
    : r_(r) {}

int BinaryResult::rows() const {
    return PQntuples(r_.get());
}

bool BinaryResult::is_null(int row, int col) const {
    return PQgetisnull(r_.get(), row, col) != 0;
}

std::string_view BinaryResult::bytes(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col),
            static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}

std::int64_t BinaryResult::int8(int row, int col) const {
    const int n = PQgetlength(r_.get(), row, col);
    if (n != 2 && n != 4 && n != 8) {
        throw pqxx::conversion_error("binary fetch: column " + std::to_string(col) + " has "
                                     + std::to_string(n) + " bytes, not an integer");
    }
    const std::uint64_t u = big_endian(PQgetvalue(r_.get(), row, col), n);
    // Sign-extend the narrower types.
    const int shift = 64 - 8 * n;
    return static_cast<std::int64_t>(u << shift) >> shift;
}

bool BinaryResult::boolean(int row, int col) const {
    return PQgetlength(r_.get(), row, col) == 1 && PQgetvalue(r_.get(), row, col)[0] != 0;
}

LibpqConnection::LibpqConnection(const std::string& dsn,
                                 std::chrono::milliseconds bound,
                                 const char* name,
                                 const std::string& sql,
                                 int params,
                                 const unsigned int* types) {
    conn_ = PQconnectdb(session_dsn(dsn, "outboxd", bound).c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string msg = PQerrorMessage(conn_);
        PQfinish(conn_);
        conn_ = nullptr;
        throw pqxx::broken_connection(msg);
    }
    try {
        const auto w = watch_session_statement(bound);
        std::array<const char*, 4> values{};
        for (std::size_t i = 0; i < values.size(); ++i) {
            values[i] = w.params[i].c_str();
        }
        PQclear(checked(conn_,
                        PQexecParams(conn_, w.sql, static_cast<int>(values.size()), nullptr,
                                     values.data(), nullptr, nullptr, 0),
                        PGRES_TUPLES_OK, "watching the session"));
        PQclear(checked(conn_, PQprepare(conn_, name, sql.c_str(), params, types), PGRES_COMMAND_OK,
                        std::string("preparing ") + name));
    } catch (...) {
        PQfinish(conn_);
        conn_ = nullptr;
        throw;
    }
}

LibpqConnection::~LibpqConnection() {
    PQfinish(conn_);
}

namespace {

// OIDs for `params` int8 parameters.
const unsigned int* int8_types(int params) {
    static constexpr std::array<unsigned int, 8> kInt8{20, 20, 20, 20, 20, 20, 20, 20};
    if (params < 0 || params > static_cast<int>(kInt8.size())) {
        throw std::invalid_argument("binary fetch: " + std::to_string(params)
                                    + " parameters, at most 8");
    }
    return kInt8.data();
}

} // namespace

BinaryFetchSession::BinaryFetchSession(const std::string& dsn,
                                       std::chrono::milliseconds bound,
                                       const std::string& sql,
                                       int params)
    : conn_(dsn, bound, kStatement, sql, params, int8_types(params)) {}

BinaryResult
BinaryFetchSession::run(std::int64_t p1, std::int64_t p2, std::int64_t p3, std::int64_t p4) {
    // Parameters in binary too: four big-endian int8.
    std::array<std::array<char, 8>, 4> buf{};
    const std::array<std::int64_t, 4> in{p1, p2, p3, p4};
    std::array<const char*, 4> values{};
    std::array<int, 4> lengths{};
    std::array<int, 4> formats{};
    for (std::size_t i = 0; i < in.size(); ++i) {
        auto u = static_cast<std::uint64_t>(in[i]);
        for (int b = 7; b >= 0; --b) {
            buf[i][static_cast<std::size_t>(b)] = static_cast<char>(u & 0xff);
            u >>= 8;
        }
        values[i] = buf[i].data();
        lengths[i] = 8;
        formats[i] = 1;
    }
    PGconn* c = conn_.get();
    return BinaryResult(checked(c,
                                PQexecPrepared(c, kStatement, 4, values.data(), lengths.data(),
                                               formats.data(), /*resultFormat=*/1),
                                PGRES_TUPLES_OK, "fetch"));
}

MarkWriteSession::MarkWriteSession(const std::string& dsn,
                                   std::chrono::milliseconds bound,
                                   const std::string& sql,
                                   int params)
    : conn_(dsn, bound, kMarkStatement, sql, params, nullptr) {}

int MarkWriteSession::socket() const {
    return PQsocket(conn_.get());
}

void MarkWriteSession::begin(const std::vector<std::string>& params) {
    if (busy_) {
        throw std::logic_error("mark write begun while the previous one runs");
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) {
        values.push_back(p.c_str());
    }
    // Blocking mode: the whole message is on its way when this returns
    // (a few KB of ids); only the result is waited for later.
    PGconn* c = conn_.get();
    if (PQsendQueryPrepared(c, kMarkStatement, static_cast<int>(values.size()), values.data(),
                            nullptr, nullptr, 0)
        == 0) {
        throw pqxx::broken_connection(PQerrorMessage(c));
    }
    busy_ = true;
}

bool MarkWriteSession::finished(std::chrono::milliseconds wait) {
    if (!busy_) {
        return true;
    }
    PGconn* c = conn_.get();
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        if (PQconsumeInput(c) == 0) {
            busy_ = false;
            throw pqxx::broken_connection(PQerrorMessage(c));
        }
        if (PQisBusy(c) == 0) {
            break;
        }
        const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd pfd{PQsocket(c), POLLIN, 0};
        // Rounded up: a wait of 0.3 ms must not become a busy loop.
        const auto ms = static_cast<int>((left.count() + 999) / 1000);
        if (::poll(&pfd, 1, ms) < 0 && errno != EINTR) {
            busy_ = false;
            throw pqxx::broken_connection(std::string("waiting for the mark: ")
                                          + std::generic_category().message(errno));
        }
    }
    // The statement's result, then the null that ends it; nothing blocks now.
    busy_ = false;
    PGresult* first = PQgetResult(c);
    while (PGresult* more = PQgetResult(c)) {
        PQclear(more);
    }
    PQclear(checked(c, first, PGRES_COMMAND_OK, "marking rows sent"));
    return true;
}

} // namespace outboxd::store
