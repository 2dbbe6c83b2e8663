// Counted failures (G3) and per-key holds (G4) against the real services:
// oversized payload, unknown topic, malformed headers.
#include "services.h"

#include <catch2/catch.hpp>

#include <csignal>

using namespace outboxd::testing;
using namespace std::chrono_literals;

TEST_CASE("bad rows count attempts, back off, park at 2 with a readable error; others flow",
          "[integration][failures]") {
    const auto& s = services();
    const auto name = unique_name("fail");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    const std::string missing_topic = unique_name("missing");

    std::vector<NewRow> rows = {
        {name, "A", std::string(20000, 'x'), std::nullopt}, // too large for the producer
        {name, "A", "after-oversized", std::nullopt},       // waits for the row above (G4)
        {name, "B", "fine", std::nullopt},                  // flows at once
        {name, "C", "bad-headers", R"([1, 2])"},            // not an object
        {missing_topic, "D", "nowhere", std::nullopt},      // topic does not exist
        {name, std::nullopt, "no-key", std::nullopt},       // flows at once
        {name, "E", "bad-header-value", R"({"n": 5})"},     // value not a string
    };
    const auto ids = insert_rows(s.pg_dsn, table, rows);

    auto c = daemon_config(table);
    c.relay["max_attempts"] = "3";
    c.relay["retry_backoff_initial_ms"] = "1000";
    c.relay["retry_backoff_max_ms"] = "2000";
    c.relay["poll_interval_ms"] = "200";
    c.kafka_props["message.max.bytes"] = "10000";
    c.kafka_props["topic.metadata.propagation.max.ms"] = "1000";
    Daemon d({"run", "--config", write_config(c)});

    // Good rows flow while the bad ones are still being retried.
    REQUIRE(eventually(
        [&] {
            auto st = row_states(s.pg_dsn, table);
            return st[ids[2]].status == 1 && st[ids[5]].status == 1;
        },
        30s));
    {
        auto st = row_states(s.pg_dsn, table);
        CHECK(st[ids[0]].status == 0);
        CHECK(st[ids[0]].attempts < 3);
        CHECK(st[ids[1]].status == 0); // held behind its key's failing row
        CHECK(st[ids[1]].attempts == 0);
    }
    // Counting and back-off: after the first failure the row waits with a
    // next_attempt_at instead of being hammered.
    REQUIRE(eventually(
        [&] {
            auto st = row_states(s.pg_dsn, table)[ids[0]];
            return st.attempts >= 1;
        },
        30s));
    {
        auto st = row_states(s.pg_dsn, table)[ids[0]];
        if (st.status == 0) {
            CHECK(st.has_next_attempt_at);
        }
    }

    REQUIRE(eventually(
        [&] {
            auto st = row_states(s.pg_dsn, table);
            return st[ids[0]].status == 2 && st[ids[3]].status == 2 && st[ids[4]].status == 2
                   && st[ids[6]].status == 2 && st[ids[1]].status == 1;
        },
        90s));
    auto st = row_states(s.pg_dsn, table);
    for (int i : {0, 3, 4, 6}) {
        INFO("row " << i << " last_error: " << st[ids[i]].last_error);
        CHECK(st[ids[i]].attempts == 3);
        CHECK_FALSE(st[ids[i]].has_sent_at);
    }
    CHECK(st[ids[0]].last_error.find("exceeds the producer's message.max.bytes")
          != std::string::npos);
    CHECK(st[ids[3]].last_error.find("malformed headers") != std::string::npos);
    CHECK(st[ids[4]].last_error.find("nknown topic") != std::string::npos);
    CHECK(st[ids[6]].last_error.find("must be a string") != std::string::npos);
    for (int i : {1, 2, 5}) {
        CHECK(st[ids[i]].attempts == 0);
    }

    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
    const auto msgs = read_topic(s.kafka_bootstrap, name);
    std::vector<std::int64_t> got;
    for (const auto& m : msgs) {
        got.push_back(m.outbox_id);
    }
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<std::int64_t>{ids[1], ids[2], ids[5]});
}

TEST_CASE("a database error that is not an outage stops the daemon with its SQLSTATE instead "
          "of being retried as 'unavailable' forever",
          "[integration][failures]") {
    const auto& s = services();
    const auto name = unique_name("denied");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    auto c = daemon_config(table);
    Daemon d({"run", "--config", write_config(c)});
    insert_rows(s.pg_dsn, table, {{name, "k", "first", std::nullopt}});
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 1; }, 60s));
    // A DBA revokes what the relay needs: marking rows sent now fails with
    // 42501, which no amount of retrying fixes.
    sql(s.pg_dsn, "REVOKE UPDATE ON \"" + table.schema + "\".\"" + table.table + "\" FROM "
                      + std::string(kRelayRole));
    insert_rows(s.pg_dsn, table, {{name, "k", "second", std::nullopt}});
    // Exit 1 within the minute: stopped, not retried as an outage (the
    // SQLSTATE in its message is unit-tested: dsn_test's not_an_outage).
    const auto rc = d.wait(60s);
    INFO(tail_of(d.log()));
    REQUIRE(rc.has_value());
    CHECK(*rc == 1);
    // Nothing was lost: the row Kafka took is still pending, for the read-back.
    CHECK(status_counts(s.pg_dsn, table)[0] == 1);
}
