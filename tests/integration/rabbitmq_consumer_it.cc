// The reference consumer on RabbitMQ (--broker rabbitmq), end to end against
// the real services: a queue has no committed offsets, so the consumer
// answers every order with a `consumed` or `failed` report on
// confirm.ack_queue, and acknowledges the delivery only once the broker
// confirmed that report. While it and outboxd are killed with kill -9 again
// and again, every order must be applied exactly once and end at 3, the
// poison orders at 4 with the consumer's reason. And a consumer stopped past
// confirm.deadline_ms: its rows are sent again and confirmed once it is back,
// still applied once.
#include "amqp_client.h"
#include "consumer_harness.h"
#include "services.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

// A fanout exchange `name` into the quorum queue `name`, and the quorum
// queue `name`_acks for the reports; deleted at the end.
class Topology {
public:
    explicit Topology(std::string name)
        : name_(std::move(name)) {
        AmqpClient amqp;
        amqp.exchange(name_, "fanout");
        amqp.quorum_queue(name_);
        amqp.bind(name_, name_, "");
        amqp.quorum_queue(acks());
    }
    ~Topology() {
        try {
            AmqpClient amqp;
            amqp.delete_queue(acks());
            amqp.delete_queue(name_);
            amqp.delete_exchange(name_);
        } catch (const std::exception&) { // the node may be gone with a failed test
        }
    }
    Topology(const Topology&) = delete;
    Topology& operator=(const Topology&) = delete;
    std::string acks() const { return name_ + "_acks"; }

private:
    std::string name_;
};

// outboxd on RabbitMQ, confirming from the reports on `ack_queue`;
// migrated for it.
std::string confirming_config(const outboxd::config::Postgres& table,
                              const std::string& consumer,
                              const std::string& ack_queue,
                              const std::string& more = {}) {
    DaemonConfig cfg = daemon_config(table);
    cfg.extra_yaml = "broker: rabbitmq\nrabbitmq:\n  url: \"" + services().rabbitmq_url
                     + "\"\nconfirm:\n  consumers: [\"" + consumer
                     + "\"]\n  ack_queue: " + ack_queue + "\n  interval_ms: 300\n" + more;
    const std::string path = write_config(cfg);
    Daemon m({"migrate", "--config", path});
    REQUIRE(m.wait(60s) == 0);
    return path;
}

std::vector<std::string> consumer_args(const std::string& consumer,
                                       const std::string& queue,
                                       const std::string& ack_queue,
                                       const std::string& schema,
                                       int commit_every) {
    return {"--broker",
            "rabbitmq",
            "--amqp-url",
            services().rabbitmq_url,
            "--group",
            consumer,
            "--queue",
            queue,
            "--ack-queue",
            ack_queue,
            "--dsn",
            services().pg_dsn,
            "--schema",
            schema,
            "--commit-every",
            std::to_string(commit_every),
            "--summary-interval-ms",
            "1000"};
}

} // namespace

