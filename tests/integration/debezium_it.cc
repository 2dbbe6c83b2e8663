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
