// Consumer confirmation against the real PostgreSQL and Kafka
// (docs/consumers.md): rows reach 3 when every configured consumer group's
// committed offset passes them, 4 on a failure report from the ack topic;
// rows nobody confirms in time are listed, sent again and parked; the admin
// commands, retention and metrics know 3 and 4; confirmation off changes
// nothing.
#include "services.h"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>

#include <csignal>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

// What a consumer does after processing: commit `next` (the next offset to
// read) per partition for group `group`.
void commit_offsets(const std::string& group,
                    const std::string& topic,
                    const std::map<int, std::int64_t>& next) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", services().kafka_bootstrap.c_str(), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    REQUIRE(rk != nullptr);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    for (const auto& [p, o] : next) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = o;
    }
    const auto rc = rd_kafka_commit(rk, list, /*async=*/0);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    REQUIRE(rc == RD_KAFKA_RESP_ERR_NO_ERROR);
}

// Per partition, the offset after the message of each row id.
std::map<std::int64_t, std::pair<int, std::int64_t>> placement(const std::string& topic) {
    std::map<std::int64_t, std::pair<int, std::int64_t>> out;
    for (const auto& c : read_topic(services().kafka_bootstrap, topic)) {
        out[c.outbox_id] = {c.partition, c.offset};
    }
    return out;
}

std::string confirm_yaml(const std::string& consumers, const std::string& more = {}) {
    return "confirm:\n  consumers: [" + consumers + "]\n  interval_ms: 200\n" + more;
}

std::string row_status(const outboxd::config::Postgres& t, std::int64_t id) {
    return sql_value(services().pg_dsn,
                     "SELECT status || ' ' || array_to_string(confirmed_by, ',') || ' ' || resends "
                     "FROM "
                         + t.table + " WHERE id = " + std::to_string(id));
}

DaemonConfig confirm_config(const outboxd::config::Postgres& table, const std::string& yaml) {
    DaemonConfig cfg = daemon_config(table);
    cfg.extra_yaml = yaml;
    return cfg;
}

// migrate with the confirm config: the columns and indexes confirmation needs.
void migrate_for_confirm(const DaemonConfig& cfg) {
    Daemon m({"migrate", "--config", write_config(cfg)});
    REQUIRE(m.wait(60s) == 0);
    INFO(m.log());
    CHECK(sql_value(services().pg_dsn,
                    "SELECT count(*) FROM information_schema.columns WHERE table_schema = '"
                        + cfg.table.schema + "' AND table_name = '" + cfg.table.table
                        + "' AND column_name IN ('kafka_partition', 'kafka_offset', "
                          "'confirmed_by', 'resends')")
          == "4");
}

} // namespace

