// rabbitmq.declare_file's parser: RabbitMQ's definitions export as it is,
// the same keys in YAML, and every problem of a bad file listed at once.
#include "config/config.h"
#include "config/rabbit_topology.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace outboxd::config {
namespace {

std::string all(const std::vector<std::string>& problems) {
    std::string out;
    for (const auto& p : problems) {
        out += p + "\n";
    }
    return out;
}

// The shape `rabbitmqctl export_definitions` writes (3.10), users and all.
const char* const kExport = R"({
  "rabbit_version": "3.10.8",
  "rabbitmq_version": "3.10.8",
  "product_name": "RabbitMQ",
  "product_version": "3.10.8",
  "users": [{"name": "guest", "password_hash": "x", "hashing_algorithm":
             "rabbit_password_hashing_sha256", "tags": ["administrator"], "limits": {}}],
  "vhosts": [{"name": "/"}],
  "permissions": [],
  "topic_permissions": [],
  "parameters": [],
  "global_parameters": [{"name": "internal_cluster_id", "value": "rabbitmq-cluster-id-x"}],
  "policies": [],
  "queues": [
    {"name": "billing", "vhost": "/", "durable": true, "auto_delete": false,
     "arguments": {"x-queue-type": "quorum", "x-delivery-limit": 20, "x-dead-letter-exchange": "dlx"}},
    {"name": "elsewhere", "vhost": "other", "durable": true, "auto_delete": false, "arguments": {}}
  ],
  "exchanges": [
    {"name": "orders", "vhost": "/", "type": "topic", "durable": true, "auto_delete": false,
     "internal": false, "arguments": {}}
  ],
  "bindings": [
    {"source": "orders", "vhost": "/", "destination": "billing", "destination_type": "queue",
     "routing_key": "order.*", "arguments": {}}
  ]
})";

TEST_CASE("rabbitmq topology: a definitions export is read as RabbitMQ writes it",
          "[unit][rabbitmq][config]") {
    std::vector<std::string> problems;
    const auto t = parse_rabbit_topology(kExport, "/etc/outboxd/defs.json", &problems);
    INFO(all(problems));
    REQUIRE(problems.empty());
    REQUIRE(t.exchanges.size() == 1);
    CHECK(describe(t.exchanges[0]) == "exchange 'orders' (topic, durable)");
    REQUIRE(t.queues.size() == 2);
    CHECK(describe(t.queues[0]) == "queue 'billing' (quorum, durable)");
    CHECK(t.queues[1].vhost == "other"); // kept; the declaring side skips it
    REQUIRE(t.queues[0].arguments.size() == 3);
    // JSON numbers are AMQP longs, JSON strings stay strings.
    CHECK(t.queues[0].arguments[1].first == "x-delivery-limit");
    CHECK(std::get<std::int64_t>(t.queues[0].arguments[1].second) == 20);
    CHECK(std::get<std::string>(t.queues[0].arguments[2].second) == "dlx");
    REQUIRE(t.bindings.size() == 1);
    CHECK(describe(t.bindings[0]) == "binding 'orders' -> queue 'billing' (routing key 'order.*')");
    // Users, permissions and policies are the broker operator's: never applied.
    CHECK(t.ignored.size() == 11);
}

TEST_CASE("rabbitmq topology: YAML with defaults (durable, queue destination)",
          "[unit][rabbitmq][config]") {
    std::vector<std::string> problems;
    const auto t = parse_rabbit_topology(R"(
exchanges:
  - {name: orders, type: direct}
queues:
  - name: orders.billing
    type: quorum
    arguments: {x-max-length: 100000, x-overflow: reject-publish, x-note: "100"}
bindings:
  - {source: orders, destination: orders.billing, routing_key: eu}
  - {source: orders, destination: audit, destination_type: exchange}
)",
                                         "topology.yaml", &problems);
    INFO(all(problems));
    REQUIRE(problems.empty());
    CHECK(t.exchanges[0].durable);
    CHECK_FALSE(t.exchanges[0].auto_delete);
    CHECK(describe(t.queues[0]) == "queue 'orders.billing' (quorum, durable)");
    // `type` became the x-queue-type argument; a quoted number stays text.
    CHECK(std::get<std::string>(t.queues[0].arguments.back().second) == "quorum");
    CHECK(std::get<std::string>(t.queues[0].arguments[2].second) == "100");
    CHECK_FALSE(t.bindings[0].to_exchange);
    CHECK(t.bindings[1].to_exchange);
    CHECK(t.bindings[1].routing_key.empty());
}

