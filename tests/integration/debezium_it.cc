// postgres.layout: debezium against Debezium's own output (docs/debezium.md):
// each case of tests/data/debezium creates a Debezium-layout table, adopts it
// with `outboxd migrate`, inserts the rows Debezium's EventRouter relayed when
// the golden files were made (bench/peers/debezium-golden.sh), relays them
// with outboxd on the suite's Kafka, and compares every message with the
// golden one of the same row: topic, partition, key, value bytes, headers in
// order with their null values. Debezium's run-specific `__debezium.*`
// context headers are left out of the comparison, as are outboxd's own
// `outbox-id` and `outbox-source` (docs/debezium.md says why each exists).
#include "services.h"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <signal.h>

namespace fs = std::filesystem;
using namespace outboxd::testing;

namespace {

fs::path data_dir() {
    return fs::path(OUTBOXD_TEST_DATA_DIR) / "debezium";
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

std::string base64_decode(const std::string& in) {
    static const std::string kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char c : in) {
        const auto v = kAlphabet.find(c);
        if (v == std::string::npos) {
            continue; // padding
        }
        buffer = (buffer << 6U) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
        }
    }
    return out;
}

// A header as compared: name, and the value or nullopt for a null value.
using Header = std::pair<std::string, std::optional<std::string>>;

std::string show(const std::vector<Header>& hs) {
    std::string out;
    for (const auto& [n, v] : hs) {
        out += n + "=" + (v ? "\"" + *v + "\"" : std::string("null")) + " ";
    }
    return out;
}

struct Expected {
    std::string topic;
    int partition = -1;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<Header> headers;
    std::int64_t timestamp_ms = -1;
};

// The case's outboxd settings with this run's table, database and broker.
std::string
case_config(const fs::path& yaml_file, const std::string& table, const std::string& bootstrap) {
    YAML::Node doc = YAML::Load(replace_all(read_text(yaml_file), "{{table}}", table));
    doc["postgres"]["dsn"] = services().pg_dsn;
    doc["kafka"]["bootstrap_servers"] = bootstrap;
    doc["relay"]["poll_interval_ms"] = 200;
    doc["http"]["listen"] = "127.0.0.1:0";
    const std::string path = scratch_path("debezium-case") + ".yaml";
    std::ofstream(path) << YAML::Dump(doc) << "\n";
    return path;
}

} // namespace

