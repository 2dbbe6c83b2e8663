// The review console against the real daemon, PostgreSQL and Kafka of the
// suite (docs/console.md): the API's reads, filters and paging, its refusals
// (401, 403, 4xx with a reason, nothing changed), requeue and close end to
// end (status 0, then 1, the message read back from Kafka once), a bulk
// requeue by filter while the relay runs, concurrent actions on the same
// rows, and the page in a real browser (headless Chromium driven by
// tests/browser/console_browser.py).
#include "amqp_client.h"
#include "config/config.h"
#include "http/client.h"
#include "services.h"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <future>
#include <set>

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/wait.h>

using namespace outboxd::testing;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

const std::string kWrite = "write-secret-0123456789";
const std::string kRead = "read-secret-0123456789";

// The tokens file: mode 600, as the daemon requires.
std::string tokens_file() {
    const std::string dir = scratch_path("console-tokens");
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    const std::string path = dir + "/tokens";
    {
        std::ofstream f(path);
        f << "# the console's tokens\nalice write " << kWrite << "\ndash read " << kRead << "\n";
    }
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    return path;
}

// Rows parked as the relay parks them: status 2, 5 attempts, a reason.
std::vector<std::int64_t> park_rows(const outboxd::config::Postgres& t,
                                    const std::string& topic,
                                    int n,
                                    const std::string& reason,
                                    int status = 2) {
    std::vector<NewRow> rows;
    for (int i = 0; i < n; ++i) {
        rows.push_back({topic, "key-" + std::to_string(i), "{\"order\":" + std::to_string(i) + "}",
                        std::nullopt});
    }
    const auto ids = insert_rows(services().pg_dsn, t, rows);
    sql(services().pg_dsn, "UPDATE " + table_sql(t) + " SET status = " + std::to_string(status)
                               + ", attempts = 5, last_error = '" + reason + "' WHERE id BETWEEN "
                               + std::to_string(ids.front()) + " AND "
                               + std::to_string(ids.back()));
    return ids;
}

struct Console {
    std::unique_ptr<Daemon> daemon;
    std::string address;

    Console(const outboxd::config::Postgres& table, const std::string& tokens)
        : Console(daemon_config(table), tokens) {}
    // `c` with the console on (its extra_yaml kept).
    Console(DaemonConfig c, const std::string& tokens) {
        c.http_listen.clear();
        c.extra_yaml += "http:\n  listen: 127.0.0.1:0\n  console: true\n"
                        + (tokens.empty() ? std::string() : "  tokens_file: " + tokens + "\n");
        daemon =
            std::make_unique<Daemon>(std::vector<std::string>{"run", "--config", write_config(c)});
        const auto port = daemon->http_port();
        REQUIRE(port);
        address = "127.0.0.1:" + std::to_string(*port);
        // The API answers 503 until the daemon's start-up is done.
        REQUIRE(
            eventually([&] { return call("GET", "/api/v1/summary", kRead).status != 503; }, 60s));
    }
    ~Console() {
        if (daemon->running()) {
            daemon->signal(SIGTERM);
            const auto code = daemon->wait(30s);
            CHECK(code == std::optional<int>(0));
        }
    }
    outboxd::http::ClientResponse call(const std::string& method,
                                       const std::string& path,
                                       const std::string& secret,
                                       const std::string& body = {}) const {
        outboxd::http::ClientRequest r;
        r.method = method;
        if (!secret.empty()) {
            r.authorization = "Bearer " + secret;
        }
        if (method == "POST") {
            r.content_type = "application/json";
        }
        r.body = body;
        return outboxd::http::request(address, path, 20s, r);
    }
    Json json(const std::string& method,
              const std::string& path,
              const std::string& secret,
              const std::string& body = {},
              int status = 200) const {
        const auto r = call(method, path, secret, body);
        INFO(method << " " << path << " -> " << r.status << " " << r.body);
        REQUIRE(r.status == status);
        return Json::parse(r.body);
    }
};

std::string header(const outboxd::http::ClientResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
        if (n == name) {
            return v;
        }
    }
    return {};
}

// Messages of `topic` by outbox id: how often each was sent.
std::map<std::int64_t, int> sent_counts(const std::string& topic) {
    std::map<std::int64_t, int> out;
    for (const auto& m : read_topic(services().kafka_bootstrap, topic)) {
        ++out[m.outbox_id];
    }
    return out;
}

} // namespace

