// Faults against the real services: kill -9 of the daemon, PostgreSQL
// sessions killed mid-stream, a fatal producer error, SIGTERM under load, and
// a broker outage longer than every client time-out.
#include "kafka/kafka_publisher.h"
#include "reconcile/read_back.h"
#include "relay/relay.h"
#include "services.h"
#include "store/pg_outbox_store.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <random>
#include <thread>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

std::vector<NewRow> keyed_rows(const std::string& topic, int n, int keys, int offset = 0) {
    std::vector<NewRow> rows;
    for (int i = 0; i < n; ++i) {
        rows.push_back({topic, "key-" + std::to_string((offset + i) % keys),
                        "payload-" + std::to_string(offset + i), std::nullopt});
    }
    return rows;
}

} // namespace

TEST_CASE("kill -9 at random instants loses nothing; duplicates are counted",
          "[integration][crash]") {
    const auto& s = services();
    const auto name = unique_name("crash");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 3, 1);
    const int rounds = fault_rounds(50);
    const auto cfg_path = write_config(daemon_config(table));
    std::mt19937 rng(42);
    int kills_mid_stream = 0;
    // Several thousand rows/s for the whole run, so every kill lands while
    // rows are being fetched, produced and marked.
    RowInserter ins(table, name, 1000000, 50);
    for (int r = 0; r < rounds; ++r) {
        Daemon d({"run", "--config", cfg_path});
        REQUIRE(eventually([&] { return publishes(d); }, 30s));
        const auto sent_at_start = status_counts(s.pg_dsn, table)[1];
        std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 600));
        d.signal(SIGKILL);
        d.wait(10s);
        if (status_counts(s.pg_dsn, table)[1] > sent_at_start) {
            ++kills_mid_stream; // it was relaying when it died
        }
    }
    const int total = ins.stop();
    CHECK(kills_mid_stream >= rounds / 2);
    Daemon d({"run", "--config", cfg_path});
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == total; }, 120s));
    REQUIRE(eventually([&] { return publishes(d); }, 30s));
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
    auto t = tally("kill -9 of outboxd", s.kafka_bootstrap, name, table);
    t.rounds = rounds;
    report_fault_run(t);
    // G6: the read-back at each start marks rows Kafka already holds.
    WARN("crash: rounds=" << rounds << " mid_stream=" << kills_mid_stream << " rows=" << total
                          << " lost=" << t.lost << " duplicates=" << t.duplicates
                          << " order_violations=" << t.order_violations);
    CHECK(t.lost == 0);
    CHECK(t.duplicates == 0);
    CHECK(t.order_violations == 0);
    CHECK(t.wrongly_parked == 0);
}

namespace {

// Kills outboxd's PostgreSQL sessions whose application_name is `who`.
int terminate_sessions(const std::string& who) {
    return std::stoi(sql_value(services().pg_dsn,
                               "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE application_name = '"
                                   + who + "' AND pid <> pg_backend_pid()"));
}

struct SessionKillRun {
    FaultReport report;
    double db_reconnects = -1;     // outboxd_db_reconnects_total before the stop
    double leadership_losses = -1; // outboxd_leadership_losses_total before the stop
};

// 3000 rows inserted while the sessions named `who` are killed `kills`
// times, `every` apart; then everything drains and is counted.
SessionKillRun kill_sessions_under_load(const std::string& scenario,
                                        const std::string& who,
                                        int kills,
                                        std::chrono::milliseconds every) {
    const auto& s = services();
    const auto name = unique_name("term");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    const int total = 3000;
    Daemon d({"run", "--config", write_config(daemon_config(table))});
    REQUIRE(eventually([&] { return publishes(d); }, 30s));
    int killed = 0;
    {
        RowInserter ins(table, name, total, 20);
        for (int i = 0; i < kills; ++i) {
            std::this_thread::sleep_for(every);
            killed += terminate_sessions(who);
        }
    }
    CHECK(killed >= kills / 2);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == total; }, 120s));
    const auto reconnects = metric_value(d, "outboxd_db_reconnects_total");
    const auto losses = metric_value(d, "outboxd_leadership_losses_total");
    REQUIRE(reconnects);
    REQUIRE(losses);
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
    SessionKillRun run{tally(scenario, s.kafka_bootstrap, name, table), *reconnects, *losses};
    run.report.rounds = killed;
    report_fault_run(run.report);
    return run;
}

} // namespace

