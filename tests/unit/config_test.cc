// Configuration loading: defaults, every kind of problem, environment
// overrides, refusals, redaction, and the golden files under tests/data/config.
#include "config/config.h"
#include "config/options.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;
namespace outboxd::config {
namespace {

const std::string kRequired = "postgres:\n"
                              "  dsn: \"host=127.0.0.1 dbname=app\"\n"
                              "kafka:\n"
                              "  bootstrap_servers: \"127.0.0.1:9092\"\n";

LoadResult load(const std::string& yaml, const std::vector<std::string>& env = {}) {
    return load_config_text(yaml, "test.yaml", env);
}

// `extra` as the whole file, with the required keys supplied by the
// environment so `extra` may open any section.
LoadResult load_with(const std::string& extra, std::vector<std::string> env = {}) {
    env.push_back("OUTBOXD_POSTGRES_DSN=host=127.0.0.1 dbname=app");
    env.push_back("OUTBOXD_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092");
    return load(extra, env);
}

std::vector<std::string> formatted(const LoadResult& r) {
    std::vector<std::string> lines;
    for (const Problem& p : r.problems) {
        lines.push_back(format_problem(p));
    }
    return lines;
}

std::string joined(const LoadResult& r) {
    std::string text;
    for (const std::string& line : formatted(r)) {
        text += line + "\n";
    }
    return text;
}

// Exactly one problem, at `path`, whose message contains `fragment`.
void require_single_problem(const LoadResult& r,
                            const std::string& path,
                            const std::string& fragment) {
    INFO(joined(r));
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].path == path);
    CHECK_THAT(r.problems[0].message, Catch::Contains(fragment));
    CHECK_FALSE(r.config.has_value());
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::vector<std::string> read_lines(const fs::path& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    return lines;
}

fs::path data_dir() {
    return fs::path(OUTBOXD_TEST_DATA_DIR);
}

fs::path source_dir() {
#ifdef OUTBOXD_SOURCE_DIR
    return fs::path(OUTBOXD_SOURCE_DIR);
#else
    return data_dir().parent_path().parent_path(); // tests/data -> source root
#endif
}

// A fresh directory per call, removed by the destructor.
class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path_ = fs::temp_directory_path()
                / ("outboxd-config-test-" + std::to_string(::getpid()) + "-"
                   + std::to_string(++counter));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return path_; }
    fs::path write(const std::string& name, const std::string& text) const {
        const fs::path p = path_ / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p;
    }

private:
    fs::path path_;
};

std::vector<fs::path> yaml_files(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() == ".yaml") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

} // namespace

// --- the option table --------------------------------------------------------

TEST_CASE("option table: keys and environment names are unique and documented", "[unit][config]") {
    std::set<std::string> keys;
    std::set<std::string> envs;
    for (const Option& o : options()) {
        INFO(o.key);
        CHECK(keys.insert(o.key).second);
        CHECK(envs.insert(env_var_name(o.key)).second);
        CHECK_FALSE(o.description.empty());
        CHECK(o.description.find('\n') == std::string::npos);
        CHECK((o.store == nullptr) == (o.load == nullptr));
        CHECK(find_option(o.key) == &o);
        if (o.type == OptionType::kInt || o.type == OptionType::kDurationMs) {
            CHECK(o.min <= o.max);
        }
        if (o.type == OptionType::kDurationMs) {
            CHECK_THAT(o.key, Catch::EndsWith("_ms"));
        }
        CHECK((o.required || o.default_value.has_value() || o.key == "postgres.dsn_file"
               || o.key == "rabbitmq.url" || o.key == "rabbitmq.url_file"));
    }
    CHECK(find_option("relay.nope") == nullptr);
    CHECK(env_var_name("postgres.columns.key") == "OUTBOXD_POSTGRES_COLUMNS_KEY");
    CHECK(env_var_name("relay.max_attempts") == "OUTBOXD_RELAY_MAX_ATTEMPTS");
}

TEST_CASE("option table: exactly the agreed options are reloadable", "[unit][config]") {
    const std::set<std::string> reloadable = {
        "log.level",
        "log.format",
        "relay.batch_size",
        "relay.max_batch_bytes",
        "relay.poll_interval_ms",
        "relay.max_attempts",
        "relay.retry_backoff_initial_ms",
        "relay.retry_backoff_max_ms",
        "relay.rescan_interval_ms",
        "leader.retry_interval_ms",
        "http.stall_timeout_ms",
        "http.stats_interval_ms",
        "http.tokens_file",
        "retention.sent_max_age_ms",
        "retention.batch_size",
        "retention.interval_ms",
        "confirm.deadline_ms",
        "confirm.resend_unconfirmed",
        "confirm.max_resends",
        "confirm.interval_ms",
        "confirm.batch_size",
    };
    for (const Option& o : options()) {
        INFO(o.key);
        CHECK(o.reloadable == (reloadable.count(o.key) == 1));
    }
}

TEST_CASE("option table: bounds are the documented ones", "[unit][config]") {
    struct Bound {
        const char* key;
        std::int64_t min, max;
        const char* def;
    };
    const Bound bounds[] = {
        {"relay.batch_size", 1, 100000, "500"},
        {"relay.poll_interval_ms", 10, 3600000, "1000"},
        {"relay.max_attempts", 1, 1000, "5"},
        {"relay.retry_backoff_initial_ms", 1, 86400000, "1000"},
        {"relay.retry_backoff_max_ms", 1, 86400000, "60000"},
        {"relay.shutdown_timeout_ms", 0, 3600000, "10000"},
        {"relay.max_in_flight", 1, 1000000, "10000"},
        {"relay.rescan_interval_ms", 100, 3600000, "5000"},
    };
    for (const Bound& b : bounds) {
        INFO(b.key);
        const Option* o = find_option(b.key);
        REQUIRE(o != nullptr);
        CHECK(o->min == b.min);
        CHECK(o->max == b.max);
        CHECK(o->default_value == std::optional<std::string>(b.def));
    }
}

// --- defaults ----------------------------------------------------------------

TEST_CASE("defaults: only the required keys gives config.h's defaults", "[unit][config]") {
    const LoadResult r = load(kRequired);
    INFO(joined(r));
    REQUIRE(r.problems.empty());
    REQUIRE(r.config);
    const Config& c = *r.config;
    CHECK(c.postgres.dsn == "host=127.0.0.1 dbname=app");
    CHECK(c.postgres.schema == "public");
    CHECK(c.postgres.table == "outbox");
    CHECK(c.postgres.notify_channel == "outbox");
    CHECK(c.postgres.columns.key == "msg_key");
    CHECK(c.postgres.columns.next_attempt_at == "next_attempt_at");
    CHECK(c.kafka.bootstrap_servers == "127.0.0.1:9092");
    CHECK_FALSE(c.kafka.require_durable_topics);
    CHECK(c.kafka.audit_topics.empty());
    CHECK(c.kafka.properties.empty());
    CHECK(c.relay.batch_size == 500);
    CHECK(c.relay.poll_interval == std::chrono::milliseconds(1000));
    CHECK(c.relay.max_attempts == 5);
    CHECK(c.relay.retry_backoff_initial == std::chrono::milliseconds(1000));
    CHECK(c.relay.retry_backoff_max == std::chrono::milliseconds(60000));
    CHECK(c.relay.shutdown_timeout == std::chrono::milliseconds(10000));
    CHECK(c.relay.max_in_flight == 10000);
    CHECK(c.relay.rescan_interval == std::chrono::milliseconds(5000));
    CHECK(c.log.level == "info");
    CHECK(c.log.format == LogFormat::kText);
}

TEST_CASE("defaults: the table's defaults equal the Config struct's initialisers",
          "[unit][config]") {
    // The loader applies the table's defaults; this keeps config.h honest.
    const LoadResult r = load(kRequired);
    REQUIRE(r.config);
    const Config initial;
    for (const Option& o : options()) {
        if (o.load == nullptr || o.required) {
            continue;
        }
        INFO(o.key);
        CHECK(o.load(*r.config) == o.load(initial));
    }
}

TEST_CASE("defaults: empty file and empty sections are fine", "[unit][config]") {
    const LoadResult empty =
        load("", {"OUTBOXD_POSTGRES_DSN=host=x", "OUTBOXD_KAFKA_BOOTSTRAP_SERVERS=k:1"});
    INFO(joined(empty));
    CHECK(empty.problems.empty());
    const LoadResult sections = load_with("relay:\nlog:\n");
    INFO(joined(sections));
    CHECK(sections.problems.empty());
}

// --- values --------------------------------------------------------------------

TEST_CASE("values: every type is read and stored", "[unit][config]") {
    const LoadResult r = load(R"(
postgres:
  dsn: "host=db"
  table: billing.events
  notify_channel: ""
  columns: {id: seq, key: k}
kafka:
  bootstrap_servers: "a:1,b:2"
  require_durable_topics: True
  audit_topics: [orders, payments.v2]
  properties:
    linger.ms: 5
    enable.idempotence: true
    compression.type: lz4
    some.ratio: 1.5
    client.id: ""
relay:
  batch_size: 100000
  max_in_flight: 100000
  poll_interval_ms: 10
  shutdown_timeout_ms: 0
log:
  level: trace
  format: json
)");
    INFO(joined(r));
    REQUIRE(r.config);
    const Config& c = *r.config;
    CHECK(c.postgres.schema == "billing");
    CHECK(c.postgres.table == "events");
    CHECK(c.postgres.notify_channel.empty());
    CHECK(c.postgres.columns.id == "seq");
    CHECK(c.postgres.columns.key == "k");
    CHECK(c.postgres.columns.topic == "topic");
    CHECK(c.kafka.require_durable_topics);
    CHECK(c.kafka.audit_topics == std::vector<std::string>{"orders", "payments.v2"});
    CHECK(c.kafka.properties.at("linger.ms") == "5");
    CHECK(c.kafka.properties.at("enable.idempotence") == "true");
    CHECK(c.kafka.properties.at("compression.type") == "lz4");
    CHECK(c.kafka.properties.at("some.ratio") == "1.5");
    CHECK(c.kafka.properties.at("client.id").empty());
    CHECK(c.relay.batch_size == 100000);
    CHECK(c.relay.max_in_flight == 100000);
    CHECK(c.relay.poll_interval == std::chrono::milliseconds(10));
    CHECK(c.relay.shutdown_timeout == std::chrono::milliseconds(0));
    CHECK(c.log.level == "trace");
    CHECK(c.log.format == LogFormat::kJson);
}