TEST_CASE("console API: reads, filters, paging, refusals; requeue and close end to end",
          "[console]") {
    const auto table = make_table(services().pg_dsn, unique_name("console"));
    const std::string topic_a = unique_name("console-a");
    const std::string topic_b = unique_name("console-b");
    create_topic(services().kafka_bootstrap, topic_a, 1, 1);
    create_topic(services().kafka_bootstrap, topic_b, 1, 1);
    const auto a = park_rows(table, topic_a, 12, "Broker: Message size too large");
    const auto b = park_rows(table, topic_b, 5, "Local: Unknown topic");
    Console console(table, tokens_file());

    // The page: served with its policy, no data in it.
    const auto page = console.call("GET", "/console/", "");
    CHECK(page.status == 200);
    CHECK(header(page, "Content-Type") == "text/html; charset=utf-8");
    CHECK(header(page, "Content-Security-Policy").find("script-src 'self'") != std::string::npos);
    CHECK(header(page, "Set-Cookie").empty());
    CHECK(console.call("GET", "/console/app.js", "").status == 200);

    // Reading needs a token once tokens are configured.
    CHECK(console.call("GET", "/api/v1/rows", "").status == 401);
    CHECK(console.call("GET", "/api/v1/rows", "wrong-secret-0123456789").status == 401);
    auto j = console.json("GET", "/api/v1/rows?status=2", kRead);
    REQUIRE(j["rows"].size() == 17);
    CHECK(j["rows"][0]["id"] == b.back()); // newest first
    CHECK(j["rows"][0]["last_error"] == "Local: Unknown topic");
    CHECK(j["rows"][0]["attempts"] == 5);
    CHECK(j["next"].is_null());

    // Filters.
    j = console.json("GET", "/api/v1/rows?topic=" + topic_b, kRead);
    CHECK(j["rows"].size() == 5);
    j = console.json("GET", "/api/v1/rows?reason=SIZE%20TOO", kRead);
    CHECK(j["rows"].size() == 12);
    j = console.json("GET", "/api/v1/rows?topic=" + topic_a + "&key=key-3", kRead);
    REQUIRE(j["rows"].size() == 1);
    CHECK(j["rows"][0]["id"] == a[3]);
    CHECK(console.json("GET", "/api/v1/rows?older_than_ms=3600000", kRead)["rows"].empty());
    CHECK(console.json("GET", "/api/v1/rows/count?topic=" + topic_a, kRead)["count"] == 12);

    // Paging: every row once, newest first.
    std::vector<std::int64_t> paged;
    std::string cursor;
    for (int page_no = 0; page_no < 10; ++page_no) {
        j = console.json(
            "GET", "/api/v1/rows?limit=4" + (cursor.empty() ? "" : "&cursor=" + cursor), kRead);
        for (const auto& r : j["rows"]) {
            paged.push_back(r["id"].get<std::int64_t>());
        }
        if (j["next"].is_null()) {
            break;
        }
        cursor = j["next"].get<std::string>();
    }
    REQUIRE(paged.size() == 17);
    CHECK(std::is_sorted(paged.rbegin(), paged.rend()));
    CHECK(std::set<std::int64_t>(paged.begin(), paged.end()).size() == 17);

    // One row, its payload and headers.
    j = console.json("GET", "/api/v1/rows/" + std::to_string(a[2]), kRead);
    CHECK(j["payload"]["encoding"] == "json");
    CHECK(j["payload"]["data"] == "{\"order\":2}");
    CHECK(j["topic"] == topic_a);
    CHECK(console.call("GET", "/api/v1/rows/999999999", kRead).status == 404);

    const auto statuses_before = status_counts(services().pg_dsn, table);
    // Refusals change nothing.
    const std::string ids_body = "{\"ids\":[" + std::to_string(a[0]) + "]}";
    CHECK(console.call("POST", "/api/v1/rows/requeue", "", ids_body).status == 401);
    CHECK(console.call("POST", "/api/v1/rows/requeue", kRead, ids_body).status == 403);
    CHECK(console.json("POST", "/api/v1/rows/requeue", kWrite, "{\"filter\":{\"colour\":1}}",
                       400)["error"]
          == "unknown filter 'colour'");
    CHECK(console.json("POST", "/api/v1/rows/requeue", kWrite, "{\"ids\":[\"x\"]}", 400)["error"]
              .get<std::string>()
              .find("ids must be positive whole numbers")
          == 0);
    CHECK(console.call("POST", "/api/v1/rows/requeue", kWrite, "{\"ids\":[1,").status == 400);
    const auto huge = console.call("POST", "/api/v1/rows/requeue", kWrite,
                                   "{\"ids\":[" + std::string(2 * 1024 * 1024, '1') + "]}");
    CHECK(huge.status == 413);
    CHECK(console.call("DELETE", "/api/v1/rows/1", kWrite).status == 405);
    CHECK(status_counts(services().pg_dsn, table) == statuses_before);
    CHECK(console.json("GET", "/api/v1/actions", kRead)["actions"].empty());

    // Requeue: the rows go back to 0 and the relay sends each once.
    j = console.json("POST", "/api/v1/rows/requeue", kWrite,
                     "{\"ids\":[" + std::to_string(a[0]) + "," + std::to_string(a[1])
                         + ",999999999],\"note\":\"topic size raised\"}");
    CHECK(j["requeued"] == 2);
    CHECK(eventually(
        [&] {
            const auto s = row_states(services().pg_dsn, table);
            return s.at(a[0]).status == 1 && s.at(a[1]).status == 1;
        },
        30s));
    const auto sent = sent_counts(topic_a);
    CHECK(sent.size() == 2);
    CHECK(sent.at(a[0]) == 1);
    CHECK(sent.at(a[1]) == 1);

    // Close: kept at 5 with its reason, the note recorded.
    j = console.json("POST", "/api/v1/rows/close", kWrite,
                     "{\"filter\":{\"topic\":\"" + topic_b + "\"},\"note\":\"replaced by v2\"}");
    CHECK(j["closed"] == 5);
    const auto states = row_states(services().pg_dsn, table);
    for (const auto id : b) {
        CHECK(states.at(id).status == 5);
        CHECK(states.at(id).last_error == "Local: Unknown topic");
    }
    CHECK(console.json("GET", "/api/v1/rows?status=5", kRead)["rows"].size() == 5);
    const auto log = console.json("GET", "/api/v1/actions", kRead)["actions"];
    REQUIRE(log.size() == 2);
    CHECK(log[0]["action"] == "close");
    CHECK(log[0]["who"] == "alice");
    CHECK(log[0]["note"] == "replaced by v2");
    CHECK(log[0]["rows"] == 5);
    CHECK(log[0]["filter"]["topic"] == topic_b);
    CHECK(log[1]["action"] == "requeue");
    CHECK(log[1]["ids"] == Json::array({a[0], a[1]}));
    // The row's own history.
    j = console.json("GET", "/api/v1/rows/" + std::to_string(b[0]), kRead);
    REQUIRE(j["actions"].size() == 1);
    CHECK(j["actions"][0]["note"] == "replaced by v2");
    // The CLI sees the same log.
    const auto [code, out] =
        run_outboxd({"actions", "--config", write_config(daemon_config(table))});
    CHECK(code == 0);
    CHECK(out.find("replaced by v2") != std::string::npos);

    // The summary's counts are kept 5 s.
    CHECK(eventually([&] { return console.json("GET", "/api/v1/summary", kRead)["closed"] == 5; },
                     10s));
    j = console.json("GET", "/api/v1/summary", kRead);
    CHECK(j["access"] == "read");
    CHECK(j["role"] == "publisher");
    CHECK(console.call("GET", "/readyz", "").status == 200);
    // The metrics count the answers by class.
    const auto refused =
        metric_value(*console.daemon, "outboxd_console_requests_total{result=\"refused\"}");
    CHECK(refused == std::optional<double>(4)); // 401 twice reading, 401 and 403 changing
    const auto bad =
        metric_value(*console.daemon, "outboxd_console_requests_total{result=\"bad_request\"}");
    CHECK(bad >= std::optional<double>(5));
}