TEST_CASE("layout debezium: outboxd's messages equal Debezium's EventRouter's, case by case",
          "[debezium]") {
    const auto& svc = services();
    std::vector<std::string> cases;
    for (const auto& entry : fs::directory_iterator(data_dir() / "golden")) {
        if (entry.path().extension() == ".json") {
            cases.push_back(entry.path().stem().string());
        }
    }
    std::sort(cases.begin(), cases.end());
    REQUIRE(cases.size() >= 8);
    int compared = 0;
    for (const auto& name : cases) {
        INFO("case " << name);
        const nlohmann::json golden =
            nlohmann::json::parse(read_text(data_dir() / "golden" / (name + ".json")));
        const std::string table = unique_name("dbz_" + name);

        // The table as the application has it, then adopted.
        const std::string script =
            replace_all(read_text(data_dir() / "cases" / (name + ".sql")), "{{table}}", table);
        std::vector<std::string> inserts;
        std::string ddl;
        {
            std::istringstream lines(script);
            for (std::string line; std::getline(lines, line);) {
                if (line.rfind("INSERT", 0) == 0) {
                    inserts.push_back(line);
                } else if (line.rfind("--", 0) != 0) {
                    ddl += line + "\n";
                }
            }
        }
        sql(svc.pg_dsn, ddl);
        const std::string cfg = case_config(data_dir() / "cases" / (name + ".outboxd.yaml"), table,
                                            svc.kafka_bootstrap);
        const auto [migrated, migrate_out] = run_outboxd({"-c", cfg, "migrate"});
        INFO(migrate_out);
        REQUIRE(migrated == 0);
        REQUIRE_THAT(migrate_out, Catch::Contains("added column \"outboxd_id\""));

        std::set<std::string> topics;
        std::map<std::string, Expected> expected; // by the row's uuid
        for (const auto& m : golden.at("messages")) {
            Expected e;
            e.topic = m.at("topic").get<std::string>();
            e.partition = m.at("partition").get<int>();
            if (!m.at("key").is_null()) {
                e.key = m.at("key").get<std::string>();
            }
            if (!m.at("value_b64").is_null()) {
                e.value = base64_decode(m.at("value_b64").get<std::string>());
            }
            for (const auto& h : m.at("headers")) {
                const auto hn = h.at("name").get<std::string>();
                if (hn.rfind("__debezium.", 0) == 0) {
                    continue;
                }
                e.headers.emplace_back(hn, h.at("value_b64").is_null()
                                               ? std::nullopt
                                               : std::optional<std::string>(base64_decode(
                                                   h.at("value_b64").get<std::string>())));
            }
            // Only a column's time is the row's; "processing" is the time
            // Debezium read it.
            if (m.value("timestamp_from", "") == "column") {
                e.timestamp_ms = m.at("timestamp_ms").get<std::int64_t>();
            }
            topics.insert(e.topic);
            expected[m.at("row_id").get<std::string>()] = e;
        }
        for (const auto& t : topics) {
            try {
                // Rows timestamped years ago must not be deleted by the
                // broker's retention before they are read.
                create_topic(svc.kafka_bootstrap, t, 3, 1, {{"retention.ms", "-1"}});
            } catch (const std::exception&) {
                // There already, from an earlier run on these services.
            }
        }
        for (const auto& insert : inserts) {
            sql(svc.pg_dsn, insert);
        }
        const std::string counted = "SELECT count(*) FROM " + table + " WHERE outboxd_status = 1";
        {
            Daemon d({"-c", cfg, "run"});
            const bool all_sent = eventually(
                [&] { return sql_value(svc.pg_dsn, counted) == std::to_string(inserts.size()); },
                std::chrono::seconds(60));
            INFO(tail_of(d.log()));
            REQUIRE(all_sent);
            d.signal(SIGTERM);
            REQUIRE(d.wait(std::chrono::seconds(30)) == 0);
        }
        REQUIRE(inserts.size() == expected.size());

        const std::string source =
            sql_value(svc.pg_dsn, "SELECT current_database()") + "/public." + table;
        const bool timestamps = name == "timestamp";
        std::size_t seen = 0;
        for (const auto& t : topics) {
            for (const auto& c : read_topic(svc.kafka_bootstrap, t)) {
                std::vector<Header> hs;
                bool ours = false;
                std::optional<std::string> id;
                for (std::size_t i = 0; i < c.headers.size(); ++i) {
                    const auto& [hn, hv] = c.headers[i];
                    if (hn == "outbox-source") {
                        ours = hv == source;
                        continue;
                    }
                    if (hn == "outbox-id") {
                        continue;
                    }
                    const bool null = i < c.header_null.size() && c.header_null[i];
                    hs.emplace_back(hn, null ? std::nullopt : std::optional<std::string>(hv));
                    if (hn == "id") {
                        id = hv;
                    }
                }
                if (!ours) {
                    continue; // another run's or Debezium's message
                }
                REQUIRE(id);
                INFO("row " << *id);
                const auto it = expected.find(*id);
                REQUIRE(it != expected.end());
                const Expected& e = it->second;
                CHECK(t == e.topic);
                CHECK(c.partition == e.partition);
                CHECK(c.key.value_or("<null>") == e.key.value_or("<null>"));
                CHECK(c.payload.value_or("<null>") == e.value.value_or("<null>"));
                CHECK(show(hs) == show(e.headers));
                if (timestamps) {
                    if (e.timestamp_ms > 0) {
                        CHECK(c.timestamp_ms == e.timestamp_ms);
                    } else {
                        // NULL: Debezium takes the time it read the row,
                        // outboxd the time of sending; 0 (the epoch) is
                        // "now" to librdkafka: documented differences,
                        // checked only to be recent.
                        CHECK(c.timestamp_ms > 1700000000000);
                    }
                }
                ++seen;
                ++compared;
            }
        }
        CHECK(seen == expected.size());
    }
    std::cout << "debezium: " << compared << " messages compared over " << cases.size()
              << " cases\n";
}

