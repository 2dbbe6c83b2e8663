// The metrics registry and its Prometheus text rendering: exact output for
// each kind, cumulative histogram buckets, label fallback, escaping, and the
// full list of metrics the team plan names.
#include "common/version.h"
#include "metrics/metrics.h"
#include "publish/publisher.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

using namespace outboxd::metrics;

TEST_CASE("counter and gauge render HELP, TYPE and one sample", "[unit][metrics]") {
    Registry reg;
    Counter c{reg, "t_events_total", "Events seen."};
    Gauge g{reg, "t_depth", "Queue depth."};
    c.inc();
    c.inc(41);
    g.set(7);
    g.add(-2.5);
    CHECK(reg.render()
          == "# HELP t_events_total Events seen.\n"
             "# TYPE t_events_total counter\n"
             "t_events_total 42\n"
             "# HELP t_depth Queue depth.\n"
             "# TYPE t_depth gauge\n"
             "t_depth 4.5\n");
}

TEST_CASE("a family set not to be exported is left out of the text but stays declared",
          "[unit][metrics]") {
    Metrics m;
    m.broker_up.set(1);
    m.kafka_up.set(1);
    CHECK(m.render().find("outboxd_kafka_up 1\n") != std::string::npos);
    m.kafka_up.set_exported(false); // broker: rabbitmq
    const auto text = m.render();
    CHECK(text.find("outboxd_kafka_up") == std::string::npos);
    CHECK(text.find("outboxd_broker_up 1\n") != std::string::npos);
    const auto names = m.names();
    CHECK(std::find(names.begin(), names.end(), "outboxd_kafka_up") != names.end());
}

TEST_CASE("histogram buckets are cumulative and end with +Inf", "[unit][metrics]") {
    Registry reg;
    Histogram h{reg, "t_latency_seconds", "Latency.", {0.1, 1, 10}};
    for (const double v : {0.05, 0.1, 0.5, 3.0, 3.0, 100.0}) {
        h.observe(v);
    }
    h.observe(std::numeric_limits<double>::quiet_NaN()); // dropped
    CHECK(reg.render()
          == "# HELP t_latency_seconds Latency.\n"
             "# TYPE t_latency_seconds histogram\n"
             "t_latency_seconds_bucket{le=\"0.1\"} 2\n"
             "t_latency_seconds_bucket{le=\"1\"} 3\n"
             "t_latency_seconds_bucket{le=\"10\"} 5\n"
             "t_latency_seconds_bucket{le=\"+Inf\"} 6\n"
             "t_latency_seconds_sum 106.65\n"
             "t_latency_seconds_count 6\n");
    const auto s = h.snapshot();
    CHECK(s.count == 6);
    CHECK(s.cumulative == std::vector<std::uint64_t>{2, 3, 5, 6});
}

TEST_CASE("labeled counter exposes every declared value and folds unknown ones into the fallback",
          "[unit][metrics]") {
    Registry reg;
    LabeledCounter c{reg, "t_failures_total", "Failures.", "reason", {"a", "b", "other"}, "other"};
    c.with("a").inc();
    c.with("something new").inc();
    c.with("").inc(2);
    CHECK(c.with("other").value() == 3);
    CHECK(reg.render()
          == "# HELP t_failures_total Failures.\n"
             "# TYPE t_failures_total counter\n"
             "t_failures_total{reason=\"a\"} 1\n"
             "t_failures_total{reason=\"b\"} 0\n"
             "t_failures_total{reason=\"other\"} 3\n");
}

