// The person's review against the real PostgreSQL (store/review_store.h,
// docs/console.md): PgReviewStore's filters, paging, count and detail;
// requeue and close touching only rows at 2 (and 4 with confirmation), in
// one transaction with their action record; two concurrent requeues of the
// same rows changing each once; the action log's migration and its absence
// ([review-store]). And the command line over it: failed, requeue, close,
// actions, status ([cli-review]).
#include "config/config.h"
#include "services.h"
#include "store/pg_outbox_store.h"
#include "store/pg_review_store.h"
#include "store/review_sql.h"
#include "store/sql.h"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace outboxd::testing;
using namespace std::chrono_literals;
using Json = nlohmann::json;
namespace store = outboxd::store;

namespace {

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

std::string ids_text(const std::vector<std::int64_t>& ids) {
    std::string out;
    for (const auto id : ids) {
        out += (out.empty() ? "" : ",") + std::to_string(id);
    }
    return out;
}

// Puts rows straight into a state, as the relay, a consumer or a person
// would have.
void set_rows(const outboxd::config::Postgres& t,
              const std::vector<std::int64_t>& ids,
              const std::string& assignments) {
    if (ids.empty()) {
        return;
    }
    sql(services().pg_dsn,
        "UPDATE " + table_sql(t) + " SET " + assignments + " WHERE id IN (" + ids_text(ids) + ")");
}

std::string quoted(const std::string& s) {
    return store::quote_literal(s);
}

// The table with consumer confirmation on (its columns added by migrate).
outboxd::config::Postgres confirming_table(const std::string& name) {
    auto t = make_table(services().pg_dsn, name);
    t.confirm_consumers = {"billing", "inventory"};
    store::PgOutboxStore(t).migrate();
    return t;
}

std::vector<std::int64_t> ids_of(const std::vector<store::ReviewRow>& rows) {
    std::vector<std::int64_t> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back(r.id);
    }
    return out;
}

store::ActionRequest by_ids(const std::vector<std::int64_t>& ids,
                            const std::string& who = "alice",
                            const std::string& note = "") {
    store::ActionRequest r;
    r.who = who;
    r.note = note;
    r.ids = ids;
    return r;
}

store::ActionRequest by_filter(const store::ReviewFilter& f,
                               const std::string& who = "alice",
                               const std::string& note = "") {
    store::ActionRequest r;
    r.who = who;
    r.note = note;
    r.filter = f;
    return r;
}

