// DSN handling (config/dsn.h), the link settings every PostgreSQL session
// gets (store/pg_session.h) and which database errors are outages
// (store/outbox_store.h): pure functions, no connection.
#include "config/dsn.h"
#include "store/outbox_store.h"
#include "store/pg_outbox_store.h"
#include "store/pg_session.h"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

using outboxd::config::dsn_value;
using outboxd::config::dsn_with_defaults;
using outboxd::config::parse_dsn;
using outboxd::store::link_timeouts;
using outboxd::store::session_dsn;
using namespace std::chrono_literals;

TEST_CASE("dsn: keyword and URI forms parse to the same keywords", "[unit][dsn]") {
    const auto kw = parse_dsn("host=db.internal port=5433 dbname=orders user=relay");
    const auto uri = parse_dsn("postgresql://relay@db.internal:5433/orders");
    REQUIRE(kw);
    REQUIRE(uri);
    CHECK(*kw == *uri);
    CHECK_FALSE(parse_dsn("host='unterminated"));
    CHECK(dsn_value("postgresql://u:p%40ss@h/db", "password")
          == std::optional<std::string>("p@ss"));
    CHECK_FALSE(dsn_value("host=h", "port"));
}

TEST_CASE("dsn: defaults are added only where the DSN is silent", "[unit][dsn]") {
    const auto out = dsn_with_defaults("host=h keepalives_idle=30",
                                       {{"keepalives_idle", "4"}, {"keepalives_count", "3"}});
    CHECK(dsn_value(out, "keepalives_idle") == std::optional<std::string>("30"));
    CHECK(dsn_value(out, "keepalives_count") == std::optional<std::string>("3"));
    CHECK(dsn_value(out, "host") == std::optional<std::string>("h"));
}

TEST_CASE("dsn: a password containing a keyword does not hide the keyword's default",
          "[unit][dsn]") {
    // A substring test ("does the DSN mention keepalives?") would skip the
    // additions for this DSN and leave the lock session unwatched.
    const std::string dsn = "host=h user=u password='keepalives_idle=1 it\\'s'";
    const auto pw = dsn_value(dsn, "password");
    REQUIRE(pw);
    const auto out = session_dsn(dsn, "outboxd-leader", 10s);
    CHECK(dsn_value(out, "password") == pw);
    // The client side gets half the bound (see session_dsn).
    CHECK(dsn_value(out, "keepalives_idle") == std::optional<std::string>("2"));
    CHECK(dsn_value(out, "keepalives_interval") == std::optional<std::string>("1"));
    CHECK(dsn_value(out, "tcp_user_timeout") == std::optional<std::string>("5000"));
    CHECK(dsn_value(out, "connect_timeout") == std::optional<std::string>("5"));
    const auto uri =
        session_dsn("postgresql://u:keepalives%3D0@h/db?application_name=billing", "outboxd", 10s);
    CHECK(dsn_value(uri, "password") == std::optional<std::string>("keepalives=0"));
    CHECK(dsn_value(uri, "keepalives") == std::optional<std::string>("1"));
    // The operator's application_name stays; ours is only the fallback.
    CHECK(dsn_value(uri, "application_name") == std::optional<std::string>("billing"));
    CHECK(dsn_value(uri, "fallback_application_name") == std::optional<std::string>("outboxd"));
}

TEST_CASE("dsn: quoting survives libpq's parser", "[unit][dsn]") {
    const std::string tricky = "a b'c\\d";
    const auto out = dsn_with_defaults("host=h", {{"options", tricky}});
    CHECK(dsn_value(out, "options") == std::optional<std::string>(tricky));
}

TEST_CASE("pg_session: the keepalive schedule fits inside the bound", "[unit][dsn]") {
    for (const auto bound : {4000ms, 5000ms, 9999ms, 10000ms, 15000ms, 60000ms, 600000ms}) {
        const auto t = link_timeouts(bound);
        INFO("bound " << bound.count() << " ms");
        CHECK(t.idle_s >= 1);
        CHECK(t.interval_s >= 1);
        CHECK(t.count == 3);
        CHECK((t.idle_s + t.count * t.interval_s) * 1000 <= bound.count());
        CHECK(t.user_timeout_ms == bound.count());
        CHECK(t.connect_timeout_s >= 2);
    }
    const auto d = link_timeouts(10000ms);
    CHECK(d.idle_s == 4);
    CHECK(d.interval_s == 2);
    // The operator's own client settings win over the bound.
    const auto mine = session_dsn("host=h keepalives_idle=60 tcp_user_timeout=0", "x", 10s);
    CHECK(dsn_value(mine, "keepalives_idle") == std::optional<std::string>("60"));
    CHECK(dsn_value(mine, "tcp_user_timeout") == std::optional<std::string>("0"));
    CHECK(dsn_value(mine, "keepalives_interval") == std::optional<std::string>("1"));
}

TEST_CASE("store: only connection trouble and try-again SQLSTATEs are outages", "[unit][dsn]") {
    using outboxd::store::is_outage_sqlstate;
    for (const char* s : {"08006", "08001", "57P01", "57P02", "57P03", "57014", "40001", "40P01",
                          "53100", "53200", "53300", "55P03", "25006", "58030", ""}) {
        INFO(s);
        CHECK(is_outage_sqlstate(s));
    }
    // A revoked permission, a dropped column, a bad cast, a unique
    // violation: retrying forever would hide them behind "unavailable".
    for (const char* s : {"42501", "42703", "42P01", "22P02", "23505", "XX000", "57P04"}) {
        INFO(s);
        CHECK_FALSE(is_outage_sqlstate(s));
    }
}

TEST_CASE("store: libpqxx's exceptions sorted into outages and failures", "[unit][dsn]") {
    using outboxd::store::not_an_outage;
    CHECK_FALSE(not_an_outage(pqxx::broken_connection("server closed the connection")));
    CHECK_FALSE(not_an_outage(pqxx::too_many_connections("too many clients")));
    CHECK_FALSE(not_an_outage(pqxx::in_doubt_error("commit in doubt")));
    CHECK_FALSE(not_an_outage(pqxx::deadlock_detected("deadlock")));
    CHECK_FALSE(not_an_outage(pqxx::serialization_failure("could not serialize")));
    CHECK_FALSE(not_an_outage(pqxx::disk_full("no space")));
    CHECK_FALSE(not_an_outage(pqxx::sql_error("terminating connection", "", "57P01")));
    CHECK_FALSE(not_an_outage(pqxx::sql_error("read-only transaction", "", "25006")));
    CHECK_FALSE(not_an_outage(outboxd::store::StoreUnavailable("connecting")));

    CHECK(not_an_outage(pqxx::insufficient_privilege("permission denied")).value_or("")
          == "insufficient privilege, SQLSTATE 42501");
    CHECK(not_an_outage(pqxx::undefined_column("column does not exist")).value_or("")
          == "undefined column, SQLSTATE 42703");
    CHECK(not_an_outage(pqxx::unique_violation("duplicate key")));
    CHECK(not_an_outage(pqxx::sql_error("internal", "", "XX000")).value_or("") == "SQLSTATE XX000");
    CHECK(not_an_outage(pqxx::conversion_error("bad int")));
    CHECK(not_an_outage(std::bad_alloc()));
}
