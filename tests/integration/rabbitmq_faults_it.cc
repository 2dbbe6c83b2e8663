// outboxd against a real RabbitMQ under faults: three processes on one
// table (one publishes, the leader killed hands over), kill -9 of outboxd
// under a steady load. RabbitMQ has no read-back (docs/rabbitmq.md), so a
// killed publisher's unconfirmed messages are published again: the tests
// count those duplicates and check each kill's share is bounded by what
// was unconfirmed at that kill (at most relay.max_in_flight).
#include "amqp_client.h"
#include "services.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <vector>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kMaxInFlight = 2000;

// An exchange and a quorum queue named `name`, keys key-0..key-9 bound
// (RowInserter's keys).
void topology(AmqpClient& amqp, const std::string& name) {
    amqp.exchange(name);
    amqp.quorum_queue(name);
    for (int k = 0; k < 10; ++k) {
        amqp.bind(name, name, "key-" + std::to_string(k));
    }
}

DaemonConfig rabbit_config(const outboxd::config::Postgres& table,
                           const std::string& url,
                           const std::string& more = {}) {
    DaemonConfig cfg = daemon_config(table);
    cfg.relay["max_in_flight"] = std::to_string(kMaxInFlight);
    cfg.extra_yaml = "broker: rabbitmq\nrabbitmq:\n  url: \"" + url + "\"\n" + more;
    return cfg;
}

// The rows still unmarked right after each kill: the only ones a later
// publisher can send a second time.
struct KillLedger {
    std::vector<std::set<std::int64_t>> pending_after_kill;

    void record(const outboxd::config::Postgres& table) {
        pending_after_kill.push_back(pending_ids(services().pg_dsn, table));
    }

    // Checks every duplicated id was unmarked at some kill, and that the
    // duplicates charged to each kill (to the first kill the id was pending
    // at) are at most what that kill left in flight: relay.max_in_flight.
    // Returns the most charged to one kill.
    int check(const QueueTally& t) const {
        std::vector<int> per_kill(pending_after_kill.size(), 0);
        int unexplained = 0;
        for (const auto& [id, copies] : t.copies) {
            if (copies < 2) {
                continue;
            }
            bool found = false;
            for (std::size_t k = 0; k < pending_after_kill.size() && !found; ++k) {
                if (pending_after_kill[k].count(id) != 0) {
                    per_kill[k] += copies - 1;
                    found = true;
                }
            }
            unexplained += found ? 0 : 1;
        }
        CHECK(unexplained == 0);
        const int most = per_kill.empty() ? 0 : *std::max_element(per_kill.begin(), per_kill.end());
        CHECK(most <= kMaxInFlight);
        return most;
    }
};