TEST_CASE("values: a table name without schema uses public; the first dot splits",
          "[unit][config]") {
    auto table = [](const std::string& text) {
        return load("postgres:\n  dsn: host=x\n  table: \"" + text
                    + "\"\nkafka:\n  bootstrap_servers: k\n");
    };
    const LoadResult plain = table("events");
    REQUIRE(plain.config);
    CHECK(plain.config->postgres.schema == "public");
    CHECK(plain.config->postgres.table == "events");
    const LoadResult dotted = table("a.b.c");
    REQUIRE(dotted.config);
    CHECK(dotted.config->postgres.schema == "a");
    CHECK(dotted.config->postgres.table == "b.c");
    const LoadResult odd = table("Odd Schema.Table \\\"x\\\"");
    INFO(joined(odd));
    REQUIRE(odd.config); // quoting happens in SQL, so any character but NUL is fine
    CHECK(odd.config->postgres.schema == "Odd Schema");
    CHECK(odd.config->postgres.table == "Table \"x\"");
    CHECK_THAT(joined(table(".x")), Catch::Contains("schema part must not be empty"));
    CHECK_THAT(joined(table("x.")), Catch::Contains("table part must not be empty"));
    CHECK_THAT(joined(table("")), Catch::Contains("table name must not be empty"));
    CHECK_THAT(joined(table(std::string(64, 't'))), Catch::Contains("at most 63 bytes"));
    CHECK(table(std::string(63, 's') + "." + std::string(63, 't')).config);
    CHECK_THAT(joined(table("a\\0b")), Catch::Contains("NUL"));
}

// --- type errors ----------------------------------------------------------------

TEST_CASE("type errors: each type names what it wanted and what it got", "[unit][config]") {
    SECTION("string given a list, a mapping, or null") {
        require_single_problem(load("postgres:\n  dsn: [a]\nkafka:\n  bootstrap_servers: k\n"),
                               "postgres.dsn", "must be a string (got a list)");
        require_single_problem(
            load("postgres:\n  dsn: host=x\n  table: {a: 1}\nkafka:\n  bootstrap_servers: k\n"),
            "postgres.table", "must be a string (got a mapping)");
        require_single_problem(
            load("postgres:\n  dsn: host=x\n  notify_channel:\nkafka:\n  bootstrap_servers: k\n"),
            "postgres.notify_channel", "must be a string (got null; write \"\" for empty)");
        require_single_problem(load("postgres:\n  dsn:\nkafka:\n  bootstrap_servers: k\n"),
                               "postgres.dsn", "must be a string (got null)");
    }
    SECTION("bool") {
        require_single_problem(load_with("kafka:\n  require_durable_topics: yes\n"),
                               "kafka.require_durable_topics",
                               "must be true or false (got \"yes\")");
        require_single_problem(load_with("kafka:\n  require_durable_topics: \"true\"\n"),
                               "kafka.require_durable_topics", "remove the quotes");
        require_single_problem(load_with("kafka:\n  require_durable_topics: 1\n"),
                               "kafka.require_durable_topics", "must be true or false");
    }
    SECTION("int") {
        require_single_problem(load_with("relay:\n  batch_size: lots\n"), "relay.batch_size",
                               "must be an integer (got \"lots\")");
        require_single_problem(load_with("relay:\n  batch_size: 2.5\n"), "relay.batch_size",
                               "must be an integer");
        require_single_problem(load_with("relay:\n  batch_size: \"500\"\n"), "relay.batch_size",
                               "(got the string \"500\"; remove the quotes)");
        require_single_problem(load_with("relay:\n  batch_size: 0x10\n"), "relay.batch_size",
                               "must be an integer");
        require_single_problem(load_with("relay:\n  batch_size: [1]\n"), "relay.batch_size",
                               "must be an integer (got a list)");
        require_single_problem(load_with("relay:\n  batch_size:\n"), "relay.batch_size",
                               "must be an integer (got null)");
    }
    SECTION("duration in milliseconds") {
        require_single_problem(load_with("relay:\n  poll_interval_ms: 5s\n"),
                               "relay.poll_interval_ms",
                               "must be a whole number of milliseconds (got \"5s\")");
    }
    SECTION("enum") {
        require_single_problem(load_with("log:\n  level: INFO\n"), "log.level",
                               "must be one of trace, debug, info, warn, error (got \"INFO\")");
        require_single_problem(load_with("log:\n  format: [json]\n"), "log.format",
                               "must be one of text, json (got a list)");
    }
    SECTION("list") {
        require_single_problem(load_with("kafka:\n  audit_topics: orders\n"), "kafka.audit_topics",
                               "must be a list of strings (got \"orders\")");
        require_single_problem(load_with("kafka:\n  audit_topics: [a, [b]]\n"),
                               "kafka.audit_topics[1]", "must be a string (got a list)");
        require_single_problem(load_with("kafka:\n  audit_topics: [\"has space\"]\n"),
                               "kafka.audit_topics[0]", "valid Kafka topic name");
        CHECK(load_with("kafka:\n  audit_topics:\n").config);
    }
    SECTION("map") {
        require_single_problem(load_with("kafka:\n  properties: 5\n"), "kafka.properties",
                               "must be a mapping of property names to values (got \"5\")");
        require_single_problem(load_with("kafka:\n  properties:\n    linger.ms: {a: 1}\n"),
                               "kafka.properties.linger.ms",
                               "must be a single value (got a mapping)");
        require_single_problem(load_with("kafka:\n  properties:\n    linger.ms:\n"),
                               "kafka.properties.linger.ms", "must be a single value (got null)");
        require_single_problem(
            load_with("kafka:\n  properties:\n    linger.ms: 1\n    linger.ms: 2\n"),
            "kafka.properties.linger.ms", "duplicate key (first set at line 3)");
    }
    SECTION("section") {
        require_single_problem(load_with("relay: 5\n"), "relay", "must be a mapping (got \"5\")");
        require_single_problem(load("postgres:\n  dsn: host=x\nkafka: [a]\n"), "kafka",
                               "must be a mapping (got a list)");
    }
    SECTION("document") {
        require_single_problem(load("- a\n- b\n"), "", "must be a YAML mapping (got a list)");
        require_single_problem(load("just text\n"), "",
                               "must be a YAML mapping (got \"just text\")");
        require_single_problem(load(kRequired + "---\n" + kRequired), "",
                               "one YAML document, found 2");
    }
}

TEST_CASE("type errors: a secret value is never echoed", "[unit][config]") {
    const LoadResult r = load("postgres:\n  dsn: \"\"\nkafka:\n  bootstrap_servers: k\n");
    require_single_problem(r, "postgres.dsn", "must not be empty");
    const LoadResult env = load(kRequired, {"OUTBOXD_POSTGRES_DSN="});
    require_single_problem(env, "OUTBOXD_POSTGRES_DSN", "must not be empty");
}

// --- ranges --------------------------------------------------------------------

TEST_CASE("ranges: every bounded option accepts its bounds and rejects beyond them",
          "[unit][config]") {
    for (const Option& o : options()) {
        if (o.type != OptionType::kInt && o.type != OptionType::kDurationMs) {
            continue;
        }
        const std::string section = o.key.substr(0, o.key.find('.'));
        const std::string leaf = o.key.substr(o.key.find('.') + 1);
        auto at = [&](const std::string& value) {
            return load_with(section + ":\n  " + leaf + ": " + value + "\n");
        };
        auto range_problem = [&](const LoadResult& r) {
            return std::any_of(r.problems.begin(), r.problems.end(), [&](const Problem& p) {
                return p.path == o.key && p.message.find("must be between") == 0;
            });
        };
        INFO(o.key);
        CHECK_FALSE(range_problem(at(std::to_string(o.min))));
        CHECK_FALSE(range_problem(at(std::to_string(o.max))));
        if (o.min == INT64_MIN || o.max == INT64_MAX) {
            continue; // the whole int64 range: nothing lies beyond it
        }
        const LoadResult below = at(std::to_string(o.min - 1));
        CHECK(range_problem(below));
        CHECK(joined(below).find("(got " + std::to_string(o.min - 1) + ")") != std::string::npos);
        CHECK(range_problem(at(std::to_string(o.max + 1))));
        CHECK(range_problem(at("99999999999999999999999")));
        CHECK(range_problem(at("-99999999999999999999999")));
    }
    require_single_problem(load_with("relay:\n  batch_size: 0\n"), "relay.batch_size",
                           "must be between 1 and 100000 (got 0)");
}

// --- cross-field checks -------------------------------------------------------

TEST_CASE("cross-field: retry_backoff_max_ms must be at least the initial delay",
          "[unit][config]") {
    require_single_problem(
        load_with("relay:\n  retry_backoff_initial_ms: 10000\n  retry_backoff_max_ms: 5000\n"),
        "relay.retry_backoff_max_ms",
        "must be at least relay.retry_backoff_initial_ms = 10000 (got 5000)");
    // Only the initial delay given: the default cap is what it breaks.
    require_single_problem(load_with("relay:\n  retry_backoff_initial_ms: 120000\n"),
                           "relay.retry_backoff_initial_ms",
                           "must be at most relay.retry_backoff_max_ms = 60000, its default");
    CHECK(load_with("relay:\n  retry_backoff_initial_ms: 7\n  retry_backoff_max_ms: 7\n").config);
    // A bad operand is reported once, not again by the comparison.
    require_single_problem(
        load_with("relay:\n  retry_backoff_initial_ms: abc\n  retry_backoff_max_ms: 5\n"),
        "relay.retry_backoff_initial_ms", "must be a whole number");
}

TEST_CASE("cross-field: max_in_flight must be at least batch_size", "[unit][config]") {
    require_single_problem(load_with("relay:\n  batch_size: 1000\n  max_in_flight: 999\n"),
                           "relay.max_in_flight",
                           "must be at least relay.batch_size = 1000 (got 999)");
    require_single_problem(load_with("relay:\n  batch_size: 20000\n"), "relay.batch_size",
                           "must be at most relay.max_in_flight = 10000, its default (got 20000)");
    CHECK(load_with("relay:\n  batch_size: 1000\n  max_in_flight: 1000\n").config);
    // From the environment, the variable is named.
    require_single_problem(
        load_with("relay:\n  batch_size: 1000\n", {"OUTBOXD_RELAY_MAX_IN_FLIGHT=10"}),
        "OUTBOXD_RELAY_MAX_IN_FLIGHT", "must be at least relay.batch_size");
}

