// The operator's commands against the real services: status, failed,
// requeue, print-config (output, exit codes, every bad argument), and the
// store's maintenance calls behind them: health counts on the partial
// indexes, retention deletes.
#include "config/config.h"
#include "services.h"
#include "store/pg_outbox_store.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>
#include <sys/wait.h>

using namespace outboxd::testing;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

// Puts a row straight into a state, as the relay (or an operator) would have.
void set_row(const std::string& dsn,
             const outboxd::config::Postgres& t,
             std::int64_t id,
             const std::string& assignments) {
    sql(dsn,
        "UPDATE " + table_sql(t) + " SET " + assignments + " WHERE id = " + std::to_string(id));
}

void park(const std::string& dsn,
          const outboxd::config::Postgres& t,
          std::int64_t id,
          const std::string& error = "Broker: Message size too large") {
    set_row(dsn, t, id,
            "status = 2, attempts = 5, next_attempt_at = NULL, last_error = '" + error + "'");
}

void mark_sent(const std::string& dsn,
               const outboxd::config::Postgres& t,
               std::int64_t id,
               const std::string& sent_at = "now()") {
    set_row(dsn, t, id, "status = 1, sent_at = " + sent_at);
}

} // namespace

TEST_CASE("admin commands: every bad argument exits 2 with a clear message",
          "[integration][admin]") {
    outboxd::config::Postgres t;
    t.table = unique_name("badargs");
    // A valid config: any of these that got past argument parsing would reach
    // the (absent) table and exit 1, not 2.
    const auto path = write_config(daemon_config(t));
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"requeue"}, "give --id N... or --all-failed"},
        {{"requeue", "--id", "1", "--all-failed"}, "excludes"},
        // --topic is a filter of its own (review_it.cc): never with --id.
        {{"requeue", "--topic", "t", "--id", "1"}, "excludes"},
        {{"requeue", "--all-failed", "--include-sent"}, "--include-sent requires --id"},
        {{"requeue", "--id", "abc"}, "\"abc\" is not a row id"},
        {{"requeue", "--id", "0"}, "\"0\" is not a row id"},
        {{"requeue", "--id=-3"}, "\"-3\" is not a row id"},
        {{"requeue", "--id", "1.5"}, "\"1.5\" is not a row id"},
        {{"requeue", "--id", "+7"}, "\"+7\" is not a row id"},
        {{"requeue", "--id", "1,x"}, "\"x\" is not a row id"},
        {{"requeue", "--id", "99999999999999999999"}, "is not a row id"},
        {{"requeue", "--id"}, "--id"},
        {{"requeue", "--all-failed", "--topic", ""}, "must not be empty"},
        {{"failed", "--limit", "0"}, "not in range 1 to 100000"},
        {{"failed", "--limit", "100001"}, "not in range 1 to 100000"},
        {{"failed", "--limit", "ten"}, "--limit"},
        {{"failed", "--topic", ""}, "must not be empty"},
        {{"failed", "--bogus"}, "--bogus"},
        {{"status", "extra"}, "extra"},
        {{"print-config", "--redact", "--no-redact"}, "excludes"},
    };
    for (const auto& [args, message] : cases) {
        std::vector<std::string> full = args;
        full.push_back("--config");
        full.push_back(path);
        std::string cmd;
        for (const auto& a : args) {
            cmd += " " + a;
        }
        INFO("outboxd" << cmd);
        auto [rc, out] = run_outboxd(full);
        INFO(out);
        CHECK(rc == 2);
        CHECK(contains(out, message));
    }
    // The table being absent is a runtime problem (1), reported as such.
    auto [rc, out] = run_outboxd({"status", "--config", path});
    CHECK(rc == 1);
    CHECK(contains(out, "does not exist"));
    // Each command documents itself.
    for (const char* sub : {"status", "failed", "requeue", "print-config"}) {
        std::tie(rc, out) = run_outboxd({sub, "--help"});
        INFO(out);
        CHECK(rc == 0);
    }
    std::tie(rc, out) = run_outboxd({"--help"});
    CHECK(contains(out, "requeue"));
    CHECK(contains(out, "print-config"));
}

