// The console's rules without a database or a socket: tokens, the history,
// the API over a fake store, the worker's queue (docs/console.md).
#include "console/api.h"
#include "console/history.h"
#include "console/tokens.h"
#include "console/worker.h"
#include "store/outbox_store.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

using namespace outboxd;
using namespace outboxd::console;
using Json = nlohmann::json;

namespace {

// Rows in memory with the store's rules: actions touch 2 and 4 only.
class FakeReviewStore final : public store::ReviewStore {
public:
    std::vector<store::ReviewRow> table;
    std::vector<store::ActionRecord> log;
    std::vector<store::ReviewFilter> seen_filters;
    std::optional<std::string> fail_with; // "unavailable" or "misconfigured"
    // Blocks every call until released (the worker tests).
    std::mutex gate_mu;
    std::condition_variable gate_cv;
    bool gate_closed = false;
    std::atomic<int> calls{0};

    void wait_gate() {
        ++calls;
        std::unique_lock<std::mutex> lock(gate_mu);
        gate_cv.wait(lock, [this] { return !gate_closed; });
    }
    void check() const {
        if (fail_with == std::string("unavailable")) {
            throw store::StoreUnavailable("connection refused");
        }
        if (fail_with == std::string("misconfigured")) {
            throw store::StoreMisconfigured("no table outbox_actions: run outboxd migrate");
        }
    }
    bool matches(const store::ReviewRow& r, const store::ReviewFilter& f) const {
        if (std::find(f.statuses.begin(), f.statuses.end(), r.status) == f.statuses.end()) {
            return false;
        }
        return (!f.topic || r.topic == *f.topic) && (!f.key || r.key == f.key)
               && (!f.reason
                   || (r.last_error && r.last_error->find(*f.reason) != std::string::npos));
    }
    std::vector<store::ReviewRow> review_rows(const store::ReviewFilter& f,
                                              std::optional<std::int64_t> before,
                                              std::size_t limit) override {
        wait_gate();
        check();
        seen_filters.push_back(f);
        std::vector<store::ReviewRow> out;
        for (auto it = table.rbegin(); it != table.rend() && out.size() < limit; ++it) {
            if ((!before || it->id < *before) && matches(*it, f)) {
                out.push_back(*it);
            }
        }
        return out;
    }
    std::int64_t review_count(const store::ReviewFilter& f, std::int64_t cap) override {
        wait_gate();
        check();
        std::int64_t n = 0;
        for (const auto& r : table) {
            n += matches(r, f) ? 1 : 0;
        }
        return std::min(n, cap);
    }
    std::optional<store::ReviewDetail> review_row(std::int64_t id, std::size_t limit) override {
        wait_gate();
        check();
        for (const auto& r : table) {
            if (r.id == id) {
                store::ReviewDetail d;
                d.row = r;
                d.payload_null = false;
                d.payload = payload.substr(0, limit);
                d.payload_bytes = static_cast<std::int64_t>(payload.size());
                d.headers_json = R"({"trace":"abc"})";
                return d;
            }
        }
        return std::nullopt;
    }
    std::string payload = R"({"order":17})";
    store::ActionResult apply(const store::ActionRequest& r, int to, const char* what) {
        wait_gate();
        check();
        store::ActionResult out;
        for (auto& row : table) {
            const bool chosen =
                r.ids ? std::find(r.ids->begin(), r.ids->end(), row.id) != r.ids->end()
                      : matches(row, *r.filter);
            if (chosen && (row.status == 2 || row.status == 4)) {
                row.status = to;
                out.ids.push_back(row.id);
            }
        }
        out.changed = out.ids.size();
        if (out.changed > 0) {
            store::ActionRecord a;
            a.id = static_cast<std::int64_t>(log.size()) + 1;
            a.who = r.who;
            a.action = what;
            a.note = r.note;
            a.rows = static_cast<std::int64_t>(out.changed);
            a.ids = out.ids;
            a.filter_json = r.filter_json;
            log.push_back(a);
            out.action_id = a.id;
        }
        return out;
    }
    store::ActionResult requeue(const store::ActionRequest& r) override {
        return apply(r, 0, "requeue");
    }
    store::ActionResult close(const store::ActionRequest& r) override {
        return apply(r, store::kStatusClosed, "close");
    }
    std::vector<store::ActionRecord> actions(std::optional<std::int64_t> before,
                                             std::size_t limit) override {
        wait_gate();
        check();
        std::vector<store::ActionRecord> out;
        for (auto it = log.rbegin(); it != log.rend() && out.size() < limit; ++it) {
            if (!before || it->id < *before) {
                out.push_back(*it);
            }
        }
        return out;
    }
};

store::ReviewRow parked(std::int64_t id, const std::string& topic, int status = 2) {
    store::ReviewRow r;
    r.id = id;
    r.status = status;
    r.topic = topic;
    r.key = "k" + std::to_string(id);
    r.attempts = 5;
    r.last_error = "Broker: Message size too large (row " + std::to_string(id) + ")";
    r.created_at_ms = 1700000000000 + id;
    return r;
}

const std::string kWriteSecret = "w-0123456789abcdef";
const std::string kReadSecret = "r-0123456789abcdef";

TokenList two_tokens() {
    return std::make_shared<const std::vector<Token>>(std::vector<Token>{
        {"alice", Access::kWrite, kWriteSecret}, {"dash", Access::kRead, kReadSecret}});
}

http::Request get(const std::string& path,
                  const std::string& query = {},
                  const std::string& secret = kReadSecret) {
    http::Request r;
    r.method = "GET";
    r.path = path;
    r.query = query;
    if (!secret.empty()) {
        r.authorization = "Bearer " + secret;
    }
    return r;
}

http::Request
post(const std::string& path, const std::string& body, const std::string& secret = kWriteSecret) {
    http::Request r;
    r.method = "POST";
    r.path = path;
    r.content_type = "application/json";
    r.body = body;
    if (!secret.empty()) {
        r.authorization = "Bearer " + secret;
    }
    return r;
}

Overview overview() {
    Overview o;
    o.role = "publisher";
    o.broker = "kafka";
    o.pending = 3;
    o.parked = 2;
    o.sent_total = 1000;
    return o;
}

struct Fixture {
    FakeReviewStore store;
    Api api{store, [] { return overview(); }, ApiOptions{}};
    TokenList tokens = two_tokens();
    Fixture() {
        for (std::int64_t id = 1; id <= 7; ++id) {
            store.table.push_back(parked(id, id % 2 == 0 ? "orders" : "billing"));
        }
        store.table.push_back(parked(8, "orders", 0)); // pending: never touched
        store.table.push_back(parked(9, "orders", 1)); // sent: never touched
    }
    http::Response call(const http::Request& r) { return api.handle(r, tokens, 1700000000000); }
    Json json(const http::Request& r, int status = 200) {
        const auto resp = call(r);
        INFO(resp.body);
        REQUIRE(resp.status == status);
        REQUIRE(resp.content_type == "application/json");
        return Json::parse(resp.body);
    }
};

} // namespace