TEST_CASE("confirm: committed offsets of every group move rows to 3; a failure report moves a "
          "row to 4; failed, requeue, status and the metrics know both",
          "[integration][confirm]") {
    const auto& s = services();
    const auto name = unique_name("confirm");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 2, 1);
    const std::string acks = name + "_acks";
    create_topic(s.kafka_bootstrap, acks, 1, 1);
    auto cfg =
        confirm_config(table, confirm_yaml("inventory, billing", "  ack_topic: " + acks + "\n"));
    migrate_for_confirm(cfg);
    Daemon d({"run", "--config", write_config(cfg)});
    const auto port = d.http_port();
    REQUIRE(port);

    std::vector<NewRow> rows;
    for (int i = 0; i < 40; ++i) {
        rows.push_back({name, "k" + std::to_string(i % 4), "order-" + std::to_string(i), {}});
    }
    const auto ids = insert_rows(s.pg_dsn, table, rows);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 40; }, 60s));
    // Where Kafka put each row is in the row.
    CHECK(
        sql_value(s.pg_dsn, "SELECT count(*) FROM " + name
                                + " WHERE kafka_partition IS NOT NULL AND kafka_offset IS NOT NULL")
        == "40");
    const auto where = placement(name);
    REQUIRE(where.size() == 40);
    for (const auto id : ids) {
        const auto [p, o] = where.at(id);
        CHECK(sql_value(s.pg_dsn, "SELECT kafka_partition || '/' || kafka_offset FROM " + name
                                      + " WHERE id = " + std::to_string(id))
              == std::to_string(p) + "/" + std::to_string(o));
    }

    // inventory has processed everything; billing all but the last row of
    // each partition.
    std::map<int, std::int64_t> end;
    for (const auto& [id, po] : where) {
        end[po.first] = std::max(end[po.first], po.second + 1);
    }
    commit_offsets("inventory", name, end);
    REQUIRE(eventually(
        [&] {
            return sql_value(s.pg_dsn,
                             "SELECT count(*) FROM " + name + " WHERE confirmed_by = '{inventory}'")
                   == "40";
        },
        30s));
    CHECK(status_counts(s.pg_dsn, table)[1] == 40); // billing has not confirmed yet
    std::map<int, std::int64_t> almost = end;
    for (auto& [p, o] : almost) {
        --o;
    }
    const auto committed_at = std::chrono::steady_clock::now();
    commit_offsets("billing", name, almost);
    // One row per partition that holds rows stays at 1 (the keys decide
    // which partitions those are).
    const int last_rows = static_cast<int>(end.size());
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[3] == 40 - last_rows; }, 30s));
    const double lag_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - committed_at)
            .count();
    CHECK(status_counts(s.pg_dsn, table)[1] == last_rows);

    // The last row of one partition: billing reports it could not process
    // it, then commits past it (as the reference consumer does).
    const int poison_partition = end.begin()->first;
    std::int64_t poison = 0;
    for (const auto& [id, po] : where) {
        if (po.first == poison_partition && po.second + 1 == end[poison_partition]) {
            poison = id;
        }
    }
    REQUIRE(poison != 0);
    const std::string source = sql_value(s.pg_dsn, "SELECT current_database()") + "/public." + name;
    produce_raw(s.kafka_bootstrap, acks,
                {RawMessage{std::nullopt,
                            "sku A-17 is not in the catalogue",
                            {{"outbox-source", source},
                             {"outbox-id", std::to_string(poison)},
                             {"outbox-consumer", "billing"},
                             {"outbox-result", "failed"}}},
                 // Ignored, never fatal: another outbox, a stranger, a bad id.
                 RawMessage{std::nullopt,
                            "",
                            {{"outbox-source", "elsewhere/public.x"},
                             {"outbox-id", std::to_string(poison)},
                             {"outbox-consumer", "billing"},
                             {"outbox-result", "consumed"}}},
                 RawMessage{std::nullopt,
                            "",
                            {{"outbox-source", source},
                             {"outbox-id", std::to_string(poison)},
                             {"outbox-consumer", "stranger"},
                             {"outbox-result", "consumed"}}},
                 RawMessage{std::nullopt,
                            "",
                            {{"outbox-source", source},
                             {"outbox-id", "not-a-number"},
                             {"outbox-consumer", "billing"},
                             {"outbox-result", "consumed"}}}});
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[4] == 1; }, 30s));
    commit_offsets("billing", name, end);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[3] == 39; }, 30s));
    CHECK(sql_value(s.pg_dsn, "SELECT status || ' ' || last_error FROM " + name
                                  + " WHERE id = " + std::to_string(poison))
          == "4 billing: sku A-17 is not in the catalogue");

    const auto metrics = http_get(*port, "/metrics").second;
    CHECK(metric_sample(metrics, "outboxd_rows_consumed_total") == 39.0);
    CHECK(metric_sample(metrics, "outboxd_consumer_failures_total") == 1.0);
    CHECK(metric_sample(metrics, "outboxd_consumer_reports_ignored_total{reason=\"other_source\"}")
          == 1.0);
    CHECK(metric_sample(metrics,
                        "outboxd_consumer_reports_ignored_total{reason=\"unknown_consumer\"}")
          == 1.0);
    CHECK(metric_sample(metrics, "outboxd_consumer_reports_ignored_total{reason=\"malformed\"}")
          == 1.0);

    const std::string path = write_config(cfg);
    {
        const auto [rc, out] = run_outboxd({"failed", "--config", path, "--json"});
        INFO(out);
        REQUIRE(rc == 0);
        const auto j = nlohmann::json::parse(out);
        REQUIRE(j.size() == 1);
        CHECK(j[0]["id"] == poison);
        CHECK(j[0]["status"] == 4);
        CHECK(j[0]["last_error"] == "billing: sku A-17 is not in the catalogue");
    }
    {
        const auto [rc, out] = run_outboxd({"status", "--config", path, "--json"});
        INFO(out);
        const auto j = nlohmann::json::parse(out);
        CHECK(j["consumed"] == 39);
        CHECK(j["consumer_failed"] == 1);
        CHECK(j["sent"] == 0);
    }
    // The consumer's bug is fixed: send the row again, its confirmations
    // start over, and this time both groups commit past the new copy.
    {
        const auto [rc, out] =
            run_outboxd({"requeue", "--config", path, "--id", std::to_string(poison)});
        INFO(out);
        CHECK(rc == 0);
    }
    REQUIRE(eventually([&] { return row_status(table, poison).rfind("1 ", 0) == 0; }, 30s));
    CHECK(row_status(table, poison) == "1  0");
    const auto again = placement(name);
    std::map<int, std::int64_t> end2;
    for (const auto& [id, po] : again) {
        end2[po.first] = std::max(end2[po.first], po.second + 1);
    }
    commit_offsets("inventory", name, end2);
    commit_offsets("billing", name, end2);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[3] == 40; }, 30s));

    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
    WARN("confirmation lag, billing's commit to status 3 of "
         << 40 - last_rows << " rows: " << lag_ms << " ms (interval 200 ms)");
}

