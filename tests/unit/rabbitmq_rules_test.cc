// The RabbitMQ durability rules over management-API answers, and the
// pieces of the publisher that need no broker (message ids, path encoding).
#include "rabbitmq/durability_rules.h"
#include "rabbitmq/rabbit_admin.h"
#include "rabbitmq/rabbit_publisher.h"

#include <catch2/catch.hpp>

namespace outboxd::rabbitmq {
namespace {

using nlohmann::json;

std::string all(const std::vector<std::string>& problems) {
    std::string out;
    for (const auto& p : problems) {
        out += p + "\n";
    }
    return out;
}

TEST_CASE("rabbitmq rules: a durable quorum queue without limits has no problem",
          "[unit][rabbitmq]") {
    const json q = {{"name", "orders"},   {"durable", true},  {"auto_delete", false},
                    {"exclusive", false}, {"type", "quorum"}, {"arguments", json::object()}};
    CHECK(queue_problems(q).empty());
    CHECK(queue_summary(q) == "orders (quorum durable)");
    CHECK(exchange_problems(json{{"durable", true}, {"auto_delete", false}}).empty());
}

TEST_CASE("rabbitmq rules: each way a queue or exchange loses messages is named",
          "[unit][rabbitmq]") {
    const json weak = {
        {"name", "w"},         {"durable", false},
        {"auto_delete", true}, {"exclusive", true},
        {"type", "classic"},   {"arguments", {{"x-message-ttl", 60000}, {"x-max-length", 10}}}};
    const std::string text = all(queue_problems(weak));
    CHECK_THAT(text, Catch::Contains("queue 'w' is not durable"));
    CHECK_THAT(text, Catch::Contains("auto-delete"));
    CHECK_THAT(text, Catch::Contains("exclusive"));
    CHECK_THAT(text, Catch::Contains("classic queue"));
    CHECK_THAT(text, Catch::Contains("drops messages after 60000 ms"));
    CHECK_THAT(text, Catch::Contains("drops its oldest messages when full (max-length 10"));
    CHECK(queue_problems(weak).size() == 6);

    // A dead-letter exchange or reject-publish keeps what the limits remove.
    const json kept = {
        {"name", "k"},
        {"durable", true},
        {"type", "quorum"},
        {"arguments",
         {{"x-message-ttl", 1}, {"x-dead-letter-exchange", "dlx"}, {"x-max-length", 5}}}};
    CHECK(queue_problems(kept).empty());
    const json rejecting = {{"name", "r"},
                            {"durable", true},
                            {"type", "quorum"},
                            {"arguments", {{"x-max-length", 5}, {"x-overflow", "reject-publish"}}}};
    CHECK(queue_problems(rejecting).empty());
    // Limits set by a policy count like arguments.
    const json by_policy = {{"name", "p"},
                            {"durable", true},
                            {"type", "quorum"},
                            {"effective_policy_definition", {{"message-ttl", 5}}}};
    CHECK_THAT(all(queue_problems(by_policy)), Catch::Contains("drops messages after 5 ms"));

    const std::string ex = all(exchange_problems(json{{"durable", false}, {"auto_delete", true}}));
    CHECK_THAT(ex, Catch::Contains("exchange is not durable"));
    CHECK_THAT(ex, Catch::Contains("auto-delete"));
}

TEST_CASE("rabbitmq: message ids and management paths", "[unit][rabbitmq]") {
    CHECK(message_id("app/public.outbox", 42) == "app/public.outbox/42");
    CHECK(message_id("", 7) == "7");
    CHECK(encode_path_segment("/") == "%2F");
    CHECK(encode_path_segment("orders.v1") == "orders.v1");
    CHECK(encode_path_segment("a b") == "a%20b");
}

TEST_CASE("rabbitmq: parse_url splits the URI and never shows the password", "[unit][rabbitmq]") {
    Endpoint ep;
    REQUIRE(parse_url("amqp://relay:s3cret@10.0.0.5:5673/billing", &ep).ok());
    CHECK(ep.host == "10.0.0.5");
    CHECK(ep.port == 5673);
    CHECK(ep.user == "relay");
    CHECK(ep.password == "s3cret");
    CHECK(ep.vhost == "billing");
    CHECK_FALSE(ep.tls);
    CHECK(describe(ep) == "10.0.0.5:5673 vhost billing");
    REQUIRE(parse_url("amqps://u:p@h/%2f", &ep).ok());
    CHECK(ep.tls);
    CHECK(ep.port == 5671);
    CHECK(ep.vhost == "/");
    const Status bad = parse_url("amqp://u:s3cret@h:notaport/v", &ep);
    CHECK_FALSE(bad.ok());
    CHECK_THAT(bad.error(), !Catch::Contains("s3cret"));
}

} // namespace
} // namespace outboxd::rabbitmq