TEST_CASE("tokens file: every problem listed with its line, the secret never echoed", "[console]") {
    const auto p = parse_tokens("# comment\n\nalice write 0123456789abcdef\n"
                                "bob admin 0123456789abcdeX\n"
                                "carol read short\n"
                                "alice read 0123456789abcdeY\n"
                                "dave read 0123456789abcdef\n"
                                "erin write\n"
                                "frank read 0123456789abcdeZ extra\n");
    REQUIRE(p.tokens.size() == 1);
    CHECK(p.tokens[0].name == "alice");
    CHECK(p.tokens[0].access == Access::kWrite);
    REQUIRE(p.problems.size() == 6);
    CHECK(p.problems[0] == "line 4: role must be read or write, not 'admin'");
    CHECK(p.problems[1] == "line 5: the secret of carol is shorter than 16 characters");
    CHECK(p.problems[2] == "line 6: the name alice is used twice");
    CHECK(p.problems[3] == "line 7: the secret of dave is used twice");
    CHECK(p.problems[4] == "line 8: expected NAME ROLE SECRET");
    CHECK(p.problems[5].rfind("line 9: expected NAME ROLE SECRET, found more", 0) == 0);
    for (const auto& problem : p.problems) {
        CHECK(problem.find("0123456789abcde") == std::string::npos);
    }
}

