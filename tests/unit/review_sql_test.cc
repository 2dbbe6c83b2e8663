// The review's SQL (store/review_sql.h) without a database: identifiers
// quoted, values only as parameters, one branch per status, the requeue
// pinned to `outboxd requeue`'s reset, the migration's action log; the
// request checks; and the duration parser behind `--older-than`.
#include "common/duration.h"
#include "store/review_sql.h"
#include "store/sql.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

namespace outboxd::store {
namespace {

bool has(const std::string& text, const std::string& piece) {
    return text.find(piece) != std::string::npos;
}

int count(const std::string& text, const std::string& piece) {
    int n = 0;
    for (auto at = text.find(piece); at != std::string::npos; at = text.find(piece, at + 1)) {
        ++n;
    }
    return n;
}

// Names that break anything pasted unquoted.
config::Postgres odd_table() {
    config::Postgres pg;
    pg.schema = "Sch\"ema";
    pg.table = "out box";
    pg.columns.id = "Id";
    pg.columns.status = "st\"atus";
    pg.columns.topic = "to pic";
    pg.columns.key = "key";
    pg.columns.last_error = "why";
    pg.columns.created_at = "made";
    return pg;
}

// Values no statement may contain: they travel as $n parameters.
ReviewFilter marked_filter() {
    ReviewFilter f;
    f.statuses = {5, 2, 4, 2};
    f.topic = "TOPIC-MARK'; DROP TABLE x; --";
    f.key = "KEY-MARK";
    f.reason = "REASON-MARK";
    f.consumer = "CONSUMER-MARK";
    f.older_than_ms = 987654321;
    return f;
}

// The part of an UPDATE between SET and WHERE.
std::string assignments(const std::string& update) {
    const auto set = update.find(" SET ");
    const auto where = update.find(" WHERE ", set);
    REQUIRE(set != std::string::npos);
    REQUIRE(where != std::string::npos);
    return update.substr(set + 5, where - set - 5);
}

} // namespace

TEST_CASE("review SQL: identifiers quoted, values only as parameters", "[unit][sql][review]") {
    const auto pg = odd_table();
    const auto f = marked_filter();
    const auto fs = build_review_filter_statements(pg, f);
    const auto s = build_review_statements(pg, PayloadType::kBytea);
    std::vector<std::string> all{fs.list,       fs.count,        fs.requeue,    fs.close,
                                 fs.more,       s.lock_ids,      s.requeue_ids, s.close_ids,
                                 s.row,         s.insert_action, s.actions,     s.row_actions,
                                 s.probe_table, s.probe_actions};
    for (const auto& stmt : all) {
        INFO(stmt);
        CHECK_FALSE(stmt.empty());
        for (const char* mark : {"MARK", "987654321", "DROP"}) {
            CHECK_FALSE(has(stmt, mark));
        }
    }
    CHECK(actions_table(pg) == "\"Sch\"\"ema\".\"out box_actions\"");
    CHECK(s.actions_table == actions_table(pg));
    CHECK(has(fs.list, "FROM \"Sch\"\"ema\".\"out box\" AS o WHERE o.\"st\"\"atus\" = 2"));
    CHECK(has(fs.list, "o.\"to pic\"::text = $1::text"));
    CHECK(has(fs.list, "o.\"key\"::text = $2::text"));
    CHECK(has(fs.list, "strpos(lower(o.\"why\"::text), lower($3::text)) > 0"));
    CHECK(has(fs.list, "starts_with(o.\"why\"::text, $4::text || ': ')"));
    CHECK(has(fs.list, "o.\"made\" < now() - $5::bigint * interval '1 millisecond'"));
    // Each filter is NULL for "any": one statement text per status set.
    for (const char* p : {"$1::text IS NULL", "$2::text IS NULL", "$3::text IS NULL",
                          "$4::text IS NULL", "$5::bigint IS NULL"}) {
        CHECK(has(fs.list, p));
        CHECK(has(fs.count, p));
        CHECK(has(fs.requeue, p));
    }
    CHECK(has(s.insert_action, "INSERT INTO \"Sch\"\"ema\".\"out box_actions\""));
    CHECK(has(s.row_actions, "row_ids @> ARRAY[$1::bigint]"));
    CHECK(has(s.row_actions, "ORDER BY a.id DESC LIMIT 50"));
    CHECK(has(s.actions, "($1::bigint IS NULL OR a.id < $1::bigint) ORDER BY a.id DESC LIMIT $2"));
    CHECK(has(s.actions, "a.row_ids[1:100]"));
}

TEST_CASE("review SQL: one list branch per status, each walking its partial index",
          "[unit][sql][review]") {
    config::Postgres pg;
    ReviewFilter f;
    auto list = build_review_filter_statements(pg, f).list;
    // No status named: 2 and 4.
    CHECK(count(list, "UNION ALL") == 1);
    CHECK(has(list, "o.\"status\" = 2 AND"));
    CHECK(has(list, "o.\"status\" = 4 AND"));
    CHECK_FALSE(has(list, "= 5 AND"));
    CHECK_FALSE(has(list, " IN ("));

    f.statuses = {5, 2, 5, 4};
    list = build_review_filter_statements(pg, f).list;
    CHECK(count(list, "UNION ALL") == 2);
    // Every branch: the cursor, newest first, its own limit; then merged.
    CHECK(count(list, "($6::bigint IS NULL OR o.\"id\" < $6::bigint) ORDER BY o.\"id\" DESC "
                      "LIMIT $7)")
          == 3);
    CHECK(list.rfind(") r ORDER BY r_id DESC LIMIT $7") == list.size() - 31);
    CHECK(list.find("= 2 AND") < list.find("= 4 AND"));
    CHECK(list.find("= 4 AND") < list.find("= 5 AND"));

    f.statuses = {2};
    list = build_review_filter_statements(pg, f).list;
    CHECK(count(list, "UNION ALL") == 0);
    const auto counted = build_review_filter_statements(pg, f).count;
    CHECK(has(counted, "SELECT count(*) FROM (SELECT 1 FROM ((SELECT 1 FROM \"public\".\"outbox\" "
                       "AS o WHERE o.\"status\" = 2 AND"));
    CHECK(has(counted, "LIMIT $6)) u LIMIT $6) c"));

    CHECK(listed_statuses({}) == std::vector<int>{2, 4});
    ReviewFilter many;
    many.statuses = {5, 4, 5};
    CHECK(listed_statuses(many) == std::vector<int>{4, 5});
}

TEST_CASE("review SQL: actions touch only 2 (and 4 with confirmation), oldest first, locked",
          "[unit][sql][review]") {
    config::Postgres pg;
    ReviewFilter f; // 2 and 4
    auto fs = build_review_filter_statements(pg, f);
    CHECK(actionable_statuses(pg, f) == std::vector<int>{2});
    // The pick: oldest first, locked in id order, at most $6; the status
    // checked again on the locked row.
    CHECK(has(fs.requeue,
              "WHERE o.\"id\" = ANY(ARRAY(SELECT o.\"id\" FROM \"public\".\"outbox\" AS o WHERE "
              "(o.\"status\" = 2) AND"));
    CHECK(has(fs.requeue, "ORDER BY o.\"id\" LIMIT $6 FOR UPDATE)) AND (o.\"status\" = 2) AND"));
    CHECK(has(fs.requeue, "RETURNING o.\"id\"::bigint"));
    CHECK_FALSE(has(fs.requeue, "= 4"));
    CHECK_FALSE(has(fs.requeue, "confirmed_by"));
    CHECK(has(fs.close, "SET \"status\" = 5 WHERE"));
    CHECK(assignments(fs.close) == "\"status\" = 5"); // last_error kept
    CHECK(has(fs.more, "SELECT EXISTS (SELECT 1 FROM \"public\".\"outbox\" AS o WHERE "
                       "(o.\"status\" = 2) AND"));

    // The same reset as `outboxd requeue` (sql.cc), word for word.
    const auto admin = build_admin_statements(pg);
    CHECK(assignments(fs.requeue) == assignments(admin.requeue_failed));

    pg.confirm_consumers = {"billing"};
    fs = build_review_filter_statements(pg, f);
    CHECK(actionable_statuses(pg, f) == std::vector<int>{2, 4});
    CHECK(has(fs.requeue, "(o.\"status\" = 2 OR o.\"status\" = 4)"));
    CHECK(has(fs.requeue, "\"confirmed_by\" = '{}'"));
    CHECK(assignments(fs.requeue) == assignments(build_admin_statements(pg).requeue_failed));
    const auto s = build_review_statements(pg, PayloadType::kBytea);
    CHECK(s.requeue_ids == build_admin_statements(pg).requeue_ids);
    CHECK(s.lock_ids == build_admin_statements(pg).lock_ids);
    CHECK(has(s.close_ids, "= ANY($1::bigint[]) AND (o.\"status\" = 2 OR o.\"status\" = 4)"));

    // Only closed rows asked for: nothing an action changes.
    f.statuses = {5};
    fs = build_review_filter_statements(pg, f);
    CHECK(actionable_statuses(pg, f).empty());
    CHECK(fs.requeue.empty());
    CHECK(fs.close.empty());
    CHECK_FALSE(fs.list.empty());
}

TEST_CASE("review SQL: one row, its payload as the relay sends it, confirmation columns",
          "[unit][sql][review]") {
    config::Postgres pg;
    auto s = build_review_statements(pg, PayloadType::kBytea);
    CHECK(has(s.row, "substring(o.\"payload\" FROM 1 FOR $2::int), octet_length(o.\"payload\")"));
    CHECK(has(s.row, "o.\"headers\"::text"));
    CHECK(has(s.row, "WHERE o.\"id\" = $1::bigint"));
    CHECK_FALSE(has(s.row, "kafka_offset"));
    s = build_review_statements(pg, PayloadType::kText);
    CHECK(has(s.row, "substring(convert_to(o.\"payload\", 'UTF8') FROM 1 FOR $2::int)"));
    s = build_review_statements(pg, PayloadType::kJson);
    CHECK(has(s.row, "octet_length(convert_to(o.\"payload\"::text, 'UTF8'))"));
    pg.confirm_consumers = {"billing"};
    s = build_review_statements(pg, PayloadType::kBytea);
    CHECK(has(s.row, "o.\"kafka_partition\"::int, o.\"kafka_offset\"::bigint, "
                     "array_to_string(o.\"confirmed_by\", ','), o.\"resends\"::int"));
}

TEST_CASE("review migration: the action log and the closed index, idempotent",
          "[unit][sql][review]") {
    config::Postgres pg;
    pg.table = "out\"box";
    std::string ddl;
    for (const auto& stmt : migration_statements(pg)) {
        INFO(stmt);
        if (stmt.rfind("CREATE", 0) == 0 && stmt.rfind("CREATE OR REPLACE", 0) != 0
            && stmt.rfind("CREATE TRIGGER", 0) != 0) {
            CHECK(has(stmt, "IF NOT EXISTS"));
        }
        ddl += stmt + "\n";
    }
    CHECK(has(ddl, "CREATE TABLE IF NOT EXISTS \"public\".\"out\"\"box_actions\" (\n"
                   "  id bigserial PRIMARY KEY,\n  at timestamptz NOT NULL DEFAULT now(),\n"
                   "  who text NOT NULL,\n  action text NOT NULL,\n"
                   "  note text NOT NULL DEFAULT '',\n  row_count integer NOT NULL,\n"
                   "  row_ids bigint[] NOT NULL,\n  filter jsonb\n)"));
    CHECK(has(ddl, "CREATE INDEX IF NOT EXISTS \"out\"\"box_closed\" ON \"public\".\"out\"\"box\" "
                   "(\"id\") WHERE \"status\" = 5"));
    // Rows at 4 are listed without confirmation too: their index exists.
    CHECK(has(ddl, "\"out\"\"box_consumer_failed\" ON \"public\".\"out\"\"box\" (\"id\") WHERE "
                   "\"status\" = 4"));
    CHECK_FALSE(has(ddl, "USING gin"));
    CHECK_FALSE(has(ddl, "USING GIN"));
    // `outboxd status` counts the closed rows apart from "other".
    CHECK(has(build_admin_statements(pg).status_summary,
              "count(*) FILTER (WHERE \"status\" = 5) FROM"));
}

TEST_CASE("review requests: bad filters and actions are refused with the reason",
          "[unit][review]") {
    ReviewFilter f;
    CHECK(review_filter_problem(f).empty());
    f.statuses = {2, 3};
    CHECK(review_filter_problem(f) == "status 3 is not one a person reviews (2, 4 or 5)");
    f.statuses = {5};
    f.older_than_ms = -1;
    CHECK(review_filter_problem(f) == "older_than_ms must not be negative");
    f.older_than_ms = 0;
    f.reason = "";
    CHECK(review_filter_problem(f) == "reason must not be empty");
    f.reason.reset();
    f.consumer = "";
    CHECK(review_filter_problem(f) == "consumer must not be empty");

    ActionRequest r;
    r.who = "alice";
    CHECK(action_request_problem(r, false) == "give either ids or a filter");
    r.ids = std::vector<std::int64_t>{};
    r.filter = ReviewFilter{};
    CHECK(action_request_problem(r, false) == "give either ids or a filter");
    r.filter.reset();
    CHECK(action_request_problem(r, false) == "no ids given");
    r.ids = std::vector<std::int64_t>(kMaxActionIds, 1);
    CHECK(action_request_problem(r, false).empty());
    r.ids->push_back(2);
    CHECK(action_request_problem(r, false) == "10001 ids: at most 10000 per action");
    r.ids = std::vector<std::int64_t>{3, 0};
    CHECK(action_request_problem(r, false) == "0 is not a row id (a whole number >= 1)");
    r.ids = std::vector<std::int64_t>{3};
    CHECK(action_request_problem(r, true) == "a close needs a note (the action log records why)");
    r.note = "duplicate of 2";
    CHECK(action_request_problem(r, true).empty());
    r.who.clear();
    CHECK(action_request_problem(r, true) == "who must not be empty (the action log records it)");
    r.who = "alice";
    r.ids.reset();
    r.filter = ReviewFilter{};
    r.filter->statuses = {1};
    CHECK(action_request_problem(r, false) == "status 1 is not one a person reviews (2, 4 or 5)");
    r.filter->statuses = {2};
    r.max_rows = 0;
    CHECK(action_request_problem(r, false) == "max_rows must be at least 1");
}

TEST_CASE("review filter as JSON: the list's names, only what is set", "[unit][review]") {
    CHECK(review_filter_json({}) == R"({"status":[2,4]})");
    const auto j = nlohmann::json::parse(review_filter_json(marked_filter()));
    CHECK(j["status"] == nlohmann::json::array({2, 4, 5}));
    CHECK(j["topic"] == "TOPIC-MARK'; DROP TABLE x; --");
    CHECK(j["key"] == "KEY-MARK");
    CHECK(j["reason"] == "REASON-MARK");
    CHECK(j["consumer"] == "CONSUMER-MARK");
    CHECK(j["older_than_ms"] == 987654321);
    ReviewFilter bad;
    bad.key = std::string("\xff\xfe", 2); // not UTF-8: replaced, not thrown
    CHECK(nlohmann::json::parse(review_filter_json(bad))["key"] == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

} // namespace outboxd::store

TEST_CASE("durations: a whole number and a unit", "[unit][common]") {
    using outboxd::parse_duration_ms;
    CHECK(parse_duration_ms("500ms") == 500);
    CHECK(parse_duration_ms("90s") == 90000);
    CHECK(parse_duration_ms("15m") == 900000);
    CHECK(parse_duration_ms("2h") == 7200000);
    CHECK(parse_duration_ms("3d") == 259200000);
    CHECK(parse_duration_ms("0s") == 0);
    for (const char* bad : {"", "s", "ms", "90", "-5m", "+5m", " 5m", "5 m", "5m ", "1.5h", "5x",
                            "5M", "1h30m", "99999999999999999d", "9223372036854775807s"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration_ms(bad));
        CHECK(outboxd::duration_problem(bad).find("is not a duration") != std::string::npos);
    }
    CHECK(outboxd::duration_problem("15m").empty());
    CHECK(outboxd::duration_problem("15")
          == "\"15\" is not a duration (a whole number and a unit: "
             "500ms, 90s, 15m, 2h, 3d)");
}
