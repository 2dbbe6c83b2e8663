#include "store/pg_session.h"

#include "config/dsn.h"

#include <pqxx/pqxx>

#include <algorithm>

namespace outboxd::store {

LinkTimeouts link_timeouts(std::chrono::milliseconds bound) {
    // Keepalive settings are whole seconds. Three probes, a fifth of the
    // bound apart, after the rest of it in silence: 10 s -> 4 + 3 x 2.
    const int bound_s = static_cast<int>(std::max<std::int64_t>(bound.count() / 1000, 1));
    LinkTimeouts t;
    t.count = 3;
    t.interval_s = std::max(1, bound_s / 5);
    t.idle_s = std::max(1, bound_s - t.count * t.interval_s);
    t.user_timeout_ms = static_cast<int>(bound.count());
    // libpq's minimum is 2 s; a connect to a vanished host otherwise waits
    // for the kernel's SYN retries (about 2 minutes).
    t.connect_timeout_s = std::max(2, bound_s);
    return t;
}

std::string session_dsn(const std::string& dsn,
                        const std::string& application,
                        std::chrono::milliseconds bound) {
    // Half the bound on this side: a publisher cut off by a partition gives
    // its connections (and so the lease) up well before the server frees
    // the lock for a successor, so it has stopped producing by then (G5).
    const auto t = link_timeouts(bound / 2);
    return config::dsn_with_defaults(dsn,
                                     {
                                         {"fallback_application_name", application},
                                         {"keepalives", "1"},
                                         {"keepalives_idle", std::to_string(t.idle_s)},
                                         {"keepalives_interval", std::to_string(t.interval_s)},
                                         {"keepalives_count", std::to_string(t.count)},
                                         {"tcp_user_timeout", std::to_string(t.user_timeout_ms)},
                                         {"connect_timeout", std::to_string(t.connect_timeout_s)},
                                     });
}

WatchStatement watch_session_statement(std::chrono::milliseconds bound) {
    const auto t = link_timeouts(bound);
    // One round trip. pg_settings.source says where the session's value came
    // from: 'client' (startup options, PGOPTIONS), 'user'/'database'/
    // 'database user' (ALTER ROLE/DATABASE SET) are the operator's choice for
    // this client and stay; server-wide sources are replaced for this
    // session only. On a unix socket the server ignores all four.
    constexpr const char* kSql =
        "SELECT v.name, CASE WHEN s.source IN ('default', 'configuration file', "
        "'command line', 'environment variable') THEN set_config(v.name, v.value, false) "
        "ELSE s.setting END, s.source IN ('default', 'configuration file', 'command line', "
        "'environment variable'), s.source "
        "FROM (VALUES ('tcp_keepalives_idle', $1::text), ('tcp_keepalives_interval', $2::text), "
        "('tcp_keepalives_count', $3::text), ('tcp_user_timeout', $4::text)) AS v(name, value) "
        "JOIN pg_settings s ON s.name = v.name ORDER BY v.name";
    return {kSql,
            {std::to_string(t.idle_s), std::to_string(t.interval_s), std::to_string(t.count),
             std::to_string(t.user_timeout_ms)}};
}

std::vector<std::string> watch_session(pqxx::connection_base& conn,
                                       std::chrono::milliseconds bound) {
    const auto w = watch_session_statement(bound);
    pqxx::nontransaction tx(conn);
    const auto r = tx.exec_params(w.sql, w.params[0], w.params[1], w.params[2], w.params[3]);
    std::vector<std::string> out;
    for (const auto& row : r) {
        out.push_back(
            row[0].as<std::string>() + "=" + row[1].as<std::string>()
            + (row[2].as<bool>() ? " (outboxd)" : " (kept: " + row[3].as<std::string>() + ")"));
    }
    return out;
}

std::optional<std::string> transaction_pooling_seen(const PidRounds& rounds) {
    for (std::size_t i = 0; i < rounds.size(); ++i) {
        const auto [a, b] = rounds[i];
        if (a == b) {
            return "two connections of this process were served by one PostgreSQL session "
                   "(backend pid "
                   + std::to_string(a) + ")";
        }
        if (i > 0 && (a != rounds[0].first || b != rounds[0].second)) {
            const int was = a != rounds[0].first ? rounds[0].first : rounds[0].second;
            const int now = a != rounds[0].first ? a : b;
            return "one connection of this process was served by two PostgreSQL sessions "
                   "(backend pid "
                   + std::to_string(was) + ", then " + std::to_string(now) + ")";
        }
    }
    return std::nullopt;
}

std::string transaction_pooling_refusal(const std::string& seen) {
    return "the connection goes through a pooler in transaction mode (PgBouncer pool_mode = "
           "transaction): "
           + seen
           + ". Such a pool keeps outboxd's advisory lock, prepared statements, session settings "
             "and LISTEN after the process ends, so one-publisher-per-table cannot hold. "
             "Connect directly to PostgreSQL, or to a pool in session mode (pool_mode = session)";
}

PidRounds probe_backend_pids(const std::string& dsn, std::chrono::milliseconds bound, int rounds) {
    pqxx::connection a(session_dsn(dsn, "outboxd-probe", bound));
    pqxx::connection b(session_dsn(dsn, "outboxd-probe", bound));
    auto pid = [](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        return tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
    };
    PidRounds seen;
    for (int i = 0; i < rounds; ++i) {
        // A's statement ends and frees its server; a transaction pooler
        // (last in, first out by default) gives that server to B next.
        const int pa = pid(a);
        const int pb = pid(b);
        seen.emplace_back(pa, pb);
        if (transaction_pooling_seen(seen)) {
            break;
        }
    }
    return seen;
}

} // namespace outboxd::store