// Sessions of `application` now waiting for a lock.
int lock_waiters(const std::string& application) {
    return std::stoi(sql_value(services().pg_dsn,
                               "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                   + quoted(application) + " AND wait_event_type = 'Lock'"));
}

std::string os_user() {
    const passwd* pw = ::getpwuid(::geteuid()); // NOLINT(concurrency-mt-unsafe): test thread
    return pw != nullptr ? pw->pw_name : "uid-" + std::to_string(::geteuid());
}

} // namespace

TEST_CASE("review store: migrate twice; the action log and indexes; a table without the log "
          "is refused",
          "[integration][review-store]") {
    const auto& s = services();
    const auto name = unique_name("rv_mig");
    auto t = make_table(s.pg_dsn, name);
    // Idempotent: a second and third run change nothing and succeed.
    store::PgOutboxStore(t).migrate();
    store::PgOutboxStore(t).migrate();
    CHECK(sql_value(s.pg_dsn, "SELECT count(*) FROM pg_indexes WHERE indexname = '" + name
                                  + "_closed' AND indexdef LIKE '%(id) WHERE (status = 5)'")
          == "1");
    CHECK(
        sql_value(s.pg_dsn, "SELECT count(*) FROM pg_indexes WHERE indexname = '" + name
                                + "_consumer_failed' AND indexdef LIKE '%(id) WHERE (status = 4)'")
        == "1");
    CHECK(sql_value(s.pg_dsn,
                    "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || "
                    "CASE WHEN attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY attnum) "
                    "FROM pg_attribute WHERE attrelid = '"
                        + name + "_actions'::regclass AND attnum > 0")
          == "id bigint not null, at timestamp with time zone not null, who text not null, "
             "action text not null, note text not null, row_count integer not null, row_ids "
             "bigint[] not null, filter jsonb");
    CHECK(sql_value(s.pg_dsn,
                    "SELECT count(*) FROM pg_indexes WHERE tablename = '" + name + "_actions'")
          == "1"); // its primary key only: no GIN index on row_ids

    // The CLI's migrate too, and then the relay role may use the log.
    const auto path = write_config(daemon_config(t));
    auto [rc, out] = run_outboxd({"migrate", "--config", path});
    INFO(out);
    CHECK(rc == 0);
    CHECK(contains(out, name + "_actions"));
    CHECK(sql_value(s.pg_dsn, "SELECT has_table_privilege('outboxd_relay', '" + name
                                  + "_actions', 'INSERT') AND has_sequence_privilege("
                                    "'outboxd_relay', pg_get_serial_sequence('"
                                  + name + "_actions', 'id'), 'USAGE')")
          == "t");

    // A table migrated before the console: every call says what to run.
    sql(s.pg_dsn, "DROP TABLE \"" + name + "_actions\"");
    store::PgReviewStore st(t);
    try {
        st.review_rows({}, std::nullopt, 10);
        FAIL("no StoreMisconfigured");
    } catch (const store::StoreMisconfigured& e) {
        CHECK(contains(e.what(), "the action log \"public\".\"" + name + "_actions\""));
        CHECK(contains(e.what(), "run `outboxd migrate`"));
    }
    CHECK_THROWS_AS(st.requeue(by_ids({1})), store::StoreMisconfigured);
    std::tie(rc, out) = run_outboxd({"failed", "--config", path});
    CHECK(rc == 1);
    CHECK(contains(out, "outboxd migrate"));
    // migrate brings it back.
    store::PgOutboxStore(t).migrate();
    CHECK(st.review_rows({}, std::nullopt, 10).empty());

    outboxd::config::Postgres absent = t;
    absent.table = unique_name("rv_absent");
    store::PgReviewStore none(absent);
    CHECK_THROWS_WITH(none.review_count({}, 10),
                      Catch::Contains("does not exist (create it with `outboxd migrate`)"));
}

TEST_CASE("review store: each filter narrows; pages newest first, none twice, none missed; count",
          "[integration][review-store]") {
    const auto& s = services();
    const auto name = unique_name("rv_filter");
    auto t = make_table(s.pg_dsn, name);
    const std::string other = name + "_b";
    // 90 rows: status by i % 6 (0..5), topic by i % 2, key by i % 3, errors
    // by i % 5, ages by i % 4 hours.
    std::vector<NewRow> rows;
    for (int i = 0; i < 90; ++i) {
        rows.push_back({i % 2 == 0 ? name : other, "key-" + std::to_string(i % 3), "v", {}});
    }
    const auto ids = insert_rows(s.pg_dsn, t, rows);
    const std::vector<std::string> errors = {"Broker: Message size too large",
                                             "billing: card DECLINED", "inventory: sku missing",
                                             "billing-eu: timeout", "Local: Unknown topic"};
    for (int i = 0; i < 90; ++i) {
        set_rows(t, {ids[i]},
                 "status = " + std::to_string(i % 6) + ", last_error = " + quoted(errors[i % 5])
                     + ", created_at = now() - interval '" + std::to_string(i % 4) + " hours'");
    }
    // What each filter must find, computed here from the same rules.
    const auto expect = [&](const std::function<bool(int)>& keep) {
        std::vector<std::int64_t> out;
        for (int i = 89; i >= 0; --i) {
            if (keep(i)) {
                out.push_back(ids[i]);
            }
        }
        return out;
    };
    const auto review = [](int i) {
        return i % 6 == 2 || i % 6 == 4;
    }; // the default 2, 4
    store::PgReviewStore st(t);
    const auto list = [&](const store::ReviewFilter& f) {
        return ids_of(st.review_rows(f, std::nullopt, 1000));
    };

    store::ReviewFilter f;
    CHECK(list(f) == expect(review));
    f.statuses = {5};
    CHECK(list(f) == expect([](int i) { return i % 6 == 5; }));
    f.statuses = {2, 4, 5};
    CHECK(list(f) == expect([](int i) { return i % 6 == 2 || i % 6 >= 4; }));
    f = {};
    f.topic = other;
    CHECK(list(f) == expect([&](int i) { return review(i) && i % 2 == 1; }));
    f = {};
    f.key = "key-1";
    CHECK(list(f) == expect([&](int i) { return review(i) && i % 3 == 1; }));
    f.key = "key-"; // exact, not a prefix
    CHECK(list(f).empty());
    f = {};
    f.reason = "DeClInEd"; // a piece of last_error, ignoring case
    CHECK(list(f) == expect([&](int i) { return review(i) && i % 5 == 1; }));
    f.reason = "%"; // no pattern characters: a literal piece
    CHECK(list(f).empty());
    f = {};
    f.consumer = "billing"; // "billing: ...", not "billing-eu: ..."
    CHECK(list(f) == expect([&](int i) { return review(i) && i % 5 == 1; }));
    f = {};
    f.older_than_ms = 90 * 60 * 1000; // 1.5 h: rows 2 and 3 hours old
    CHECK(list(f) == expect([&](int i) { return review(i) && i % 4 >= 2; }));
    f = {};
    f.statuses = {2, 4, 5};
    f.topic = name;
    f.reason = "billing";
    f.older_than_ms = 30 * 60 * 1000;
    const auto combined = expect([&](int i) {
        return (i % 6 == 2 || i % 6 >= 4) && i % 2 == 0 && (i % 5 == 1 || i % 5 == 3) && i % 4 >= 1;
    });
    CHECK_FALSE(combined.empty());
    CHECK(list(f) == combined);

    // The row's fields as listed.
    f = {};
    const auto first = st.review_rows(f, std::nullopt, 1);
    REQUIRE(first.size() == 1);
    CHECK(first[0].id == expect(review)[0]);
    CHECK((first[0].status == 2 || first[0].status == 4));
    CHECK(first[0].key.has_value());
    CHECK(first[0].last_error.has_value());
    CHECK(first[0].created_at_ms > 0);
    CHECK_FALSE(first[0].sent_at_ms);

    // Paging with the previous page's last id: newest first, every row
    // exactly once, for each page size.
    f.statuses = {2, 4, 5};
    const auto all = list(f);
    REQUIRE(all.size() == 45);
    for (const std::size_t page : {1U, 7U, 15U, 45U, 100U}) {
        std::vector<std::int64_t> seen;
        std::optional<std::int64_t> cursor;
        for (int round = 0; round < 100; ++round) {
            const auto got = st.review_rows(f, cursor, page);
            CHECK(got.size() <= page);
            for (const auto& r : got) {
                seen.push_back(r.id);
            }
            if (got.size() < page) {
                break;
            }
            cursor = got.back().id;
        }
        INFO("page " << page);
        CHECK(seen == all);
    }
    CHECK(st.review_rows(f, all.back(), 10).empty());
    CHECK(st.review_rows(f, std::nullopt, 0).empty());

    CHECK(st.review_count({}, 1000000) == static_cast<std::int64_t>(expect(review).size()));
    CHECK(st.review_count(f, 1000000) == 45);
    CHECK(st.review_count(f, 7) == 7); // capped
    f.topic = "nope";
    CHECK(st.review_count(f, 1000000) == 0);
    // Bad input is refused before anything is read.
    store::ReviewFilter bad;
    bad.statuses = {3};
    CHECK_THROWS_AS(st.review_rows(bad, std::nullopt, 1), std::invalid_argument);
    CHECK_THROWS_AS(st.review_count(bad, 1), std::invalid_argument);
}

TEST_CASE("review store: one row in full: payload types, truncation, NULL, headers, "
          "confirmation",
          "[integration][review-store]") {
    const auto& s = services();
    const auto name = unique_name("rv_detail");
    auto t = make_table(s.pg_dsn, name);
    const std::string binary("\x00\x01\xff\xfe payload bytes", 18);
    const auto ids = insert_rows(s.pg_dsn, t,
                                 {{name, "k1", binary, R"({"trace": "abc", "n": "1"})"},
                                  {name, std::nullopt, std::nullopt, std::nullopt}});
    set_rows(t, {ids[0]}, "status = 2, attempts = 5, last_error = 'too large'");
    store::PgReviewStore st(t);
    auto d = st.review_row(ids[0], 1024);
    REQUIRE(d);
    CHECK(d->row.id == ids[0]);
    CHECK(d->row.status == 2);
    CHECK(d->row.attempts == 5);
    CHECK(d->row.last_error == std::optional<std::string>("too large"));
    CHECK(d->row.key == std::optional<std::string>("k1"));
    CHECK_FALSE(d->payload_null);
    CHECK(d->payload == binary);
    CHECK(d->payload_bytes == 18);
    CHECK(d->payload_type == "bytea");
    REQUIRE(d->headers_json);
    CHECK(Json::parse(*d->headers_json) == Json::parse(R"({"trace": "abc", "n": "1"})"));
    CHECK_FALSE(d->kafka_offset);
    CHECK(d->confirmed_by.empty());
    CHECK(d->actions.empty());
    // Truncated to the preview, the whole length still told.
    d = st.review_row(ids[0], 4);
    REQUIRE(d);
    CHECK(d->payload == binary.substr(0, 4));
    CHECK(d->payload_bytes == 18);
    d = st.review_row(ids[1], 1024);
    REQUIRE(d);
    CHECK(d->payload_null);
    CHECK(d->payload.empty());
    CHECK(d->payload_bytes == 0);
    CHECK_FALSE(d->headers_json);
    CHECK_FALSE(d->row.key);
    CHECK(d->row.status == 0); // any status is readable
    CHECK_FALSE(st.review_row(ids[1] + 1000000, 1024));

    // A text payload comes as its UTF-8 bytes; jsonb as its text.
    const auto text_table = make_table(s.pg_dsn, name + "_t");
    sql(s.pg_dsn, "ALTER TABLE " + table_sql(text_table)
                      + " ALTER COLUMN payload TYPE text USING "
                        "convert_from(payload, 'UTF8')");
    const auto tid = std::stoll(
        sql_value(s.pg_dsn, "INSERT INTO " + table_sql(text_table)
                                + " (topic, payload) VALUES ('x', 'grüße, ' || repeat('a', "
                                  "100000)) RETURNING id"));
    store::PgReviewStore text_store(text_table);
    d = text_store.review_row(tid, 6);
    REQUIRE(d);
    CHECK(d->payload_type == "text");
    CHECK(d->payload == "gr\xc3\xbc\xc3\x9f"); // 6 bytes: "grüß"
    CHECK(d->payload_bytes == 100009);
    const auto json_table = make_table(s.pg_dsn, name + "_j");
    sql(s.pg_dsn, "ALTER TABLE " + table_sql(json_table)
                      + " ALTER COLUMN payload TYPE jsonb USING NULL::jsonb");
    const auto jid = std::stoll(sql_value(s.pg_dsn, "INSERT INTO " + table_sql(json_table)
                                                        + " (topic, payload) VALUES ('x', "
                                                          "'{\"b\": 1, \"a\": [true]}') "
                                                          "RETURNING id"));
    store::PgReviewStore json_store(json_table);
    d = json_store.review_row(jid, 1024);
    REQUIRE(d);
    CHECK(d->payload_type == "json");
    CHECK(Json::parse(d->payload) == Json::parse(R"({"a": [true], "b": 1})"));
    CHECK(d->payload_bytes == static_cast<std::int64_t>(d->payload.size()));

    // With confirmation: where the row went and who confirmed it.
    const auto ct = confirming_table(name + "_c");
    const auto cids = insert_rows(s.pg_dsn, ct, {{name, "k", "v", std::nullopt}});
    set_rows(ct, cids,
             "status = 4, kafka_partition = 3, kafka_offset = 77, confirmed_by = "
             "'{inventory}', resends = 2, last_error = 'billing: no'");
    store::PgReviewStore cst(ct);
    d = cst.review_row(cids[0], 10);
    REQUIRE(d);
    CHECK(d->row.status == 4);
    CHECK(d->kafka_partition == std::optional<std::int32_t>(3));
    CHECK(d->kafka_offset == std::optional<std::int64_t>(77));
    CHECK(d->confirmed_by == std::vector<std::string>{"inventory"});
    CHECK(d->resends == std::optional<std::int32_t>(2));

    // The actions that changed the row, newest first.
    const auto first = cst.requeue(by_ids(cids, "alice", "fixed the consumer"));
    set_rows(ct, cids, "status = 4");
    const auto second = cst.close(by_ids(cids, "bob", "gave up"));
    d = cst.review_row(cids[0], 10);
    REQUIRE(d);
    REQUIRE(d->actions.size() == 2);
    CHECK(d->actions[0].id == *second.action_id);
    CHECK(d->actions[0].who == "bob");
    CHECK(d->actions[0].action == "close");
    CHECK(d->actions[0].note == "gave up");
    CHECK(d->actions[1].id == *first.action_id);
    CHECK(d->actions[1].action == "requeue");
    CHECK(d->actions[1].ids == cids);
    CHECK(d->row.status == 5);
}

TEST_CASE("review store: requeue and close touch only 2 (and 4 with confirmation); the action "
          "record",
          "[integration][review-store]") {
    const auto& s = services();
    for (const bool confirming : {false, true}) {
        INFO("confirmation " << confirming);
        const auto name = unique_name(confirming ? "rv_act_c" : "rv_act");
        auto t = confirming ? confirming_table(name) : make_table(s.pg_dsn, name);
        // Two rows at each status 0..5.
        const auto ids =
            insert_rows(s.pg_dsn, t, std::vector<NewRow>(12, NewRow{name, "k", "v", std::nullopt}));
        for (int i = 0; i < 12; ++i) {
            set_rows(t, {ids[i]},
                     "status = " + std::to_string(i / 2) + ", attempts = 3, last_error = 'e"
                         + std::to_string(i)
                         + "', next_attempt_at = now() + interval '1 hour', sent_at = CASE "
                           "WHEN "
                         + std::to_string(i / 2) + " IN (1, 3, 4) THEN now() END"
                         + (confirming ? ", confirmed_by = '{billing}', resends = 1" : ""));
        }
        const auto at = [&](int status) {
            return std::vector<std::int64_t>{ids[status * 2], ids[status * 2 + 1]};
        };
        std::vector<std::int64_t> movable = at(2);
        if (confirming) {
            const auto four = at(4);
            movable.insert(movable.end(), four.begin(), four.end());
        }
        std::sort(movable.begin(), movable.end());

        // The relay listens on the table's channel: a requeue wakes it.
        pqxx::connection listener(s.pg_dsn);
        struct Heard final : pqxx::notification_receiver {
            using pqxx::notification_receiver::notification_receiver;
            void operator()(const std::string&, int) override { ++count; }
            int count = 0;
        } heard(listener, t.notify_channel);

        store::PgReviewStore st(t);
        // By ids, naming every row: only the movable ones change.
        auto res = st.requeue(by_ids(ids, "alice", "broker fixed"));
        CHECK(res.ids == movable);
        CHECK(res.changed == movable.size());
        CHECK_FALSE(res.more);
        REQUIRE(res.action_id);
        auto states = row_states(s.pg_dsn, t);
        for (int i = 0; i < 12; ++i) {
            const bool moved = std::count(movable.begin(), movable.end(), ids[i]) > 0;
            INFO("row " << i);
            CHECK(states[ids[i]].status == (moved ? 0 : i / 2));
            CHECK(states[ids[i]].attempts == (moved ? 0 : 3));
            CHECK(states[ids[i]].last_error == (moved ? "" : "e" + std::to_string(i)));
        }
        // Reset exactly as `outboxd requeue`: due now, confirmations cleared.
        CHECK(sql_value(s.pg_dsn, "SELECT bool_and(next_attempt_at <= now()) FROM " + table_sql(t)
                                      + " WHERE id IN (" + ids_text(movable) + ")")
              == "t");
        if (confirming) {
            CHECK(sql_value(s.pg_dsn, "SELECT bool_and(confirmed_by = '{}' AND resends = 0) FROM "
                                          + table_sql(t) + " WHERE id IN (" + ids_text(movable)
                                          + ")")
                  == "t");
        }
        listener.await_notification(5, 0);
        CHECK(heard.count == 1);

        // The record: who, what, why, which rows; no filter for ids.
        auto log = st.actions(std::nullopt, 10);
        REQUIRE(log.size() == 1);
        CHECK(log[0].id == *res.action_id);
        CHECK(log[0].who == "alice");
        CHECK(log[0].action == "requeue");
        CHECK(log[0].note == "broker fixed");
        CHECK(log[0].rows == static_cast<std::int64_t>(movable.size()));
        CHECK(log[0].ids == movable);
        CHECK_FALSE(log[0].filter_json);
        CHECK(log[0].at_ms > 0);

        // Nothing left to change: no record, no wake-up.
        res = st.requeue(by_ids(ids));
        CHECK(res.changed == 0);
        CHECK_FALSE(res.action_id);
        CHECK(st.actions(std::nullopt, 10).size() == 1);

        // By filter: the same rule, whatever statuses the filter names.
        set_rows(t, movable,
                 "status = CASE WHEN id IN (" + ids_text(at(2)) + ") THEN 2 ELSE 4 END");
        store::ReviewFilter f;
        f.statuses = {2, 4, 5};
        f.topic = name;
        res = st.requeue(by_filter(f, "bob"));
        CHECK(res.ids == movable);
        REQUIRE(res.action_id);
        log = st.actions(std::nullopt, 10);
        REQUIRE(log.size() == 2);
        CHECK(log[0].id == *res.action_id); // newest first
        REQUIRE(log[0].filter_json);
        CHECK(Json::parse(*log[0].filter_json)
              == Json::parse(R"({"status": [2, 4, 5], "topic": ")" + name + "\"}"));
        CHECK(st.actions(log[0].id, 10).size() == 1); // the page below it
        listener.await_notification(5, 0);
        CHECK(heard.count == 2);

        // The caller's own filter JSON is what is recorded.
        set_rows(t, at(2), "status = 2");
        auto own = by_filter(f, "carol");
        own.filter_json = R"({"status": [2], "topic": "as typed"})";
        res = st.requeue(own);
        REQUIRE(res.action_id);
        CHECK(Json::parse(*st.actions(std::nullopt, 1)[0].filter_json)["topic"] == "as typed");
        listener.await_notification(5, 0);
        CHECK(heard.count == 3);

        // Close: 2 and 4 (with confirmation) to 5, last_error kept.
        set_rows(t, movable,
                 "status = CASE WHEN id IN (" + ids_text(at(2))
                     + ") THEN 2 ELSE 4 END, "
                       "last_error = 'why ' || id");
        res = st.close(by_ids(ids, "dave", "duplicates of 17"));
        CHECK(res.ids == movable);
        REQUIRE(res.action_id);
        states = row_states(s.pg_dsn, t);
        for (const auto id : movable) {
            CHECK(states[id].status == 5);
            CHECK(states[id].last_error == "why " + std::to_string(id));
        }
        for (int i = 0; i < 12; ++i) {
            if (std::count(movable.begin(), movable.end(), ids[i]) == 0) {
                CHECK(states[ids[i]].status == i / 2); // 0, 1, 3, 5 (and 4 without) untouched
            }
        }
        CHECK(st.actions(std::nullopt, 1)[0].action == "close");
        CHECK(st.actions(std::nullopt, 1)[0].note == "duplicates of 17");
        listener.await_notification(1, 0);
        CHECK(heard.count == 3); // a close does not wake the relay
        // Closed rows are never requeued or closed again.
        CHECK(st.requeue(by_ids(movable)).changed == 0);
        CHECK(st.close(by_ids(movable, "x", "again")).changed == 0);
        f.statuses = {5};
        CHECK_FALSE(st.requeue(by_filter(f)).action_id);
        CHECK(row_states(s.pg_dsn, t)[movable[0]].status == 5);

        // `outboxd requeue --id` asks for the statuses found and rows at 1.
        std::map<std::int64_t, int> found;
        res = st.requeue_ids(by_ids({at(1)[0], ids[11] + 1000}), false, &found);
        CHECK(res.changed == 0);
        CHECK(found == std::map<std::int64_t, int>{{at(1)[0], 1}});
        res = st.requeue_ids(by_ids({at(1)[0]}), true, &found);
        CHECK(res.ids == std::vector<std::int64_t>{at(1)[0]});
        CHECK_FALSE(row_states(s.pg_dsn, t)[at(1)[0]].has_sent_at);
        REQUIRE(res.action_id); // recorded too
    }
}