TEST_CASE("layout debezium: migrate adopts a table in use without rewriting it; its rows stay "
          "Debezium's, new rows are outboxd's",
          "[debezium]") {
    const auto& svc = services();
    const std::string table = unique_name("dbz_adopt");
    const std::string type = "adopt" + std::to_string(::getpid());
    sql(svc.pg_dsn, "CREATE TABLE " + table
                        + " (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, "
                          "aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, "
                          "payload jsonb)");
    // Rows Debezium relayed before the switch.
    sql(svc.pg_dsn, "INSERT INTO " + table + " SELECT gen_random_uuid(), '" + type
                        + "', 'order-' || (g % 7), 'OrderCreated', jsonb_build_object('n', g) "
                          "FROM generate_series(1, 200) g");
    const std::string filenode = "SELECT pg_relation_filenode('" + table + "')";
    const std::string before = sql_value(svc.pg_dsn, filenode);
    const std::string topic = "outbox.event." + type;
    create_topic(svc.kafka_bootstrap, topic, 3, 1);

    const std::string cfg = scratch_path("dbz-adopt") + ".yaml";
    std::ofstream(cfg) << "postgres:\n  dsn: \"" << svc.pg_dsn << "\"\n  table: " << table
                       << "\n  layout: debezium\nkafka:\n  bootstrap_servers: \""
                       << svc.kafka_bootstrap
                       << "\"\nrelay:\n  poll_interval_ms: 200\nhttp:\n  listen: \"127.0.0.1:0\"\n";
    const auto [rc, out] = run_outboxd({"-c", cfg, "migrate"});
    INFO(out);
    REQUIRE(rc == 0);
    CHECK_THAT(out, Catch::Contains("rows already in the table count as sent"));
    // ADD COLUMN without a volatile default, indexes built concurrently: the
    // table's file is the same one, nothing was rewritten.
    CHECK(sql_value(svc.pg_dsn, filenode) == before);
    CHECK(sql_value(svc.pg_dsn, "SELECT count(*) FROM " + table
                                    + " WHERE outboxd_status = 1 AND outboxd_id IS NULL")
          == "200");
    CHECK(sql_value(svc.pg_dsn, "SELECT count(*) FROM pg_index WHERE indrelid = '" + table
                                    + "'::regclass AND NOT indisvalid")
          == "0");

    sql(svc.pg_dsn, "INSERT INTO " + table
                        + " (id, aggregatetype, aggregateid, type, payload) SELECT "
                          "gen_random_uuid(), '"
                        + type
                        + "', 'order-' || g, 'OrderPaid', jsonb_build_object('n', g) FROM "
                          "generate_series(1, 5) g");
    {
        Daemon d({"-c", cfg, "run"});
        const bool sent = eventually(
            [&] {
                return sql_value(svc.pg_dsn, "SELECT count(*) FROM " + table
                                                 + " WHERE outboxd_status = 1 AND outboxd_id "
                                                   "IS NOT NULL")
                       == "5";
            },
            std::chrono::seconds(60));
        INFO(tail_of(d.log()));
        REQUIRE(sent);
        d.signal(SIGTERM);
        REQUIRE(d.wait(std::chrono::seconds(30)) == 0);
    }
    // Only the new rows went out; Debezium's 200 were not sent again.
    const auto messages = read_topic(svc.kafka_bootstrap, topic);
    CHECK(messages.size() == 5);
    for (const auto& m : messages) {
        CHECK(m.payload.value_or("").find("\"n\": ") != std::string::npos);
    }
}