TEST_CASE("rabbitmq topology: every problem of a bad file is listed, by entry",
          "[unit][rabbitmq][config]") {
    std::vector<std::string> problems;
    parse_rabbit_topology(R"(
exchange: []
exchanges:
  - {name: orders, type: rabbit}
  - {type: fanout}
  - {name: x, type: direct, durabel: true}
queues:
  - {name: q, durable: yes-please}
  - {name: r, type: quorum, arguments: {x-queue-type: classic}}
  - {name: s, arguments: {x-list: [1, 2]}}
bindings:
  - {source: orders, destination_type: topic}
)",
                          "bad.yaml", &problems);
    const std::string text = all(problems);
    INFO(text);
    CHECK(text.find("exchange: unknown section") != std::string::npos);
    CHECK(text.find("exchanges[0].type: 'rabbit' is not an exchange type") != std::string::npos);
    CHECK(text.find("exchanges[1].name: is required") != std::string::npos);
    CHECK(text.find("exchanges[2].durabel: unknown field") != std::string::npos);
    CHECK(text.find("queues[0].durable: expected true or false") != std::string::npos);
    CHECK(text.find("queues[1].type: 'quorum' contradicts arguments.x-queue-type")
          != std::string::npos);
    CHECK(text.find("queues[2].arguments.x-list: only strings, numbers and booleans")
          != std::string::npos);
    CHECK(text.find("bindings[0].destination: is required") != std::string::npos);
    CHECK(text.find("bindings[0].destination_type: expected queue or exchange")
          != std::string::npos);
    CHECK(problems.size() == 9);
}

TEST_CASE("rabbitmq topology: not a topology at all", "[unit][rabbitmq][config]") {
    std::vector<std::string> problems;
    parse_rabbit_topology("{\"queues\": [", "broken.json", &problems);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].rfind("file: not valid JSON or YAML", 0) == 0);
    problems.clear();
    parse_rabbit_topology("- a\n- b\n", "list.yaml", &problems);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("expected a map with exchanges, queues and bindings")
          != std::string::npos);
    problems.clear();
    parse_rabbit_topology("users: []\n", "users.json", &problems);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "file: declares nothing (no exchanges, queues or bindings)");
}

TEST_CASE("rabbitmq topology: the config loader reads declare_file beside the config and lists "
          "its problems with the others",
          "[unit][rabbitmq][config]") {
    char dir_template[] = "/tmp/outboxd-topology-XXXXXX";
    const std::string dir = ::mkdtemp(dir_template);
    {
        std::ofstream(dir + "/good.yaml") << "exchanges: [{name: orders, type: topic}]\n";
        std::ofstream(dir + "/bad.yaml") << "queues: [{name: q, durable: maybe}]\n";
    }
    const std::string base = "broker: rabbitmq\n"
                             "postgres: {dsn: \"host=localhost dbname=x\"}\n"
                             "rabbitmq:\n  url: \"amqp://u:p@localhost:5672/%2F\"\n";
    auto load = [&](const std::string& yaml) {
        std::ofstream(dir + "/outboxd.yaml") << yaml;
        return load_config(dir + "/outboxd.yaml", {});
    };
    const auto good = load(base + "  declare_file: good.yaml\n");
    INFO((good.problems.empty() ? std::string() : good.problems[0].message));
    REQUIRE(good.config);
    CHECK(good.config->rabbitmq.declare.file == dir + "/good.yaml");
    CHECK(good.config->rabbitmq.declare.exchanges.size() == 1);

    const auto bad = load(base + "  declare_file: bad.yaml\nrelay: {batch_size: 0}\n");
    CHECK_FALSE(bad.config);
    std::string text;
    for (const auto& p : bad.problems) {
        text += p.path + ": " + p.message + "\n";
    }
    INFO(text);
    CHECK(text.find("rabbitmq.declare_file") != std::string::npos);
    CHECK(text.find("queues[0].durable: expected true or false") != std::string::npos);
    CHECK(text.find("relay.batch_size") != std::string::npos); // listed with the others

    const auto missing = load(base + "  declare_file: none.yaml\n");
    REQUIRE(missing.problems.size() == 1);
    CHECK(missing.problems[0].message.find("cannot read") != std::string::npos);
    std::remove((dir + "/good.yaml").c_str());
    std::remove((dir + "/bad.yaml").c_str());
    std::remove((dir + "/outboxd.yaml").c_str());
    ::rmdir(dir.c_str());
}

} // namespace
} // namespace outboxd::config
