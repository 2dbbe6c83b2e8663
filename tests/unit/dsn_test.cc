// DSN handling (config/dsn.h) and the link settings every PostgreSQL session
// gets (store/pg_session.h): pure functions, no connection.
#include "config/dsn.h"
#include "store/pg_session.h"

#include <catch2/catch.hpp>

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