TEST_CASE("review store: a filter action stops at max_rows, oldest first, and says more matched",
          "[integration][review-store]") {
    const auto& s = services();
    const auto name = unique_name("rv_max");
    auto t = make_table(s.pg_dsn, name);
    const auto ids =
        insert_rows(s.pg_dsn, t, std::vector<NewRow>(25, NewRow{name, "k", "v", std::nullopt}));
    set_rows(t, ids, "status = 2, last_error = 'x'");
    store::PgReviewStore st(t);
    store::ReviewFilter f;
    f.topic = name;
    auto req = by_filter(f, "alice", "in batches");
    req.max_rows = 10;
    auto res = st.requeue(req);
    CHECK(res.ids == std::vector<std::int64_t>(ids.begin(), ids.begin() + 10));
    CHECK(res.more);
    res = st.close(req);
    CHECK(res.ids == std::vector<std::int64_t>(ids.begin() + 10, ids.begin() + 20));
    CHECK(res.more);
    res = st.requeue(req);
    CHECK(res.ids == std::vector<std::int64_t>(ids.begin() + 20, ids.end()));
    CHECK_FALSE(res.more);
    res = st.requeue(req);
    CHECK(res.changed == 0);
    CHECK_FALSE(res.more);
    CHECK_FALSE(res.action_id);
    const auto log = st.actions(std::nullopt, 100);
    REQUIRE(log.size() == 3);
    CHECK(log[1].action == "close");
    CHECK(log[1].rows == 10);
    // Exactly max_rows matching: no more.
    set_rows(t, std::vector<std::int64_t>(ids.begin(), ids.begin() + 10), "status = 2");
    res = st.requeue(req);
    CHECK(res.changed == 10);
    CHECK_FALSE(res.more);

    // More than kActionIdsShown rows: the record counts all, lists 100.
    set_rows(t, ids, "status = 2");
    const auto many =
        insert_rows(s.pg_dsn, t, std::vector<NewRow>(200, NewRow{name, "k", "v", std::nullopt}));
    set_rows(t, many, "status = 2");
    res = st.requeue(by_filter(f));
    CHECK(res.changed == 225);
    const auto rec = st.actions(std::nullopt, 1);
    CHECK(rec[0].rows == 225);
    CHECK(rec[0].ids.size() == store::kActionIdsShown);
    CHECK(sql_value(s.pg_dsn, "SELECT cardinality(row_ids) FROM \"" + name
                                  + "_actions\" WHERE id = " + std::to_string(rec[0].id))
          == "225");

    // Bad requests are refused before anything is read or changed.
    auto too_many = by_ids(std::vector<std::int64_t>(store::kMaxActionIds + 1, ids[0]));
    CHECK_THROWS_WITH(st.requeue(too_many), "10001 ids: at most 10000 per action");
    CHECK_THROWS_AS(st.close(by_ids({ids[0]})), std::invalid_argument); // no note
    store::ActionRequest neither;
    neither.who = "x";
    CHECK_THROWS_AS(st.requeue(neither), std::invalid_argument);
}

