// The reference consumer (examples/inventory_consumer) and consumer
// confirmation end to end, against the real services: outboxd relays orders
// and confirms them from the consumer group's committed offsets and the ack
// topic, while the consumer and outboxd are killed with kill -9 again and
// again; every order must be applied exactly once (inbox table) and end at
// 3, the poison orders at 4 with the consumer's reason. And a consumer
// stopped past confirm.deadline_ms: its rows are sent again and confirmed
// once it is back, still applied once.
#include "consumer_harness.h"
#include "services.h"
#include "store/sql.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <thread>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

std::string header_value(const Consumed& m, const std::string& name) {
    for (const auto& [k, v] : m.headers) {
        if (k == name) {
            return v;
        }
    }
    return "<absent>";
}

// The config of a relay whose rows the consumer group `group` confirms,
// with failure reports from `ack_topic`; migrated for it.
std::string confirming_config(const outboxd::config::Postgres& table,
                              const std::string& group,
                              const std::string& ack_topic,
                              const std::string& more = {}) {
    DaemonConfig cfg = daemon_config(table);
    cfg.extra_yaml = "confirm:\n  consumers: [\"" + group + "\"]\n  ack_topic: " + ack_topic
                     + "\n  interval_ms: 300\n" + more;
    const std::string path = write_config(cfg);
    Daemon m({"migrate", "--config", path});
    REQUIRE(m.wait(60s) == 0);
    return path;
}

} // namespace

TEST_CASE("end to end: outboxd and the reference consumer killed with kill -9 again and again: "
          "every order applied once and at 3, the poison orders at 4",
          "[integration][consumer]") {
    const auto& s = services();
    const auto name = unique_name("consumer");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 3, 1);
    const std::string ack_topic = name + "_acks";
    create_topic(s.kafka_bootstrap, ack_topic, 1, 1);
    // The consumer's own tables in a schema of their own, so tests running
    // side by side never share an inbox.
    const std::string schema = name;
    const InventoryTables tables(schema);
    const std::string group = name + "_inventory";
    const std::string source = sql_value(s.pg_dsn, "SELECT current_database()") + "/public." + name;

    // outboxd is killed at least 10 times while the orders flow.
    KilledRelay relay(confirming_config(table, group, ack_topic), 10);

    const auto consumer_args = [&](int commit_every) {
        return std::vector<std::string>{
            "--bootstrap", s.kafka_bootstrap, "--group", group, "--topic", name, "--dsn", s.pg_dsn,
            "--schema", schema, "--ack-topic", ack_topic,
            // Static membership: a restart takes its partitions back at once
            // instead of waiting for the dead member's session to expire.
            "--instance-id", "inventory-0", "--commit-every", std::to_string(commit_every),
            "--summary-interval-ms", "1000"};
    };
    const auto applied = [&] {
        return tables.applied(s.pg_dsn);
    };
    const Program consumer{OUTBOXD_TEST_CONSUMER_BINARY};

    const int kKills = 20;
    const int kOrders = 2000;
    OrderFeed feed(table, name, kOrders);
    // Kills for as long as orders flow (about 40 s at 50 orders/s), and at
    // least kKills of them.
    const auto lives =
        kill_consumer_lives(consumer, consumer_args, applied, feed, kOrders, kKills, 11);
    const int kills = lives.kills;
    int duplicates = lives.duplicates;
    int failure_lines = lives.failure_lines;
    feed.finish();
    relay.stop(); // the last start stays up
    REQUIRE(feed.error.empty());
    REQUIRE(feed.bad_json_id > 0);
    REQUIRE(feed.zero_qty_id > 0);
    const int rows = feed.inserted() + 2;
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[0] == 0; }, 120s));

    // The last life runs to the end and stops on SIGTERM.
    Daemon last(consumer, consumer_args(1));
    const long valid = static_cast<long>(feed.valid_ids.size());
    if (!eventually([&] { return applied() == valid; }, 120s)) {
        FAIL("applied " << applied() << " of " << valid << "; consumer log:\n"
                        << tail_of(last.log()));
    }
    // Stopped only once it runs its loop (its first summary line): under
    // ASan a SIGTERM in the same moment as the group's first assignment once
    // took more than 30 s to end (inside rd_kafka_consumer_close; the cause
    // is not known yet).
    REQUIRE(eventually([&] { return last.log().find("] summary: ") != std::string::npos; }, 60s));
    last.signal(SIGTERM);
    const auto last_exit = last.wait(60s);
    INFO("last consumer log:\n" << tail_of(last.log()));
    REQUIRE(last_exit == 0);
    const std::string last_log = last.log();
    INFO("last consumer log:\n" << tail_of(last_log));
    CHECK(last_log.find("] stopped: applied=") != std::string::npos);
    duplicates += count_of(last_log, "] duplicate: ");
    failure_lines += count_of(last_log, "] failed: ");

    // Exactly once: the totals are the sums of the valid orders, no more.
    CHECK(totals_text(tables.totals(s.pg_dsn)) == totals_text(feed.expected));
    // One inbox row per valid order, none for the poison ones.
    auto want_ids = feed.valid_ids;
    std::sort(want_ids.begin(), want_ids.end());
    CHECK(tables.inbox_ids(s.pg_dsn) == want_ids);
    CHECK(sql(s.pg_dsn, "SELECT DISTINCT source FROM " + tables.inbox)
          == std::vector<std::vector<std::string>>{{source}});

    // Each poison order reported with the four headers and a reason a person
    // can read; a report may repeat (a kill between its delivery and the
    // commit), which outboxd applies idempotently.
    const auto reports = read_topic(s.kafka_bootstrap, ack_topic);
    std::map<std::int64_t, int> reported;
    for (const auto& m : reports) {
        INFO("report for outbox-id " << m.outbox_id << ": " << m.payload.value_or("<null>"));
        CHECK(header_value(m, "outbox-source") == source);
        CHECK(header_value(m, "outbox-consumer") == group);
        CHECK(header_value(m, "outbox-result") == "failed");
        ++reported[m.outbox_id];
        if (m.outbox_id == feed.bad_json_id) {
            CHECK(m.payload.value_or("").find("payload is not JSON") != std::string::npos);
        } else if (m.outbox_id == feed.zero_qty_id) {
            CHECK(m.payload.value_or("") == "qty must be positive, got 0");
        }
    }
    CHECK(reported.size() == 2);
    CHECK(reported[feed.bad_json_id] >= 1);
    CHECK(reported[feed.zero_qty_id] >= 1);
    const int repeated_reports = static_cast<int>(reports.size()) - 2;

    WARN("consumer: kills=" << kills << " orders=" << valid << " duplicates_skipped=" << duplicates
                            << " failure_reports=" << reports.size()
                            << " (repeated=" << repeated_reports << ")");
    CHECK(kills >= kKills);
    // The inbox was exercised: lives that commit per 25 were killed with
    // applied but uncommitted messages, which came again.
    CHECK(duplicates > 0);
    CHECK(failure_lines >= 2);

    // Confirmed end to end: every valid order at 3, the poison ones at 4
    // with the consumer's reason, nothing left at 0, 1 or 2.
    const auto done = [&] {
        auto c = status_counts(s.pg_dsn, table);
        return c[3] == static_cast<int>(valid) && c[4] == 2;
    };
    if (!eventually(done, 60s)) {
        FAIL("statuses " << status_text(s.pg_dsn, name) << "; outboxd log:\n"
                         << tail_of(relay.last().log()));
    }
    auto counts = status_counts(s.pg_dsn, table);
    CHECK(counts[0] == 0);
    CHECK(counts[1] == 0);
    CHECK(counts[2] == 0);
    CHECK(counts[3] + counts[4] == rows);
    CHECK_THAT(sql_value(s.pg_dsn, "SELECT last_error FROM " + name
                                       + " WHERE id = " + std::to_string(feed.bad_json_id)),
               Catch::StartsWith(group + ": payload is not JSON"));
    CHECK(sql_value(s.pg_dsn, "SELECT last_error FROM " + name
                                  + " WHERE id = " + std::to_string(feed.zero_qty_id))
          == group + ": qty must be positive, got 0");
    WARN("end to end: outboxd kills=" << relay.kills() << ", consumer kills=" << kills << ", "
                                      << counts[3] << " rows at 3, " << counts[4] << " at 4");
    CHECK(relay.kills() >= 10);
    relay.last().signal(SIGTERM);
    CHECK(relay.last().wait(30s) == 0);
}