TEST_CASE("label values and help text are escaped", "[unit][metrics]") {
    Registry reg;
    Gauge g{reg, "t_info", "Line one\nback\\slash \"quoted\"", {{"v", "a\"b\\c\nd"}}};
    g.set(1);
    CHECK(reg.render()
          == "# HELP t_info Line one\\nback\\\\slash \"quoted\"\n"
             "# TYPE t_info gauge\n"
             "t_info{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST_CASE("values are formatted as Prometheus reads them", "[unit][metrics]") {
    CHECK(format_value(0) == "0");
    CHECK(format_value(1700000000) == "1700000000");
    CHECK(format_value(-3) == "-3");
    CHECK(format_value(0.005) == "0.005");
    CHECK(format_value(2.5) == "2.5");
    CHECK(format_value(1e300) == "1e+300");
    CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("declarations that would break the exposition are refused", "[unit][metrics]") {
    Registry reg;
    CHECK_THROWS_AS(Counter(reg, "t_events", "no _total suffix"), std::invalid_argument);
    CHECK_THROWS_AS(Gauge(reg, "9lives", "bad name"), std::invalid_argument);
    CHECK_THROWS_AS(Gauge(reg, "t_g", "bad label", {{"bad-label", "x"}}), std::invalid_argument);
    CHECK_THROWS_AS(Histogram(reg, "t_h", "unsorted", {1, 0.5}), std::invalid_argument);
    CHECK_THROWS_AS(Histogram(reg, "t_h", "no buckets", {}), std::invalid_argument);
    CHECK_THROWS_AS(LabeledCounter(reg, "t_l_total", "fallback not declared", "r", {"a"}, "other"),
                    std::invalid_argument);
    Gauge first{reg, "t_dup", "first"};
    CHECK_THROWS_AS(Gauge(reg, "t_dup", "second"), std::invalid_argument);
    // Nothing refused was registered.
    CHECK(reg.names() == std::vector<std::string>{"t_dup"});
}

TEST_CASE("Metrics declares exactly the metrics of the team plan", "[unit][metrics]") {
    const Metrics m;
    const std::vector<std::string> plan = {
        "outboxd_build_info",
        "outboxd_rows_sent_total",
        "outboxd_rows_failed_total",
        "outboxd_rows_parked_total",
        "outboxd_transient_errors_total",
        "outboxd_pending_rows",
        "outboxd_oldest_pending_age_seconds",
        "outboxd_parked_rows",
        "outboxd_in_flight_messages",
        "outboxd_in_flight_bytes",
        "outboxd_batch_size_rows",
        "outboxd_relay_latency_seconds",
        "outboxd_producer_rebuilds_total",
        "outboxd_db_reconnects_total",
        "outboxd_read_backs_total",
        "outboxd_read_back_marked_rows_total",
        "outboxd_leader",
        "outboxd_leadership_losses_total",
        "outboxd_postgres_up",
        "outboxd_broker_up",
        "outboxd_kafka_up",
        "outboxd_weak_destinations",
        "outboxd_retention_deleted_rows_total",
        "outboxd_retention_catching_up",
        "outboxd_retention_partitions_dropped_total",
        "outboxd_retention_partitions",
        "outboxd_retention_partitions_held",
        "outboxd_rows_consumed_total",
        "outboxd_consumer_confirmations_total",
        "outboxd_consumer_failures_total",
        "outboxd_consumer_reports_ignored_total",
        "outboxd_unconfirmed_rows",
        "outboxd_unconfirmed_by_consumer_rows",
        "outboxd_rows_resent_total",
        "outboxd_rows_parked_unconfirmed_total",
        "outboxd_config_reloads_total",
        "outboxd_last_sent_timestamp_seconds",
        "outboxd_console_requests_total",
    };
    CHECK(m.names() == plan);

    const auto text = m.render();
    for (const auto& name : plan) {
        INFO(name);
        CHECK(text.find("# HELP " + name + " ") != std::string::npos);
        CHECK(text.find("# TYPE " + name + " ") != std::string::npos);
    }
    CHECK(text.find(std::string("outboxd_build_info{version=\"") + outboxd::kVersion
                    + "\",commit=\"" + outboxd::build_commit() + "\"} 1\n")
          != std::string::npos);
    CHECK(text.find("outboxd_config_reloads_total{result=\"ok\"} 0\n") != std::string::npos);
    CHECK(text.find("outboxd_config_reloads_total{result=\"error\"} 0\n") != std::string::npos);
    CHECK(text.find("outboxd_batch_size_rows_bucket{le=\"10000\"} 0\n") != std::string::npos);
    CHECK(text.find("outboxd_relay_latency_seconds_bucket{le=\"0.005\"} 0\n") != std::string::npos);
    CHECK(text.find("outboxd_relay_latency_seconds_bucket{le=\"300\"} 0\n") != std::string::npos);
}

TEST_CASE("Metrics updates show in the rendered text", "[unit][metrics]") {
    Metrics m;
    m.rows_sent.inc(5);
    m.rows_failed.with("message_too_large").inc();
    m.rows_failed.with("a reason nobody declared").inc();
    m.config_reloads.with("ok").inc();
    m.config_reloads.with("surprise").inc();
    m.batch_size_rows.observe(120);
    m.relay_latency_seconds.observe(0.02);
    m.leader.set(1);
    m.last_sent_timestamp_seconds.set(1700000000.5);
    const auto text = m.render();
    for (const char* line : {
             "outboxd_rows_sent_total 5\n",
             "outboxd_rows_failed_total{reason=\"message_too_large\"} 1\n",
             "outboxd_rows_failed_total{reason=\"other\"} 1\n",
             "outboxd_config_reloads_total{result=\"ok\"} 1\n",
             "outboxd_config_reloads_total{result=\"error\"} 1\n",
             "outboxd_batch_size_rows_bucket{le=\"100\"} 0\n",
             "outboxd_batch_size_rows_bucket{le=\"250\"} 1\n",
             "outboxd_batch_size_rows_sum 120\n",
             "outboxd_relay_latency_seconds_bucket{le=\"0.01\"} 0\n",
             "outboxd_relay_latency_seconds_bucket{le=\"0.025\"} 1\n",
             "outboxd_leader 1\n",
             "outboxd_last_sent_timestamp_seconds 1700000000.5\n",
         }) {
        INFO(line);
        CHECK(text.find(line) != std::string::npos);
    }
}

TEST_CASE("sample names list the series a query can use", "[unit][metrics]") {
    const auto names = all_sample_names();
    const std::set<std::string> set(names.begin(), names.end());
    CHECK(set.size() == names.size());
    CHECK(set.count("outboxd_rows_sent_total") == 1);
    CHECK(set.count("outboxd_relay_latency_seconds_bucket") == 1);
    CHECK(set.count("outboxd_relay_latency_seconds_sum") == 1);
    CHECK(set.count("outboxd_relay_latency_seconds_count") == 1);
    CHECK(set.count("outboxd_relay_latency_seconds") == 0);
}

TEST_CASE("rows_failed declares one label per failure reason, distinct", "[unit][metrics]") {
    const std::set<std::string> labels(fail_reasons().begin(), fail_reasons().end());
    CHECK(labels.size() == fail_reasons().size());
    CHECK(labels.size() == std::size(outboxd::publish::kAllFailureReasons));
    CHECK(labels.count("message_too_large") == 1);
    CHECK(labels.count("other") == 1);
}

TEST_CASE("a reader rendering while a writer updates sees consistent histograms",
          "[unit][metrics]") {
    Metrics m;
    constexpr int kObservations = 20000;
    std::thread writer([&m] {
        for (int i = 0; i < kObservations; ++i) {
            m.batch_size_rows.observe(i % 20000);
            m.rows_sent.inc();
        }
    });
    // _count always equals the +Inf bucket, even mid-update.
    for (int i = 0; i < 50; ++i) {
        const auto s = m.batch_size_rows.snapshot();
        REQUIRE(s.count == s.cumulative.back());
        REQUIRE(std::is_sorted(s.cumulative.begin(), s.cumulative.end()));
        (void)m.render();
    }
    writer.join();
    CHECK(m.batch_size_rows.snapshot().count == kObservations);
    CHECK(m.rows_sent.value() == kObservations);
}

TEST_CASE("docs/metrics.md matches the declared metrics", "[unit][metrics]") {
    const std::string path = std::string(OUTBOXD_SOURCE_DIR) + "/docs/metrics.md";
    const outboxd::metrics::Metrics m;
    const std::string expected = m.markdown();
    const char* update = std::getenv("OUTBOXD_TEST_UPDATE_DOCS");
    if (update != nullptr && std::string(update) == "1") {
        std::ofstream(path, std::ios::binary) << expected;
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    INFO("regenerate with: OUTBOXD_TEST_UPDATE_DOCS=1 unit_tests \"docs/metrics.md matches the "
         "declared metrics\"");
    CHECK(text.str() == expected);
    for (const auto& name : m.names()) {
        CHECK_THAT(expected, Catch::Contains("`" + name + "`"));
    }
}

TEST_CASE("LabeledGauge: one sample per configured value, none before set_values",
          "[unit][metrics]") {
    Registry r;
    LabeledGauge g(r, "outboxd_test_rows", "Test.", "consumer");
    CHECK(r.render().find("outboxd_test_rows{") == std::string::npos);
    g.set_values({"inventory", "billing"});
    g.set("billing", 7);
    g.set("stranger", 9); // not declared: ignored
    const std::string text = r.render();
    CHECK(text.find("outboxd_test_rows{consumer=\"inventory\"} 0\n") != std::string::npos);
    CHECK(text.find("outboxd_test_rows{consumer=\"billing\"} 7\n") != std::string::npos);
    CHECK(text.find("stranger") == std::string::npos);
    CHECK(g.value("billing") == 7.0);
    CHECK_THROWS_AS(g.set_values({"a", "a"}), std::invalid_argument);
}
