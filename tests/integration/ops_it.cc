// What an operator sees of a running daemon, against the real services:
// /metrics, /healthz, /readyz (publisher, standby, Kafka unreachable), the
// systemd notify protocol, SIGHUP reload and retention.
#include "services.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

std::string metrics_of(int port) {
    auto [status, body] = http_get(port, "/metrics");
    REQUIRE(status == 200);
    return body;
}

bool metric_is(int port, const std::string& series, double want) {
    const auto v = metric_sample(metrics_of(port), series);
    return v && *v == want;
}

// The batch-size histogram now: how many batches so far, and how many of
// them held at most 10 rows (its bucket le="10").
struct Batches {
    double count = 0;
    double up_to_10 = 0;
};
Batches batches_of(int port) {
    const auto body = metrics_of(port);
    return {metric_sample(body, "outboxd_batch_size_rows_count").value_or(-1),
            metric_sample(body, "outboxd_batch_size_rows_bucket{le=\"10\"}").value_or(-1)};
}

// Inserts 20 rows in one transaction and waits until `sent` rows of the table
// are at 1; returns the batches they took. A batch_size of 7 fetches them
// in at least 3 batches of at most 7 rows; a larger one in one of 20.
Batches batches_for_20_rows(int port,
                            const outboxd::config::Postgres& table,
                            const std::string& topic,
                            int sent) {
    const auto before = batches_of(port);
    std::vector<NewRow> rows;
    for (int i = 0; i < 20; ++i) {
        rows.push_back({topic, std::string("k"), "v", std::nullopt});
    }
    insert_rows(services().pg_dsn, table, rows);
    REQUIRE(eventually([&] { return status_counts(services().pg_dsn, table)[1] == sent; }, 30s));
    const auto after = batches_of(port);
    return {after.count - before.count, after.up_to_10 - before.up_to_10};
}

// The rows of the test: `n` good rows of one key.
std::vector<NewRow> good_rows(const std::string& topic, int n) {
    std::vector<NewRow> rows;
    for (int i = 0; i < n; ++i) {
        rows.push_back({topic, std::string("k") + std::to_string(i % 3), "v", std::nullopt});
    }
    return rows;
}

// Gauges refreshed every 200 ms instead of 10 s, on a free port.
void fast_stats(DaemonConfig& cfg) {
    cfg.http_listen.clear();
    cfg.extra_yaml += "http:\n  listen: \"127.0.0.1:0\"\n  stats_interval_ms: 200\n";
}

} // namespace

TEST_CASE("metrics, liveness and readiness of the active publisher", "[integration][ops]") {
    const auto& s = services();
    const auto name = unique_name("ops");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    auto rows = good_rows(name, 20);
    // One malformed-headers row: counted as an encoding failure, then parked.
    rows.push_back({name, std::string("bad"), "v", std::string("[1,2]")});
    insert_rows(s.pg_dsn, table, rows);

    auto cfg = daemon_config(table);
    cfg.relay["max_attempts"] = "2";
    cfg.relay["retry_backoff_initial_ms"] = "100";
    cfg.relay["retry_backoff_max_ms"] = "100";
    fast_stats(cfg);
    Daemon d({"run", "--config", write_config(cfg)});
    const auto port = d.http_port();
    REQUIRE(port);

    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 20; }, 60s));
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[2] == 1; }, 60s));
    REQUIRE(eventually([&] { return metric_is(*port, "outboxd_parked_rows", 1); }, 20s));
    REQUIRE(eventually([&] { return metric_is(*port, "outboxd_pending_rows", 0); }, 20s));

    const std::string m = metrics_of(*port);
    CHECK(metric_sample(m, "outboxd_rows_sent_total") == 20.0);
    CHECK(metric_sample(m, "outboxd_rows_failed_total{reason=\"encoding\"}") == 2.0);
    CHECK(metric_sample(m, "outboxd_rows_failed_total{reason=\"message_too_large\"}") == 0.0);
    CHECK(metric_sample(m, "outboxd_rows_parked_total") == 1.0);
    CHECK(metric_sample(m, "outboxd_relay_latency_seconds_count") == 20.0);
    CHECK(metric_sample(m, "outboxd_relay_latency_seconds_sum").value_or(-1) > 0);
    CHECK(metric_sample(m, "outboxd_batch_size_rows_count").value_or(0) >= 1);
    CHECK(metric_sample(m, "outboxd_leader") == 1.0);
    CHECK(metric_sample(m, "outboxd_postgres_up") == 1.0);
    CHECK(metric_sample(m, "outboxd_kafka_up") == 1.0);
    CHECK(metric_sample(m, "outboxd_broker_up") == 1.0);
    CHECK(metric_sample(m, "outboxd_in_flight_messages") == 0.0);
    CHECK(metric_sample(m, "outboxd_oldest_pending_age_seconds") == 0.0);
    CHECK(metric_sample(m, "outboxd_last_sent_timestamp_seconds").value_or(0) > 1.7e9);
    CHECK(m.find("outboxd_build_info{version=\"") != std::string::npos);
    CHECK(m.find("# TYPE outboxd_relay_latency_seconds histogram") != std::string::npos);

    auto [hs, hbody] = http_get(*port, "/healthz");
    CHECK(hs == 200);
    CHECK(hbody.rfind("ok: main loop turned", 0) == 0);
    auto [rs, rbody] = http_get(*port, "/readyz");
    CHECK(rs == 200);
    CHECK(rbody.rfind("ready: active publisher\n", 0) == 0);
    CHECK(rbody.find("postgres: ok") != std::string::npos);
    CHECK(rbody.find("kafka: ok") != std::string::npos);
    CHECK(http_get(*port, "/nope").first == 404);

    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);
}