TEST_CASE("byte budgets: defaults, bounds, and in-flight at least the batch", "[unit][config]") {
    const Config defaults = *load(kRequired).config;
    CHECK(defaults.relay.max_batch_bytes == 4 * 1024 * 1024);
    CHECK(defaults.relay.max_in_flight_bytes == 8 * 1024 * 1024);
    const auto loaded =
        load_with("relay:\n  max_batch_bytes: 65536\n  max_in_flight_bytes: 1048576\n");
    REQUIRE(loaded.config);
    CHECK(loaded.config->relay.max_batch_bytes == 65536);
    CHECK(loaded.config->relay.max_in_flight_bytes == 1048576);
    require_single_problem(
        load_with("relay:\n  max_batch_bytes: 2000000\n  max_in_flight_bytes: 1999999\n"),
        "relay.max_in_flight_bytes",
        "must be at least relay.max_batch_bytes = 2000000 (got 1999999)");
    require_single_problem(load_with("relay:\n  max_batch_bytes: 67108864\n"),
                           "relay.max_batch_bytes",
                           "must be at most relay.max_in_flight_bytes = 8388608, its default "
                           "(got 67108864)");
    require_single_problem(load_with("relay:\n  max_batch_bytes: 1000\n"), "relay.max_batch_bytes",
                           "must be between 1024 and 1073741824 (got 1000)");
    require_single_problem(
        load_with("relay:\n  max_batch_bytes: 65536\n", {"OUTBOXD_RELAY_MAX_IN_FLIGHT_BYTES=4096"}),
        "OUTBOXD_RELAY_MAX_IN_FLIGHT_BYTES", "must be at least relay.max_batch_bytes");
}

TEST_CASE("cross-field: two roles cannot share a column", "[unit][config]") {
    require_single_problem(load_with("postgres:\n  columns:\n    attempts: status\n"),
                           "postgres.columns.attempts",
                           "same column as postgres.columns.status (\"status\")");
    // Swapping two names is fine.
    CHECK(load_with("postgres:\n  columns:\n    id: topic\n    topic: id\n").config);
}

TEST_CASE("cross-field: exactly one of dsn and dsn_file", "[unit][config]") {
    require_single_problem(load("kafka:\n  bootstrap_servers: k\n"), "postgres.dsn", "is required");
    require_single_problem(
        load(
            "postgres:\n  dsn: host=x\n  dsn_file: /nonexistent\nkafka:\n  bootstrap_servers: k\n"),
        "postgres.dsn_file", "set either postgres.dsn or postgres.dsn_file, not both");
    require_single_problem(load(kRequired, {"OUTBOXD_POSTGRES_DSN_FILE=/x"}),
                           "OUTBOXD_POSTGRES_DSN_FILE",
                           "set either postgres.dsn or postgres.dsn_file, not both");
    require_single_problem(load("postgres:\n  dsn_file: /x\nkafka:\n  bootstrap_servers: k\n",
                                {"OUTBOXD_POSTGRES_DSN=host=y"}),
                           "postgres.dsn_file",
                           "not both (postgres.dsn is set by OUTBOXD_POSTGRES_DSN)");
}

TEST_CASE("dsn_file: read, trimmed, relative to the config file", "[unit][config]") {
    TempDir dir;
    dir.write("secrets/dsn", "\n  host=db password=p  \n\n");
    const fs::path config =
        dir.write("conf/../outboxd.yaml",
                  "postgres:\n  dsn_file: secrets/dsn\nkafka:\n  bootstrap_servers: k\n");
    const LoadResult r = load_config(config.string(), {});
    INFO(joined(r));
    REQUIRE(r.config);
    CHECK(r.config->postgres.dsn == "host=db password=p");

    SECTION("absolute path") {
        const LoadResult abs =
            load("postgres:\n  dsn_file: \"" + (dir.path() / "secrets/dsn").string()
                 + "\"\nkafka:\n  bootstrap_servers: k\n");
        REQUIRE(abs.config);
        CHECK(abs.config->postgres.dsn == "host=db password=p");
    }
    SECTION("from the environment") {
        const LoadResult env =
            load("kafka:\n  bootstrap_servers: k\n",
                 {"OUTBOXD_POSTGRES_DSN_FILE=" + (dir.path() / "secrets/dsn").string()});
        REQUIRE(env.config);
        CHECK(env.config->postgres.dsn == "host=db password=p");
    }
    SECTION("missing, empty, a directory") {
        dir.write("empty", " \n\t\n");
        const LoadResult missing = load_config(
            dir.write("m.yaml", "postgres:\n  dsn_file: nope\nkafka:\n  bootstrap_servers: k\n")
                .string(),
            {});
        require_single_problem(missing, "postgres.dsn_file", "No such file or directory");
        const LoadResult empty = load_config(
            dir.write("e.yaml", "postgres:\n  dsn_file: empty\nkafka:\n  bootstrap_servers: k\n")
                .string(),
            {});
        require_single_problem(empty, "postgres.dsn_file", "is empty");
        const LoadResult directory = load_config(
            dir.write("d.yaml", "postgres:\n  dsn_file: secrets\nkafka:\n  bootstrap_servers: k\n")
                .string(),
            {});
        require_single_problem(directory, "postgres.dsn_file", "cannot read");
    }
}

// --- unknown keys --------------------------------------------------------------

TEST_CASE("unknown keys: rejected, with a hint when one is close", "[unit][config]") {
    require_single_problem(load_with("relay:\n  batch_sise: 1\n"), "relay.batch_sise",
                           "unknown key (did you mean relay.batch_size?)");
    require_single_problem(load_with("relay:\n  max_attempst: 1\n"), "relay.max_attempst",
                           "did you mean relay.max_attempts?"); // a swap is one edit
    require_single_problem(load_with("relays:\n  batch_size: 1\n"), "relays",
                           "unknown key (did you mean relay?)");
    require_single_problem(load_with("postgres:\n  colums: {}\n"), "postgres.colums",
                           "did you mean postgres.columns?");
    require_single_problem(load_with("postgres:\n  columns:\n    msg_key: k\n"),
                           "postgres.columns.msg_key", "unknown key");
    const LoadResult far = load_with("metrics:\n  port: 9100\n");
    require_single_problem(far, "metrics", "unknown key");
    CHECK(far.problems[0].message == "unknown key");
    require_single_problem(load("relay.batch_size: 1\n" + kRequired), "relay.batch_size",
                           "not as dotted keys");
    require_single_problem(load_with("relay:\n  batch_size: 1\n  batch_size: 2\n"),
                           "relay.batch_size", "duplicate key (first set at line 2)");
}

// --- YAML syntax -----------------------------------------------------------------

TEST_CASE("YAML syntax errors carry line and column", "[unit][config]") {
    const LoadResult r = load("postgres:\n  dsn: host=x\nkafka: [1, 2\n");
    INFO(joined(r));
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].path.empty());
    CHECK_THAT(r.problems[0].message, Catch::StartsWith("YAML syntax error at line "));
    CHECK_THAT(r.problems[0].message, Catch::Contains(", column "));
    // The file is unusable, but the environment is still checked.
    const LoadResult both = load("a: b: c\n", {"OUTBOXD_NOPE=1"});
    REQUIRE(both.problems.size() == 2);
    CHECK(format_problem(both.problems[0])
          == "YAML syntax error at line 1, column 5: illegal map value");
    CHECK(both.problems[1].path == "OUTBOXD_NOPE");
}

TEST_CASE("load_config: an unreadable file is a problem, not an exception", "[unit][config]") {
    const LoadResult r = load_config("/nonexistent/outboxd.yaml", {});
    require_single_problem(r, "/nonexistent/outboxd.yaml",
                           "cannot read the configuration file: No such file or directory");
    TempDir dir;
    const LoadResult d = load_config(dir.path().string(), {});
    require_single_problem(d, dir.path().string(), "cannot read the configuration file");
}

TEST_CASE("never throws: truncated and mangled files only produce problems", "[unit][config]") {
    const std::string full = read_text(data_dir() / "config/valid/full.yaml");
    REQUIRE_FALSE(full.empty());
    for (std::size_t cut = 0; cut < full.size(); cut += 7) {
        std::string text = full.substr(0, cut);
        CHECK_NOTHROW(load(text));
        if (cut < full.size()) {
            text = full;
            text[cut] = "\t:[{\"'&*!|>%@`"[cut % 14];
            CHECK_NOTHROW(load(text));
        }
    }
    CHECK_NOTHROW(load(std::string("\0\xff\xfe", 3)));
    CHECK_NOTHROW(load("&a [*a]\n"));
    CHECK_NOTHROW(load("relay: &r {batch_size: 5}\nlog: *r\n"));
}

// --- many problems at once ---------------------------------------------------

TEST_CASE("many problems: all reported together, in file order, then whole-file checks",
          "[unit][config]") {
    const LoadResult r = load(R"(
log:
  level: loud
relay:
  batch_size: 0
  retry_backoff_initial_ms: 5000
  retry_backoff_max_ms: 1000
  bogus: 1
postgres:
  table: ".x"
kafka:
  properties:
    acks: 1
)",
                              {"OUTBOXD_RELAY_MAX_ATTEMPTS=zero", "OUTBOXD_LOG_COLOUR=1"});
    const std::vector<std::string> expected = {
        "log.level: must be one of trace, debug, info, warn, error (got \"loud\")",
        "relay.batch_size: must be between 1 and 100000 (got 0)",
        "relay.bogus: unknown key",
        "postgres.table: schema part must not be empty (write \"schema.table\" or \"table\")",
        "kafka.properties.acks: refused: outboxd requires acks=all (or -1) so that a row is "
        "marked sent only once every in-sync replica has it (got \"1\")",
        "OUTBOXD_LOG_COLOUR: unknown variable",
        "OUTBOXD_RELAY_MAX_ATTEMPTS: must be an integer (got \"zero\")",
        "postgres.dsn: is required (set postgres.dsn or postgres.dsn_file in the file, or "
        "OUTBOXD_POSTGRES_DSN or OUTBOXD_POSTGRES_DSN_FILE)",
        "kafka.bootstrap_servers: is required (set it in the file or with "
        "OUTBOXD_KAFKA_BOOTSTRAP_SERVERS)",
        "relay.retry_backoff_max_ms: must be at least relay.retry_backoff_initial_ms = 5000 "
        "(got 1000)",
    };
    CHECK(formatted(r) == expected);
    CHECK_FALSE(r.config);
}