TEST_CASE("tokens file: a file others may read is refused", "[console]") {
    char dir[] = "/tmp/outboxd-tokens-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string path = std::string(dir) + "/tokens";
    {
        std::ofstream f(path);
        f << "alice write 0123456789abcdef\n";
    }
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    auto loaded = load_tokens_file(path);
    REQUIRE(loaded.problems.size() == 1);
    CHECK(loaded.problems[0]
          == path
                 + ": mode 644 lets others read or change the tokens: chmod 600 (or 640 with the "
                   "file owned by root and its group the daemon's)");
    CHECK(loaded.tokens.empty());
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    loaded = load_tokens_file(path);
    CHECK(loaded.problems.empty());
    CHECK(loaded.tokens.size() == 1);
    CHECK(load_tokens_file(std::string(dir) + "/missing").problems.size() == 1);
    ::unlink(path.c_str());
    ::rmdir(dir);
}

TEST_CASE("tokens file modes: owner only, or group read on a file root owns", "[console]") {
    CHECK(tokens_mode_problem(0600, 1000).empty());
    CHECK(tokens_mode_problem(0400, 1000).empty());
    CHECK(tokens_mode_problem(0640, 0).empty());
    CHECK(tokens_mode_problem(0440, 0).empty());
    CHECK_FALSE(tokens_mode_problem(0640, 1000).empty()); // a group of the owner's choosing
    CHECK_FALSE(tokens_mode_problem(0660, 0).empty());    // group write
    CHECK_FALSE(tokens_mode_problem(0604, 0).empty());    // others
    CHECK_FALSE(tokens_mode_problem(0644, 0).empty());
    CHECK_FALSE(tokens_mode_problem(0601, 1000).empty());
}

TEST_CASE("tokens: Bearer matched against every secret", "[console]") {
    const auto tokens = *two_tokens();
    CHECK(authenticate(tokens, "Bearer " + kWriteSecret)->name == "alice");
    CHECK(authenticate(tokens, "bearer " + kReadSecret)->name == "dash");
    CHECK_FALSE(authenticate(tokens, "Bearer " + kWriteSecret + "x"));
    CHECK_FALSE(authenticate(tokens, "Bearer " + kWriteSecret.substr(1)));
    CHECK_FALSE(authenticate(tokens, "Basic " + kWriteSecret));
    CHECK_FALSE(authenticate(tokens, "Bearer "));
    CHECK_FALSE(authenticate(tokens, ""));
    CHECK(constant_time_equal("abc", "abc"));
    CHECK_FALSE(constant_time_equal("abc", "abd"));
    CHECK_FALSE(constant_time_equal("abc", "abcd"));
    CHECK_FALSE(constant_time_equal("", "a"));
}

TEST_CASE("history: a sample per step, an hour kept, the rate per minute", "[console]") {
    History h;
    const std::int64_t t0 = 1700000000000;
    CHECK(h.sample(t0, 5, 100));
    CHECK_FALSE(h.sent_per_minute());
    CHECK_FALSE(h.sample(t0 + 1000, 6, 110)); // within the step
    CHECK(h.sample(t0 + 15000, 7, 400));
    REQUIRE(h.sent_per_minute());
    CHECK(*h.sent_per_minute() == Approx(1200.0)); // 300 rows in 15 s
    auto points = h.points();
    REQUIRE(points.size() == 1);
    CHECK(points[0].pending == 7);
    // A restart of the counter is not a negative rate.
    CHECK(h.sample(t0 + 30000, 7, 10));
    CHECK(*h.sent_per_minute() == 0);
    for (int i = 3; i <= 300; ++i) {
        h.sample(t0 + i * 15000, 1, 10);
    }
    points = h.points();
    CHECK(points.size() == 240); // 241 samples in the hour, the first has no rate
    CHECK(points.front().at_ms == t0 + 61 * 15000); // samples from i = 60 on
}

