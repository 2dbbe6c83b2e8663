// message.envelope and the trace context read back by real consumers
// (docs/debezium.md): outboxd relays a Debezium-layout table whose rows carry
// a tracingspancontext, to Kafka and to RabbitMQ, in both CloudEvents
// content modes; the PyPI CloudEvents SDK reads every message back through
// its protocol binding and OpenTelemetry's W3C propagator extracts the
// trace context (tests/scripts/check_events.py), and the trace and span
// ids must be the rows' own.
#include "amqp_client.h"
#include "services.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>

using namespace outboxd::testing;

namespace {

std::string b64(const std::string& in) {
    static const char* const kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned n = (static_cast<unsigned char>(in[i]) << 16U)
                           | (static_cast<unsigned char>(in[i + 1]) << 8U)
                           | static_cast<unsigned char>(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6) {
            out += kAlphabet[(n >> static_cast<unsigned>(s)) & 63U];
        }
    }
    if (i < in.size()) {
        unsigned n = static_cast<unsigned char>(in[i]) << 16U;
        if (i + 1 < in.size()) {
            n |= static_cast<unsigned char>(in[i + 1]) << 8U;
        }
        out += kAlphabet[(n >> 18U) & 63U];
        out += kAlphabet[(n >> 12U) & 63U];
        out += i + 1 < in.size() ? kAlphabet[(n >> 6U) & 63U] : '=';
        out += '=';
    }
    return out;
}

const char* const kTraceIds[] = {"4bf92f3577b34da6a3ce929d0e0e4736",
                                 "0af7651916cd43dd8448eb211c80319c",
                                 "5e4f9c2a1b3d4e5f60718293a4b5c6d7"};
const char* const kSpanIds[] = {"00f067aa0ba902b7", "b7ad6b7169203331", "1a2b3c4d5e6f7a8b"};

// A Debezium-layout table (with Quarkus's tracingspancontext), adopted,
// with three rows each carrying its own trace context; returns its name.
std::string traced_table() {
    const auto& svc = services();
    const std::string table = unique_name("ce_outbox");
    sql(svc.pg_dsn, "CREATE TABLE " + table
                        + " (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, aggregateid "
                          "varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb, "
                          "tracingspancontext varchar(256))");
    return table;
}

void insert_traced_rows(const std::string& table, const std::string& aggregate_type) {
    for (int i = 0; i < 3; ++i) {
        const std::string props = "#Thu Dec 05 10:00:00 UTC 2026\\ntraceparent=00-"
                                  + std::string(kTraceIds[i]) + "-" + kSpanIds[i]
                                  + "-01\\ntracestate=vendor\\\\=" + std::to_string(i) + "\\n";
        sql(services().pg_dsn,
            "INSERT INTO " + table
                + " (id, aggregatetype, aggregateid, type, payload, tracingspancontext) VALUES "
                  "(gen_random_uuid(), '"
                + aggregate_type + "', 'order-" + std::to_string(i) + "', 'OrderCreated', "
                + "'{\"orderId\": " + std::to_string(i) + ", \"total\": 12.50}', E'" + props
                + "')");
    }
}

std::string
config_for(const std::string& table, const std::string& broker_yaml, const std::string& envelope) {
    const auto& svc = services();
    const std::string path = scratch_path("ce-config") + ".yaml";
    std::ofstream(path) << "postgres:\n  dsn: \"" << svc.pg_dsn << "\"\n  table: " << table
                        << "\n  layout: debezium\nmessage:\n  envelope: " << envelope
                        << "\n  cloudevents:\n    source: \"urn:outboxd-test:" << table
                        << "\"\nrelay:\n  poll_interval_ms: 200\nhttp:\n  listen: "
                           "\"127.0.0.1:0\"\n"
                        << broker_yaml;
    return path;
}

void migrate(const std::string& cfg) {
    const auto [rc, out] = run_outboxd({"-c", cfg, "migrate"});
    INFO(out);
    REQUIRE(rc == 0);
}

void run_until_sent(const std::string& cfg, const std::string& table, int rows) {
    Daemon d({"-c", cfg, "run"});
    const bool sent = eventually(
        [&] {
            return sql_value(services().pg_dsn,
                             "SELECT count(*) FROM " + table + " WHERE outboxd_status = 1")
                   == std::to_string(rows);
        },
        std::chrono::seconds(60));
    INFO(tail_of(d.log()));
    REQUIRE(sent);
    d.signal(SIGTERM);
    REQUIRE(d.wait(std::chrono::seconds(30)) == 0);
}

// check_events.sh on the captured messages; its JSON lines. nullopt when
// its packages cannot be installed on this host (then the test is skipped).
std::optional<std::vector<nlohmann::json>> read_back(const nlohmann::json& messages,
                                                     const std::string& mode) {
    const std::string file = scratch_path("ce-messages") + ".json";
    std::ofstream(file) << messages.dump();
    const std::string err_path = scratch_path("ce-stderr");
    const std::string cmd =
        "env OUTBOXD_EVENTS_VENV=" + shell_quote(OUTBOXD_TEST_EVENTS_VENV) + " "
        + shell_quote(std::string(OUTBOXD_TEST_SCRIPTS_DIR) + "/check_events.sh") + " "
        + shell_quote(file) + " --require-cloudevents --require-trace --mode " + mode + " 2>"
        + shell_quote(err_path);
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
        out.append(buf, n);
    }
    const int st = ::pclose(p);
    std::ifstream ef(err_path);
    const std::string err((std::istreambuf_iterator<char>(ef)), {});
    INFO(err);
    INFO(out);
    const int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (rc == 2 && err.find("installing the packages") != std::string::npos) {
        return std::nullopt;
    }
    REQUIRE(rc == 0);
    std::vector<nlohmann::json> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            lines.push_back(nlohmann::json::parse(line));
        }
    }
    return lines;
}