TEST_CASE("review store: two concurrent requeues of the same 1000 rows change each row once",
          "[integration][review-store]") {
    const auto& s = services();
    const auto name = unique_name("rv_race");
    auto t = make_table(s.pg_dsn, name);
    const auto ids =
        insert_rows(s.pg_dsn, t, std::vector<NewRow>(1000, NewRow{name, "k", "v", std::nullopt}));
    store::ReviewFilter f;
    f.topic = name;
    // Each round: both actions start while a third session holds the lowest
    // row's lock, so both are inside their UPDATE, waiting, when it goes.
    struct Round {
        const char* what;
        bool a_by_ids;
        bool b_by_ids;
    };
    for (const Round round : {Round{"filter, filter", false, false}, Round{"ids, ids", true, true},
                              Round{"ids, filter", true, false}}) {
        INFO(round.what);
        set_rows(t, ids, "status = 2, attempts = 5");
        const std::string app = unique_name("rv_race_app");
        auto cfg = t;
        cfg.dsn = s.pg_dsn + " application_name=" + app;
        pqxx::connection blocker(s.pg_dsn);
        pqxx::work hold(blocker);
        hold.exec("SELECT 1 FROM " + table_sql(t) + " WHERE id = " + std::to_string(ids[0])
                  + " FOR UPDATE");
        const auto log_before =
            sql_value(s.pg_dsn, "SELECT coalesce(max(id), 0) FROM \"" + name + "_actions\"");
        // No Catch macro on these threads (not thread-safe): errors kept as text.
        store::ActionResult a;
        store::ActionResult b;
        std::string a_error;
        std::string b_error;
        const auto run = [&](bool use_ids, const std::string& who, store::ActionResult& out,
                             std::string& error) {
            try {
                store::PgReviewStore st(cfg, app);
                out = st.requeue(use_ids ? by_ids(ids, who) : by_filter(f, who));
            } catch (const std::exception& e) {
                error = e.what();
            }
        };
        std::thread ta(run, round.a_by_ids, "a", std::ref(a), std::ref(a_error));
        std::thread tb(run, round.b_by_ids, "b", std::ref(b), std::ref(b_error));
        const bool both_wait = eventually([&] { return lock_waiters(app) == 2; }, 20s);
        hold.commit();
        ta.join();
        tb.join();
        REQUIRE(both_wait);
        CHECK(a_error.empty());
        CHECK(b_error.empty());
        CHECK(a.changed + b.changed == 1000);
        std::set<std::int64_t> changed(a.ids.begin(), a.ids.end());
        for (const auto id : b.ids) {
            CHECK(changed.insert(id).second); // never by both
        }
        CHECK(changed == std::set<std::int64_t>(ids.begin(), ids.end()));
        CHECK(status_counts(s.pg_dsn, t) == std::map<int, int>{{0, 1000}});
        // The log agrees: 1000 rows in all, each in one record.
        CHECK(sql_value(s.pg_dsn, "SELECT count(DISTINCT r) || ' ' || count(*) FROM \"" + name
                                      + "_actions\", unnest(row_ids) AS r WHERE id > " + log_before)
              == "1000 1000");
    }
}