TEST_CASE("rabbitmq end to end: outboxd and the reference consumer killed with kill -9 again "
          "and again: every order applied once and at 3, the poison orders at 4",
          "[integration][rabbitmq-consumer]") {
    const auto& s = services();
    REQUIRE_FALSE(s.rabbitmq_dir.empty());
    const auto name = unique_name("rmq_consumer");
    auto table = make_table(s.pg_dsn, name);
    const Topology topology(name);
    const InventoryTables tables(name);
    const std::string consumer = "inventory";

    // outboxd is killed at least 10 times while the orders flow.
    KilledRelay relay(confirming_config(table, consumer, topology.acks()), 10);
    const Program program{OUTBOXD_TEST_CONSUMER_BINARY};
    const auto applied = [&] {
        return tables.applied(s.pg_dsn);
    };

    const int kKills = 20;
    const int kOrders = 2000;
    OrderFeed feed(table, name, kOrders);
    const auto lives = kill_consumer_lives(
        program,
        [&](int commit_every) {
            return consumer_args(consumer, name, topology.acks(), name, commit_every);
        },
        applied, feed, kOrders, kKills, 13);
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
    Daemon last(program, consumer_args(consumer, name, topology.acks(), name, 1));
    const long valid = static_cast<long>(feed.valid_ids.size());
    if (!eventually([&] { return applied() == valid; }, 120s)) {
        FAIL("applied " << applied() << " of " << valid << "; consumer log:\n"
                        << tail_of(last.log()));
    }
    const auto done = [&] {
        auto c = status_counts(s.pg_dsn, table);
        return c[3] == static_cast<int>(valid) && c[4] == 2;
    };
    if (!eventually(done, 60s)) {
        FAIL("statuses " << status_text(s.pg_dsn, name) << "; consumer log:\n"
                         << tail_of(last.log()) << "\noutboxd log:\n"
                         << tail_of(relay.last().log()));
    }
    // Stopped only once it runs its loop (its first summary line, every
    // second): the earlier lives may have done all the work, and a SIGTERM
    // that comes before the consumer installed its handlers ends it by the
    // signal, with nothing logged (seen once in CI on a loaded machine).
    REQUIRE(eventually([&] { return last.log().find("] summary: ") != std::string::npos; }, 60s));
    last.signal(SIGTERM);
    const auto last_exit = last.wait(60s);
    const std::string last_log = last.log();
    INFO("last consumer log:\n" << tail_of(last_log));
    REQUIRE(last_exit == 0);
    CHECK(last_log.find("] stopped: applied=") != std::string::npos);
    duplicates += count_of(last_log, "] duplicate: ");
    failure_lines += count_of(last_log, "] failed: ");

    // Exactly once: the totals are the sums of the valid orders, one inbox
    // row per valid order, none for the poison ones.
    CHECK(totals_text(tables.totals(s.pg_dsn)) == totals_text(feed.expected));
    auto want_ids = feed.valid_ids;
    std::sort(want_ids.begin(), want_ids.end());
    CHECK(tables.inbox_ids(s.pg_dsn) == want_ids);

    auto counts = status_counts(s.pg_dsn, table);
    CHECK(counts[0] == 0);
    CHECK(counts[1] == 0);
    CHECK(counts[2] == 0);
    CHECK(counts[3] + counts[4] == rows);
    CHECK_THAT(sql_value(s.pg_dsn, "SELECT last_error FROM " + name
                                       + " WHERE id = " + std::to_string(feed.bad_json_id)),
               Catch::StartsWith(consumer + ": payload is not JSON"));
    CHECK(sql_value(s.pg_dsn, "SELECT last_error FROM " + name
                                  + " WHERE id = " + std::to_string(feed.zero_qty_id))
          == consumer + ": qty must be positive, got 0");
    // Every report was applied and acknowledged; no order is left waiting.
    CHECK(eventually([&] { return AmqpClient().count(topology.acks()) == 0; }, 30s));
    CHECK(AmqpClient().count(name) == 0);
    // Every row confirmed by the one consumer: its gauge falls to 0.
    const auto port = relay.last().http_port();
    REQUIRE(port);
    CHECK(eventually(
        [&] {
            return metric_sample(http_get(*port, "/metrics").second,
                                 "outboxd_unconfirmed_by_consumer_rows{consumer=\"inventory\"}")
                   == 0.0;
        },
        30s));

    WARN("rabbitmq end to end: outboxd kills=" << relay.kills() << ", consumer kills=" << kills
                                               << ", orders=" << valid << ", duplicates skipped="
                                               << duplicates << ", " << counts[3] << " rows at 3, "
                                               << counts[4] << " at 4");
    CHECK(kills >= kKills);
    CHECK(relay.kills() >= 10);
    // The inbox was exercised: lives acknowledging per 25 were killed with
    // applied but unacknowledged deliveries, which came again.
    CHECK(duplicates > 0);
    CHECK(failure_lines >= 2);
    relay.last().signal(SIGTERM);
    CHECK(relay.last().wait(30s) == 0);
}

TEST_CASE("rabbitmq end to end: a consumer stopped past confirm.deadline_ms: its rows are "
          "unconfirmed, sent again, and confirmed once it is back, each applied once",
          "[integration][rabbitmq-consumer]") {
    const auto& s = services();
    REQUIRE_FALSE(s.rabbitmq_dir.empty());
    const auto name = unique_name("rmq_consumer_late");
    auto table = make_table(s.pg_dsn, name);
    const Topology topology(name);
    const InventoryTables tables(name);
    const std::string consumer = "inventory";
    const std::string path =
        confirming_config(table, consumer, topology.acks(),
                          "  deadline_ms: 2000\n  resend_unconfirmed: false\n  max_resends: 50\n");
    Daemon relay({"run", "--config", path});
    const auto port = relay.http_port();
    REQUIRE(port);

    const long long total = insert_orders(table, name, 50);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 50; }, 60s));
    // Not yet confirmed by the consumer, deadline or not.
    CHECK(eventually(
        [&] {
            return metric_sample(http_get(*port, "/metrics").second,
                                 "outboxd_unconfirmed_by_consumer_rows{consumer=\"inventory\"}")
                   == 50.0;
        },
        30s));
    // Past the deadline: listed, then sent again (nobody confirmed).
    list_unconfirmed_then_resend(path, relay, name, 50);
    // The copies reach the queue once the relay has sent the resent rows.
    CHECK(eventually([&] { return AmqpClient().count(name) > 50; }, 30s));
    const auto copies = AmqpClient().count(name);

    // The consumer comes back: every row confirmed, each order applied once
    // although the queue holds several copies of each.
    Daemon c(Program{OUTBOXD_TEST_CONSUMER_BINARY},
             consumer_args(consumer, name, topology.acks(), name, 10));
    if (!eventually([&] { return status_counts(s.pg_dsn, table)[3] == 50; }, 60s)) {
        FAIL("not all at 3: " << status_text(s.pg_dsn, name) << "; consumer log:\n"
                              << tail_of(c.log()) << "\noutboxd log:\n"
                              << tail_of(relay.log()));
    }
    CHECK(tables.applied(s.pg_dsn) == 50);
    CHECK(tables.totals(s.pg_dsn) == std::map<std::string, long long>{{"A-1", total}});
    CHECK(eventually([&] { return AmqpClient().count(name) == 0; }, 30s));
    c.signal(SIGTERM);
    CHECK(c.wait(30s) == 0);
    const std::string log = c.log();
    CHECK(count_of(log, "] duplicate: ") > 0);
    WARN("rabbitmq late consumer: 50 orders, " << copies << " messages in the queue, "
                                               << count_of(log, "] duplicate: ")
                                               << " duplicates skipped, each applied once");
    relay.signal(SIGTERM);
    CHECK(relay.wait(30s) == 0);
}