TEST_CASE("query strings are decoded; a bad escape is an error", "[console]") {
    const auto q = parse_query("topic=a%20b&reason=too+large&x=&flag");
    REQUIRE(q);
    REQUIRE(q->size() == 4);
    CHECK((*q)[0] == std::make_pair(std::string("topic"), std::string("a b")));
    CHECK((*q)[1].second == "too large");
    CHECK((*q)[2].second.empty());
    CHECK((*q)[3].first == "flag");
    CHECK_FALSE(parse_query("a=%zz"));
    CHECK_FALSE(parse_query("a=%4"));
    CHECK(parse_query("")->empty());
}

TEST_CASE("api: reading needs a token once tokens are configured", "[console]") {
    Fixture f;
    auto r = f.call(get("/api/v1/rows", "", ""));
    CHECK(r.status == 401);
    CHECK(Json::parse(r.body)["error"].get<std::string>().find("token") != std::string::npos);
    bool challenge = false;
    for (const auto& [name, value] : r.headers) {
        challenge = challenge || (name == "WWW-Authenticate" && value.rfind("Bearer", 0) == 0);
    }
    CHECK(challenge);
    CHECK(f.call(get("/api/v1/rows", "", "wrong-secret-0123456789")).status == 401);
    CHECK(f.call(get("/api/v1/rows")).status == 200);
    // Without a tokens file everyone reads and nobody changes anything.
    f.tokens = nullptr;
    CHECK(f.call(get("/api/v1/rows", "", "")).status == 200);
    const auto refused = f.call(post("/api/v1/rows/requeue", R"({"ids":[1]})"));
    CHECK(refused.status == 403);
    CHECK(f.store.table[0].status == 2);
}

TEST_CASE("api: changes need a write token; a read token gets 403", "[console]") {
    Fixture f;
    CHECK(f.call(post("/api/v1/rows/requeue", R"({"ids":[1]})", "")).status == 401);
    CHECK(f.call(post("/api/v1/rows/requeue", R"({"ids":[1]})", kReadSecret)).status == 403);
    CHECK(f.call(post("/api/v1/rows/close", R"({"ids":[1],"note":"x"})", kReadSecret)).status
          == 403);
    CHECK(f.store.table[0].status == 2);
    CHECK(f.store.log.empty());
    const auto j = f.json(post("/api/v1/rows/requeue", R"({"ids":[1,1,8,9,404],"note":"fixed"})"));
    CHECK(j["requeued"] == 1);
    CHECK(j["ids"] == Json::array({1}));
    CHECK(j["action"] == 1);
    CHECK(f.store.table[0].status == 0);
    CHECK(f.store.table[7].status == 0); // was pending
    CHECK(f.store.table[8].status == 1); // sent: left alone
    REQUIRE(f.store.log.size() == 1);
    CHECK(f.store.log[0].who == "alice");
    CHECK(f.store.log[0].note == "fixed");
}

TEST_CASE("api: rows newest first, filtered, paged by cursor", "[console]") {
    Fixture f;
    auto j = f.json(get("/api/v1/rows", "limit=3"));
    REQUIRE(j["rows"].size() == 3);
    CHECK(j["rows"][0]["id"] == 7);
    CHECK(j["rows"][2]["id"] == 5);
    CHECK(j["next"] == "5");
    CHECK(j["rows"][0]["created_at"] == "2023-11-14T22:13:20.007Z");
    CHECK(j["rows"][0]["sent_at"].is_null());
    j = f.json(get("/api/v1/rows", "limit=3&cursor=5"));
    CHECK(j["rows"][0]["id"] == 4);
    CHECK(j["next"] == "2");
    j = f.json(get("/api/v1/rows", "limit=3&cursor=2"));
    CHECK(j["rows"].size() == 1);
    CHECK(j["next"].is_null());
    j = f.json(get("/api/v1/rows", "topic=orders&status=2&reason=row%206"));
    REQUIRE(j["rows"].size() == 1);
    CHECK(j["rows"][0]["id"] == 6);
    const auto& seen = f.store.seen_filters.back();
    CHECK(seen.statuses == std::vector<int>{2});
    CHECK(*seen.topic == "orders");
    CHECK(*seen.reason == "row 6");
    // The default status set is the review set.
    f.json(get("/api/v1/rows"));
    CHECK(f.store.seen_filters.back().statuses == std::vector<int>{2, 4});
    CHECK(f.json(get("/api/v1/rows/count", "topic=orders"))["count"] == 3);
}

