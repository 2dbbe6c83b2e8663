// One active publisher (G5) against the real services: several outboxd
// processes on one table, the leader killed repeatedly.
#include "services.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <memory>
#include <thread>

using namespace outboxd::testing;
using namespace std::chrono_literals;

TEST_CASE("three processes on one table: one publishes; kill it, another takes over",
          "[integration][leader]") {
    const auto& s = services();
    const auto name = unique_name("leader");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 3, 1);
    auto c = daemon_config(table);
    c.extra_yaml = "leader:\n  retry_interval_ms: 300\n";
    const auto path = write_config(c);

    RowInserter load(table, name, 100000000, 20);

    std::vector<std::unique_ptr<Daemon>> ds;
    for (int i = 0; i < 3; ++i) {
        ds.push_back(std::make_unique<Daemon>(std::vector<std::string>{"run", "--config", path}));
    }
    std::vector<double> takeover_ms;
    const int kills = fault_rounds(5);
    for (int round = 0; round < kills; ++round) {
        // Exactly one leader, observed several times while rows flow.
        Daemon* leader = nullptr;
        REQUIRE(eventually([&] { return publishing_count(ds, &leader) == 1; }, 30s));
        for (int probe = 0; probe < 5; ++probe) {
            std::this_thread::sleep_for(100ms);
            CHECK(publishing_count(ds) == 1);
        }
        const int sent_before = status_counts(s.pg_dsn, table)[1];
        const auto took = kill_and_time_takeover(ds, *leader, 30s);
        REQUIRE(took);
        takeover_ms.push_back(*took);
        // The new leader actually publishes.
        REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] > sent_before; }, 30s));
        // Replace the dead process so three keep running.
        for (auto& d : ds) {
            if (d.get() == leader) {
                d = std::make_unique<Daemon>(std::vector<std::string>{"run", "--config", path});
            }
        }
    }
    // `check` says who publishes, without taking the lock itself.
    {
        auto [rc, out] = run_outboxd({"check", "--config", path});
        INFO(out);
        CHECK(rc == 0);
        CHECK(out.find("leader: publishing from backend pid") != std::string::npos);
        CHECK(out.find("application outboxd-leader") != std::string::npos);
    }
    const int total = load.stop();
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == total; }, 120s));
    for (const auto& code : stop_each(ds, 30s)) {
        CHECK(code == 0);
    }
    // Read everything back: nothing lost, no copies, per-key order kept.
    auto t = tally("3 outboxd, leader killed", s.kafka_bootstrap, name, table);
    std::sort(takeover_ms.begin(), takeover_ms.end());
    t.rounds = kills;
    t.takeover_p50_ms = takeover_ms[takeover_ms.size() / 2];
    t.takeover_max_ms = takeover_ms.back();
    report_fault_run(t);
    WARN("leader: kills=" << kills << " rows=" << t.rows << " lost=" << t.lost << " duplicates="
                          << t.duplicates << " order_violations=" << t.order_violations
                          << " takeover_ms p50=" << t.takeover_p50_ms
                          << " max=" << t.takeover_max_ms);
    CHECK(t.lost == 0);
    CHECK(t.duplicates == 0);
    CHECK(t.order_violations == 0);
    CHECK(t.wrongly_parked == 0);
}
