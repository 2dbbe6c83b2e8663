// The reference consumer's pure parts (examples/inventory_consumer): its
// options, every problem listed at once, for both brokers; the order and
// outbox-header checks that make a message a failure. No I/O.
#include "amqp_clients.h"
#include "options.h"
#include "order.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

using namespace inventory;

namespace {

ParsedOptions parse(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {}) {
    return parse_options(args, [&](const char* name) -> std::optional<std::string> {
        const auto it = env.find(name);
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    });
}

bool has(const std::vector<std::string>& problems, const std::string& part) {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const std::string& p) { return p.find(part) != std::string::npos; });
}

std::string all(const std::vector<std::string>& problems) {
    std::string out;
    for (const auto& p : problems) {
        out += p + "\n";
    }
    return out;
}

} // namespace

TEST_CASE("inventory consumer options: Kafka, the defaults and the environment",
          "[unit][inventory]") {
    const auto r = parse({"--bootstrap", "k:9092", "--group", "inventory", "--topic", "orders,more",
                          "--commit-every=25"},
                         {{"INVENTORY_DSN", "dbname=shop"}, {"INVENTORY_GROUP", "ignored"}});
    INFO(all(r.problems));
    REQUIRE(r.problems.empty());
    CHECK(r.options.broker == Broker::kKafka);
    CHECK(r.options.group == "inventory"); // the command line wins
    CHECK(r.options.dsn == "dbname=shop");
    CHECK(r.options.topics == std::vector<std::string>{"orders", "more"});
    CHECK(r.options.ack_topic == "outbox.acks");
    CHECK(r.options.commit_every == 25);
    CHECK(r.options.schema == "public");
}

TEST_CASE("inventory consumer options: every problem at once", "[unit][inventory]") {
    const auto r = parse({"--commit-every", "0", "--summary-interval-ms", "x", "--topic", "a,,b",
                          "-X", "enable.auto.commit=true", "--queue", "q", "--bogus"});
    INFO(all(r.problems));
    CHECK(has(r.problems, "--bootstrap (or INVENTORY_BOOTSTRAP) is required"));
    CHECK(has(r.problems, "--group (or INVENTORY_GROUP) is required"));
    CHECK(has(r.problems, "--dsn (or INVENTORY_DSN) is required"));
    CHECK(has(r.problems, "--commit-every \"0\" must be an integer from 1 to 100000"));
    CHECK(has(r.problems, "--summary-interval-ms \"x\""));
    CHECK(has(r.problems, "--topic \"a,,b\" names an empty topic"));
    CHECK(has(r.problems, "enable.auto.commit is refused"));
    CHECK(has(r.problems, "--queue is for --broker rabbitmq"));
    CHECK(has(r.problems, "unknown argument \"--bogus\""));
    CHECK(r.problems.size() == 9);
}

TEST_CASE("inventory consumer options: RabbitMQ", "[unit][inventory]") {
    SECTION("valid, with the environment") {
        const auto r = parse({"--broker", "rabbitmq", "--group", "inventory", "--queue", "orders",
                              "--dsn", "dbname=shop"},
                             {{"INVENTORY_AMQP_URL", "amqp://u:secret@mq:5673/shop"},
                              {"INVENTORY_ACK_QUEUE", "acks"},
                              {"INVENTORY_TOPICS", "not-for-rabbitmq"}});
        INFO(all(r.problems));
        REQUIRE(r.problems.empty());
        CHECK(r.options.broker == Broker::kRabbitmq);
        CHECK(r.options.queue == "orders");
        CHECK(r.options.ack_queue == "acks");
        CHECK(r.options.topics.empty()); // Kafka's environment is not read
        const auto ep = parse_amqp_url(r.options.amqp_url, r.options.amqp_ca_file);
        REQUIRE(ep);
        CHECK(ep->host == "mq");
        CHECK(ep->port == 5673);
        CHECK(ep->user == "u");
        CHECK(ep->vhost == "shop");
        CHECK_FALSE(ep->tls);
        CHECK(describe(*ep) == "mq:5673 vhost shop"); // never the password
    }
    SECTION("amqps and the default vhost") {
        const auto ep = parse_amqp_url("amqps://u:p@mq", "/etc/ca.pem");
        REQUIRE(ep);
        CHECK(ep->tls);
        CHECK(ep->port == 5671);
        CHECK(ep->vhost == "/");
        CHECK(ep->ca_file == "/etc/ca.pem");
    }
    SECTION("every problem at once; Kafka's options refused") {
        const auto r = parse({"--broker", "rabbitmq", "--amqp-url", "http://u:secret@x",
                              "--ack-queue", "orders", "--queue", "orders", "--topic", "t",
                              "--bootstrap", "k:9092", "-X", "linger.ms=1"});
        INFO(all(r.problems));
        CHECK(has(r.problems, "--amqp-url is not an AMQP URI"));
        CHECK_FALSE(has(r.problems, "secret")); // the URL is never quoted
        CHECK(has(r.problems, "--group (or INVENTORY_GROUP) is required: the consumer's name"));
        CHECK(has(r.problems, "--dsn (or INVENTORY_DSN) is required"));
        CHECK(has(r.problems, "--queue orders is also the --ack-queue"));
        CHECK(has(r.problems, "--topic is for --broker kafka"));
        CHECK(has(r.problems, "--bootstrap is for --broker kafka"));
        CHECK(has(r.problems, "-X is for --broker kafka"));
        CHECK(r.problems.size() == 7);
    }
    SECTION("the queue and the URL are required; an unknown broker is named") {
        auto r = parse({"--broker", "rabbitmq", "--group", "g", "--dsn", "d"});
        CHECK(has(r.problems, "--amqp-url (or INVENTORY_AMQP_URL) is required"));
        CHECK(has(r.problems, "--queue (or INVENTORY_QUEUE) is required"));
        CHECK(r.problems.size() == 2);
        r = parse({"--broker", "nats"});
        CHECK(has(r.problems, "--broker \"nats\" must be kafka or rabbitmq"));
    }
}

TEST_CASE("inventory consumer: what makes a message a failure", "[unit][inventory]") {
    const auto ok = parse_order(R"({"sku": "A-1", "qty": 3, "note": "extra fields are fine"})");
    REQUIRE(ok.order);
    CHECK(ok.order->sku == "A-1");
    CHECK(ok.order->qty == 3);
    CHECK_THAT(parse_order(R"({"sku": "A-1", "qty": )").problem,
               Catch::StartsWith("payload is not JSON"));
    CHECK(parse_order(R"({"sku": "A-1", "qty": 0})").problem == "qty must be positive, got 0");
    CHECK_FALSE(parse_order(R"({"qty": 1})").order);
    CHECK_FALSE(parse_order(R"([1, 2])").order);

    const auto ref = parse_ref(std::string("shop/public.outbox"), std::string("42"));
    REQUIRE(ref.ref);
    CHECK(ref.ref->id == 42);
    CHECK_FALSE(parse_ref(std::nullopt, std::string("42")).ref);
    CHECK_FALSE(parse_ref(std::string("shop/public.outbox"), std::string("-1")).ref);
    CHECK_FALSE(parse_ref(std::string("shop/public.outbox"), std::string("4x")).ref);
}
