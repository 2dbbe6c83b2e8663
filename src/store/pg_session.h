// How outboxd opens every PostgreSQL session, so that a dead link is noticed
// within one bound (leader.session_timeout_ms) on both ends (docs/design.md G5):
//  - client side, in the DSN, within half the bound: libpq keepalives and
//    tcp_user_timeout, so a query in flight on a cut link fails instead of
//    waiting for the kernel's retransmission limit (about 15 minutes), and
//    connect_timeout; half, so that a cut-off publisher has given its lease
//    up before the server frees the lock for a successor;
//  - server side, on the session itself: tcp_keepalives_* and
//    tcp_user_timeout, so PostgreSQL drops the session of a vanished client,
//    and with it the advisory lock, instead of after the kernel's 2 hours.
// An operator's own values win on both sides. Any thread, one session each.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pqxx {
class connection_base;
}

namespace outboxd::store {

// Socket settings that make a silent link fail within `bound`: keepalive
// probes start after `idle_s` of silence and give up after `count` probes
// `interval_s` apart (idle_s + count * interval_s <= bound), and data left
// unacknowledged for `user_timeout_ms` ends the connection.
struct LinkTimeouts {
    int idle_s = 0;
    int interval_s = 0;
    int count = 0;
    int user_timeout_ms = 0;
    int connect_timeout_s = 0;
};
LinkTimeouts link_timeouts(std::chrono::milliseconds bound);

// The DSN with fallback_application_name=`application` ("outboxd",
// "outboxd-leader", ...: recognisable in pg_stat_activity) and the client
// side (link_timeouts(bound / 2)) added, each only where the DSN does not
// set it.
std::string session_dsn(const std::string& dsn,
                        const std::string& application,
                        std::chrono::milliseconds bound);

// Asks the server to watch this session with the server side of `bound`.
// A setting the session already got from the operator (the DSN's `options`,
// PGOPTIONS, ALTER ROLE/DATABASE ... SET) is kept; only server-wide values
// (postgresql.conf, the built-in default) are replaced. Returns one line per
// setting: "tcp_keepalives_idle=4 (outboxd)" or "... (kept: client)".
// Throws pqxx exceptions like any query.
std::vector<std::string> watch_session(pqxx::connection_base& conn,
                                       std::chrono::milliseconds bound);

// The one statement watch_session runs and its four text parameters, for a
// session opened with libpq itself (libpq_session.h). Its rows: name,
// value, set by outboxd (bool), source.
struct WatchStatement {
    const char* sql = nullptr;
    std::array<std::string, 4> params;
};
WatchStatement watch_session_statement(std::chrono::milliseconds bound);

// ---- transaction pooling (docs/deployment.md "Connection poolers")
//
// A pooler in transaction mode (PgBouncer pool_mode = transaction) hands a
// PostgreSQL session to another client after every transaction: outboxd's
// session advisory lock, named prepared statements, session settings and
// LISTEN would stay in the pool after the process ends. outboxd refuses to
// start on such a connection, before it takes any lock or sends anything.

// The probe's observations: the backend pid that served each of two
// connections of this process, round by round (first, second).
using PidRounds = std::vector<std::pair<int, int>>;

// Pure rule: two connections served by one backend, or a connection whose
// backend changed between its statements, is transaction pooling (a
// direct connection and a session pool never show either). Returns what was
// seen, or nullopt.
std::optional<std::string> transaction_pooling_seen(const PidRounds& rounds);

// The refusal, naming the pooling and the two fixes.
std::string transaction_pooling_refusal(const std::string& seen);

// Opens two short sessions on `dsn` and asks each for its backend pid in
// alternation, `rounds` times (statements in autocommit: a transaction
// pooler releases the server after each). Throws what connecting throws.
PidRounds probe_backend_pids(const std::string& dsn, std::chrono::milliseconds bound, int rounds);

} // namespace outboxd::store