// --- environment -----------------------------------------------------------------

TEST_CASE("environment: overrides every kind of option", "[unit][config]") {
    const LoadResult r = load("postgres:\n  dsn: file-dsn\nrelay:\n  batch_size: 7\n",
                              {
                                  "PATH=/usr/bin",
                                  "OUTBOXD_POSTGRES_DSN=host=env",
                                  "OUTBOXD_KAFKA_BOOTSTRAP_SERVERS=a:1,b:2",
                                  "OUTBOXD_RELAY_BATCH_SIZE=50",
                                  "OUTBOXD_RELAY_POLL_INTERVAL_MS=20",
                                  "OUTBOXD_KAFKA_REQUIRE_DURABLE_TOPICS=true",
                                  "OUTBOXD_KAFKA_AUDIT_TOPICS= orders, ,payments ",
                                  "OUTBOXD_POSTGRES_COLUMNS_KEY=aggregate_id",
                                  "OUTBOXD_POSTGRES_TABLE=app.outbox",
                                  "OUTBOXD_POSTGRES_NOTIFY_CHANNEL=",
                                  "OUTBOXD_LOG_FORMAT=json",
                                  "OUTBOXD_CONFIG=/etc/outboxd.yaml",
                                  "OUTBOXD_TEST_ANYTHING=1",
                                  "NOT_AN_ASSIGNMENT",
                              });
    INFO(joined(r));
    REQUIRE(r.config);
    const Config& c = *r.config;
    CHECK(c.postgres.dsn == "host=env"); // the environment wins over the file
    CHECK(c.kafka.bootstrap_servers == "a:1,b:2");
    CHECK(c.relay.batch_size == 50);
    CHECK(c.relay.poll_interval == std::chrono::milliseconds(20));
    CHECK(c.kafka.require_durable_topics);
    CHECK(c.kafka.audit_topics == std::vector<std::string>{"orders", "payments"});
    CHECK(c.postgres.columns.key == "aggregate_id");
    CHECK(c.postgres.schema == "app");
    CHECK(c.postgres.table == "outbox");
    CHECK(c.postgres.notify_channel.empty());
    CHECK(c.log.format == LogFormat::kJson);
}

TEST_CASE("environment: kafka properties one variable each, merged over the file",
          "[unit][config]") {
    const LoadResult r =
        load_with("kafka:\n  properties:\n    linger.ms: 5\n    sasl.username: u\n",
                  {"OUTBOXD_KAFKA_PROPERTY_SASL_PASSWORD=hunter2",
                   "OUTBOXD_KAFKA_PROPERTY_LINGER_MS=10", "OUTBOXD_KAFKA_PROPERTY_ACKS=all"});
    INFO(joined(r));
    REQUIRE(r.config);
    const std::map<std::string, std::string> expected = {
        {"acks", "all"}, {"linger.ms", "10"}, {"sasl.password", "hunter2"}, {"sasl.username", "u"}};
    CHECK(r.config->kafka.properties == expected);
}

TEST_CASE("environment: bad values and unknown variables name the variable", "[unit][config]") {
    require_single_problem(load_with("", {"OUTBOXD_RELAY_MAX_ATTEMPTS=0"}),
                           "OUTBOXD_RELAY_MAX_ATTEMPTS", "must be between 1 and 1000 (got 0)");
    require_single_problem(load_with("", {"OUTBOXD_RELAY_MAX_ATTEMPTS=five"}),
                           "OUTBOXD_RELAY_MAX_ATTEMPTS", "must be an integer (got \"five\")");
    require_single_problem(load_with("", {"OUTBOXD_KAFKA_REQUIRE_DURABLE_TOPICS=yes"}),
                           "OUTBOXD_KAFKA_REQUIRE_DURABLE_TOPICS", "must be true or false");
    require_single_problem(load_with("", {"OUTBOXD_LOG_LEVEL=verbose"}), "OUTBOXD_LOG_LEVEL",
                           "must be one of trace, debug, info, warn, error");
    require_single_problem(load_with("", {"OUTBOXD_KAFKA_AUDIT_TOPICS=ok,not ok"}),
                           "OUTBOXD_KAFKA_AUDIT_TOPICS", "item \"not ok\" must be a valid Kafka");
    require_single_problem(load_with("", {"OUTBOXD_POSTGRES_TABLE=x."}), "OUTBOXD_POSTGRES_TABLE",
                           "table part must not be empty");
    require_single_problem(load_with("", {"OUTBOXD_RELAY_BATCHSIZE=5"}), "OUTBOXD_RELAY_BATCHSIZE",
                           "unknown variable (did you mean OUTBOXD_RELAY_BATCH_SIZE?)");
    require_single_problem(load_with("", {"OUTBOXD_POSTGRES_COLUMNS_MSG_KEY=k"}),
                           "OUTBOXD_POSTGRES_COLUMNS_MSG_KEY", "unknown variable");
    require_single_problem(load_with("", {"OUTBOXD_KAFKA_PROPERTIES=acks=all"}),
                           "OUTBOXD_KAFKA_PROPERTIES",
                           "set one OUTBOXD_KAFKA_PROPERTY_<NAME> per property");
    require_single_problem(load_with("", {"OUTBOXD_KAFKA_PROPERTY_=x"}), "OUTBOXD_KAFKA_PROPERTY_",
                           "property name must not be empty");
    require_single_problem(load_with("", {"OUTBOXD_KAFKA_PROPERTY_ACKS=1"}),
                           "OUTBOXD_KAFKA_PROPERTY_ACKS", "refused: outboxd requires acks=all");
    // Several variables: sorted by name so the report is stable.
    const LoadResult r = load_with("", {"OUTBOXD_Z=1", "OUTBOXD_A=1"});
    REQUIRE(r.problems.size() == 2);
    CHECK(r.problems[0].path == "OUTBOXD_A");
    CHECK(r.problems[1].path == "OUTBOXD_Z");
}

TEST_CASE("environment: every option except the property map has its variable", "[unit][config]") {
    for (const Option& o : options()) {
        if (o.type == OptionType::kStringMap || o.key == "postgres.dsn_file"
            || o.key == "rabbitmq.url_file") {
            continue;
        }
        INFO(o.key);
        const std::string value = o.key == "postgres.dsn"              ? "host=x"
                                  : o.key == "rabbitmq.url"            ? "amqp://h"
                                  : o.key == "kafka.bootstrap_servers" ? "x"
                                  : o.default_value                    ? *o.default_value
                                                                       : "x";
        const LoadResult r = load(kRequired, {env_var_name(o.key) + "=" + value});
        INFO(joined(r));
        CHECK(r.problems.empty());
    }
}

// --- kafka.properties refusals -------------------------------------------------

TEST_CASE("kafka.properties: settings that weaken delivery are refused", "[unit][config]") {
    struct Case {
        const char* key;
        const char* value;
        const char* fragment; // empty: accepted
    };
    const Case cases[] = {
        {"acks", "1", "refused: outboxd requires acks=all (or -1)"},
        {"acks", "0", "refused"},
        {"acks", "all", ""},
        {"acks", "ALL", ""},
        {"acks", "-1", ""},
        {"request.required.acks", "1", "refused: outboxd requires request.required.acks=all"},
        {"request.required.acks", "all", ""},
        {"enable.idempotence", "false", "refused: outboxd requires enable.idempotence=true"},
        {"enable.idempotence", "0", "refused"},
        {"enable.idempotence", "true", ""},
        {"transactional.id", "x", "refused: transactional producers are not supported yet"},
        {"bootstrap.servers", "a:1", "refused: set kafka.bootstrap_servers instead"},
        {"metadata.broker.list", "a:1", "refused: set kafka.bootstrap_servers instead"},
        {"message.timeout.ms", "0", ""}, // timeouts are transient for outboxd, so allowed
        {"enable.gapless.guarantee", "false", ""},
        {"linger.ms", "5", ""},
    };
    for (const Case& c : cases) {
        INFO(c.key << "=" << c.value);
        const LoadResult r =
            load_with(std::string("kafka:\n  properties:\n    ") + c.key + ": " + c.value + "\n");
        if (*c.fragment == '\0') {
            CHECK(r.problems.empty());
        } else {
            require_single_problem(r, std::string("kafka.properties.") + c.key, c.fragment);
        }
    }
}

// --- redaction -------------------------------------------------------------------

TEST_CASE("redact_dsn: libpq parses it; every password it would read is hidden", "[unit][config]") {
    // Rebuilt as keyword='value' in libpq's keyword order (user, password,
    // ..., dbname, host, port, ...).
    CHECK(redact_dsn("host=db user=u password=secret dbname=app")
          == "user='u' password=***** dbname='app' host='db'");
    CHECK(redact_dsn("password=secret") == "password=*****");
    CHECK(redact_dsn("host=db password = 'se cr\\'et' port=5432")
          == "password=***** host='db' port='5432'");
    CHECK(redact_dsn("host=db password='' port=1") == "password=***** host='db' port='1'");
    CHECK(redact_dsn("host=db sslpassword=keypass sslkey=/k.pem")
          == "host='db' sslkey='/k.pem' sslpassword=*****");
    CHECK(redact_dsn("host=db passfile=/x application_name='a b'")
          == "passfile='/x' host='db' application_name='a b'");
    CHECK(redact_dsn("host=db user=password") == "user='password' host='db'");
    CHECK(redact_dsn("host=db dbname=app") == "dbname='app' host='db'");
    // libpq cannot parse these: nothing of them is shown.
    CHECK(redact_dsn("host=db password='unterminated") == "*****");
    CHECK(redact_dsn("host=db garbage password secret") == "*****");
    CHECK(redact_dsn("host=db passwrd=typo") == "*****");
    CHECK(redact_dsn("") == "");
    CHECK(redact_dsn("postgresql://user:pass@host/db")
          == "user='user' password=***** dbname='db' host='host'");
    // Percent escapes are decoded by libpq before the value is dropped.
    CHECK(redact_dsn("postgres://user:p%40ss@h1:5432,h2/db?sslmode=require")
          == "user='user' password=***** dbname='db' host='h1,h2' port='5432,' sslmode='require'");
    CHECK(redact_dsn("postgresql://user@host/db") == "user='user' dbname='db' host='host'");
    CHECK(redact_dsn("postgresql://host/db?user=u&password=secret&sslmode=require")
          == "user='u' password=***** dbname='db' host='host' sslmode='require'");
    CHECK(redact_dsn("postgresql://host/db?pass%77ord=secret")
          == "password=***** dbname='db' host='host'");
    CHECK(redact_dsn("postgresql:///db") == "dbname='db'");
    for (const char* dsn : {"host=db password=s3cr3t", "postgresql://u:s3cr3t@h/d",
                            "postgresql://h/d?password=s3cr3t", "password = 's3cr3t'",
                            "postgresql://u:s3%63r3t@h/d", "host=db password=s3cr3t oops"}) {
        INFO(dsn);
        CHECK(redact_dsn(dsn).find("s3cr3t") == std::string::npos);
        CHECK(redact_dsn(dsn).find("s3cr") == std::string::npos);
    }
}