TEST_CASE("a second process is a ready standby, and its gauges say so", "[integration][ops]") {
    const auto& s = services();
    const auto name = unique_name("opsstandby");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    const auto path = write_config(daemon_config(table));
    Daemon first({"run", "--config", path});
    const auto p1 = first.http_port();
    REQUIRE(p1);
    REQUIRE(eventually([&] { return metric_is(*p1, "outboxd_leader", 1); }, 30s));
    Daemon second({"run", "--config", path});
    const auto p2 = second.http_port();
    REQUIRE(p2);
    REQUIRE(eventually([&] { return http_get(*p2, "/readyz").first == 200; }, 60s));
    const auto body = http_get(*p2, "/readyz").second;
    CHECK(body.rfind("ready: standby\n", 0) == 0);
    CHECK(body.find("role: standby (") != std::string::npos);
    CHECK(metric_is(*p2, "outboxd_leader", 0));

    // The publisher goes; the standby takes over and says so.
    first.signal(SIGTERM);
    REQUIRE(first.wait(30s) == 0);
    REQUIRE(eventually([&] { return metric_is(*p2, "outboxd_leader", 1); }, 30s));
    CHECK(http_get(*p2, "/readyz").second.rfind("ready: active publisher\n", 0) == 0);
    second.signal(SIGTERM);
    REQUIRE(second.wait(30s) == 0);
}

TEST_CASE("readiness fails, liveness holds, while Kafka is unreachable", "[integration][ops]") {
    const auto& s = services();
    const auto name = unique_name("opsdown");
    auto table = make_table(s.pg_dsn, name);
    // Nothing listens on port 1 of loopback.
    auto cfg = daemon_config(table, "127.0.0.1:1");
    fast_stats(cfg);
    Daemon d({"run", "--config", write_config(cfg)});
    const auto port = d.http_port();
    REQUIRE(port);
    REQUIRE(eventually(
        [&] {
            const auto body = http_get(*port, "/readyz").second;
            return body.rfind("not ready: kafka unreachable\n", 0) == 0;
        },
        60s));
    CHECK(http_get(*port, "/readyz").first == 503);
    CHECK(http_get(*port, "/healthz").first == 200);
    CHECK(metric_is(*port, "outboxd_kafka_up", 0));
    CHECK(metric_is(*port, "outboxd_broker_up", 0));
    CHECK(metric_is(*port, "outboxd_postgres_up", 1));
    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);
}