TEST_CASE("console API: no tokens file, read-only for all", "[console]") {
    const auto table = make_table(services().pg_dsn, unique_name("console_ro"));
    const auto ids = park_rows(table, unique_name("console-ro"), 3, "Local: Unknown topic");
    Console console(table, "");
    CHECK(console.json("GET", "/api/v1/rows", "")["rows"].size() == 3);
    const auto r = console.call("POST", "/api/v1/rows/requeue", kWrite,
                                "{\"ids\":[" + std::to_string(ids[0]) + "]}");
    CHECK(r.status == 403);
    CHECK(row_states(services().pg_dsn, table).at(ids[0]).status == 2);
}

TEST_CASE("console API: a bulk requeue by filter while the relay runs sends each row once",
          "[console-bulk]") {
    const auto table = make_table(services().pg_dsn, unique_name("console_bulk"));
    const std::string topic = unique_name("console-bulk");
    create_topic(services().kafka_bootstrap, topic, 3, 1);
    const auto parked = park_rows(table, topic, 3000, "Broker: Request timed out");
    const auto raced = park_rows(table, topic, 200, "Broker: Request timed out");
    Console console(table, tokens_file());
    {
        // New rows flow while the person acts.
        RowInserter inserter(table, topic, 2000, 20);
        // Two people requeue the same 200 rows at once: each row once in all.
        const std::string body = [&] {
            Json ids = Json::array();
            for (const auto id : raced) {
                ids.push_back(id);
            }
            return Json{{"ids", ids}, {"note", "race"}}.dump();
        }();
        // No Catch assertion off the test's thread (Catch is not
        // thread-safe): each returns the answer, checked below.
        const auto requeue = [&] {
            return console.call("POST", "/api/v1/rows/requeue", kWrite, body);
        };
        auto first = std::async(std::launch::async, requeue);
        auto second = std::async(std::launch::async, requeue);
        const auto j = console.json("POST", "/api/v1/rows/requeue", kWrite,
                                    "{\"filter\":{\"topic\":\"" + topic
                                        + "\",\"reason\":\"timed out\"},\"note\":\"bulk\"}");
        const auto count = [](const outboxd::http::ClientResponse& r) {
            INFO(r.status << " " << r.body);
            REQUIRE(r.status == 200);
            return Json::parse(r.body)["requeued"].get<int>();
        };
        const int both = count(first.get()) + count(second.get());
        CHECK(both + j["requeued"].get<int>() == 3200);
        CHECK(both <= 200);
        CHECK(j["more"] == false);
    }
    REQUIRE(eventually(
        [&] {
            const auto c = status_counts(services().pg_dsn, table);
            return c.size() == 1 && c.count(1) == 1;
        },
        120s));
    const auto sent = sent_counts(topic);
    CHECK(sent.size() == 5200);
    int twice = 0;
    for (const auto& [id, n] : sent) {
        twice += n > 1 ? 1 : 0;
    }
    CHECK(twice == 0);
    (void)parked;
}