TEST_CASE("api: bad input is a 400 with its reason and changes nothing", "[console]") {
    Fixture f;
    const auto reason = [&](const http::Request& r, int status = 400) {
        const auto resp = f.call(r);
        INFO(resp.body);
        CHECK(resp.status == status);
        return Json::parse(resp.body)["error"].get<std::string>();
    };
    CHECK(reason(get("/api/v1/rows", "colour=red")) == "unknown parameter 'colour'");
    CHECK(reason(get("/api/v1/rows", "status=3")).find("status must be 2, 4 or 5") == 0);
    CHECK(reason(get("/api/v1/rows", "limit=0")) == "limit must be at least 1");
    CHECK(reason(get("/api/v1/rows", "limit=501")) == "limit must be between 0 and 500");
    CHECK(reason(get("/api/v1/rows", "cursor=-1")).find("cursor must be a whole number") == 0);
    CHECK(reason(get("/api/v1/rows", "topic=")) == "topic must not be empty");
    CHECK(reason(get("/api/v1/rows", "a=%zz")) == "malformed query string");
    CHECK(reason(get("/api/v1/rows", "topic=a&topic=b")) == "parameter 'topic' given twice");
    CHECK(reason(get("/api/v1/rows/abc")).find("the row id must be a whole number") == 0);
    CHECK(reason(get("/api/v1/rows/99999"), 404) == "no row 99999");
    CHECK(reason(get("/api/v1/nothing"), 404) == "no such API path: /api/v1/nothing");
    CHECK(reason(post("/api/v1/rows", "{}"), 405) == "use GET");
    CHECK(reason(get("/api/v1/rows/requeue"), 405) == "use POST");
    const std::string rq = "/api/v1/rows/requeue";
    CHECK(reason(post(rq, "not json")) == "the body must be a JSON object");
    CHECK(reason(post(rq, "[1,2]")) == "the body must be a JSON object");
    CHECK(reason(post(rq, "{}")) == "give either ids or filter");
    CHECK(reason(post(rq, R"({"ids":[1],"filter":{}})")) == "give either ids or filter");
    CHECK(reason(post(rq, R"({"ids":[]})")) == "ids must be a non-empty list of row ids");
    CHECK(reason(post(rq, R"({"ids":[1,"2"]})"))
          == "ids must be positive whole numbers, not \"2\"");
    CHECK(reason(post(rq, R"({"ids":[0]})")) == "ids must be positive whole numbers, not 0");
    CHECK(reason(post(rq, R"({"ids":[1.5]})")) == "ids must be positive whole numbers, not 1.5");
    CHECK(reason(post(rq, R"({"filter":{"colour":"red"}})")) == "unknown filter 'colour'");
    CHECK(reason(post(rq, R"({"filter":{"status":[5]}})"))
          == "closed rows (5) are not requeued or closed again");
    CHECK(reason(post(rq, R"({"filter":{"status":2}})"))
          == "filter.status must be a list such as [2, 4]");
    CHECK(reason(post(rq, R"({"filter":{"topic":7}})")) == "filter.topic must be a string");
    CHECK(reason(post(rq, R"({"ids":[1],"force":true})"))
          == "unknown field 'force' (ids, filter, note)");
    CHECK(reason(post("/api/v1/rows/close", R"({"ids":[1]})"))
          == "a close needs a note saying why");
    CHECK(reason(post("/api/v1/rows/close", R"({"ids":[1],"note":"  "})"))
          == "a close needs a note saying why");
    Json many = Json::array();
    for (int i = 1; i <= 10001; ++i) {
        many.push_back(i);
    }
    CHECK(reason(post(rq, Json{{"ids", many}}.dump()))
          == "at most 10000 ids per request; use a filter for more");
    auto plain = post(rq, R"({"ids":[1]})");
    plain.content_type = "text/plain";
    CHECK(reason(plain, 415) == "send the body as application/json");
    for (const auto& row : f.store.table) {
        CHECK(row.status == (row.id == 8 ? 0 : row.id == 9 ? 1 : 2));
    }
    CHECK(f.store.log.empty());
}

