// retention.mode partition: the pure rules (daemon/partition_rules.h) and
// the partition SQL (store/sql.h).
#include "config/config.h"
#include "daemon/partition_rules.h"
#include "store/sql.h"

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;
using outboxd::daemon::IdRange;
using outboxd::daemon::kMaxDropCandidates;
using outboxd::daemon::kMaxPartitionWidth;
using outboxd::daemon::kMinPartitionWidth;
using outboxd::store::PartitionState;

namespace {

std::vector<std::pair<std::int64_t, std::int64_t>> ranges(const std::vector<IdRange>& v) {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (const auto& r : v) {
        out.emplace_back(r.lo, r.hi);
    }
    return out;
}

} // namespace

TEST_CASE("partition width: half the retention age of ids (at least a round's), within bounds",
          "[unit][retention]") {
    using outboxd::daemon::partition_width;
    CHECK(partition_width(0, 60000ms, 60000ms) == kMinPartitionWidth);
    CHECK(partition_width(1500, 3600000ms, 60000ms) == 1500 * 1800);
    // A round longer than half the age: one round's ids per partition.
    CHECK(partition_width(1000, 60000ms, 120000ms) == 120000);
    CHECK(partition_width(1e12, 3600000ms, 60000ms) == kMaxPartitionWidth);
    CHECK(partition_width(-5, 60000ms, 60000ms) == kMinPartitionWidth);
}

TEST_CASE("id rate: ids a second between two looks, the last one kept when it cannot say",
          "[unit][retention]") {
    using outboxd::daemon::id_rate;
    CHECK(id_rate(1000, 61000, 60000ms, 7) == Approx(1000));
    CHECK(id_rate(1000, 2000, 500ms, 7) == 7);   // too short a look
    CHECK(id_rate(5000, 2000, 60000ms, 7) == 7); // ids went back (a new table)
}

TEST_CASE("partition plan: a fresh table gets two widths of partitions from id 1",
          "[unit][retention]") {
    PartitionState st;
    st.has_default = true;
    const auto plan = outboxd::daemon::plan_partitions(st, 10000);
    CHECK(ranges(plan.create)
          == std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 10001}, {10001, 20001}});
    CHECK(plan.candidates.empty());
}

TEST_CASE(
    "partition plan: once ids ran past every partition, the next one starts a tenth of a width "
    "above the newest id, never over ids the default partition holds or may get meanwhile",
    "[unit][retention]") {
    PartitionState st;
    st.has_default = true;
    st.partitions = {{"outbox_p1", 1, 10001}};
    st.max_id = 25000;
    st.max_default_id = 25000;
    const auto plan = outboxd::daemon::plan_partitions(st, 10000);
    CHECK(ranges(plan.create)
          == std::vector<std::pair<std::int64_t, std::int64_t>>{{26001, 36001}, {36001, 46001}});
    REQUIRE(plan.candidates.size() == 1);
    CHECK(plan.candidates[0].name == "outbox_p1");
    // Rows in the default partition from before any partition existed.
    PartitionState first;
    first.has_default = true;
    first.max_id = 700;
    first.max_default_id = 700;
    CHECK(outboxd::daemon::plan_partitions(first, 10000).create.front().lo == 1701);
    // Ids taken but not committed (the sequence ahead of the table) count.
    PartitionState taken;
    taken.has_default = true;
    taken.partitions = {{"outbox_p1", 1, 10001}};
    taken.max_id = 10000;
    CHECK(outboxd::daemon::plan_partitions(taken, 10000).create.front().lo == 11001);
    // Ids still inside the top partition: the next one follows it at once.
    taken.max_id = 9000;
    CHECK(ranges(outboxd::daemon::plan_partitions(taken, 10000).create)
          == std::vector<std::pair<std::int64_t, std::int64_t>>{{10001, 20001}, {20001, 30001}});
}