TEST_CASE("console: a stuck console query stalls neither /readyz nor the relay; a flood gets 503",
          "[console-isolation]") {
    const auto table = make_table(services().pg_dsn, unique_name("console_iso"));
    const std::string topic = unique_name("console-iso");
    create_topic(services().kafka_bootstrap, topic, 1, 1);
    park_rows(table, topic, 3, "Local: Unknown topic");
    Console console(table, tokens_file());
    REQUIRE(console.call("GET", "/api/v1/actions", kRead).status == 200);

    // Another session holds the action log: every console query on it waits
    // (up to the console's 5 s statement timeout).
    pqxx::connection blocker(services().pg_dsn);
    pqxx::work tx(blocker);
    tx.exec("LOCK TABLE " + table_sql(table).substr(0, table_sql(table).size() - 1)
            + "_actions\" IN ACCESS EXCLUSIVE MODE");
    std::vector<std::future<int>> waiting;
    for (int i = 0; i < 40; ++i) {
        waiting.push_back(std::async(std::launch::async, [&] {
            return console.call("GET", "/api/v1/actions", kRead).status;
        }));
    }
    // Meanwhile the endpoint answers and the relay sends new rows.
    const auto ids = insert_rows(
        services().pg_dsn, table,
        {{topic, "k1", "{\"a\":1}", std::nullopt}, {topic, "k2", "{\"a\":2}", std::nullopt}});
    CHECK(console.call("GET", "/readyz", "").status == 200);
    CHECK(console.call("GET", "/console/", "").status == 200);
    CHECK(eventually(
        [&] {
            const auto st = row_states(services().pg_dsn, table);
            return st.at(ids[0]).status == 1 && st.at(ids[1]).status == 1;
        },
        4s));
    tx.abort();
    std::map<int, int> answers;
    for (auto& f : waiting) {
        ++answers[f.get()];
    }
    INFO("200: " << answers[200] << ", 503: " << answers[503]);
    CHECK(answers[200] + answers[503] == 40);
    CHECK(answers[503] > 0); // the queue holds 32: a flood is refused at once
    CHECK(metric_value(*console.daemon, "outboxd_console_requests_total{result=\"busy\"}")
          >= std::optional<double>(1));
    // And the console answers again.
    CHECK(console.call("GET", "/api/v1/actions", kRead).status == 200);
    CHECK(sent_counts(topic).size() == 2);
}