TEST_CASE("is_secret_property: passwords, secrets and keys", "[unit][config]") {
    for (const char* key : {"sasl.password", "ssl.key.password", "ssl.keystore.password",
                            "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config",
                            "ssl.key.pem", "ssl_key", "SASL.PASSWORD"}) {
        INFO(key);
        CHECK(is_secret_property(key));
    }
    for (const char* key : {"sasl.username", "ssl.key.location", "ssl.certificate.pem", "linger.ms",
                            "security.protocol", "acks"}) {
        INFO(key);
        CHECK_FALSE(is_secret_property(key));
    }
}

TEST_CASE("to_yaml: round-trips, and redacts secrets on request", "[unit][config]") {
    const LoadResult r = load_config((data_dir() / "config/valid/full.yaml").string(), {});
    INFO(joined(r));
    REQUIRE(r.config);

    const std::string plain = to_yaml(*r.config, false);
    CHECK_THAT(plain, Catch::Contains("password='s3cret pass'"));
    CHECK_THAT(plain, Catch::Contains("hunter2"));
    const LoadResult again = load(plain);
    INFO(plain);
    INFO(joined(again));
    REQUIRE(again.config);
    CHECK(to_yaml(*again.config, false) == plain);

    const std::string redacted = to_yaml(*r.config, true);
    CHECK_THAT(redacted, !Catch::Contains("s3cret"));
    CHECK_THAT(redacted, !Catch::Contains("hunter2"));
    CHECK_THAT(redacted, Catch::Contains("password=*****"));
    CHECK_THAT(redacted, Catch::Contains("sasl.password: \"*****\""));
    CHECK_THAT(redacted, Catch::Contains("sasl.username: \"outboxd\""));
    CHECK_THAT(redacted, Catch::Contains("table: \"billing.outbox_events\""));
    CHECK_THAT(redacted, Catch::Contains("retry_backoff_max_ms: 300000"));
    CHECK_THAT(redacted, Catch::Contains("format: json"));
    CHECK(load(redacted).config); // still a valid file
}

TEST_CASE("to_yaml: defaults, odd strings and empty collections survive", "[unit][config]") {
    Config c;
    c.postgres.dsn = "host=x";
    c.kafka.bootstrap_servers = "k:1";
    c.postgres.notify_channel = "";
    c.postgres.columns.key = "true";
    c.postgres.columns.payload = "null";
    c.postgres.columns.headers = "#h: \"x\"";
    c.kafka.properties["client.id"] = "";
    const std::string text = to_yaml(c, false);
    INFO(text);
    CHECK_THAT(text, Catch::Contains("audit_topics: []"));
    const LoadResult r = load(text);
    INFO(joined(r));
    REQUIRE(r.config);
    CHECK(r.config->postgres.notify_channel.empty());
    CHECK(r.config->postgres.columns.key == "true");
    CHECK(r.config->postgres.columns.payload == "null");
    CHECK(r.config->postgres.columns.headers == "#h: \"x\"");
    CHECK(r.config->kafka.properties.at("client.id").empty());
}

// --- reload -----------------------------------------------------------------------

TEST_CASE("restart_only_changes: lists only options a reload cannot apply", "[unit][config]") {
    const Config running = *load(kRequired).config;
    Config next = running;
    next.relay.batch_size = 10;
    next.relay.poll_interval = std::chrono::milliseconds(50);
    next.log.format = LogFormat::kJson;
    CHECK(restart_only_changes(running, next).empty());
    next.postgres.columns.id = "seq";
    next.kafka.properties["linger.ms"] = "5";
    next.relay.max_in_flight = 1;
    next.relay.max_batch_bytes = 4096; // reloadable
    CHECK(restart_only_changes(running, next)
          == std::vector<std::string>{"postgres.columns.id", "kafka.properties",
                                      "relay.max_in_flight"});
    next.relay.max_in_flight_bytes = 8192;
    CHECK(restart_only_changes(running, next).back() == "relay.max_in_flight_bytes");
}

TEST_CASE("merge_problems: a reloaded value that does not fit a running restart-only one",
          "[unit][config]") {
    const Config running = *load(kRequired).config;
    // A file with batch_size 20000 and max_in_flight 50000 passes on its own;
    // merged with the running max_in_flight 10000 it breaks the rule.
    Config next = running;
    next.relay.batch_size = 20000;
    next.relay.max_in_flight = 50000;
    CHECK(merge_problems(next).empty());
    keep_restart_only(next, running);
    CHECK(next.relay.max_in_flight == 10000);
    CHECK(merge_problems(next)
          == std::vector<std::string>{"relay.batch_size 20000 is above the running "
                                      "relay.max_in_flight 10000 (restart to change "
                                      "relay.max_in_flight)"});
    next.relay.batch_size = 10000;
    CHECK(merge_problems(next).empty());
    // The byte budgets follow the same rule: max_batch_bytes reloads,
    // max_in_flight_bytes needs a restart.
    Config bytes = running;
    bytes.relay.max_batch_bytes = 64 * 1024 * 1024;
    bytes.relay.max_in_flight_bytes = 128 * 1024 * 1024;
    CHECK(merge_problems(bytes).empty());
    keep_restart_only(bytes, running);
    CHECK(merge_problems(bytes)
          == std::vector<std::string>{"relay.max_batch_bytes 67108864 is above the running "
                                      "relay.max_in_flight_bytes 8388608 (restart to change "
                                      "relay.max_in_flight_bytes)"});
    // Both backoffs reload: a broken pair is reported without a restart hint.
    next.relay.retry_backoff_max = std::chrono::milliseconds(10);
    CHECK(merge_problems(next)
          == std::vector<std::string>{"relay.retry_backoff_max_ms 10 is below "
                                      "relay.retry_backoff_initial_ms 1000"});
}

TEST_CASE("keep_restart_only: the store's consumer list stays the running confirm.consumers",
          "[unit][config]") {
    Config running = *load(kRequired).config;
    running.confirm.consumers = {"billing"};
    running.postgres.confirm_consumers = {"billing"};
    // The new file adds a consumer: restart-only, so the running list stays,
    // in both places a session or a worker reads it from.
    Config next = running;
    next.confirm.consumers = {"billing", "ledger"};
    next.postgres.confirm_consumers = {"billing", "ledger"};
    CHECK(restart_only_changes(running, next) == std::vector<std::string>{"confirm.consumers"});
    keep_restart_only(next, running);
    CHECK(next.confirm.consumers == std::vector<std::string>{"billing"});
    CHECK(next.postgres.confirm_consumers == std::vector<std::string>{"billing"});
}

// --- files in the tree ----------------------------------------------------------

TEST_CASE("golden files: valid ones load without problems", "[unit][config]") {
    const auto files = yaml_files(data_dir() / "config/valid");
    REQUIRE(files.size() >= 3);
    for (const fs::path& file : files) {
        INFO(file.string());
        const LoadResult r = load_config(file.string(), {});
        INFO(joined(r));
        CHECK(r.problems.empty());
        CHECK(r.config.has_value());
    }
    const LoadResult custom =
        load_config((data_dir() / "config/valid/custom-columns.yaml").string(), {});
    REQUIRE(custom.config);
    CHECK(custom.config->postgres.columns.key == "aggregate_id");
    CHECK(custom.config->postgres.columns.status == "status");
    CHECK(custom.config->postgres.notify_channel.empty());
    const LoadResult dsn_file =
        load_config((data_dir() / "config/valid/dsn-file.yaml").string(), {});
    REQUIRE(dsn_file.config);
    CHECK(dsn_file.config->postgres.dsn
          == "host=127.0.0.1 port=5432 dbname=app user=outboxd password=from-file");
}

TEST_CASE("golden files: invalid ones give exactly their .expected lines", "[unit][config]") {
    const auto files = yaml_files(data_dir() / "config/invalid");
    REQUIRE(files.size() >= 10);
    for (const fs::path& file : files) {
        fs::path expected_file = file;
        expected_file.replace_extension(".expected");
        INFO(file.string());
        REQUIRE(fs::exists(expected_file));
        const LoadResult r = load_config(file.string(), {});
        std::vector<std::string> got;
        for (const Problem& p : r.problems) {
            // The prefix `outboxd check` writes before each problem.
            got.push_back("outboxd: config error: " + format_problem(p));
        }
        CHECK(got == read_lines(expected_file));
        CHECK_FALSE(r.config.has_value());
    }
}

TEST_CASE("config/outboxd.example.yaml loads and documents every key", "[unit][config]") {
    const fs::path example = source_dir() / "config/outboxd.example.yaml";
    const LoadResult r = load_config(example.string(), {});
    INFO(joined(r));
    REQUIRE(r.problems.empty());
    const std::string text = read_text(example);
    for (const Option& o : options()) {
        INFO(o.key);
        const std::string leaf = o.key.substr(o.key.rfind('.') + 1);
        CHECK(text.find(leaf + ":") != std::string::npos);
        if (o.type == OptionType::kStringMap) {
            CHECK(text.find(std::string(kPropertyEnvPrefix)) != std::string::npos);
        } else if (o.key.rfind("postgres.columns.", 0) != 0) {
            CHECK(text.find(env_var_name(o.key)) != std::string::npos);
        }
    }
    CHECK(text.find("OUTBOXD_POSTGRES_COLUMNS_") != std::string::npos);
}