TEST_CASE("systemd notify: READY=1, WATCHDOG=1, then STOPPING=1 on SIGTERM", "[integration][ops]") {
    const auto& s = services();
    const auto name = unique_name("opsnotify");
    auto table = make_table(s.pg_dsn, name);
    const std::string dir = "/tmp/" + unique_name("notify");
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    const std::string sock_path = dir + "/notify.sock";
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{0, 200 * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    // The child inherits these; they are removed again before any other test.
    ::setenv("NOTIFY_SOCKET", sock_path.c_str(), 1);
    ::setenv("WATCHDOG_USEC", "1000000", 1);
    std::string messages;
    {
        Daemon d({"run", "--config", write_config(daemon_config(table))});
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        const auto receive_until = [&](const std::string& what, std::chrono::seconds limit) {
            return eventually(
                [&] {
                    char buf[4096];
                    const auto n = ::recv(fd, buf, sizeof buf, 0);
                    if (n > 0) {
                        messages.append(buf, static_cast<std::size_t>(n));
                        messages += '\n';
                    }
                    return messages.find(what) != std::string::npos;
                },
                limit);
        };
        REQUIRE(receive_until("READY=1", 60s));
        // WatchdogSec=1 s: pings every half second while the loop turns.
        REQUIRE(receive_until("WATCHDOG=1", 10s));
        d.signal(SIGTERM);
        REQUIRE(receive_until("STOPPING=1", 30s));
        REQUIRE(d.wait(30s) == 0);
    }
    ::close(fd);
    // Under /tmp for a short socket path (sun_path holds 108 bytes): removed.
    ::unlink(sock_path.c_str());
    ::rmdir(dir.c_str());
    CHECK(messages.find("STATUS=") != std::string::npos);
    CHECK(messages.find("READY=1") < messages.find("STOPPING=1"));
}

TEST_CASE("SIGHUP: reloadable keys apply, restart-only keys are named, a bad file is refused",
          "[integration][ops]") {
    const auto& s = services();
    const auto name = unique_name("opshup");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    auto cfg = daemon_config(table);
    const std::string path = write_config(cfg);
    Daemon d({"run", "--config", path});
    const auto port = d.http_port();
    REQUIRE(port);
    REQUIRE(eventually([&] { return metric_is(*port, "outboxd_leader", 1); }, 30s));

    // Reloadable (batch size, log level) and restart-only (notify channel).
    cfg.relay["batch_size"] = "7";
    cfg.table.notify_channel = "elsewhere";
    std::string text = [&] {
        std::ifstream in(write_config(cfg));
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }();
    const auto at = text.find("log:\n  level: info\n");
    REQUIRE(at != std::string::npos);
    text.replace(at, 19, "log:\n  level: debug\n");
    {
        std::ofstream out(path, std::ios::trunc);
        out << text;
    }
    d.signal(SIGHUP);
    // Accepted although notify_channel (restart-only: kept, and named in the
    // log; config_test covers which keys those are) changed too.
    REQUIRE(eventually(
        [&] { return metric_is(*port, "outboxd_config_reloads_total{result=\"ok\"}", 1); }, 20s));
    // batch_size 7 took effect: 20 rows committed at once take at least 3
    // batches, none over 10 rows (with the default, one batch of 20).
    {
        const auto b = batches_for_20_rows(*port, table, name, 20);
        CHECK(b.count >= 3);
        CHECK(b.up_to_10 == b.count);
    }

    // A broken file is refused; the daemon keeps running on the old config.
    {
        std::ofstream out(path, std::ios::trunc);
        out << "relay:\n  batch_size: 0\n  no_such_key: 1\n";
    }
    d.signal(SIGHUP);
    REQUIRE(eventually(
        [&] { return metric_is(*port, "outboxd_config_reloads_total{result=\"error\"}", 1); },
        20s));
    CHECK(metric_is(*port, "outboxd_config_reloads_total{result=\"ok\"}", 1));
    CHECK(d.running());

    // Valid on its own, but its batch_size exceeds the running
    // max_in_flight (restart-only): refused as well.
    cfg.relay["batch_size"] = "20000";
    cfg.relay["max_in_flight"] = "50000";
    cfg.table.notify_channel = table.notify_channel;
    {
        std::ifstream in(write_config(cfg));
        std::stringstream ss;
        ss << in.rdbuf();
        std::ofstream out(path, std::ios::trunc);
        out << ss.str();
    }
    d.signal(SIGHUP);
    // (config_test covers the wording: "relay.batch_size 20000 is above the
    // running relay.max_in_flight 10000".)
    REQUIRE(eventually(
        [&] { return metric_is(*port, "outboxd_config_reloads_total{result=\"error\"}", 2); },
        20s));
    CHECK(metric_is(*port, "outboxd_config_reloads_total{result=\"ok\"}", 1));
    // Still running on the previous configuration: batch_size 7.
    {
        const auto b = batches_for_20_rows(*port, table, name, 40);
        CHECK(b.count >= 3);
        CHECK(b.up_to_10 == b.count);
    }
    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);
}

TEST_CASE("retention deletes old sent rows in batches, never pending or parked ones",
          "[integration][ops][retention]") {
    const auto& s = services();
    const auto name = unique_name("opsret");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    insert_rows(s.pg_dsn, table, good_rows(name, 25));
    // A parked row and a pending one, both with a sent_at long ago (a row
    // requeued with --include-sent can look like this), must survive:
    // retention deletes status 1 only. The pending one is not due for an
    // hour, so the relay leaves it at 0 throughout.
    const auto kept = insert_rows(
        s.pg_dsn, table,
        {{name, std::string("p"), "v", std::nullopt}, {name, std::string("q"), "v", std::nullopt}});
    sql(s.pg_dsn, "UPDATE " + table.schema + "." + table.table
                      + " SET status = 2, sent_at = now() - interval '1 day' WHERE id = "
                      + std::to_string(kept[0]));
    sql(s.pg_dsn, "UPDATE " + table.schema + "." + table.table
                      + " SET attempts = 1, sent_at = now() - interval '1 day', next_attempt_at = "
                        "now() + interval '1 hour' WHERE id = "
                      + std::to_string(kept[1]));

    auto cfg = daemon_config(table);
    cfg.extra_yaml = "retention:\n  sent_max_age_ms: 1000\n  batch_size: 10\n  interval_ms: 200\n";
    Daemon d({"run", "--config", write_config(cfg)});
    const auto port = d.http_port();
    REQUIRE(port);
    REQUIRE(eventually([&] { return metric_is(*port, "outboxd_retention_deleted_rows_total", 25); },
                       60s));
    const auto counts = status_counts(s.pg_dsn, table);
    CHECK(counts.count(1) == 0);
    CHECK(counts.at(2) == 1);
    CHECK(counts.at(0) == 1);
    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);
}
