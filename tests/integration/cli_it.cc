// The command line against the real services: migrate, check, the start-up
// topic audit (G2), and clear errors with non-zero exits.
#include "services.h"

#include <catch2/catch.hpp>

#include <csignal>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {
bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}
} // namespace

TEST_CASE("--version and --help exit 0; unknown flags exit 2", "[integration][cli]") {
    auto [rc, out] = run_outboxd({"--version"});
    CHECK(rc == 0);
    CHECK(contains(out, "outboxd 0."));
    std::tie(rc, out) = run_outboxd({"--help"});
    CHECK(rc == 0);
    CHECK(contains(out, "migrate"));
    std::tie(rc, out) = run_outboxd({"check", "--help"});
    CHECK(rc == 0);
    CHECK(contains(out, "--config-only"));
    std::tie(rc, out) = run_outboxd({"--no-such-flag"});
    CHECK(rc == 2);
    std::tie(rc, out) = run_outboxd({"run", "--config", "/nonexistent/outboxd.yaml"});
    CHECK(rc == 2);
    CHECK(contains(out, "/nonexistent/outboxd.yaml"));
}

TEST_CASE("migrate is idempotent and creates table, index and trigger", "[integration][cli]") {
    const auto& s = services();
    outboxd::config::Postgres t;
    t.dsn = s.pg_dsn;
    t.table = unique_name("mig");
    t.notify_channel = "outbox_mig";
    const auto path = write_config(daemon_config(t));
    for (int i = 0; i < 2; ++i) {
        auto [rc, out] = run_outboxd({"migrate", "--config", path});
        INFO(out);
        CHECK(rc == 0);
        CHECK(contains(out, "migrated"));
    }
    CHECK(sql_value(s.pg_dsn, "SELECT count(*) FROM pg_indexes WHERE tablename = '" + t.table
                                  + "' AND indexdef LIKE '%WHERE (status = 0)%'")
          == "1");
    CHECK(sql_value(s.pg_dsn, "SELECT count(*) FROM pg_trigger WHERE tgrelid = '" + t.table
                                  + "'::regclass" + " AND NOT tgisinternal")
          == "1");
    CHECK(contains(sql_value(s.pg_dsn, "SELECT array_to_string(reloptions, ',') FROM pg_class "
                                       "WHERE relname = '"
                                           + t.table + "'"),
                   "autovacuum_vacuum_scale_factor=0"));
}

TEST_CASE("run refuses a missing table with a clear message", "[integration][cli]") {
    outboxd::config::Postgres t;
    t.table = unique_name("absent");
    auto [rc, out] = run_outboxd({"run", "--config", write_config(daemon_config(t))}, 30s);
    CHECK(rc == 1);
    CHECK(contains(out, "does not exist"));
    CHECK(contains(out, "outboxd migrate"));
}

TEST_CASE("check: both services reachable, topic durability reported", "[integration][cli]") {
    const auto& s = services();
    const auto name = unique_name("audit");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    insert_rows(s.pg_dsn, table, {{name, "k", "v", std::nullopt}});
    auto cfg = daemon_config(table);
    cfg.table.notify_channel = "";
    auto [rc, out] = run_outboxd({"check", "--config", write_config(cfg)});
    INFO(out);
    CHECK(rc == 0); // weak topics are warnings unless require_durable_topics
    CHECK(contains(out, "postgres: ok"));
    CHECK(contains(out, "kafka: ok"));
    CHECK(contains(out, "leader: none (no outboxd is publishing from this table)"));
    CHECK(contains(out, "topic " + name + ": warning: replication factor 1 < 2"));
    CHECK(contains(out, "min.insync.replicas 1 < 2"));

    cfg.require_durable_topics = true;
    std::tie(rc, out) = run_outboxd({"check", "--config", write_config(cfg)});
    CHECK(rc == 1);
    CHECK(contains(out, "FAILED: replication factor 1 < 2"));
}

TEST_CASE("start-up audit: RF 1 is reported; require_durable_topics refuses to start",
          "[integration][audit]") {
    const auto& s = services();
    const auto name = unique_name("audit_run");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    insert_rows(s.pg_dsn, table, {{name, "k", "v", std::nullopt}});

    auto cfg = daemon_config(table);
    {
        Daemon d({"run", "--config", write_config(cfg)});
        REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 1; }, 30s));
        // Reported, not refused: the one audited topic (RF 1 < 2) is weak.
        CHECK(metric_value(d, "outboxd_weak_destinations") == 1.0);
        d.signal(SIGTERM);
        CHECK(d.wait(30s) == 0);
    }
    insert_rows(s.pg_dsn, table, {{name, "k", "v2", std::nullopt}});
    cfg.require_durable_topics = true;
    auto [rc, out] = run_outboxd({"run", "--config", write_config(cfg)}, 60s);
    INFO(out);
    CHECK(rc == 1);
    CHECK(contains(out, "refusing to start"));
    CHECK(contains(out, "replication factor 1 < 2"));
    CHECK(status_counts(s.pg_dsn, table)[0] == 1); // nothing sent
}

TEST_CASE("check with PostgreSQL unreachable lists the problem and exits 1", "[integration][cli]") {
    outboxd::config::Postgres t;
    t.table = "outbox";
    auto cfg = daemon_config(t);
    cfg.pg_dsn = "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2";
    auto [rc, out] = run_outboxd({"check", "--config", write_config(cfg)});
    INFO(out);
    CHECK(rc == 1);
    CHECK(contains(out, "postgres: FAILED"));
}