TEST_CASE("docs/configuration.md matches the option table", "[unit][config]") {
    const fs::path doc = source_dir() / "docs/configuration.md";
    const std::string expected = options_markdown();
    const char* update = std::getenv("OUTBOXD_TEST_UPDATE_DOCS");
    if (update != nullptr && std::string(update) == "1") {
        std::ofstream(doc, std::ios::binary) << expected;
    }
    INFO("regenerate with: OUTBOXD_TEST_UPDATE_DOCS=1 unit_tests \"docs/configuration.md "
         "matches the option table\"");
    CHECK(read_text(doc) == expected);
    for (const Option& o : options()) {
        CHECK_THAT(expected, Catch::Contains("`" + o.key + "`"));
    }
}

} // namespace outboxd::config

// --- redaction: the TLS key passphrase, encoded URI keys, print-config -------

TEST_CASE("redact_dsn: sslpassword and percent-encoded URI query keys", "[unit][config]") {
    using outboxd::config::redact_dsn;
    CHECK(redact_dsn("host=db password=a sslpassword='k p'")
          == "password=***** host='db' sslpassword=*****");
    CHECK(redact_dsn("postgresql://u@db/app?sslpassword=keypass&sslmode=verify-full")
          == "user='u' dbname='app' host='db' sslmode='verify-full' sslpassword=*****");
    CHECK(redact_dsn("postgresql://db/app?user=u&password=")
          == "user='u' password=***** dbname='app' host='db'");
    // Keys that only contain the word stay readable.
    CHECK(redact_dsn("postgresql://db/app?passfile=/p&application_name=password")
          == "passfile='/p' dbname='app' host='db' application_name='password'");
    // An escape libpq refuses: the DSN is not shown.
    CHECK(redact_dsn("postgresql://db/app?bad%zz=1") == "*****");
}

TEST_CASE("to_yaml(redact): DSN passwords in both forms and secret properties", "[unit][config]") {
    outboxd::config::Config c;
    c.kafka.bootstrap_servers = "k:9092";
    c.kafka.properties = {{"sasl.password", "p1"},
                          {"ssl.key.password", "p2"},
                          {"ssl.keystore.password", "p3"},
                          {"sasl.oauthbearer.client.secret", "p4"},
                          {"sasl.username", "visible-user"}};
    for (const std::string dsn : {"host=db user=u password=p5 sslpassword=p6",
                                  "postgresql://u:p5@db:5432/app?sslpassword=p6&password=p7"}) {
        INFO(dsn);
        c.postgres.dsn = dsn;
        const std::string out = outboxd::config::to_yaml(c, true);
        INFO(out);
        for (const char* secret : {"p1", "p2", "p3", "p4", "p5", "p6", "p7"}) {
            CHECK_THAT(out, !Catch::Contains(std::string("\"") + secret + "\"")
                                && !Catch::Contains(std::string("=") + secret)
                                && !Catch::Contains(std::string(":") + secret + "@"));
        }
        CHECK_THAT(out, Catch::Contains("visible-user"));
        const auto again = outboxd::config::load_config_text(out, "redacted", {});
        CHECK(again.config);
        CHECK_THAT(outboxd::config::to_yaml(c, false), Catch::Contains("p6"));
    }
}

// --- http, retention, kafka.properties_files ------------------------------------
// (Reopens the namespace: the helpers above live in its anonymous namespace.)
namespace outboxd::config {

TEST_CASE("http and retention: defaults, values and environment", "[unit][config]") {
    const LoadResult defaults = load(kRequired);
    REQUIRE(defaults.config);
    CHECK(defaults.config->http.listen == "127.0.0.1:9187"); // loopback unless configured
    CHECK(defaults.config->http.stall_timeout == std::chrono::milliseconds(60000));
    CHECK(defaults.config->http.stats_interval == std::chrono::milliseconds(10000));
    CHECK(defaults.config->retention.sent_max_age == std::chrono::milliseconds(0));
    CHECK(defaults.config->retention.batch_size == 1000);
    CHECK(defaults.config->retention.interval == std::chrono::milliseconds(60000));

    const LoadResult r =
        load_with("http:\n  listen: \"[::1]:0\"\n  stall_timeout_ms: 5000\n"
                  "retention:\n  sent_max_age_ms: 86400000\n  batch_size: 7\n",
                  {"OUTBOXD_HTTP_STATS_INTERVAL_MS=250", "OUTBOXD_RETENTION_INTERVAL_MS=1000"});
    INFO(joined(r));
    REQUIRE(r.config);
    CHECK(r.config->http.listen == "[::1]:0");
    CHECK(r.config->http.stall_timeout == std::chrono::milliseconds(5000));
    CHECK(r.config->http.stats_interval == std::chrono::milliseconds(250));
    CHECK(r.config->retention.sent_max_age == std::chrono::milliseconds(86400000));
    CHECK(r.config->retention.batch_size == 7);
    CHECK(r.config->retention.interval == std::chrono::milliseconds(1000));

    const LoadResult off = load_with("", {"OUTBOXD_HTTP_LISTEN="});
    REQUIRE(off.config);
    CHECK(off.config->http.listen.empty());
}

TEST_CASE("http.listen: host:port, IPv6 in brackets, ports 0 to 65535", "[unit][config]") {
    auto listen = [](const std::string& text) {
        return load_with("http:\n  listen: \"" + text + "\"\n");
    };
    for (const char* ok :
         {"127.0.0.1:9187", "0.0.0.0:0", "localhost:65535", "metrics-host.internal:80",
          "[::1]:9187", "[::]:0", "[fe80::1:2]:1", "[::ffff:127.0.0.1]:9187", ""}) {
        INFO(ok);
        const LoadResult r = listen(ok);
        INFO(joined(r));
        CHECK(r.problems.empty());
    }
    struct Bad {
        const char* text;
        const char* fragment;
    };
    const Bad bad[] = {
        {"::1:9187", "an IPv6 address must be in brackets"},
        {"127.0.0.1", "the port is missing"},
        {":9187", "the host must not be empty"},
        {"[::1]", "must be [IPv6 address]:port"},
        {"[::1]9187", "must be [IPv6 address]:port"},
        {"[::1", "must be [IPv6 address]:port"},
        {"[]:80", "in brackets is not an IPv6 address"},
        {"[localhost]:80", "\"localhost\" in brackets is not an IPv6 address"},
        {"127.0.0.1:65536", "the port must be a number from 0 to 65535 (got \"65536\")"},
        {"127.0.0.1:", "the port must be a number"},
        {"127.0.0.1:-1", "the port must be a number"},
        {"127.0.0.1:80a", "the port must be a number"},
        {"127.0.0.1:000080", "the port must be a number"},
        {"[::1]:99999", "the port must be a number"},
        {"a host:80", "\"a host\" is not a host name or address"},
        {"http://x:80", "write host:port without a scheme"},
    };
    for (const Bad& b : bad) {
        INFO(b.text);
        require_single_problem(listen(b.text), "http.listen", b.fragment);
    }
    require_single_problem(load_with("", {"OUTBOXD_HTTP_LISTEN=::1:1"}), "OUTBOXD_HTTP_LISTEN",
                           "must be in brackets");
}

TEST_CASE("kafka.properties_files: read, trimmed, relative to the config file", "[unit][config]") {
    TempDir dir;
    dir.write("secrets/sasl", "\n  s3cr3t-sasl \n");
    dir.write("secrets/key", "key-pass");
    const fs::path config =
        dir.write("outboxd.yaml", "postgres:\n  dsn: host=x\nkafka:\n  bootstrap_servers: k\n"
                                  "  properties:\n    sasl.username: u\n"
                                  "  properties_files:\n    sasl.password: secrets/sasl\n");
    const LoadResult r =
        load_config(config.string(), {"OUTBOXD_KAFKA_PROPERTIES_FILE_SSL_KEY_PASSWORD="
                                      + (dir.path() / "secrets/key").string()});
    INFO(joined(r));
    REQUIRE(r.config);
    const std::map<std::string, std::string> expected = {
        {"sasl.password", "s3cr3t-sasl"}, {"sasl.username", "u"}, {"ssl.key.password", "key-pass"}};
    CHECK(r.config->kafka.properties == expected);
    CHECK(r.config->kafka.properties_files.at("sasl.password")
          == (dir.path() / "secrets/sasl").string());
    CHECK(r.config->kafka.properties_files.at("ssl.key.password")
          == (dir.path() / "secrets/key").string());

    SECTION("a relative path from the environment is taken from the working directory") {
        const LoadResult env =
            load_config(config.string(), {"OUTBOXD_KAFKA_PROPERTIES_FILE_SSL_KEY_PASSWORD="
                                          "outboxd-no-such-relative-file"});
        require_single_problem(env, "OUTBOXD_KAFKA_PROPERTIES_FILE_SSL_KEY_PASSWORD",
                               "cannot read \"outboxd-no-such-relative-file\"");
    }
    SECTION("set both in a file and in kafka.properties, by the environment") {
        const LoadResult both =
            load_config(config.string(), {"OUTBOXD_KAFKA_PROPERTY_SASL_PASSWORD=other"});
        require_single_problem(both, "kafka.properties_files.sasl.password",
                               "sasl.password is also set in kafka.properties (by "
                               "OUTBOXD_KAFKA_PROPERTY_SASL_PASSWORD); set it in one place");
    }
    SECTION("missing, empty, a directory") {
        dir.write("secrets/empty", " \n\t\n");
        auto with_file = [&](const std::string& path) {
            return load_config(dir.write("p.yaml", "postgres:\n  dsn: host=x\nkafka:\n  "
                                                   "bootstrap_servers: k\n  properties_files:\n"
                                                   "    sasl.password: "
                                                       + path + "\n")
                                   .string(),
                               {});
        };
        require_single_problem(with_file("secrets/nope"), "kafka.properties_files.sasl.password",
                               "No such file or directory");
        require_single_problem(with_file("secrets/empty"), "kafka.properties_files.sasl.password",
                               "is empty");
        require_single_problem(with_file("secrets"), "kafka.properties_files.sasl.password",
                               "cannot read");
    }
    SECTION("the refusals of kafka.properties apply, without showing the value") {
        dir.write("secrets/acks", "SECRET-ONE\n");
        dir.write("secrets/idem", "SECRET-FALSE\n");
        dir.write("secrets/tx", "SECRET-TX\n");
        const LoadResult refused = load_config(
            dir.write("r.yaml", "postgres:\n  dsn: host=x\nkafka:\n  bootstrap_servers: k\n"
                                "  properties_files:\n    acks: secrets/acks\n"
                                "    enable.idempotence: secrets/idem\n"
                                "    transactional.id: secrets/tx\n"
                                "    bootstrap.servers: secrets/acks\n")
                .string(),
            {});
        const std::string text = joined(refused);
        INFO(text);
        REQUIRE(refused.problems.size() == 4);
        CHECK(refused.problems[0].path == "kafka.properties_files.acks");
        CHECK_THAT(text, Catch::Contains("refused: outboxd requires acks=all (or -1)"));
        CHECK_THAT(text, Catch::Contains("(got the content of \""
                                         + (dir.path() / "secrets/acks").string() + "\")"));
        CHECK_THAT(text, Catch::Contains("refused: outboxd requires enable.idempotence=true"));
        CHECK_THAT(text, Catch::Contains("refused: transactional producers"));
        CHECK_THAT(text, Catch::Contains("refused: set kafka.bootstrap_servers instead"));
        CHECK_THAT(text, !Catch::Contains("SECRET"));
    }
}

TEST_CASE("secrets never appear in problem messages", "[unit][config]") {
    TempDir dir;
    dir.write("dsn", "host=db password=TOPSECRET-DSN-FILE\n");
    dir.write("sasl", "TOPSECRET-SASL-FILE\n");
    const std::string dsn_file = (dir.path() / "dsn").string();
    const std::string sasl_file = (dir.path() / "sasl").string();
    const std::vector<LoadResult> results = {
        // A DSN of the wrong shape, inline or from the environment.
        load("postgres:\n  dsn: [\"host=db password=TOPSECRET-DSN\"]\nkafka:\n"
             "  bootstrap_servers: k\n"),
        load("postgres:\n  dsn: {password: TOPSECRET-DSN}\nkafka:\n  bootstrap_servers: k\n"),
        load("postgres:\n  dsn: \"host=db password=TOPSECRET-DSN\"\n  dsn_file: " + dsn_file
             + "\nkafka:\n  bootstrap_servers: k\n"),
        load("postgres:\n  dsn_file: " + dsn_file + "\nkafka:\n  bootstrap_servers: k\n",
             {"OUTBOXD_POSTGRES_DSN=host=db password=TOPSECRET-DSN-ENV"}),
        // YAML broken in the middle of a secret.
        load("postgres:\n  dsn: \"host=db password=TOPSECRET-DSN\nkafka: [\n"),
        load("postgres:\n  dsn: 'host=db password=TOPSECRET-DSN' extra\n"),
        // Secret properties that are malformed or clash.
        load_with("kafka:\n  properties:\n    sasl.password: [TOPSECRET-SASL]\n"),
        load_with("kafka:\n  properties:\n    sasl.password: TOPSECRET-SASL\n    sasl.password: "
                  "TOPSECRET-SASL-2\n"),
        load_with("kafka:\n  properties:\n    sasl.password: TOPSECRET-SASL\n"
                  "  properties_files:\n    sasl.password: "
                  + sasl_file + "\n"),
        load_with("kafka:\n  properties_files:\n    acks: " + sasl_file
                  + "\n    enable.idempotence: " + sasl_file + "\n"),
        load_with("", {"OUTBOXD_KAFKA_PROPERTY_SASL_PASSWORD=TOPSECRET-SASL-ENV",
                       "OUTBOXD_KAFKA_PROPERTIES_FILE_SASL_PASSWORD=" + sasl_file}),
    };
    for (std::size_t i = 0; i < results.size(); ++i) {
        const std::string text = joined(results[i]);
        INFO("case " << i << ":\n" << text);
        CHECK_FALSE(results[i].problems.empty());
        CHECK_THAT(text, !Catch::Contains("TOPSECRET"));
    }
}

TEST_CASE("to_yaml: values from kafka.properties_files show as their files", "[unit][config]") {
    const LoadResult r = load_config((data_dir() / "config/valid/full.yaml").string(), {});
    INFO(joined(r));
    REQUIRE(r.config);
    CHECK(r.config->kafka.properties.at("ssl.key.password") == "key-pass-from-file");
    CHECK(r.config->retention.sent_max_age == std::chrono::milliseconds(604800000));
    CHECK(r.config->http.listen == "0.0.0.0:9188");
    const std::string file = (data_dir() / "config/valid/secrets/ssl-key-password.txt").string();
    for (const bool redact : {false, true}) {
        INFO("redact " << redact);
        const std::string text = to_yaml(*r.config, redact);
        INFO(text);
        CHECK_THAT(text, !Catch::Contains("key-pass-from-file"));
        CHECK_THAT(text, Catch::Contains("ssl.key.password: \"" + file + "\""));
        CHECK_THAT(text, Catch::Contains("listen: \"0.0.0.0:9188\""));
        CHECK_THAT(text, Catch::Contains("sent_max_age_ms: 604800000"));
        const LoadResult again = load(text);
        INFO(joined(again));
        REQUIRE(again.config);
        CHECK(again.config->kafka.properties.at("ssl.key.password") == "key-pass-from-file");
        CHECK(to_yaml(*again.config, redact) == text);
    }
}

TEST_CASE("restart_only_changes: http.listen and secret files need a restart, the rest reloads",
          "[unit][config]") {
    const Config running = *load(kRequired).config;
    Config next = running;
    next.http.stall_timeout = std::chrono::milliseconds(1000);
    next.http.stats_interval = std::chrono::milliseconds(100);
    next.retention.sent_max_age = std::chrono::milliseconds(1);
    next.retention.batch_size = 1;
    next.retention.interval = std::chrono::milliseconds(100);
    CHECK(restart_only_changes(running, next).empty());
    next.http.listen = "";
    next.kafka.properties["sasl.password"] = "rotated";
    next.kafka.properties_files["sasl.password"] = "/run/secrets/sasl";
    CHECK(restart_only_changes(running, next)
          == std::vector<std::string>{"kafka.properties", "kafka.properties_files", "http.listen"});
}

} // namespace outboxd::config