TEST_CASE("PostgreSQL data session killed mid-stream: reconnect with back-off, no outcome lost",
          "[integration][pg-terminate]") {
    const auto run =
        kill_sessions_under_load("PostgreSQL data session killed", "outboxd", 6, 400ms);
    // Unavailable, then reachable again on a new session; the lock held.
    CHECK(run.db_reconnects >= 1);
    CHECK(run.leadership_losses == 0);
    const auto& t = run.report;
    CHECK(t.lost == 0);
    CHECK(t.duplicates == 0); // outcomes are kept and rewritten, never re-produced
    CHECK(t.order_violations == 0);
    CHECK(t.wrongly_parked == 0);
}

TEST_CASE("lock session killed mid-stream: stop producing, take the lock again, nothing lost",
          "[integration][pg-terminate]") {
    const auto run =
        kill_sessions_under_load("PostgreSQL lock session killed", "outboxd-leader", 4, 500ms);
    CHECK(run.leadership_losses >= 1);
    const auto& t = run.report;
    WARN("lock session killed " << t.rounds << " times: rows=" << t.rows << " lost=" << t.lost
                                << " duplicates=" << t.duplicates);
    CHECK(t.lost == 0);
    CHECK(t.duplicates == 0); // the new term reads back before producing
    CHECK(t.order_violations == 0);
    CHECK(t.wrongly_parked == 0);
}

TEST_CASE("producer fatal error: the producer is rebuilt and rows still at 0 are sent",
          "[integration][fatal]") {
    const auto& s = services();
    const auto name = unique_name("fatal");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    const int total = 2000;
    insert_rows(s.pg_dsn, table, keyed_rows(name, total, 5));

    outboxd::store::PgOutboxStore store(table);
    outboxd::config::Kafka kcfg;
    kcfg.bootstrap_servers = s.kafka_bootstrap;
    kcfg.properties["linger.ms"] = "50";
    outboxd::kafka::KafkaPublisher pub(kcfg, "outboxd/public." + name);
    outboxd::SteadyClock clock;
    outboxd::XorShiftRandom random(1);
    outboxd::relay::RelayOptions opts;
    opts.batch_size = 200;
    outboxd::relay::Relay relay(opts, store, pub, clock, random);
    const std::string source = store.source_id();
    // As the daemon does: after the rebuild, read back before producing.
    const auto step = [&] {
        relay.step();
        if (relay.awaiting_read_back()) {
            CHECK(outboxd::reconcile::read_back(store, kcfg, source, 30s).status.ok());
            relay.read_back_done();
        }
    };

    // Produce a first batch, then kill the producer while it is in flight.
    REQUIRE(eventually(
        [&] {
            step();
            return relay.in_flight() > 0;
        },
        30s));
    pub.inject_fatal_for_test("injected by the test");
    REQUIRE(eventually(
        [&] {
            step();
            return relay.stats().producer_rebuilds >= 1;
        },
        30s));
    REQUIRE(eventually(
        [&] {
            step();
            return status_counts(s.pg_dsn, table)[1] == total;
        },
        60s));
    auto t = tally("producer fatal error", s.kafka_bootstrap, name, table);
    t.rounds = 1;
    report_fault_run(t);
    WARN("fatal: rows=" << total << " lost=" << t.lost << " duplicates=" << t.duplicates);
    CHECK(t.lost == 0);
    CHECK(t.duplicates == 0);
    CHECK(t.order_violations == 0);
    CHECK(t.wrongly_parked == 0);
    CHECK(status_counts(s.pg_dsn, table)[2] == 0);
}

