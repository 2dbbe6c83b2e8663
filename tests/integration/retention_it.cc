// retention.mode partition against the real PostgreSQL: `outboxd migrate`
// makes the partitioned table; the running daemon adds partitions ahead of
// the ids, drops a partition once all its rows are sent and old, keeps one
// a parked row waits in, and empties the default partition by DELETE.
// Observed through the tables, the topic and /metrics.
#include "services.h"
#include "store/pg_outbox_store.h"
#include "store/sql.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <set>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

outboxd::config::Postgres partitioned_table(const std::string& name) {
    outboxd::config::Postgres pg;
    pg.dsn = services().pg_dsn;
    pg.schema = "public";
    pg.table = name;
    pg.notify_channel = name;
    pg.retention_mode = outboxd::config::RetentionMode::kPartition;
    outboxd::store::PgOutboxStore(pg).migrate();
    return pg;
}

std::vector<NewRow> rows_for(const std::string& topic, int n) {
    std::vector<NewRow> rows;
    for (int i = 0; i < n; ++i) {
        rows.push_back({topic, "k" + std::to_string(i % 5), "v" + std::to_string(i), std::nullopt});
    }
    return rows;
}

std::set<std::string> partitions_of(const std::string& name) {
    std::set<std::string> out;
    for (const auto& r : sql(services().pg_dsn, "SELECT c.relname FROM pg_inherits i JOIN "
                                                "pg_class c ON c.oid = i.inhrelid WHERE "
                                                "i.inhparent = 'public."
                                                    + name + "'::regclass")) {
        out.insert(r[0]);
    }
    return out;
}

double metric_or_zero(Daemon& d, const std::string& series) {
    return metric_value(d, series).value_or(-1);
}

} // namespace

TEST_CASE("partition retention: partitions added ahead, a done one dropped, one holding a "
          "parked row kept until the row is sent, every row on the topic once",
          "[integration][retention-partition]") {
    const auto& s = services();
    const auto name = unique_name("partret");
    const auto table = partitioned_table(name);
    const std::string t = table_sql(table);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    CHECK(partitions_of(name) == std::set<std::string>{name + "_default"});
    // Before the daemon runs: into the default partition.
    insert_rows(s.pg_dsn, table, rows_for(name, 20));

    auto cfg = daemon_config(table);
    cfg.pg_dsn = s.pg_dsn; // partition mode: the table's owner
    cfg.extra_yaml = "retention:\n  mode: partition\n  sent_max_age_ms: 1500\n"
                     "  interval_ms: 200\n";
    Daemon d({"run", "--config", write_config(cfg)});
    REQUIRE(d.http_port());
    // Two partitions of the smallest width, a tenth of it above the newest id.
    const std::string first = name + "_p1021";
    const std::string second = name + "_p11021";
    REQUIRE(eventually([&] { return partitions_of(name).count(second) == 1; }, 30s));
    // The default partition's rows are sent, then deleted row by row.
    REQUIRE(eventually(
        [&] { return sql_value(s.pg_dsn, "SELECT count(*) FROM " + t + "_default") == "0"; }, 60s));

    // Rows into the first partition; one of them parked by hand (a person
    // will look at it).
    const std::string seq = "pg_get_serial_sequence('" + t + "', 'id')";
    sql(s.pg_dsn, "SELECT setval(" + seq + ", 1020)");
    const auto ids = insert_rows(s.pg_dsn, table, rows_for(name, 30));
    REQUIRE(ids.front() == 1021);
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 30; }, 30s));
    sql(s.pg_dsn, "UPDATE " + t + " SET status = 2, last_error = 'review me' WHERE id = "
                      + std::to_string(ids[3]));
    // Ids move on into the second partition: the first one is past them.
    sql(s.pg_dsn, "SELECT setval(" + seq + ", 11030)");
    insert_rows(s.pg_dsn, table, rows_for(name, 10));
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == 39; }, 30s));
    // Held: not dropped, said so in the gauge; the parked row is still there.
    REQUIRE(eventually([&] { return metric_or_zero(d, "outboxd_retention_partitions_held") == 1; },
                       30s));
    CHECK(partitions_of(name).count(first) == 1);
    CHECK(status_counts(s.pg_dsn, table)[2] == 1);
    CHECK(metric_or_zero(d, "outboxd_retention_partitions_dropped_total") == 0);

    // The person sends it again: once it is sent and old, the partition goes.
    sql(s.pg_dsn,
        "UPDATE " + t + " SET status = 0, attempts = 0 WHERE id = " + std::to_string(ids[3]));
    REQUIRE(eventually([&] { return partitions_of(name).count(first) == 0; }, 60s));
    CHECK(metric_or_zero(d, "outboxd_retention_partitions_dropped_total") >= 1);
    CHECK(metric_or_zero(d, "outboxd_retention_partitions_held") == 0);
    // The second partition holds the newest id: never a candidate.
    CHECK(partitions_of(name).count(second) == 1);
    CHECK(sql_value(s.pg_dsn, "SELECT count(*) FROM " + t) == "10");
    // Nothing lost, nothing twice: 20 + 30 + 10 rows, the requeued one twice.
    const auto consumed = read_topic(s.kafka_bootstrap, name);
    std::map<std::int64_t, int> seen;
    for (const auto& c : consumed) {
        ++seen[c.outbox_id];
    }
    CHECK(seen.size() == 60);
    CHECK(consumed.size() == 61);
    CHECK(seen[ids[3]] == 2);
    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);
}

TEST_CASE("partition retention: migrate refuses an existing plain table, saying why, and the "
          "daemon stops on one",
          "[integration][retention-partition]") {
    const auto& s = services();
    const auto name = unique_name("partplain");
    const auto table = make_table(s.pg_dsn, name);
    auto cfg = daemon_config(table);
    cfg.pg_dsn = s.pg_dsn;
    cfg.extra_yaml = "retention:\n  mode: partition\n  sent_max_age_ms: 60000\n";
    const auto path = write_config(cfg);
    const auto [rc, out] = run_outboxd({"-c", path, "migrate"}, 30s);
    INFO(out);
    CHECK(rc != 0);
    CHECK_THAT(out, Catch::Contains("exists and is not partitioned"));
    Daemon d({"run", "--config", path});
    const auto code = d.wait(60s);
    INFO(d.log());
    REQUIRE(code);
    CHECK(*code != 0);
}