namespace outboxd::config {

TEST_CASE("postgres.dsn: libpq cannot parse it, a problem that never quotes the DSN",
          "[unit][config]") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        // A space in an unquoted password: libpq would say `missing "=" after "cret"`.
        {"host=db password=se cret", "cret"},
        // An unencoded '@' in a URI password: libpq would try host "ss@db".
        {"postgresql://app:p@ss@db/app", "ss@db"},
        {"postgresql://app:pa%zzss@db/app", "zzss"},
    };
    for (const auto& [dsn, fragment] : cases) {
        INFO(dsn);
        const LoadResult r = load("kafka:\n  bootstrap_servers: \"127.0.0.1:9092\"\n",
                                  {"OUTBOXD_POSTGRES_DSN=" + dsn});
        REQUIRE_FALSE(r.config);
        REQUIRE(r.problems.size() == 1);
        CHECK(r.problems[0].path == "OUTBOXD_POSTGRES_DSN");
        CHECK_THAT(format_problem(r.problems[0]), !Catch::Contains(fragment));
    }
    const LoadResult ok = load("postgres:\n  dsn: \"postgresql://app:p%40ss@db/app\"\n"
                               "kafka:\n  bootstrap_servers: \"127.0.0.1:9092\"\n");
    CHECK(ok.problems.empty());
}

} // namespace outboxd::config