TEST_CASE("SIGTERM under load: stop fetching, record in-flight reports, exit 0",
          "[integration][sigterm]") {
    const auto& s = services();
    const auto name = unique_name("sigterm");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 3, 1);
    const int total = 30000;
    for (int i = 0; i < total; i += 5000) {
        insert_rows(s.pg_dsn, table, keyed_rows(name, 5000, 10, i));
    }
    auto cfg = daemon_config(table);
    cfg.relay["shutdown_timeout_ms"] = "10000";
    const auto path = write_config(cfg);
    Daemon d({"run", "--config", path});
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] > 1000; }, 60s));
    d.signal(SIGTERM);
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(d.wait(20s) == 0);
    const auto stop_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    const auto sent_at_stop = status_counts(s.pg_dsn, table)[1];
    INFO("log:\n" << tail_of(d.log()));
    // No outcome left unknown: every message Kafka took before the stop is
    // recorded, so no row still at 0 is in the topic already.
    {
        const auto states = row_states(s.pg_dsn, table);
        int unrecorded = 0;
        for (const auto& m : read_topic(s.kafka_bootstrap, name)) {
            const auto it = states.find(m.outbox_id);
            unrecorded += it != states.end() && it->second.status == 0 ? 1 : 0;
        }
        CHECK(unrecorded == 0);
    }
    WARN("sigterm: stopped in " << stop_ms << " ms with " << sent_at_stop << " of " << total
                                << " rows sent");
    // Every row marked sent is in Kafka; a second run finishes the rest.
    CHECK(tally(name, s.kafka_bootstrap, name, table).lost == total - sent_at_stop);
    Daemon d2({"run", "--config", path});
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == total; }, 120s));
    d2.signal(SIGTERM);
    CHECK(d2.wait(30s) == 0);
    auto t = tally("SIGTERM under load", s.kafka_bootstrap, name, table);
    t.rounds = 1;
    report_fault_run(t);
    CHECK(t.lost == 0);
    CHECK(t.wrongly_parked == 0);
    CHECK(t.duplicates == 0); // everything in flight at SIGTERM was recorded
    CHECK(t.order_violations == 0);
}

TEST_CASE("broker outage longer than every time-out: rows wait at 0, nothing counted or parked",
          "[integration][outage]") {
    const auto& s = services();
    const std::string dir = scratch_path("outage-kafka");
    const std::string bootstrap = script("kafka.sh start " + dir);
    struct StopBroker {
        std::string dir;
        ~StopBroker() {
            try {
                script("kafka.sh stop " + dir);
            } catch (...) {
            }
        }
    } stop_broker{dir};

    const auto name = unique_name("outage");
    auto table = make_table(s.pg_dsn, name);
    create_topic(bootstrap, name, 1, 1);
    auto cfg = daemon_config(table, bootstrap);
    cfg.relay["batch_size"] = "50";
    cfg.relay["max_in_flight"] = "200";
    // Short client time-outs, so the outage outlasts every one of them.
    cfg.kafka_props["socket.timeout.ms"] = "3000";
    cfg.kafka_props["request.timeout.ms"] = "3000";
    cfg.kafka_props["reconnect.backoff.max.ms"] = "1000";
    Daemon d({"run", "--config", write_config(cfg)});
    insert_rows(s.pg_dsn, table, keyed_rows(name, 100, 5));
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 100; }, 60s));

    script("kafka.sh stop " + dir);
    insert_rows(s.pg_dsn, table, keyed_rows(name, 2000, 5, 100));
    const int outage_s = outage_seconds(60);
    // Back-pressure, sampled all through the outage: the daemon never holds
    // more than max_in_flight rows unacknowledged.
    double max_in_flight = -1;
    int samples = 0;
    const auto outage_end = std::chrono::steady_clock::now() + std::chrono::seconds(outage_s);
    while (std::chrono::steady_clock::now() < outage_end) {
        if (const auto v = metric_value(d, "outboxd_in_flight_messages")) {
            max_in_flight = std::max(max_in_flight, *v);
            ++samples;
        }
        std::this_thread::sleep_for(100ms);
    }
    CHECK(samples > 10);
    CHECK(max_in_flight <= 200);
    {
        auto counts = status_counts(s.pg_dsn, table);
        CHECK(counts[0] == 2000);
        CHECK(counts[2] == 0);
        CHECK(std::stoi(sql_value(s.pg_dsn, "SELECT coalesce(max(attempts), 0) FROM " + name))
              == 0);
    }
    script("kafka.sh start " + dir);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 2100; }, 180s));
    const auto rebuilds = metric_value(d, "outboxd_producer_rebuilds_total");
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
    CHECK(std::stoi(sql_value(s.pg_dsn, "SELECT coalesce(max(attempts), 0) FROM " + name)) == 0);
    auto t = tally("broker stopped " + std::to_string(outage_s) + " s", bootstrap, name, table);
    t.rounds = 1;
    report_fault_run(t);
    WARN("outage: rows=2100 lost=" << t.lost << " duplicates=" << t.duplicates
                                   << " producer_rebuilds=" << rebuilds.value_or(-1)
                                   << " max_in_flight=" << max_in_flight);
    CHECK(t.lost == 0);
    CHECK(t.duplicates == 0);
    CHECK(t.order_violations == 0);
    CHECK(t.wrongly_parked == 0);
}
