// The read-back (G6) against the real services: rows Kafka already holds
// from this outbox are marked, not sent again; messages from other
// producers, other outboxes, or with a different key are never taken for
// ours; many partitions and an empty tail work.
#include "services.h"

#include <catch2/catch.hpp>

#include <csignal>

using namespace outboxd::testing;
using namespace std::chrono_literals;

TEST_CASE("read-back marks rows already in Kafka and ignores everyone else's messages",
          "[integration][readback]") {
    const auto& s = services();
    const auto name = unique_name("readback");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 12, 1);
    const std::string ours = "outboxd/public." + name;

    std::vector<NewRow> rows;
    for (int i = 0; i < 120; ++i) {
        rows.push_back(
            {name, "key-" + std::to_string(i % 12), "v" + std::to_string(i), std::nullopt});
    }
    const auto ids = insert_rows(s.pg_dsn, table, rows);

    // The crash gap, simulated: rows 0..39 reached Kafka from this outbox
    // but are still at 0.
    std::vector<RawMessage> raw;
    for (int i = 0; i < 40; ++i) {
        raw.push_back({rows[i].key,
                       *rows[i].payload,
                       {{"outbox-id", std::to_string(ids[i])}, {"outbox-source", ours}}});
    }
    // Another outbox with the same ids on the same topic: not ours.
    for (int i = 40; i < 60; ++i) {
        raw.push_back(
            {rows[i].key,
             "other",
             {{"outbox-id", std::to_string(ids[i])}, {"outbox-source", "otherdb/public.outbox"}}});
    }
    // Our source and id, but another key: not this row.
    raw.push_back({std::string("not-the-key"),
                   "x",
                   {{"outbox-id", std::to_string(ids[60])}, {"outbox-source", ours}}});
    // Plain messages from an unrelated producer, with and without a key.
    raw.push_back({std::nullopt, "no headers at all", {}});
    raw.push_back({std::string("k"), "garbage id", {{"outbox-id", "not-a-number"}}});
    produce_raw(s.kafka_bootstrap, name, raw);

    const auto c = daemon_config(table);
    Daemon d({"run", "--config", write_config(c)});
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 120; }, 60s));
    // One read-back, which marked the 40 rows of the gap (and no other).
    CHECK(metric_value(d, "outboxd_read_backs_total{result=\"read\"}") == 1.0);
    CHECK(metric_value(d, "outboxd_read_back_marked_rows_total") == 40.0);
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
    INFO(tail_of(d.log()));

    // Exactly one message of ours per row, with its own key: rows 0..39
    // only from the simulated gap, the rest produced now.
    std::map<std::int64_t, int> copies;
    for (const auto& m : read_topic(s.kafka_bootstrap, name)) {
        const bool is_ours = std::any_of(m.headers.begin(), m.headers.end(), [&](const auto& h) {
            return h.first == "outbox-source" && h.second == ours;
        });
        if (!is_ours || m.key == std::optional<std::string>("not-the-key")) {
            continue;
        }
        ++copies[m.outbox_id];
    }
    for (size_t i = 0; i < ids.size(); ++i) {
        INFO("row " << i);
        CHECK(copies[ids[i]] == 1);
    }
}

TEST_CASE("read-back with an empty tail and nothing pending starts at once",
          "[integration][readback]") {
    const auto& s = services();
    const auto name = unique_name("rbempty");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 4, 1);
    const auto c = daemon_config(table);
    Daemon d({"run", "--config", write_config(c)});
    REQUIRE(eventually([&] { return publishes(d); }, 30s));
    CHECK(metric_value(d, "outboxd_read_backs_total{result=\"nothing_pending\"}") == 1.0);
    CHECK(metric_value(d, "outboxd_read_backs_total{result=\"read\"}") == 0.0);
    // A pending row whose topic holds nothing yet: the tail is empty.
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
    insert_rows(s.pg_dsn, table, {{name, "k", "v", std::nullopt}});
    Daemon d2({"run", "--config", write_config(c)});
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 1; }, 30s));
    // The tail was read (empty): nothing marked, the row sent once.
    CHECK(metric_value(d2, "outboxd_read_backs_total{result=\"read\"}") == 1.0);
    CHECK(metric_value(d2, "outboxd_read_back_marked_rows_total") == 0.0);
    d2.signal(SIGTERM);
    CHECK(d2.wait(30s) == 0);
    CHECK(read_topic(s.kafka_bootstrap, name).size() == 1);
}