TEST_CASE("review store: a console statement never runs past 5 s; the session comes back",
          "[integration][review-store]") {
    const auto& s = services();
    const auto name = unique_name("rv_timeout");
    auto t = make_table(s.pg_dsn, name);
    const auto ids = insert_rows(s.pg_dsn, t, {{name, "k", "v", std::nullopt}});
    set_rows(t, ids, "status = 2");
    store::PgReviewStore st(t);
    CHECK(st.review_count({}, 10) == 1);
    {
        pqxx::connection blocker(s.pg_dsn);
        pqxx::work hold(blocker);
        hold.exec("SELECT 1 FROM " + table_sql(t) + " FOR UPDATE");
        const auto start = std::chrono::steady_clock::now();
        try {
            st.close(by_ids(ids, "alice", "stuck"));
            FAIL("the close did not time out");
        } catch (const store::StoreUnavailable& e) { // an outage: the caller retries
            CHECK(contains(e.what(), "statement timeout"));
        }
        const auto took = std::chrono::steady_clock::now() - start;
        CHECK(took >= 4500ms);
        CHECK(took < 15s);
    }
    // The lock is gone: the next call opens a new session and works.
    CHECK(st.close(by_ids(ids, "alice", "done")).changed == 1);
    CHECK(std::stoi(sql_value(s.pg_dsn, "SELECT count(*) FROM pg_stat_activity WHERE "
                                        "application_name = 'outboxd-console'"))
          >= 1);
}

