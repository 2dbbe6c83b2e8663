// End-to-end behaviour of `outboxd run` against the real services: happy
// path, commit gap, LISTEN wake-up.
#include "services.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <set>
#include <thread>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

bool all_at(const outboxd::config::Postgres& t, int status, int n) {
    auto counts = status_counts(services().pg_dsn, t);
    return counts[status] == n;
}

} // namespace

TEST_CASE("happy path: rows reach Kafka exactly once with key, payload, headers, in key order",
          "[integration][happy]") {
    const auto& s = services();
    const auto name = unique_name("happy");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 3, 1);

    std::vector<NewRow> rows;
    const int n = 600;
    for (int i = 0; i < n; ++i) {
        NewRow r;
        r.topic = name;
        if (i % 10 != 0) {
            r.key = "order-" + std::to_string(i % 7);
        }
        std::string payload = "payload-" + std::to_string(i);
        payload.push_back('\0'); // binary-safe: NUL and high bytes survive
        payload.push_back(static_cast<char>(0xff));
        r.payload = payload;
        if (i % 3 == 0) {
            r.headers = R"({"event":"order.created","seq":")" + std::to_string(i) + R"("})";
        }
        rows.push_back(r);
    }
    const auto ids = insert_rows(s.pg_dsn, table, rows);

    Daemon d({"run", "--config", write_config(daemon_config(table))});
    REQUIRE(eventually([&] { return all_at(table, 1, n); }, 60s));
    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);

    for (const auto& [id, st] : row_states(s.pg_dsn, table)) {
        CHECK(st.status == 1);
        CHECK(st.has_sent_at);
        CHECK(st.attempts == 0);
    }
    const auto msgs = read_topic(s.kafka_bootstrap, name);
    REQUIRE(msgs.size() == static_cast<size_t>(n));
    std::map<std::int64_t, int> seen;
    std::map<std::string, std::int64_t> last_id_per_key;
    std::map<std::int64_t, size_t> index_of;
    for (size_t i = 0; i < ids.size(); ++i) {
        index_of[ids[i]] = i;
    }
    // Messages per partition are in offset order; keys map to one partition.
    for (const auto& m : msgs) {
        REQUIRE(m.outbox_id > 0);
        ++seen[m.outbox_id];
        const auto& row = rows.at(index_of.at(m.outbox_id));
        CHECK(m.key == row.key);
        CHECK(m.payload == row.payload);
        std::vector<std::pair<std::string, std::string>> expected_headers;
        if (row.headers) {
            expected_headers.emplace_back("event", "order.created");
            expected_headers.emplace_back("seq", std::to_string(index_of.at(m.outbox_id)));
        }
        expected_headers.emplace_back("outbox-id", std::to_string(m.outbox_id));
        expected_headers.emplace_back("outbox-source", "outboxd/public." + name);
        // jsonb stores object keys in its own order; compare as sets.
        CHECK(std::set<std::pair<std::string, std::string>>(m.headers.begin(), m.headers.end())
              == std::set<std::pair<std::string, std::string>>(expected_headers.begin(),
                                                               expected_headers.end()));
        if (m.key) {
            auto it = last_id_per_key.find(*m.key);
            if (it != last_id_per_key.end()) {
                CHECK(it->second < m.outbox_id); // G4: per-key order is id order
            }
            last_id_per_key[*m.key] = m.outbox_id;
        }
    }
    for (auto id : ids) {
        CHECK(seen[id] == 1);
    }
}

TEST_CASE("commit gap: a lower id committed after higher ids were sent is still sent",
          "[integration][commit-gap]") {
    const auto& s = services();
    const auto name = unique_name("gap");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    auto cfg = daemon_config(table);
    cfg.relay["rescan_interval_ms"] = "60000"; // only the empty-poll rescan may find it
    Daemon d({"run", "--config", write_config(cfg)});

    OpenInsert slow(s.pg_dsn, table, {name, std::nullopt, "late", std::nullopt});
    const auto low = slow.id();
    const auto high = insert_rows(s.pg_dsn, table, {{name, std::nullopt, "early", std::nullopt}});
    REQUIRE(high[0] > low);
    REQUIRE(eventually([&] { return row_states(s.pg_dsn, table)[high[0]].status == 1; }, 30s));
    slow.commit();
    REQUIRE(eventually([&] { return row_states(s.pg_dsn, table)[low].status == 1; }, 30s));
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
    CHECK(read_topic(s.kafka_bootstrap, name).size() == 2);
}

TEST_CASE("wake-up: with LISTEN a row in an idle system is sent well under poll_interval_ms",
          "[integration][wakeup]") {
    const auto& s = services();
    const auto name = unique_name("wake");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    auto cfg = daemon_config(table);
    cfg.relay["poll_interval_ms"] = "30000";
    cfg.relay["rescan_interval_ms"] = "60000";
    Daemon d({"run", "--config", write_config(cfg)});
    // Let it reach the idle wait.
    REQUIRE(eventually([&] { return publishes(d); }, 30s));
    std::this_thread::sleep_for(1s);
    std::vector<double> latencies_ms;
    for (int i = 0; i < 5; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto id = insert_rows(s.pg_dsn, table, {{name, "k", "x", std::nullopt}})[0];
        REQUIRE(eventually([&] { return row_states(s.pg_dsn, table)[id].status == 1; }, 10s));
        latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
        std::this_thread::sleep_for(300ms);
    }
    for (double l : latencies_ms) {
        INFO("insert -> status 1 took " << l << " ms");
        CHECK(l < 3000.0); // poll interval is 30 000 ms: only the wake-up explains this
    }
    d.signal(SIGTERM);
    CHECK(d.wait(30s) == 0);
}