TEST_CASE("partition plan: nothing to add while two widths are ready; candidates are the "
          "partitions wholly below the newest id, oldest first, a bounded number",
          "[unit][retention]") {
    PartitionState st;
    st.has_default = true;
    for (std::int64_t lo = 1; lo < 300001; lo += 10000) {
        st.partitions.push_back({"outbox_p" + std::to_string(lo), lo, lo + 10000});
    }
    std::reverse(st.partitions.begin(), st.partitions.end());
    st.max_id = 275000;
    const auto plan = outboxd::daemon::plan_partitions(st, 10000);
    CHECK(plan.create.empty()); // top 300001 >= 275000 + 20000
    REQUIRE(plan.candidates.size() == kMaxDropCandidates);
    CHECK(plan.candidates.front().lo == 1);
    for (std::size_t i = 1; i < plan.candidates.size(); ++i) {
        CHECK(plan.candidates[i - 1].lo < plan.candidates[i].lo);
    }
}

TEST_CASE("partition SQL: bounds parsed from PostgreSQL's text, anything else refused",
          "[unit][retention]") {
    using outboxd::store::parse_range_bound;
    CHECK(parse_range_bound("FOR VALUES FROM ('1') TO ('10001')")
          == std::make_pair(INT64_C(1), INT64_C(10001)));
    CHECK(parse_range_bound("FOR VALUES FROM ('-5') TO ('9223372036854775807')")
          == std::make_pair(INT64_C(-5), INT64_C(9223372036854775807)));
    CHECK_FALSE(parse_range_bound("DEFAULT"));
    CHECK_FALSE(parse_range_bound("FOR VALUES FROM (MINVALUE) TO ('10')"));
    CHECK_FALSE(parse_range_bound("FOR VALUES FROM ('10') TO ('10')"));
    CHECK_FALSE(parse_range_bound("FOR VALUES FROM ('1') TO ('99999999999999999999')"));
    CHECK_FALSE(parse_range_bound("FOR VALUES FROM ('1') TO ('')"));
    CHECK_FALSE(parse_range_bound("FOR VALUES FROM ('')"));
}

TEST_CASE("partition SQL: migrate makes a partitioned table with a default partition; every "
          "new table or partition gets room for its marks (fillfactor 50)",
          "[unit][retention]") {
    outboxd::config::Postgres pg;
    auto joined = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& s : v) {
            out += s + ";\n";
        }
        return out;
    };
    const std::string plain = joined(outboxd::store::migration_statements(pg));
    CHECK_THAT(plain, Catch::Contains(") WITH (fillfactor = 50)"));
    CHECK_THAT(plain, !Catch::Contains("PARTITION"));
    pg.retention_mode = outboxd::config::RetentionMode::kPartition;
    const std::string parted = joined(outboxd::store::migration_statements(pg));
    CHECK_THAT(parted, Catch::Contains(") PARTITION BY RANGE (\"id\")"));
    CHECK_THAT(parted, Catch::Contains("CREATE TABLE IF NOT EXISTS \"public\".\"outbox_default\" "
                                       "PARTITION OF \"public\".\"outbox\" DEFAULT WITH "
                                       "(fillfactor = 50, autovacuum_vacuum_scale_factor = 0"));
    CHECK_THAT(parted, !Catch::Contains("ALTER TABLE \"public\".\"outbox\" SET"));
    const auto create = outboxd::store::create_partition_statements(pg, 1, 10001);
    REQUIRE(create.size() == 2);
    CHECK_THAT(create[0], Catch::StartsWith("CREATE TABLE \"public\".\"outbox_p1\" (LIKE "));
    CHECK_THAT(create[0], Catch::Contains("WITH (fillfactor = 50"));
    CHECK(create[1]
          == "ALTER TABLE \"public\".\"outbox\" ATTACH PARTITION \"public\".\"outbox_p1\" FOR "
             "VALUES FROM (1) TO (10001)");
    // Retention's DELETE goes to the default partition only, with no row locks.
    const auto admin = outboxd::store::build_admin_statements(pg);
    CHECK_THAT(admin.delete_sent, Catch::StartsWith("DELETE FROM \"public\".\"outbox_default\""));
    CHECK_THAT(admin.delete_sent, !Catch::Contains("FOR UPDATE"));
    // Names fit PostgreSQL's 63 bytes.
    pg.table = std::string(70, 't');
    CHECK(outboxd::store::partition_name(pg, 123456789).size() == 63);
}