TEST_CASE("console API with RabbitMQ, and with consumer confirmation (rows at 4)",
          "[console-brokers]") {
    SECTION("RabbitMQ: a requeue by filter publishes each row once") {
        const std::string name = unique_name("console_rmq");
        const auto table = make_table(services().pg_dsn, name);
        AmqpClient amqp;
        amqp.exchange(name);
        amqp.quorum_queue(name);
        amqp.bind(name, name, "key-0");
        amqp.bind(name, name, "key-1");
        const auto ids = park_rows(table, name, 2, "NOT_FOUND - no exchange");
        DaemonConfig c = daemon_config(table);
        c.extra_yaml = "broker: rabbitmq\nrabbitmq:\n  url: \"" + services().rabbitmq_url + "\"\n";
        Console console(c, tokens_file());
        CHECK(console.json("GET", "/api/v1/summary", kRead)["broker"] == "rabbitmq");
        const auto j = console.json("POST", "/api/v1/rows/requeue", kWrite,
                                    "{\"filter\":{\"topic\":\"" + name + "\"}}");
        CHECK(j["requeued"] == 2);
        REQUIRE(eventually(
            [&] {
                const auto s = row_states(services().pg_dsn, table);
                return s.at(ids[0]).status == 1 && s.at(ids[1]).status == 1;
            },
            30s));
        const auto got = amqp.drain(name);
        REQUIRE(got.size() == 2);
        CHECK(got[0].outbox_id == ids[0]);
        CHECK(got[1].outbox_id == ids[1]);
        amqp.delete_queue(name);
        amqp.delete_exchange(name);
    }
    SECTION("confirmation on: rows at 4 by consumer, their confirmations, requeued") {
        const auto table = make_table(services().pg_dsn, unique_name("console_cf"));
        const std::string topic = unique_name("console-cf");
        create_topic(services().kafka_bootstrap, topic, 1, 1);
        DaemonConfig c = daemon_config(table);
        c.extra_yaml = "confirm:\n  consumers: [billing, audit]\n  interval_ms: 200\n";
        {
            Daemon m({"migrate", "--config", write_config(c)});
            REQUIRE(m.wait(60s) == 0);
        }
        grant_relay(table, false);
        const auto failed = park_rows(table, topic, 3, "billing: invoice 17 has no customer", 4);
        sql(services().pg_dsn, "UPDATE " + table_sql(table)
                                   + " SET confirmed_by = '{audit}', kafka_partition = 0, "
                                     "kafka_offset = 41 WHERE id = "
                                   + std::to_string(failed[0]));
        const auto other = park_rows(table, topic, 2, "audit: schema v3 unknown", 4);
        const auto parked = park_rows(table, topic, 1, "Broker: Message size too large");
        Console console(c, tokens_file());
        auto j = console.json("GET", "/api/v1/rows?status=4&consumer=billing", kRead);
        CHECK(j["rows"].size() == 3);
        CHECK(console.json("GET", "/api/v1/rows", kRead)["rows"].size() == 6);
        j = console.json("GET", "/api/v1/rows/" + std::to_string(failed[0]), kRead);
        CHECK(j["status"] == 4);
        CHECK(j["confirmed_by"] == Json::array({"audit"}));
        CHECK(j["kafka_offset"] == 41);
        j = console.json("GET", "/api/v1/summary", kRead);
        CHECK(j["confirmation"] == true);
        CHECK(j["consumer_failed"] == 5);
        j = console.json("POST", "/api/v1/rows/requeue", kWrite,
                         "{\"filter\":{\"status\":[4],\"consumer\":\"billing\"},"
                         "\"note\":\"customer backfilled\"}");
        CHECK(j["requeued"] == 3);
        // Sent again with the confirmations cleared; they wait at 1 for
        // both consumers.
        REQUIRE(eventually(
            [&] {
                const auto s = row_states(services().pg_dsn, table);
                return std::all_of(failed.begin(), failed.end(),
                                   [&](std::int64_t id) { return s.at(id).status == 1; });
            },
            30s));
        CHECK(sql_value(services().pg_dsn, "SELECT array_to_string(confirmed_by, ',') FROM "
                                               + table_sql(table)
                                               + " WHERE id = " + std::to_string(failed[0]))
              == "");
        const auto sent = sent_counts(topic);
        CHECK(sent.size() == 3);
        const auto states = row_states(services().pg_dsn, table);
        CHECK(states.at(other[0]).status == 4);
        CHECK(states.at(parked[0]).status == 2);
    }
}