TEST_CASE("layout debezium: migrate warns about rows deleted where they were inserted "
          "(remove-after-insert), which a poller never sees",
          "[debezium]") {
    const auto& svc = services();
    const std::string table = unique_name("dbz_removed");
    sql(svc.pg_dsn, "CREATE TABLE " + table
                        + " (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, "
                          "aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, "
                          "payload jsonb)");
    for (int i = 0; i < 20; ++i) {
        sql(svc.pg_dsn, "BEGIN; INSERT INTO " + table + " VALUES ('00000000-0000-4000-8000-"
                            + std::string(10, '0') + (i < 10 ? "0" : "") + std::to_string(i)
                            + "', 'Order', 'o', 'OrderCreated', '{}'); DELETE FROM " + table
                            + "; COMMIT");
    }
    const std::string cfg = scratch_path("dbz-removed") + ".yaml";
    std::ofstream(cfg) << "postgres:\n  dsn: \"" << svc.pg_dsn << "\"\n  table: " << table
                       << "\n  layout: debezium\nkafka:\n  bootstrap_servers: \""
                       << svc.kafka_bootstrap << "\"\n";
    // The statistics reach pg_stat_user_tables within a second or so; a
    // second migrate changes nothing else.
    std::string out;
    const bool warned = eventually(
        [&] {
            const auto r = run_outboxd({"-c", cfg, "migrate"});
            out = r.second;
            return r.first == 0 && out.find("remove-after-insert") != std::string::npos;
        },
        std::chrono::seconds(20));
    INFO(out);
    CHECK(warned);
}

TEST_CASE("layout debezium: after a crash the read-back finds rows already in the routed topic "
          "and never sends them twice",
          "[debezium]") {
    const auto& svc = services();
    const std::string table = unique_name("dbz_readback");
    const std::string type = "readback" + std::to_string(::getpid());
    const std::string topic = "outbox.event." + type;
    create_topic(svc.kafka_bootstrap, topic, 3, 1);
    sql(svc.pg_dsn, "CREATE TABLE " + table
                        + " (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, "
                          "aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, "
                          "payload jsonb)");
    const std::string cfg = scratch_path("dbz-readback") + ".yaml";
    std::ofstream(cfg) << "postgres:\n  dsn: \"" << svc.pg_dsn << "\"\n  table: " << table
                       << "\n  layout: debezium\nkafka:\n  bootstrap_servers: \""
                       << svc.kafka_bootstrap
                       << "\"\nrelay:\n  poll_interval_ms: 200\nhttp:\n  listen: \"127.0.0.1:0\"\n";
    REQUIRE(run_outboxd({"-c", cfg, "migrate"}).first == 0);
    sql(svc.pg_dsn, "INSERT INTO " + table
                        + " (id, aggregatetype, aggregateid, type, payload) SELECT "
                          "gen_random_uuid(), '"
                        + type
                        + "', 'order-' || g, 'OrderCreated', jsonb_build_object('n', g) FROM "
                          "generate_series(1, 10) g");
    // What a publisher that crashed before marking had already delivered:
    // rows 1-6 are in the topic, with outboxd's two headers.
    const std::string source =
        sql_value(svc.pg_dsn, "SELECT current_database()") + "/public." + table;
    std::vector<RawMessage> delivered;
    for (const auto& r : sql(svc.pg_dsn, "SELECT outboxd_id, aggregateid, id, payload::text FROM "
                                             + table + " WHERE outboxd_id <= 6 ORDER BY 1")) {
        delivered.push_back(
            RawMessage{r[1], r[3], {{"id", r[2]}, {"outbox-id", r[0]}, {"outbox-source", source}}});
    }
    REQUIRE(delivered.size() == 6);
    produce_raw(svc.kafka_bootstrap, topic, delivered);
    {
        Daemon d({"-c", cfg, "run"});
        const bool sent = eventually(
            [&] {
                return sql_value(svc.pg_dsn,
                                 "SELECT count(*) FROM " + table + " WHERE outboxd_status = 1")
                       == "10";
            },
            std::chrono::seconds(60));
        INFO(tail_of(d.log()));
        REQUIRE(sent);
        d.signal(SIGTERM);
        REQUIRE(d.wait(std::chrono::seconds(30)) == 0);
    }
    std::map<std::int64_t, int> copies;
    for (const auto& m : read_topic(svc.kafka_bootstrap, topic)) {
        ++copies[m.outbox_id];
    }
    CHECK(copies.size() == 10);
    for (const auto& [id, n] : copies) {
        INFO("outbox-id " << id);
        CHECK(n == 1);
    }
}