TEST_CASE("api: close by filter records the note and the filter", "[console]") {
    Fixture f;
    const auto j = f.json(post("/api/v1/rows/close",
                               R"({"filter":{"topic":"orders"},"note":"duplicates of order 17"})"));
    CHECK(j["closed"] == 3);
    CHECK(j["more"] == false);
    for (const auto& row : f.store.table) {
        if (row.topic == "orders" && row.id <= 7) {
            CHECK(row.status == store::kStatusClosed);
        }
    }
    const auto log = f.json(get("/api/v1/actions"));
    REQUIRE(log["actions"].size() == 1);
    const auto& a = log["actions"][0];
    CHECK(a["who"] == "alice");
    CHECK(a["action"] == "close");
    CHECK(a["note"] == "duplicates of order 17");
    CHECK(a["rows"] == 3);
    CHECK(a["filter"]["topic"] == "orders");
    CHECK(log["next"].is_null());
    // Nothing left to change: nothing recorded.
    const auto again =
        f.json(post("/api/v1/rows/close", R"({"filter":{"topic":"orders"},"note":"again"})"));
    CHECK(again["closed"] == 0);
    CHECK(again["action"].is_null());
    CHECK(f.store.log.size() == 1);
}

TEST_CASE("api: one row with its payload as text, JSON or hex", "[console]") {
    Fixture f;
    auto j = f.json(get("/api/v1/rows/3"));
    CHECK(j["id"] == 3);
    CHECK(j["payload"]["encoding"] == "json");
    CHECK(j["payload"]["data"] == R"({"order":17})");
    CHECK(j["payload"]["truncated"] == false);
    CHECK(j["headers"]["trace"] == "abc");
    CHECK(j["actions"].empty());
    CHECK_FALSE(j.contains("confirmed_by")); // confirmation off
    f.store.payload = "<script>alert(1)</script>";
    j = f.json(get("/api/v1/rows/3"));
    CHECK(j["payload"]["encoding"] == "text");
    CHECK(j["payload"]["data"] == "<script>alert(1)</script>");
    f.store.payload = std::string("\x00\x01\xff", 3);
    j = f.json(get("/api/v1/rows/3"));
    CHECK(j["payload"]["encoding"] == "hex");
    CHECK(j["payload"]["data"] == "0001ff");
    // The preview cut a two-byte character in half: still text, cut before it.
    f.store.payload = std::string(65535, 'a') + "\xc3\xa9" + "tail";
    j = f.json(get("/api/v1/rows/3"));
    CHECK(j["payload"]["encoding"] == "text");
    CHECK(j["payload"]["truncated"] == true);
    CHECK(j["payload"]["bytes"] == 65541);
    CHECK(j["payload"]["data"].get<std::string>().size() == 65535);
}