// ---- the command line ------------------------------------------------------

TEST_CASE("cli review: failed filters newest first; status counts closed rows",
          "[integration][cli-review]") {
    const auto& s = services();
    const auto name = unique_name("cr_failed");
    auto t = make_table(s.pg_dsn, name);
    const auto path = write_config(daemon_config(t));
    const auto ids = insert_rows(s.pg_dsn, t,
                                 {{name, "order-1", "a", std::nullopt},
                                  {name, "order-2", "b", std::nullopt},
                                  {name, "order-3", "c", std::nullopt},
                                  {name, "order-4", "d", std::nullopt}});
    set_rows(t, {ids[0]},
             "status = 2, last_error = 'Broker: Message size too large', "
             "created_at = now() - interval '3 hours'");
    set_rows(t, {ids[1]}, "status = 2, last_error = 'Local: Unknown topic'");
    set_rows(t, {ids[2]}, "status = 5, last_error = 'billing: card declined'");
    set_rows(t, {ids[3]}, "status = 4, last_error = 'billing: card declined'");

    auto [rc, out] = run_outboxd({"failed", "--config", path});
    INFO(out);
    CHECK(rc == 0);
    CHECK(out.find("order-2") < out.find("order-1")); // newest first
    CHECK_FALSE(contains(out, "order-3"));            // closed: only on request
    CHECK(contains(out, "2 rows at status 2 in"));
    std::tie(rc, out) = run_outboxd({"failed", "--status", "5", "--config", path});
    CHECK(contains(out, "5 closed"));
    CHECK(contains(out, "order-3"));
    CHECK(contains(out, "1 row at status 5 in"));
    std::tie(rc, out) =
        run_outboxd({"failed", "--status", "2,4,5", "--consumer", "billing", "--config", path});
    CHECK(contains(out, "order-3"));
    CHECK(contains(out, "4 consumer failed"));
    CHECK(contains(out, "2 rows at status 2, 4 or 5 in"));
    CHECK(contains(out, "for consumer billing"));
    std::tie(rc, out) = run_outboxd({"failed", "--reason", "UNKNOWN", "--config", path});
    CHECK(contains(out, "order-2"));
    CHECK_FALSE(contains(out, "order-1"));
    std::tie(rc, out) = run_outboxd({"failed", "--older-than", "2h", "--config", path});
    CHECK(contains(out, "order-1"));
    CHECK_FALSE(contains(out, "order-2"));
    CHECK(contains(out, "created more than 2h ago"));
    std::tie(rc, out) = run_outboxd({"failed", "--key", "order-2", "--config", path});
    CHECK(contains(out, "1 row at status 2"));
    std::tie(rc, out) = run_stdout({"failed", "--status", "2,5", "--json", "--config", path});
    REQUIRE(rc == 0);
    const auto j = Json::parse(out);
    REQUIRE(j.size() == 3);
    CHECK(j[0]["id"] == ids[2]);
    CHECK(j[0]["status"] == 5);
    CHECK(j[2]["id"] == ids[0]);
    CHECK(j[2]["sent_at"].is_null());

    std::tie(rc, out) = run_outboxd({"status", "--config", path});
    CHECK(contains(out, "closed (5)      1  (by a person"));
    CHECK(contains(out, "at 3 or 4       1")); // the row at 4, confirmation off
    CHECK_FALSE(contains(out, "other status"));
    std::tie(rc, out) = run_stdout({"status", "--json", "--config", path});
    CHECK(Json::parse(out)["closed"] == 1);
    CHECK(Json::parse(out)["other"] == 0);
}