// Every line names one of the rows' trace and span ids, each once.
void check_traces(const std::vector<nlohmann::json>& lines) {
    REQUIRE(lines.size() == 3);
    std::set<std::string> traces;
    for (const auto& l : lines) {
        INFO(l.dump());
        const std::string trace = l.dump();
        for (int i = 0; i < 3; ++i) {
            if (trace.find(kTraceIds[i]) != std::string::npos) {
                CHECK(trace.find(kSpanIds[i]) != std::string::npos);
                traces.insert(kTraceIds[i]);
            }
        }
    }
    CHECK(traces.size() == 3);
}

// A traced Debezium table relayed to `broker_yaml`'s broker in `mode`.
void relay_traced(const std::string& type,
                  const std::string& broker_yaml,
                  const std::string& mode) {
    const std::string table = traced_table();
    const std::string cfg = config_for(table, broker_yaml, "cloudevents-" + mode);
    migrate(cfg);
    insert_traced_rows(table, type);
    run_until_sent(cfg, table, 3);
}

// (name, value) pairs as check_events.py reads them.
template <typename Headers>
nlohmann::json headers_json(const Headers& headers) {
    nlohmann::json hs = nlohmann::json::array();
    for (const auto& [n, v] : headers) {
        hs.push_back({{"name", n}, {"value_b64", b64(v)}});
    }
    return hs;
}

// Reads the three messages back and checks their traces; false when the
// packages could not be installed (the test then reports a skip).
bool read_back_traced(const nlohmann::json& messages, const std::string& mode) {
    REQUIRE(messages.size() == 3);
    const auto lines = read_back(messages, mode);
    if (!lines) {
        std::cout << "SKIPPED: the CloudEvents SDK and OpenTelemetry could not be installed "
                     "(tests/scripts/requirements-events.txt)\n";
        return false;
    }
    check_traces(*lines);
    return true;
}

} // namespace

TEST_CASE("CloudEvents on Kafka: both content modes read back by the SDK, the rows' trace "
          "context by OpenTelemetry",
          "[cloudevents]") {
    const auto& svc = services();
    for (const std::string mode : {"binary", "structured"}) {
        INFO("mode " << mode);
        const std::string type = "ce" + mode + std::to_string(::getpid());
        const std::string topic = "outbox.event." + type;
        create_topic(svc.kafka_bootstrap, topic, 3, 1);
        relay_traced(type, "kafka:\n  bootstrap_servers: \"" + svc.kafka_bootstrap + "\"\n", mode);
        nlohmann::json messages = nlohmann::json::array();
        for (const auto& c : read_topic(svc.kafka_bootstrap, topic)) {
            nlohmann::json m = {{"broker", "kafka"}, {"topic", topic}};
            m["key_b64"] = c.key ? nlohmann::json(b64(*c.key)) : nlohmann::json();
            m["value_b64"] = c.payload ? nlohmann::json(b64(*c.payload)) : nlohmann::json();
            m["headers"] = headers_json(c.headers);
            messages.push_back(m);
        }
        if (!read_back_traced(messages, mode)) {
            return;
        }
    }
}

TEST_CASE("CloudEvents on RabbitMQ: both content modes read back by the SDK's AMQP binding",
          "[cloudevents]") {
    const auto& svc = services();
    AmqpClient amqp;
    for (const std::string mode : {"binary", "structured"}) {
        INFO("mode " << mode);
        const std::string type = "ce" + mode + std::to_string(::getpid());
        const std::string exchange = "outbox.event." + type;
        const std::string queue = unique_name("ce_queue");
        amqp.exchange(exchange);
        amqp.classic_queue(queue);
        for (int i = 0; i < 3; ++i) {
            amqp.bind(queue, exchange, "order-" + std::to_string(i));
        }
        relay_traced(type, "broker: rabbitmq\nrabbitmq:\n  url: \"" + svc.rabbitmq_url + "\"\n",
                     mode);
        nlohmann::json messages = nlohmann::json::array();
        for (const auto& a : amqp.drain(queue)) {
            nlohmann::json m = {{"broker", "rabbitmq"}, {"topic", exchange}};
            m["key_b64"] = b64(a.routing_key);
            m["value_b64"] = b64(a.body);
            if (!a.content_type.empty()) {
                m["content_type"] = a.content_type;
            }
            m["headers"] = headers_json(a.headers);
            messages.push_back(m);
        }
        if (!read_back_traced(messages, mode)) {
            return;
        }
        amqp.delete_queue(queue);
        amqp.delete_exchange(exchange);
    }
}

TEST_CASE("CloudEvents: a source that is no URI reference stops the daemon at start, not every "
          "row",
          "[cloudevents]") {
    const std::string table = traced_table();
    const std::string path = scratch_path("ce-bad-source") + ".yaml";
    std::ofstream(path) << "postgres:\n  dsn: \"" << services().pg_dsn << "\"\n  table: " << table
                        << "\n  layout: debezium\nmessage:\n  envelope: cloudevents-binary\n"
                           "  cloudevents:\n    source: \"1bad:source\"\nkafka:\n"
                           "  bootstrap_servers: \""
                        << services().kafka_bootstrap << "\"\nhttp:\n  listen: \"127.0.0.1:0\"\n";
    const auto [rc, out] = run_outboxd({"-c", path, "run"}, std::chrono::seconds(30));
    INFO(out);
    CHECK(rc == 2);
    CHECK_THAT(out, Catch::Contains("message.cloudevents.source"));
}
