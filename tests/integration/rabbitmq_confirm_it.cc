// Consumer confirmation on RabbitMQ (docs/confirmation.md): a queue has no
// committed offsets, so explicit reports on confirm.ack_queue are the only
// confirmation. Against the services' RabbitMQ node and PostgreSQL.
#include "amqp_client.h"
#include "services.h"

#include <catch2/catch.hpp>

#include <csignal>

#include <nlohmann/json.hpp>

using namespace outboxd::testing;
using namespace std::chrono_literals;

TEST_CASE("rabbitmq confirm: consumed reports move rows to 3, a failed one to 4; reports are "
          "acknowledged once applied; strangers are ignored",
          "[integration][rabbitmq-confirm]") {
    const auto& s = services();
    REQUIRE_FALSE(s.rabbitmq_dir.empty());
    const auto name = unique_name("rmq_confirm");
    const std::string acks = name + "_acks";
    auto table = make_table(s.pg_dsn, name);
    {
        AmqpClient amqp;
        amqp.exchange(name, "fanout");
        amqp.quorum_queue(name);
        amqp.bind(name, name, "");
        amqp.quorum_queue(acks);
    }
    DaemonConfig cfg = daemon_config(table);
    cfg.extra_yaml = "broker: rabbitmq\nrabbitmq:\n  url: \"" + s.rabbitmq_url
                     + "\"\nconfirm:\n  consumers: [billing]\n  ack_queue: " + acks
                     + "\n  interval_ms: 200\n";
    const std::string path = write_config(cfg);
    {
        Daemon m({"migrate", "--config", path});
        REQUIRE(m.wait(60s) == 0);
    }
    Daemon d({"run", "--config", path});
    std::vector<NewRow> rows;
    for (int i = 0; i < 10; ++i) {
        rows.push_back({name, "k" + std::to_string(i % 2), "order-" + std::to_string(i), {}});
    }
    const auto ids = insert_rows(s.pg_dsn, table, rows);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 10; }, 60s));
    // No partition or offset on RabbitMQ.
    CHECK(sql_value(s.pg_dsn, "SELECT count(*) FROM " + name + " WHERE kafka_offset IS NULL")
          == "10");

    const std::string source = sql_value(s.pg_dsn, "SELECT current_database()") + "/public." + name;
    {
        AmqpClient amqp;
        auto report = [&](std::int64_t id, const std::string& consumer, const std::string& result,
                          const std::string& body, const std::string& from) {
            amqp.publish("", acks,
                         {{"outbox-source", from},
                          {"outbox-id", std::to_string(id)},
                          {"outbox-consumer", consumer},
                          {"outbox-result", result}},
                         body);
        };
        for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
            report(ids[i], "billing", "consumed", "", source);
        }
        report(ids[0], "billing", "consumed", "", source); // a repeated report: harmless
        report(ids.back(), "billing", "failed", "card declined by the acquirer", source);
        report(ids.back(), "stranger", "consumed", "", source);
        report(ids.back(), "billing", "consumed", "", "elsewhere/public.x");
    }
    REQUIRE(eventually(
        [&] {
            auto c = status_counts(s.pg_dsn, table);
            return c[3] == 9 && c[4] == 1;
        },
        30s));
    CHECK(sql_value(s.pg_dsn,
                    "SELECT last_error FROM " + name + " WHERE id = " + std::to_string(ids.back()))
          == "billing: card declined by the acquirer");
    // Every report was acknowledged after it was applied.
    REQUIRE(eventually([&] { return AmqpClient().count(acks) == 0; }, 30s));
    const auto port = d.http_port();
    REQUIRE(port);
    const auto metrics = http_get(*port, "/metrics").second;
    CHECK(metric_sample(metrics, "outboxd_rows_consumed_total") == 9.0);
    CHECK(metric_sample(metrics, "outboxd_consumer_failures_total") == 1.0);
    CHECK(metric_sample(metrics,
                        "outboxd_consumer_reports_ignored_total{reason=\"unknown_consumer\"}")
          == 1.0);
    CHECK(metric_sample(metrics, "outboxd_consumer_reports_ignored_total{reason=\"other_source\"}")
          == 1.0);
    // The reports came from the acks queue: the daemon is its consumer.
    CHECK(eventually(
        [&] {
            const auto [status, body] = rabbitmq_api("/api/queues/%2F/" + acks);
            return status == 200 && nlohmann::json::parse(body).value("consumers", 0) >= 1;
        },
        30s));
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
    {
        AmqpClient amqp;
        amqp.delete_queue(acks);
        amqp.delete_queue(name);
        amqp.delete_exchange(name);
    }
}

TEST_CASE("rabbitmq confirm: confirm.consumers without confirm.ack_queue is a configuration error",
          "[integration][rabbitmq-confirm]") {
    const auto& s = services();
    auto table = make_table(s.pg_dsn, unique_name("rmq_confirm_cfg"));
    DaemonConfig cfg = daemon_config(table);
    cfg.extra_yaml = "broker: rabbitmq\nrabbitmq:\n  url: \"" + s.rabbitmq_url
                     + "\"\nconfirm:\n  consumers: [billing]\n";
    const auto [rc, out] = run_outboxd({"check", "--config", write_config(cfg), "--config-only"});
    INFO(out);
    CHECK(rc == 2);
    CHECK_THAT(out, Catch::Contains("confirm.ack_queue: is required with confirm.consumers on "
                                    "RabbitMQ"));
}