TEST_CASE("end to end: a consumer stopped past confirm.deadline_ms: its rows are unconfirmed, "
          "sent again, and confirmed once it is back, each applied once",
          "[integration][consumer]") {
    const auto& s = services();
    const auto name = unique_name("consumer_late");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    const std::string ack_topic = name + "_acks";
    create_topic(s.kafka_bootstrap, ack_topic, 1, 1);
    const std::string schema = name;
    const InventoryTables tables(schema);
    const std::string group = name + "_inventory";
    const std::string path =
        confirming_config(table, group, ack_topic,
                          "  deadline_ms: 2000\n  resend_unconfirmed: false\n  max_resends: 50\n");
    Daemon relay({"run", "--config", path});

    // 50 orders while the consumer is down.
    const long long total = insert_orders(table, name, 50);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 50; }, 60s));
    // Past the deadline: listed, then sent again (nobody confirmed).
    list_unconfirmed_then_resend(path, relay, name, 50);

    // The consumer comes back: every row confirmed, each order applied once
    // although the topic holds several copies of each.
    Daemon consumer(Program{OUTBOXD_TEST_CONSUMER_BINARY},
                    {"--bootstrap", s.kafka_bootstrap, "--group", group, "--topic", name, "--dsn",
                     s.pg_dsn, "--schema", schema, "--ack-topic", ack_topic});
    if (!eventually([&] { return status_counts(s.pg_dsn, table)[3] == 50; }, 60s)) {
        FAIL("not all at 3; consumer log:\n"
             << tail_of(consumer.log()) << "\noutboxd log:\n"
             << tail_of(relay.log()));
    }
    const auto copies = read_topic(s.kafka_bootstrap, name).size();
    CHECK(copies > 50);
    CHECK(tables.applied(s.pg_dsn) == 50);
    CHECK(tables.totals(s.pg_dsn) == std::map<std::string, long long>{{"A-1", total}});
    WARN("late consumer: 50 orders, " << copies << " messages in the topic, each applied once");
    consumer.signal(SIGTERM);
    CHECK(consumer.wait(30s) == 0);
    relay.signal(SIGTERM);
    CHECK(relay.wait(30s) == 0);
}