TEST_CASE("console in a real browser: parked rows read, filtered, requeued, closed, refused",
          "[console-browser]") {
    const char* runner = OUTBOXD_TEST_BROWSER_RUNNER;
    const auto table = make_table(services().pg_dsn, unique_name("console_web"));
    const std::string topic = unique_name("console-web");
    const std::string other = unique_name("console-other");
    create_topic(services().kafka_bootstrap, topic, 1, 1);
    const auto rows = park_rows(table, topic, 6, "Broker: Message size too large");
    park_rows(table, other, 3, "Local: Unknown topic");
    // A row whose payload and reason hold markup and script.
    const std::string evil =
        "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">";
    const auto xss = insert_rows(services().pg_dsn, table, {{topic, "k-xss", evil, std::nullopt}});
    sql(services().pg_dsn, "UPDATE " + table_sql(table)
                               + " SET status = 2, attempts = 5, last_error = 'rejected: " + evil
                               + "' WHERE id = " + std::to_string(xss[0]));
    Console console(table, tokens_file());

    const std::string out = scratch_path("console-browser");
    REQUIRE(::mkdir(out.c_str(), 0755) == 0);
    const std::string screenshot = std::string(OUTBOXD_TEST_ARTEFACT_DIR) + "/console.png";
    const std::string cmd =
        std::string(runner) + " --url http://" + console.address + "/console/ --read-token " + kRead
        + " --write-token " + kWrite + " --parked-id " + std::to_string(rows[0]) + " --xss-id "
        + std::to_string(xss[0]) + " --requeue-id " + std::to_string(rows[1]) + " --close-id "
        + std::to_string(rows[2]) + " --refuse-id " + std::to_string(rows[3]) + " --topic " + topic
        + " --screenshot " + screenshot + " --result " + out + "/result.json > " + out
        + "/browser.log 2>&1";
    const int st = std::system(cmd.c_str());
    std::ifstream lf(out + "/browser.log");
    const std::string browser_log((std::istreambuf_iterator<char>(lf)), {});
    INFO(browser_log);
    const int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code == 77) {
        WARN("SKIPPED: " << browser_log);
        return;
    }
    REQUIRE(code == 0);

    // What the clicks did, read from the table and from Kafka.
    REQUIRE(eventually([&] { return row_states(services().pg_dsn, table).at(rows[1]).status == 1; },
                       30s));
    const auto sent = sent_counts(topic);
    CHECK(sent.size() == 1);
    CHECK(sent.count(rows[1]) == 1);
    const auto states = row_states(services().pg_dsn, table);
    CHECK(states.at(rows[2]).status == 5);
    CHECK(states.at(rows[3]).status == 2); // refused without a token, and with a read token
    CHECK(states.at(xss[0]).status == 2);
    const auto notes =
        sql(services().pg_dsn, "SELECT who, action, note, row_ids::text FROM "
                                   + table_sql(table).substr(0, table_sql(table).size() - 1)
                                   + "_actions\" ORDER BY id");
    REQUIRE(notes.size() == 2);
    CHECK(notes[0][0] == "alice");
    CHECK(notes[0][1] == "requeue");
    CHECK(notes[1][1] == "close");
    CHECK(notes[1][2] == "closed by the browser test: duplicate");
    CHECK(notes[1][3] == "{" + std::to_string(rows[2]) + "}");
}