TEST_CASE("migrate creates the failed index; health counts use only the partial indexes",
          "[integration][admin]") {
    const auto& s = services();
    const auto name = unique_name("health");
    auto table = make_table(s.pg_dsn, name);
    // Idempotent: a second migrate (the CLI) changes nothing and succeeds.
    auto [rc, out] = run_outboxd({"migrate", "--config", write_config(daemon_config(table))});
    INFO(out);
    REQUIRE(rc == 0);
    CHECK(sql_value(s.pg_dsn, "SELECT count(*) FROM pg_indexes WHERE indexname = '" + name
                                  + "_failed' AND indexdef LIKE '%(id) WHERE (status = 2)'")
          == "1");

    std::vector<NewRow> rows(3000, NewRow{name, "k", "v", std::nullopt});
    const auto ids = insert_rows(s.pg_dsn, table, rows);
    // 2990 sent, 3 parked, 7 pending, of which the lowest id is 90 s old.
    sql(s.pg_dsn, "UPDATE " + table_sql(table) + " SET status = 1, sent_at = now() WHERE id < "
                      + std::to_string(ids[2990]));
    for (int i = 2990; i < 2993; ++i) {
        park(s.pg_dsn, table, ids[i]);
    }
    set_row(s.pg_dsn, table, ids[2993], "created_at = now() - interval '90 seconds'");
    sql(s.pg_dsn, "ANALYZE " + table_sql(table));

    outboxd::store::PgOutboxStore st(table);
    const auto h = st.health_summary();
    CHECK(h.pending == 7);
    CHECK_FALSE(h.pending_capped);
    CHECK(h.parked == 3);
    CHECK_FALSE(h.parked_capped);
    CHECK(h.oldest_pending_age_s >= 89.0);
    CHECK(h.oldest_pending_age_s < 150.0);

    const auto sum = st.status_summary();
    CHECK(sum.pending == 7);
    CHECK(sum.sent == 2990);
    CHECK(sum.failed == 3);
    CHECK(sum.other == 0);
    REQUIRE(sum.oldest_pending_age_s);
    CHECK(*sum.oldest_pending_age_s >= 89.0);

    // The plan: index scans on <table>_pending and <table>_failed only.
    const auto plan =
        sql(s.pg_dsn, "PREPARE h(bigint) AS "
                          + outboxd::store::build_admin_statements(table).health_summary
                          + "; EXPLAIN EXECUTE h(1000000)");
    std::string plan_text;
    for (const auto& line : plan) {
        plan_text += line.at(0) + "\n";
    }
    INFO(plan_text);
    CHECK_FALSE(contains(plan_text, "Seq Scan"));
    CHECK(contains(plan_text, name + "_pending"));
    CHECK(contains(plan_text, name + "_failed"));
    CHECK_FALSE(contains(plan_text, name + "_pkey"));

    // Nothing pending: age 0 in the health counts, none in the status.
    sql(s.pg_dsn,
        "UPDATE " + table_sql(table) + " SET status = 1, sent_at = now() WHERE status = 0");
    CHECK(st.health_summary().pending == 0);
    CHECK(st.health_summary().oldest_pending_age_s == 0.0);
    CHECK_FALSE(st.status_summary().oldest_pending_age_s);
}

TEST_CASE("status: counts by status, oldest pending age, leader; --json parses",
          "[integration][admin]") {
    const auto& s = services();
    const auto name = unique_name("status");
    auto table = make_table(s.pg_dsn, name);
    const auto ids =
        insert_rows(s.pg_dsn, table, std::vector<NewRow>(6, NewRow{name, "k", "v", std::nullopt}));
    mark_sent(s.pg_dsn, table, ids[0]);
    mark_sent(s.pg_dsn, table, ids[1]);
    park(s.pg_dsn, table, ids[2]);
    set_row(s.pg_dsn, table, ids[3], "status = 7"); // written by some other tool
    set_row(s.pg_dsn, table, ids[4], "created_at = now() - interval '2 hours'");
    const auto path = write_config(daemon_config(table));

    auto [rc, out] = run_outboxd({"status", "--config", path});
    INFO(out);
    CHECK(rc == 0);
    CHECK(contains(out, "table           \"public\".\"" + name + "\""));
    CHECK(contains(out, "pending (0)     2\n"));
    CHECK(contains(out, "sent (1)        2\n"));
    CHECK(contains(out, "failed (2)      1  (list with `outboxd failed`)"));
    CHECK(contains(out, "other status    1"));
    CHECK(contains(out, "oldest pending  720")); // 7200 s and a bit
    CHECK(contains(out, "(2h 0m "));
    CHECK(contains(out, "leader          none (no outboxd is publishing from this table"));

    std::string err;
    std::tie(rc, out) = run_stdout({"status", "--json", "--config", path}, "", &err);
    INFO(err);
    REQUIRE(rc == 0);
    const auto j = Json::parse(out);
    CHECK(j["table"] == "\"public\".\"" + name + "\"");
    CHECK(j["pending"] == 2);
    CHECK(j["sent"] == 2);
    CHECK(j["failed"] == 1);
    CHECK(j["other"] == 1);
    CHECK(j["oldest_pending_age_seconds"].get<double>() >= 7200.0);
    CHECK(j["oldest_pending_age_seconds"].get<double>() < 7300.0);
    CHECK(j["leader"]["enabled"] == true);
    CHECK(j["leader"]["holder"].is_null());

    // Nothing pending: no age.
    sql(s.pg_dsn, "UPDATE " + table_sql(table) + " SET status = 1 WHERE status = 0");
    std::tie(rc, out) = run_stdout({"status", "--json", "--config", path});
    REQUIRE(rc == 0);
    CHECK(Json::parse(out)["oldest_pending_age_seconds"].is_null());
    std::tie(rc, out) = run_outboxd({"status", "--config", path});
    CHECK(contains(out, "oldest pending  -\n"));
}