TEST_CASE("api: the summary from the overview, with cached counts", "[console]") {
    Fixture f;
    f.store.table.push_back(parked(10, "orders", store::kStatusClosed));
    auto j = f.json(get("/api/v1/summary"));
    CHECK(j["role"] == "publisher");
    CHECK(j["pending"] == 3);
    CHECK(j["parked"] == 2);
    CHECK(j["closed"] == 1);
    CHECK(j["consumer_failed"].is_null());
    CHECK(j["access"] == "read");
    CHECK(j["tokens"] == true);
    CHECK(j["oldest_pending_age_s"].is_null());
    f.store.fail_with = "unavailable";
    // Within the cache period the counts come from memory.
    CHECK(f.call(get("/api/v1/summary")).status == 200);
    const auto later = f.api.handle(get("/api/v1/summary"), f.tokens, 1700000000000 + 6000);
    CHECK(later.status == 503);
    CHECK(Json::parse(later.body)["error"] == "PostgreSQL is unavailable: connection refused");
    f.store.fail_with = "misconfigured";
    const auto r = f.call(get("/api/v1/rows"));
    CHECK(r.status == 500);
    CHECK(Json::parse(r.body)["error"] == "no table outbox_actions: run outboxd migrate");
}

TEST_CASE("answers are counted by class", "[console]") {
    CHECK(std::string(answer_class(200)) == "ok");
    CHECK(std::string(answer_class(401)) == "refused");
    CHECK(std::string(answer_class(403)) == "refused");
    CHECK(std::string(answer_class(400)) == "bad_request");
    CHECK(std::string(answer_class(413)) == "bad_request");
    CHECK(std::string(answer_class(503)) == "busy");
    CHECK(std::string(answer_class(500)) == "error");
}

TEST_CASE("worker: a full queue answers 503 at once; stop answers what waits", "[console]") {
    FakeReviewStore* store = nullptr;
    auto owned = std::make_unique<FakeReviewStore>();
    store = owned.get();
    store->table.push_back(parked(1, "orders"));
    store->gate_closed = true;
    WorkerOptions options;
    options.queue_limit = 2;
    options.now_ms = [] {
        return std::int64_t{1700000000000};
    };
    std::atomic<int> counted{0};
    options.on_answer = [&counted](int) {
        ++counted;
    };
    Worker worker(
        std::move(owned), [] { return overview(); }, options, two_tokens());
    {
        // Before serve(): "starting", and no query.
        std::promise<http::Response> early;
        worker.submit(get("/api/v1/rows"), [&early](http::Response r) { early.set_value(r); });
        const auto r = early.get_future().get();
        CHECK(r.status == 503);
        CHECK(r.body.find("starting") != std::string::npos);
        CHECK(store->calls.load() == 0);
    }
    worker.serve();

    std::mutex mu;
    std::vector<int> answers;
    std::condition_variable cv;
    const auto reply = [&](http::Response r) {
        std::lock_guard<std::mutex> lock(mu);
        answers.push_back(r.status);
        cv.notify_all();
    };
    worker.submit(get("/api/v1/rows"), reply); // taken by the thread, held at the gate
    for (int i = 0; i < 200 && store->calls.load() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(store->calls.load() == 1);
    worker.submit(get("/api/v1/rows"), reply);
    worker.submit(get("/api/v1/rows"), reply);
    worker.submit(get("/api/v1/rows"), reply); // the queue holds 2: refused
    {
        std::unique_lock<std::mutex> lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return answers.size() == 1; }));
        CHECK(answers[0] == 503);
    }
    CHECK(worker.rejected() == 1);
    {
        std::lock_guard<std::mutex> lock(store->gate_mu);
        store->gate_closed = false;
    }
    store->gate_cv.notify_all();
    {
        std::unique_lock<std::mutex> lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return answers.size() == 4; }));
        CHECK(answers[1] == 200);
        CHECK(answers[2] == 200);
        CHECK(answers[3] == 200);
    }
    // A reload's tokens apply to the next request.
    worker.set_tokens(nullptr);
    worker.submit(post("/api/v1/rows/requeue", R"({"ids":[1]})"), reply);
    {
        std::unique_lock<std::mutex> lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return answers.size() == 5; }));
        CHECK(answers[4] == 403);
    }
    CHECK(counted.load() == 6); // the "starting" answer, the refusal and four answers
    worker.stop();
    worker.submit(get("/api/v1/rows"), reply);
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(answers.size() == 6);
    CHECK(answers[5] == 503);
}