namespace outboxd::config {

// --- broker selection and RabbitMQ ------------------------------------------

const std::string kRabbitRequired = "broker: rabbitmq\n"
                                    "postgres:\n"
                                    "  dsn: \"host=127.0.0.1 dbname=app\"\n"
                                    "rabbitmq:\n"
                                    "  url: \"amqp://relay:s3cret@127.0.0.1:5672/billing\"\n";

TEST_CASE("broker: kafka by default; rabbitmq needs rabbitmq.url, not kafka", "[unit][config]") {
    const LoadResult kafka = load(kRequired);
    REQUIRE(kafka.config);
    CHECK(kafka.config->broker == BrokerKind::kKafka);
    CHECK(kafka.config->rabbitmq.url.empty());

    const LoadResult rabbit = load(kRabbitRequired);
    INFO(joined(rabbit));
    REQUIRE(rabbit.config);
    CHECK(rabbit.config->broker == BrokerKind::kRabbitMq);
    CHECK(rabbit.config->rabbitmq.url == "amqp://relay:s3cret@127.0.0.1:5672/billing");
    CHECK(rabbit.config->kafka.bootstrap_servers.empty());
    CHECK(rabbit.config->rabbitmq.audit_exchanges.empty());
    CHECK_FALSE(rabbit.config->rabbitmq.require_durable);
    CHECK(rabbit.config->rabbitmq.management_url.empty());

    require_single_problem(load("broker: rabbitmq\npostgres:\n  dsn: host=x\n"), "rabbitmq.url",
                           "is required with broker: rabbitmq");
    // With broker: kafka the RabbitMQ URL is not needed, the bootstrap list is.
    require_single_problem(load("postgres:\n  dsn: host=x\nrabbitmq:\n  url: amqp://h\n"),
                           "kafka.bootstrap_servers", "is required");
    require_single_problem(load("broker: nats\n" + kRequired), "broker", "kafka");
}

TEST_CASE("broker and rabbitmq.*: environment, values and their checks", "[unit][config]") {
    const LoadResult r = load("postgres:\n  dsn: host=x\n",
                              {"OUTBOXD_BROKER=rabbitmq", "OUTBOXD_RABBITMQ_URL=amqps://u:p@h/v",
                               "OUTBOXD_RABBITMQ_AUDIT_EXCHANGES=orders, billing",
                               "OUTBOXD_RABBITMQ_REQUIRE_DURABLE=true",
                               "OUTBOXD_RABBITMQ_MANAGEMENT_URL=http://u:p@127.0.0.1:15672"});
    INFO(joined(r));
    REQUIRE(r.config);
    CHECK(r.config->broker == BrokerKind::kRabbitMq);
    CHECK(r.config->rabbitmq.url == "amqps://u:p@h/v");
    CHECK(r.config->rabbitmq.audit_exchanges == std::vector<std::string>{"orders", "billing"});
    CHECK(r.config->rabbitmq.require_durable);
    CHECK(r.config->rabbitmq.management_url == "http://u:p@127.0.0.1:15672");

    // The URL is a secret: the problem never quotes it.
    const LoadResult bad_url = load("broker: rabbitmq\npostgres:\n  dsn: host=x\nrabbitmq:\n"
                                    "  url: \"http://u:topsecret@h\"\n");
    require_single_problem(bad_url, "rabbitmq.url", "amqp:// or amqps://");
    CHECK_THAT(joined(bad_url), !Catch::Contains("topsecret"));
    require_single_problem(load(kRabbitRequired + "  management_url: \"https://u:p@h:15671\"\n"),
                           "rabbitmq.management_url", "https is not supported");
    require_single_problem(load(kRabbitRequired + "  audit_exchanges: [\"\"]\n"),
                           "rabbitmq.audit_exchanges[0]", "1 to 255 bytes");
}

TEST_CASE("rabbitmq.url_file: read and trimmed; never both with rabbitmq.url", "[unit][config]") {
    TempDir dir;
    dir.write("amqp", "  amqp://relay:from-file@127.0.0.1:5672/%2f\n");
    dir.write("bad", "postgres://nope\n");
    const std::string head = "broker: rabbitmq\npostgres:\n  dsn: host=x\nrabbitmq:\n";
    const LoadResult r = load_config(dir.write("c.yaml", head + "  url_file: amqp\n").string(), {});
    INFO(joined(r));
    REQUIRE(r.config);
    CHECK(r.config->rabbitmq.url == "amqp://relay:from-file@127.0.0.1:5672/%2f");
    // print-config shows the URL without its password.
    CHECK_THAT(to_yaml(*r.config, true), !Catch::Contains("from-file"));
    CHECK_THAT(to_yaml(*r.config, true),
               Catch::Contains("url: \"amqp://relay:*****@127.0.0.1:5672/%2f\""));

    const LoadResult bad =
        load_config(dir.write("b.yaml", head + "  url_file: bad\n").string(), {});
    REQUIRE(bad.problems.size() == 1);
    CHECK_THAT(format_problem(bad.problems[0]), Catch::Contains("amqp://"));
    CHECK_THAT(format_problem(bad.problems[0]), !Catch::Contains("postgres://nope"));

    require_single_problem(load(kRabbitRequired + "  url_file: /x\n"), "rabbitmq.url_file",
                           "not both");
}

TEST_CASE("rabbitmq.ca_file: relative to the config file, must hold a PEM certificate, only "
          "with amqps://",
          "[unit][config]") {
    TempDir dir;
    dir.write("ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    dir.write("junk.crt", "not a certificate\n");
    const std::string head = "broker: rabbitmq\npostgres:\n  dsn: host=x\nrabbitmq:\n"
                             "  url: \"amqps://u:p@broker:5671/%2f\"\n";
    const LoadResult r =
        load_config(dir.write("c.yaml", head + "  ca_file: ca.crt\n").string(), {});
    INFO(joined(r));
    REQUIRE(r.config);
    CHECK(r.config->rabbitmq.ca_file == (dir.path() / "ca.crt").string());

    const LoadResult missing =
        load_config(dir.write("m.yaml", head + "  ca_file: nope.crt\n").string(), {});
    REQUIRE(missing.problems.size() == 1);
    CHECK_THAT(format_problem(missing.problems[0]), Catch::Contains("rabbitmq.ca_file"));
    CHECK_THAT(format_problem(missing.problems[0]), Catch::Contains("cannot read"));
    const LoadResult junk =
        load_config(dir.write("j.yaml", head + "  ca_file: junk.crt\n").string(), {});
    REQUIRE(junk.problems.size() == 1);
    CHECK_THAT(format_problem(junk.problems[0]), Catch::Contains("holds no PEM certificate"));
    require_single_problem(
        load(kRabbitRequired + "  ca_file: /etc/ssl/certs/ca-certificates.crt\n"),
        "rabbitmq.ca_file", "not an amqps:// URI");
}

TEST_CASE("http.console and http.tokens_file: the tokens read at load, relative to the config "
          "file, owner-only, every problem listed",
          "[unit][config]") {
    TempDir dir;
    const auto tokens = dir.write("tokens", "alice write 0123456789abcdef\n");
    fs::permissions(tokens, fs::perms::owner_read | fs::perms::owner_write);
    const std::string head = kRequired + "http:\n  console: true\n";
    const LoadResult r =
        load_config(dir.write("c.yaml", head + "  tokens_file: tokens\n").string(), {});
    INFO(joined(r));
    REQUIRE(r.config);
    CHECK(r.config->http.console);
    CHECK(r.config->http.tokens_file == tokens.string());
    REQUIRE(r.config->http.tokens.size() == 1);
    CHECK(r.config->http.tokens[0].name == "alice");

    // Readable by others: refused, with the fix.
    fs::permissions(tokens, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read
                                | fs::perms::others_read);
    const LoadResult open_file =
        load_config(dir.write("o.yaml", head + "  tokens_file: tokens\n").string(), {});
    REQUIRE(open_file.problems.size() == 1);
    CHECK_THAT(format_problem(open_file.problems[0]), Catch::Contains("http.tokens_file"));
    CHECK_THAT(format_problem(open_file.problems[0]), Catch::Contains("chmod 600"));

    // Every bad line is a problem of its own; the secret is never shown.
    const auto bad = dir.write("bad", "alice owner 0123456789abcdef\nbob read short\n");
    fs::permissions(bad, fs::perms::owner_read | fs::perms::owner_write);
    const LoadResult lines =
        load_config(dir.write("b.yaml", head + "  tokens_file: bad\n").string(), {});
    REQUIRE(lines.problems.size() == 2);
    CHECK_THAT(joined(lines), Catch::Contains("line 1: role must be read or write"));
    CHECK_THAT(joined(lines), Catch::Contains("line 2: the secret of bob is shorter"));
    CHECK_THAT(joined(lines), !Catch::Contains("0123456789abcdef"));

    require_single_problem(load_with("http:\n  listen: \"\"\n  console: true\n"), "http.console",
                           "http.listen is empty");
    require_single_problem(load_with("http:\n  tokens_file: /x\n"), "http.tokens_file",
                           "http.console is false");
    CHECK(load_with("http:\n  console: true\n").config->http.tokens.empty());
}

TEST_CASE("redact_url and to_yaml: RabbitMQ passwords never printed, config reads back",
          "[unit][config]") {
    CHECK(redact_url("amqp://u:p@h:5672/v") == "amqp://u:*****@h:5672/v");
    CHECK(redact_url("amqps://u:p%40ss@h/v") == "amqps://u:*****@h/v");
    CHECK(redact_url("amqp://u@h/v") == "amqp://u@h/v");
    CHECK(redact_url("amqp://h/v") == "amqp://h/v");
    CHECK(redact_url("http://g:g@127.0.0.1:15672") == "http://g:*****@127.0.0.1:15672");

    const LoadResult r = load(kRabbitRequired
                              + "  management_url: \"http://admin:mgmtpw@127.0.0.1:15672\"\n"
                                "  audit_exchanges: [orders]\n  require_durable: true\n");
    INFO(joined(r));
    REQUIRE(r.config);
    const std::string redacted = to_yaml(*r.config, true);
    INFO(redacted);
    CHECK_THAT(redacted, !Catch::Contains("s3cret"));
    CHECK_THAT(redacted, !Catch::Contains("mgmtpw"));
    CHECK_THAT(redacted, Catch::Contains("broker: rabbitmq"));
    const std::string plain = to_yaml(*r.config, false);
    const LoadResult again = load(plain);
    INFO(plain);
    INFO(joined(again));
    REQUIRE(again.config);
    CHECK(to_yaml(*again.config, false) == plain);
    CHECK(again.config->rabbitmq.require_durable);
    CHECK(again.config->rabbitmq.audit_exchanges == std::vector<std::string>{"orders"});
    CHECK(load(redacted).config); // still a valid file
}

TEST_CASE("confirm: consumers, report channels per broker, and what needs what",
          "[unit][config][confirm]") {
    {
        const auto r = load_with("confirm:\n  consumers: [inventory, billing]\n"
                                 "  ack_topic: outbox.acks\n");
        INFO(joined(r));
        REQUIRE(r.config);
        CHECK(r.config->confirm.enabled());
        CHECK(r.config->postgres.confirm_consumers
              == std::vector<std::string>{"inventory", "billing"});
        CHECK(r.config->confirm.deadline.count() == 600000);
    }
    {
        const auto r = load_with("");
        REQUIRE(r.config);
        CHECK_FALSE(r.config->confirm.enabled());
        CHECK_FALSE(r.config->postgres.confirming()); // off: nothing of it anywhere
    }
    require_single_problem(load_with("confirm:\n  consumers: [a, b, a]\n"), "confirm.consumers",
                           "names \"a\" twice");
    require_single_problem(load_with("confirm:\n  ack_topic: acks\n"), "confirm.ack_topic",
                           "confirm.consumers is empty");
    require_single_problem(load_with("confirm:\n  consumers: [a]\n  ack_queue: acks\n"),
                           "confirm.ack_queue", "is for RabbitMQ");
    require_single_problem(load_with("confirm:\n  consumers: [\"bad,name\"]\n"),
                           "confirm.consumers[0]", "without control characters or commas");
    const std::string rabbit = "broker: rabbitmq\nrabbitmq:\n  url: \"amqp://u:p@h:5672/%2F\"\n";
    require_single_problem(load_with(rabbit + "confirm:\n  consumers: [a]\n"), "confirm.ack_queue",
                           "is required with confirm.consumers on RabbitMQ");
    require_single_problem(
        load_with(rabbit + "confirm:\n  consumers: [a]\n  ack_queue: q\n  ack_topic: t\n"),
        "confirm.ack_topic", "is for Kafka");
    const auto ok = load_with(rabbit + "confirm:\n  consumers: [a]\n  ack_queue: q\n");
    INFO(joined(ok));
    CHECK(ok.config);
}

} // namespace outboxd::config