TEST_CASE("failed: table, topic filter, limit, full errors in --json", "[integration][admin]") {
    const auto& s = services();
    const auto name = unique_name("failed");
    auto table = make_table(s.pg_dsn, name);
    const auto path = write_config(daemon_config(table));

    auto [rc, out] = run_outboxd({"failed", "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "no rows at status 2 in \"public\".\"" + name + "\""));

    const std::string other_topic = name + "_other";
    const auto ids = insert_rows(s.pg_dsn, table,
                                 {{name, "order-1", "a", std::nullopt},
                                  {name, std::nullopt, "b", std::nullopt},
                                  {other_topic, "order-3", "c", std::nullopt},
                                  {name, "order-4", "d", std::nullopt}});
    // A long error over several lines: one line, cut with "..." in the table.
    std::string long_error = "Broker: Message size too large\nsecond line";
    for (int i = 0; i < 20; ++i) {
        long_error += " more detail " + std::to_string(i);
    }
    park(s.pg_dsn, table, ids[0], long_error);
    park(s.pg_dsn, table, ids[1], "Local: Unknown topic");
    park(s.pg_dsn, table, ids[2], "Broker: Topic authorization failed");
    mark_sent(s.pg_dsn, table, ids[3]);

    std::tie(rc, out) = run_outboxd({"failed", "--config", path});
    INFO(out);
    CHECK(rc == 0);
    CHECK(contains(out, "ID"));
    CHECK(contains(out, "LAST_ERROR"));
    CHECK(contains(out, "order-1"));
    CHECK(contains(out, "(none)")); // the row without a key
    CHECK(contains(out, "Broker: Message size too large second line more detail 0"));
    CHECK(contains(out, "..."));
    CHECK_FALSE(contains(out, "more detail 19"));
    CHECK(contains(out, "Broker: Topic authorization failed"));
    CHECK(contains(out, "3 rows at status 2"));
    CHECK_FALSE(contains(out, "order-4")); // sent, not failed
    // The rows come newest first.
    CHECK(out.find("order-3") < out.find("Local: Unknown topic"));
    CHECK(out.find("Local: Unknown topic") < out.find("order-1"));

    std::tie(rc, out) = run_outboxd({"failed", "--topic", other_topic, "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "order-3"));
    CHECK_FALSE(contains(out, "order-1"));
    CHECK(contains(out, "1 row at status 2"));
    CHECK(contains(out, "for topic " + other_topic));

    std::tie(rc, out) = run_outboxd({"failed", "--limit", "1", "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "order-3"));
    CHECK_FALSE(contains(out, "order-1"));
    CHECK(contains(out, "raise --limit"));

    std::tie(rc, out) = run_stdout({"failed", "--json", "--config", path});
    REQUIRE(rc == 0);
    const auto j = Json::parse(out);
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 3);
    CHECK(j[2]["id"] == ids[0]); // newest first
    CHECK(j[2]["topic"] == name);
    CHECK(j[2]["key"] == "order-1");
    CHECK(j[2]["attempts"] == 5);
    CHECK(j[2]["last_error"] == long_error); // in full, newline included
    CHECK(j[2]["next_attempt_at"].is_null());
    CHECK(j[2]["created_at"].get<std::string>().size() == 24); // 2024-05-01T12:00:00.123Z
    CHECK(j[2]["created_at"].get<std::string>().back() == 'Z');
    CHECK(j[1]["key"].is_null());
    CHECK(j[0]["topic"] == other_topic);

    std::tie(rc, out) = run_stdout({"failed", "--json", "--topic", "nope", "--config", path});
    CHECK(rc == 0);
    CHECK(Json::parse(out) == Json::array());
}

TEST_CASE("requeue --id: parked rows back to 0; sent rows only with --include-sent",
          "[integration][admin]") {
    const auto& s = services();
    const auto name = unique_name("requeue");
    auto table = make_table(s.pg_dsn, name);
    const auto path = write_config(daemon_config(table));
    const auto ids =
        insert_rows(s.pg_dsn, table, std::vector<NewRow>(5, NewRow{name, "k", "v", std::nullopt}));
    park(s.pg_dsn, table, ids[0]);
    park(s.pg_dsn, table, ids[1]);
    mark_sent(s.pg_dsn, table, ids[2]);
    // ids[3] pending with a failed attempt; ids[4] pending.
    set_row(s.pg_dsn, table, ids[3],
            "attempts = 2, last_error = 'x', next_attempt_at = now() + interval '1 hour'");
    const std::string missing = std::to_string(ids[4] + 1000000);

    auto [rc, out] = run_outboxd({"requeue", "--id", std::to_string(ids[0]), "--id",
                                  std::to_string(ids[2]) + "," + std::to_string(ids[3]), "--id",
                                  missing, "--id", std::to_string(ids[0]), "--config", path});
    INFO(out);
    CHECK(rc == 1); // not every requested row is pending now
    CHECK(contains(out, "requeued 1 of 4 rows to status 0"));
    CHECK(contains(out, "not requeued, not found: " + missing));
    CHECK(contains(out, "not requeued, already pending (status 0): " + std::to_string(ids[3])));
    CHECK(contains(out, "not requeued, already sent (status 1; add --include-sent to send them "
                        "again): "
                            + std::to_string(ids[2])));
    auto st = row_states(s.pg_dsn, table);
    CHECK(st[ids[0]].status == 0);
    CHECK(st[ids[0]].attempts == 0);
    CHECK(sql_value(s.pg_dsn, "SELECT last_error IS NULL FROM " + table_sql(table)
                                  + " WHERE id = " + std::to_string(ids[0]))
          == "t");
    // Due at once; set (not NULL) so the read-back does not start at the
    // row's old created_at.
    CHECK(sql_value(s.pg_dsn, "SELECT next_attempt_at <= now() FROM " + table_sql(table)
                                  + " WHERE id = " + std::to_string(ids[0]))
          == "t");
    CHECK(st[ids[1]].status == 2); // not asked for
    CHECK(st[ids[2]].status == 1); // sent rows are never touched without --include-sent
    CHECK(st[ids[2]].has_sent_at);
    CHECK(st[ids[3]].attempts == 2); // rows at 0 are left to the relay
    CHECK(st[ids[3]].has_next_attempt_at);

    // Every requested row pending afterwards: exit 0.
    std::tie(rc, out) = run_outboxd({"requeue", "--id", std::to_string(ids[1]), "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 1 of 1 row to status 0"));
    CHECK(row_states(s.pg_dsn, table)[ids[1]].status == 0);

    std::tie(rc, out) = run_outboxd(
        {"requeue", "--id", std::to_string(ids[2]), "--include-sent", "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 1 of 1 row"));
    st = row_states(s.pg_dsn, table);
    CHECK(st[ids[2]].status == 0);
    CHECK_FALSE(st[ids[2]].has_sent_at);

    // The store reports the same through its API.
    outboxd::store::PgOutboxStore store(table);
    outboxd::store::RequeueSkipped skipped;
    mark_sent(s.pg_dsn, table, ids[4]);
    CHECK(store.requeue_ids({ids[4], ids[4] + 1000000}, false, &skipped) == 0);
    CHECK(skipped.sent == std::vector<std::int64_t>{ids[4]});
    CHECK(skipped.not_found == std::vector<std::int64_t>{ids[4] + 1000000});
    CHECK(row_states(s.pg_dsn, table)[ids[4]].status == 1);
}

TEST_CASE("requeue --all-failed [--topic]: only rows at 2, one topic when asked",
          "[integration][admin]") {
    const auto& s = services();
    const auto name = unique_name("requeue_all");
    auto table = make_table(s.pg_dsn, name);
    const auto path = write_config(daemon_config(table));
    const std::string other = name + "_b";
    const auto ids = insert_rows(s.pg_dsn, table,
                                 {{name, "k", "1", std::nullopt},
                                  {name, "k", "2", std::nullopt},
                                  {other, "k", "3", std::nullopt},
                                  {name, "k", "4", std::nullopt}});
    park(s.pg_dsn, table, ids[0]);
    park(s.pg_dsn, table, ids[1]);
    park(s.pg_dsn, table, ids[2]);
    mark_sent(s.pg_dsn, table, ids[3]);

    auto [rc, out] = run_outboxd({"requeue", "--all-failed", "--topic", other, "--config", path});
    INFO(out);
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 1 row from status 2 to 0"));
    CHECK(contains(out, "for topic " + other));
    auto counts = status_counts(s.pg_dsn, table);
    CHECK(counts[2] == 2);
    CHECK(counts[0] == 1);

    std::tie(rc, out) = run_outboxd({"requeue", "--all-failed", "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 2 rows from status 2 to 0"));
    auto st = row_states(s.pg_dsn, table);
    CHECK(st[ids[0]].status == 0);
    CHECK(st[ids[0]].attempts == 0);
    CHECK(st[ids[3]].status == 1); // sent stays sent
    CHECK(st[ids[3]].has_sent_at);

    std::tie(rc, out) = run_outboxd({"requeue", "--all-failed", "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 0 rows"));
}

TEST_CASE("a parked row requeued beside a running daemon is sent", "[integration][admin]") {
    const auto& s = services();
    const auto name = unique_name("requeue_run");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    const auto ids = insert_rows(s.pg_dsn, table, {{name, "k", "parked", std::nullopt}});
    park(s.pg_dsn, table, ids[0]);
    auto cfg = daemon_config(table);
    // A long rescan interval: the requeue's notification must wake the relay.
    cfg.relay["rescan_interval_ms"] = "600000";
    cfg.relay["poll_interval_ms"] = "60000";
    const auto path = write_config(cfg);

    Daemon d({"run", "--config", path});
    const auto later = insert_rows(s.pg_dsn, table, {{name, "k2", "fresh", std::nullopt}});
    REQUIRE(eventually([&] { return row_states(s.pg_dsn, table)[later[0]].status == 1; }, 60s));
    CHECK(row_states(s.pg_dsn, table)[ids[0]].status == 2); // the daemon leaves parked rows alone

    auto [rc, out] = run_outboxd({"status", "--config", path});
    INFO(out);
    CHECK(contains(out, "leader          backend pid "));

    std::tie(rc, out) = run_outboxd({"requeue", "--id", std::to_string(ids[0]), "--config", path});
    CHECK(rc == 0);
    REQUIRE(eventually([&] { return row_states(s.pg_dsn, table)[ids[0]].status == 1; }, 30s));
    bool found = false;
    for (const auto& m : read_topic(s.kafka_bootstrap, name)) {
        found = found || (m.outbox_id == ids[0] && m.payload == std::string("parked"));
    }
    CHECK(found);
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
}

TEST_CASE("retention: deletes only old sent rows, at most the limit per call",
          "[integration][admin]") {
    const auto& s = services();
    const auto name = unique_name("retention");
    auto table = make_table(s.pg_dsn, name);
    const auto ids =
        insert_rows(s.pg_dsn, table, std::vector<NewRow>(10, NewRow{name, "k", "v", std::nullopt}));
    for (int i = 0; i < 5; ++i) { // old sent rows
        mark_sent(s.pg_dsn, table, ids[i], "now() - interval '2 hours'");
    }
    mark_sent(s.pg_dsn, table, ids[5], "now() - interval '10 minutes'"); // recent
    // Old rows at 0 and 2, even with a sent_at, are never deleted.
    set_row(s.pg_dsn, table, ids[6],
            "status = 0, sent_at = now() - interval '3 hours', created_at = now() - interval '3 "
            "hours'");
    set_row(s.pg_dsn, table, ids[7], "status = 2, sent_at = now() - interval '3 hours'");
    // ids[8], ids[9] pending.

    outboxd::store::PgOutboxStore st(table);
    CHECK(st.delete_sent_older_than(1h, 0) == 0);
    CHECK(st.delete_sent_older_than(1h, 3) == 3);
    CHECK(st.delete_sent_older_than(1h, 3) == 2);
    CHECK(st.delete_sent_older_than(1h, 3) == 0);
    auto rows = row_states(s.pg_dsn, table);
    CHECK(rows.size() == 5);
    for (int i = 0; i < 5; ++i) {
        CHECK(rows.count(ids[i]) == 0);
    }
    CHECK(rows.count(ids[5]) == 1); // newer than the age
    CHECK(rows.count(ids[6]) == 1);
    CHECK(rows.count(ids[7]) == 1);
    // A shorter age reaches the recent one.
    CHECK(st.delete_sent_older_than(5min, 100) == 1);
    CHECK(row_states(s.pg_dsn, table).size() == 4);
    CHECK(status_counts(s.pg_dsn, table)[0] == 3);
    CHECK(status_counts(s.pg_dsn, table)[2] == 1);
}

TEST_CASE("print-config: env overrides, redacted by default, loads back", "[integration][admin]") {
    outboxd::config::Postgres t;
    t.table = unique_name("printcfg");
    auto cfg = daemon_config(t);
    cfg.pg_dsn = "host=127.0.0.1 port=5432 dbname=app user=outboxd password=pg-s3cret "
                 "sslpassword=key-s3cret";
    cfg.kafka_props["sasl.password"] = "hunter2-sasl";
    cfg.kafka_props["sasl.username"] = "relay";
    const auto path = write_config(cfg);

    std::string err;
    auto [rc, out] =
        run_stdout({"print-config", "--config", path}, "OUTBOXD_RELAY_BATCH_SIZE=77", &err);
    INFO(out);
    INFO(err);
    REQUIRE(rc == 0);
    CHECK(err.empty());
    CHECK_FALSE(contains(out, "pg-s3cret"));
    CHECK_FALSE(contains(out, "key-s3cret"));
    CHECK_FALSE(contains(out, "hunter2-sasl"));
    CHECK(contains(out, "password=*****"));
    CHECK(contains(out, "sslpassword=*****"));
    CHECK(contains(out, "sasl.password: \"*****\""));
    CHECK(contains(out, "sasl.username: \"relay\""));
    CHECK(contains(out, "batch_size: 77")); // the environment wins over the file
    CHECK(contains(out, "table: \"public." + t.table + "\""));
    // --redact says the same as the default.
    auto [rc2, out2] =
        run_stdout({"print-config", "--redact", "--config", path}, "OUTBOXD_RELAY_BATCH_SIZE=77");
    CHECK(rc2 == 0);
    CHECK(out2 == out);
    // The redacted output is itself a valid config file.
    auto loaded = outboxd::config::load_config_text(out, "print-config", {});
    for (const auto& p : loaded.problems) {
        INFO(outboxd::config::format_problem(p));
    }
    REQUIRE(loaded.config);
    CHECK(loaded.config->relay.batch_size == 77);

    // --no-redact: the secrets, a warning on stderr, and a round trip to the
    // same effective config.
    std::tie(rc, out) = run_stdout({"print-config", "--no-redact", "--config", path},
                                   "OUTBOXD_RELAY_BATCH_SIZE=77", &err);
    REQUIRE(rc == 0);
    CHECK(contains(err, "contains secrets"));
    CHECK(contains(out, "password=pg-s3cret"));
    CHECK(contains(out, "hunter2-sasl"));
    loaded = outboxd::config::load_config_text(out, "print-config", {});
    REQUIRE(loaded.config);
    CHECK(loaded.config->postgres.dsn == cfg.pg_dsn);
    CHECK(loaded.config->kafka.properties.at("sasl.password") == "hunter2-sasl");
    CHECK(outboxd::config::to_yaml(*loaded.config, false) == out);

    // The URI form: the password in the user part and in the query.
    cfg.pg_dsn = "postgresql://outboxd:uri-s3cret@127.0.0.1:5432/app?sslpassword=q-s3cret&"
                 "sslmode=prefer";
    std::tie(rc, out) = run_stdout({"print-config", "--config", write_config(cfg)});
    REQUIRE(rc == 0);
    CHECK_FALSE(contains(out, "s3cret"));
    // Rebuilt from libpq's own parse, in libpq's keyword order.
    CHECK(contains(out, "dsn: \"user='outboxd' password=***** dbname='app' host='127.0.0.1' "
                        "port='5432' sslmode='prefer' sslpassword=*****\""));
    CHECK(outboxd::config::load_config_text(out, "print-config", {}).config);

    // A broken config is a usage error, not a listing.
    std::tie(rc, out) = run_stdout({"print-config", "--config", "/nonexistent/outboxd.yaml"});
    CHECK(rc == 2);
}