TEST_CASE("cli review: requeue and close by filter or ids, recorded with who and note; actions",
          "[integration][cli-review]") {
    const auto& s = services();
    const auto name = unique_name("cr_act");
    auto t = make_table(s.pg_dsn, name);
    const auto path = write_config(daemon_config(t)); // as the relay role
    const std::string other = name + "_b";
    std::vector<NewRow> rows(30, NewRow{name, "k", "v", std::nullopt});
    rows.push_back({other, "k", "v", std::nullopt});
    const auto ids = insert_rows(s.pg_dsn, t, rows);
    set_rows(t, ids, "status = 2, attempts = 5, last_error = 'Broker: Message size too large'");
    const std::string who = "cli:" + os_user();

    // A filter flag alone selects (no --all-failed needed); 25 ids shown as 20 and "...".
    auto [rc, out] = run_outboxd(
        {"requeue", "--topic", name, "--note", "broker limit raised", "--config", path});
    INFO(out);
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 30 rows from status 2 to 0 (attempts reset) in"));
    CHECK(contains(out, "for topic " + name));
    std::vector<std::int64_t> first20(ids.begin(), ids.begin() + 20);
    std::string shown;
    for (const auto id : first20) {
        shown += (shown.empty() ? "" : " ") + std::to_string(id);
    }
    CHECK(contains(out, "ids: " + shown + " ...\n"));
    CHECK(contains(out, "recorded as action "));
    CHECK(contains(out, "by " + who));
    CHECK(status_counts(s.pg_dsn, t) == std::map<int, int>{{0, 30}, {2, 1}});

    // By ids: recorded too; the rows left alone are named.
    set_rows(t, {ids[0], ids[1]}, "status = 2");
    std::tie(rc, out) = run_outboxd(
        {"requeue", "--id",
         std::to_string(ids[0]) + "," + std::to_string(ids[1]) + "," + std::to_string(ids[2]),
         "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 2 of 3 rows to status 0"));
    CHECK(contains(out, "not requeued, already pending (status 0): " + std::to_string(ids[2])));
    CHECK(contains(out, "recorded as action "));

    // Close needs a note; by ids and by filter.
    std::tie(rc, out) = run_outboxd({"close", "--id", std::to_string(ids[30]), "--config", path});
    CHECK(rc == 2);
    CHECK(contains(out, "--note is required"));
    std::tie(rc, out) = run_outboxd(
        {"close", "--id", std::to_string(ids[30]), "--note", "obsolete topic", "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "closed 1 of 1 row to status 5 (last_error kept)"));
    std::tie(rc, out) = run_outboxd(
        {"close", "--id", std::to_string(ids[30]), "--note", "again", "--config", path});
    CHECK(rc == 0); // every named row is closed
    CHECK(contains(out, "not closed, already closed (status 5): " + std::to_string(ids[30])));
    std::tie(rc, out) =
        run_outboxd({"close", "--id", std::to_string(ids[3]), "--note", "x", "--config", path});
    CHECK(rc == 1);
    CHECK(contains(out, "not closed, pending (status 0: the relay's): " + std::to_string(ids[3])));
    set_rows(t, {ids[4], ids[5]}, "status = 2, last_error = 'Local: Unknown topic'");
    std::tie(rc, out) = run_outboxd({"close", "--reason", "unknown topic", "--older-than", "0s",
                                     "--note", "typo in topic", "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "closed 2 rows from status 2 to 5 (last_error kept) in"));
    CHECK(contains(out, "ids: " + std::to_string(ids[4]) + " " + std::to_string(ids[5]) + "\n"));
    CHECK(row_states(s.pg_dsn, t)[ids[4]].last_error == "Local: Unknown topic");
    std::tie(rc, out) = run_outboxd({"requeue", "--status", "4", "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 0 rows: rows at status 4 are not requeued"));

    // The log, newest first.
    std::tie(rc, out) = run_outboxd({"actions", "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "ID  AT"));
    CHECK(contains(out, "typo in topic"));
    CHECK(out.find("typo in topic") < out.find("broker limit raised"));
    CHECK(contains(out, "4 actions in the log of"));
    std::tie(rc, out) = run_stdout({"actions", "--json", "--limit", "2", "--config", path});
    REQUIRE(rc == 0);
    const auto j = Json::parse(out);
    REQUIRE(j.size() == 2);
    CHECK(j[0]["action"] == "close");
    CHECK(j[0]["who"] == who);
    CHECK(j[0]["note"] == "typo in topic");
    CHECK(j[0]["rows"] == 2);
    CHECK(j[0]["ids"] == Json::array({ids[4], ids[5]}));
    CHECK(j[0]["filter"]["reason"] == "unknown topic");
    CHECK(j[0]["filter"]["older_than_ms"] == 0);
    CHECK(j[0]["filter"]["status"] == Json::array({2}));
    CHECK(j[1]["filter"].is_null()); // by ids
    CHECK(j[1]["action"] == "close");
    CHECK(j[0]["at"].get<std::string>().back() == 'Z');

    // --all-failed with the old --topic still works, and so does
    // --include-sent (recorded as well).
    set_rows(t, {ids[6]}, "status = 2");
    set_rows(t, {ids[7]}, "status = 1, sent_at = now()");
    std::tie(rc, out) = run_outboxd({"requeue", "--all-failed", "--config", path});
    CHECK(contains(out, "requeued 1 row from status 2 to 0"));
    std::tie(rc, out) = run_outboxd(
        {"requeue", "--id", std::to_string(ids[7]), "--include-sent", "--config", path});
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 1 of 1 row"));
    CHECK(contains(out, "recorded as action "));
    CHECK(sql_value(s.pg_dsn, "SELECT count(*) FROM \"" + name + "_actions\"") == "6");
}

TEST_CASE("cli review: a requeue by filter of more than one batch takes every row",
          "[integration][cli-review]") {
    const auto& s = services();
    const auto name = unique_name("cr_batches");
    auto t = make_table(s.pg_dsn, name);
    const auto path = write_config(daemon_config(t));
    // 100,001 parked rows: one more than a batch (ActionRequest::max_rows).
    sql(s.pg_dsn, "INSERT INTO " + table_sql(t)
                      + " (topic, msg_key, payload, status, attempts, last_error) SELECT "
                      + quoted(name)
                      + ", 'k', 'v', 2, 5, 'Broker: Message size too large' FROM "
                        "generate_series(1, 100001)");
    auto [rc, out] = run_outboxd({"requeue", "--all-failed", "--config", path}, 120s);
    INFO(out);
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 100001 rows from status 2 to 0"));
    CHECK(contains(out, "recorded as actions "));
    CHECK(status_counts(s.pg_dsn, t) == std::map<int, int>{{0, 100001}});
    CHECK(sql_value(s.pg_dsn, "SELECT string_agg(row_count::text, ' ' ORDER BY id) FROM \"" + name
                                  + "_actions\"")
          == "100000 1");
}

TEST_CASE("cli review: bad arguments exit 2 with the reason", "[integration][cli-review]") {
    outboxd::config::Postgres t;
    t.table = unique_name("cr_badargs");
    const auto path = write_config(daemon_config(t));
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"failed", "--status", "3"}, "\"3\" is not a status to list (2, 4 or 5)"},
        {{"failed", "--status", "2,x"}, "\"x\" is not a status to list"},
        {{"failed", "--older-than", "15"}, "\"15\" is not a duration"},
        {{"failed", "--older-than", "1.5h"}, "is not a duration"},
        {{"failed", "--reason", ""}, "must not be empty"},
        {{"requeue", "--status", "5"}, "rows at 5 (closed by a person) are never requeued"},
        {{"requeue", "--id", "1", "--topic", "t"}, "excludes"},
        {{"requeue", "--id", "1", "--key", "k"}, "excludes"},
        {{"requeue", "--note", "why"}, "give --id N... or --all-failed, or narrow by a filter"},
        {{"requeue", "--key", "k", "--include-sent"}, "--include-sent requires --id"},
        {{"close", "--note", "why"}, "give --id N... or --all-failed"},
        {{"close", "--id", "1"}, "--note is required"},
        {{"close", "--id", "1", "--note", ""}, "must not be empty"},
        {{"close", "--status", "3", "--note", "x"}, "is not a status requeue and close act on"},
        {{"close", "--id", "1", "--include-sent", "--note", "x"}, "--include-sent"},
        {{"actions", "--limit", "0"}, "not in range 1 to 100000"},
        {{"actions", "--status", "2"}, "--status"},
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
    // More than 10,000 ids in one command.
    std::string many;
    for (int i = 1; i <= 10001; ++i) {
        many += (i == 1 ? "" : ",") + std::to_string(i);
    }
    auto [rc, out] = run_outboxd({"requeue", "--id", many, "--config", path});
    CHECK(rc == 2);
    CHECK(contains(out, "10001 ids: at most 10000 per requeue"));
    for (const char* sub : {"close", "actions"}) {
        std::tie(rc, out) = run_outboxd({sub, "--help"});
        CHECK(rc == 0);
    }
}