TEST_CASE("confirm: a row no consumer confirms in time is listed, sent again, then parked at 2 "
          "naming the consumer; confirmations from before a resend are kept",
          "[integration][confirm]") {
    const auto& s = services();
    const auto name = unique_name("confirm_deadline");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    const std::string deadline = "  deadline_ms: 2000\n  max_resends: 1\n";
    auto cfg = confirm_config(table, confirm_yaml("inventory, billing", deadline));
    migrate_for_confirm(cfg);
    const std::string path = write_config(cfg);
    Daemon d({"run", "--config", path});
    const auto ids = insert_rows(s.pg_dsn, table, {{name, "k", "lonely", {}}});
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 1; }, 60s));
    commit_offsets("billing", name, {{0, 1}}); // billing read it; inventory is down
    REQUIRE(eventually([&] { return row_status(table, ids[0]) == "1 billing 0"; }, 30s));

    // Past the deadline with resend off: only reported.
    REQUIRE(eventually(
        [&] {
            const auto [rc, out] = run_outboxd({"unconfirmed", "--config", path, "--json"});
            if (rc != 0) {
                return false;
            }
            const auto j = nlohmann::json::parse(out);
            return j.size() == 1 && j[0]["id"] == ids[0]
                   && j[0]["not_confirmed_by"] == nlohmann::json::array({"inventory"})
                   && j[0]["confirmed_by"] == nlohmann::json::array({"billing"});
        },
        30s));
    {
        const auto [rc, out] = run_outboxd({"status", "--config", path, "--json"});
        INFO(out);
        CHECK(nlohmann::json::parse(out)["unconfirmed"] == 1);
        const auto [rc2, text] = run_outboxd({"unconfirmed", "--config", path});
        INFO(text);
        CHECK_THAT(text, Catch::Contains("1 unconfirmed row in"));
        CHECK_THAT(text, Catch::Contains("confirm.resend_unconfirmed is off"));
    }
    std::this_thread::sleep_for(1s);
    CHECK(row_status(table, ids[0]) == "1 billing 0");

    // Resend on, by a reload: sent again with billing's confirmation kept,
    // and still nobody confirms: parked, naming inventory.
    {
        auto on = cfg;
        on.extra_yaml =
            confirm_yaml("inventory, billing", deadline + "  resend_unconfirmed: true\n");
        const std::string on_path = write_config(on);
        std::ofstream(path) << std::ifstream(on_path).rdbuf();
    }
    d.signal(SIGHUP);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[2] == 1; }, 30s));
    CHECK(row_status(table, ids[0]) == "2 billing 1");
    CHECK(read_topic(s.kafka_bootstrap, name).size() == 2); // sent twice
    CHECK_THAT(sql_value(s.pg_dsn, "SELECT last_error FROM " + name),
               Catch::StartsWith("not confirmed by inventory within confirm.deadline_ms (2000 ms) "
                                 "after 1 resend; confirmed by billing"));
    CHECK(metric_value(d, "outboxd_rows_resent_total") == 1.0);
    CHECK(metric_value(d, "outboxd_rows_parked_unconfirmed_total") == 1.0);
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
}

TEST_CASE("confirm: a config with consumers needs the migrated columns, and says so",
          "[integration][confirm]") {
    const auto& s = services();
    const auto name = unique_name("confirm_nomig");
    auto table = make_table(s.pg_dsn, name);
    auto cfg = confirm_config(table, confirm_yaml("inventory"));
    const std::string path = write_config(cfg);
    Daemon d({"run", "--config", path});
    REQUIRE(d.wait(60s) == 1); // refused at once, not retried
    INFO(d.log());
    // `check` gives the same reason (the store's start-up check), with the fix.
    const auto [rc, out] = run_outboxd({"check", "--config", path});
    INFO(out);
    CHECK(rc == 1);
    CHECK_THAT(out, Catch::Contains("postgres: FAILED: table ")
                        && Catch::Contains("has no column \"kafka_partition\", which "
                                           "confirm.consumers needs: run `outboxd migrate`"));
}

TEST_CASE("confirm: retention deletes rows at 3, never a row still waiting at 1",
          "[integration][confirm]") {
    const auto& s = services();
    const auto name = unique_name("confirm_retention");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    auto cfg = confirm_config(table, confirm_yaml("inventory")
                                         + "retention:\n"
                                           "  sent_max_age_ms: 500\n"
                                           "  interval_ms: 200\n");
    migrate_for_confirm(cfg);
    Daemon d({"run", "--config", write_config(cfg)});
    std::vector<NewRow> rows;
    for (int i = 0; i < 10; ++i) {
        rows.push_back({name, "k", "v" + std::to_string(i), {}});
    }
    const auto ids = insert_rows(s.pg_dsn, table, rows);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 10; }, 60s));
    commit_offsets("inventory", name, {{0, 9}}); // all but the last
    // The nine consumed rows go; the one the consumer has not confirmed stays,
    // however old its sent_at.
    REQUIRE(eventually([&] { return sql_value(s.pg_dsn, "SELECT count(*) FROM " + name) == "1"; },
                       30s));
    std::this_thread::sleep_for(1s);
    CHECK(sql_value(s.pg_dsn, "SELECT id || ' ' || status FROM " + name)
          == std::to_string(ids.back()) + " 1");
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
}