bool has_line(const std::string& body, const std::string& line) {
    return body.find("\n" + line + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("rabbitmq: outboxd_broker_up follows the broker, outboxd_kafka_up is not exported, "
          "/readyz names rabbitmq",
          "[integration][rabbitmq]") {
    const auto& s = services();
    const auto name = unique_name("rmq_up");
    auto table = make_table(s.pg_dsn, name);
    auto cfg = rabbit_config(table, s.rabbitmq_url);
    cfg.extra_yaml += "http:\n  stats_interval_ms: 500\n";
    cfg.http_listen.clear();
    cfg.extra_yaml += "  listen: \"127.0.0.1:0\"\n";
    Daemon d({"run", "--config", write_config(cfg)});
    const auto port = d.http_port();
    REQUIRE(port);
    REQUIRE(eventually(
        [&] { return has_line(http_get(*port, "/metrics").second, "outboxd_broker_up 1"); }, 30s));
    const auto metrics = http_get(*port, "/metrics").second;
    CHECK(metrics.find("outboxd_kafka_up") == std::string::npos);
    const auto ready = http_get(*port, "/readyz");
    CHECK(ready.first == 200);
    CHECK_THAT(ready.second, Catch::Contains("rabbitmq: ok"));
    // A port nothing listens on: the gauge drops to 0 and /readyz says why.
    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);
    auto down = rabbit_config(table, "amqp://guest:guest@127.0.0.1:1/%2f");
    Daemon d2({"run", "--config", write_config(down)});
    const auto port2 = d2.http_port();
    REQUIRE(port2);
    REQUIRE(eventually(
        [&] {
            return has_line(http_get(*port2, "/metrics").second, "outboxd_broker_up 0")
                   && http_get(*port2, "/readyz").second.rfind("not ready: rabbitmq unreachable", 0)
                          == 0;
        },
        60s));
    CHECK(http_get(*port2, "/metrics").second.find("outboxd_kafka_up") == std::string::npos);
    d2.signal(SIGTERM);
    REQUIRE(d2.wait(30s) == 0);
}

TEST_CASE("rabbitmq: three processes on one table, one publishes; kill it, another takes over, "
          "nothing lost",
          "[integration][rabbitmq-leader]") {
    const auto& s = services();
    const auto name = unique_name("rmq_leader");
    auto table = make_table(s.pg_dsn, name);
    AmqpClient amqp;
    topology(amqp, name);
    const auto path =
        write_config(rabbit_config(table, s.rabbitmq_url, "leader:\n  retry_interval_ms: 300\n"));
    {
        // The queue is bound with ten routing keys: audited and listed once.
        auto [rc, out] = run_outboxd(
            {"check", "--config",
             write_config(rabbit_config(table, s.rabbitmq_url,
                                        "  management_url: \"" + s.rabbitmq_management_url
                                            + "\"\n  audit_exchanges: [" + name + "]\n"))});
        INFO(out);
        CHECK(rc == 0);
        CHECK(out.find("queues: " + name + " (quorum durable))") != std::string::npos);
    }

    RowInserter load(table, name, 100000000, 20);
    std::vector<std::unique_ptr<Daemon>> ds;
    for (int i = 0; i < 3; ++i) {
        ds.push_back(std::make_unique<Daemon>(std::vector<std::string>{"run", "--config", path}));
    }
    KillLedger ledger;
    std::vector<double> takeover_ms;
    const int kills = fault_rounds(5);
    for (int round = 0; round < kills; ++round) {
        Daemon* leader = nullptr;
        REQUIRE(eventually([&] { return publishing_count(ds, &leader) == 1; }, 30s));
        // Exactly one publisher, seen several times while rows flow.
        for (int probe = 0; probe < 5; ++probe) {
            std::this_thread::sleep_for(100ms);
            CHECK(publishing_count(ds) == 1);
        }
        const int sent_before = status_counts(s.pg_dsn, table)[1];
        const auto took = kill_and_time_takeover(ds, *leader, 30s, [&] { ledger.record(table); });
        REQUIRE(took);
        takeover_ms.push_back(*took);
        REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] > sent_before; }, 30s));
        for (auto& d : ds) {
            if (d.get() == leader) {
                d = std::make_unique<Daemon>(std::vector<std::string>{"run", "--config", path});
            }
        }
    }
    const int total = load.stop();
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == total; }, 120s));
    for (const auto& code : stop_each(ds, 30s)) {
        CHECK(code == 0);
    }
    const auto t = tally_queue(amqp.drain(name), s.pg_dsn, table);
    const int most = ledger.check(t);
    std::sort(takeover_ms.begin(), takeover_ms.end());
    WARN("rabbitmq leader: kills=" << kills << " rows=" << t.rows << " lost=" << t.lost
                                   << " duplicates=" << t.duplicates << " (most from one kill "
                                   << most << ", bound " << kMaxInFlight << ")"
                                   << " order_violations=" << t.order_violations
                                   << " takeover_ms p50=" << takeover_ms[takeover_ms.size() / 2]
                                   << " max=" << takeover_ms.back());
    CHECK(t.rows == total);
    CHECK(t.lost == 0);
    CHECK(t.order_violations == 0);
}

TEST_CASE("rabbitmq: kill -9 of outboxd 20 times under load, nothing lost, duplicates bounded "
          "by what was in flight at each kill",
          "[integration][rabbitmq-crash]") {
    const auto& s = services();
    const auto name = unique_name("rmq_crash");
    auto table = make_table(s.pg_dsn, name);
    AmqpClient amqp;
    topology(amqp, name);
    const auto path = write_config(rabbit_config(table, s.rabbitmq_url));
    const int rounds = fault_rounds(20);
    std::mt19937 rng(42);
    int kills_mid_stream = 0;
    KillLedger ledger;
    RowInserter ins(table, name, 1000000, 50);
    for (int r = 0; r < rounds; ++r) {
        Daemon d({"run", "--config", path});
        REQUIRE(eventually([&] { return publishes(d); }, 30s));
        const auto sent_at_start = status_counts(s.pg_dsn, table)[1];
        std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 600));
        d.signal(SIGKILL);
        d.wait(10s);
        ledger.record(table);
        if (status_counts(s.pg_dsn, table)[1] > sent_at_start) {
            ++kills_mid_stream; // it was relaying when it died
        }
    }
    const int total = ins.stop();
    CHECK(kills_mid_stream >= rounds / 2);
    Daemon d({"run", "--config", path});
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == total; }, 120s));
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
    const auto t = tally_queue(amqp.drain(name), s.pg_dsn, table);
    const int most = ledger.check(t);
    WARN("rabbitmq crash: rounds=" << rounds << " mid_stream=" << kills_mid_stream
                                   << " rows=" << t.rows << " lost=" << t.lost
                                   << " duplicates=" << t.duplicates << " (most from one kill "
                                   << most << ", bound relay.max_in_flight " << kMaxInFlight
                                   << ") order_violations=" << t.order_violations);
    CHECK(t.rows == total);
    CHECK(t.lost == 0);
    CHECK(t.order_violations == 0);
}
