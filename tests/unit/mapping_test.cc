// Rows to messages in the Debezium layout and the CloudEvents envelopes
// (relay/mapping.h), and the topic route (common/topic_route.h). No I/O.
#include "common/topic_route.h"
#include "config/config.h"
#include "relay/mapping.h"

#include <catch2/catch.hpp>

#include <string>

using outboxd::TopicRoute;
using outboxd::config::AdditionalField;
using outboxd::config::Envelope;
using outboxd::config::Placement;
using outboxd::relay::Mapped;
using outboxd::relay::Mapping;
using outboxd::relay::MappingOptions;
using outboxd::store::PayloadType;
using outboxd::store::PendingRow;

namespace {

TopicRoute route_of(const std::string& regex, const std::string& replacement) {
    auto r = TopicRoute::compile(regex, replacement);
    if (auto* err = std::get_if<std::string>(&r)) {
        FAIL(*err);
    }
    return std::get<TopicRoute>(r);
}

std::string route_error(const std::string& regex, const std::string& replacement) {
    auto r = TopicRoute::compile(regex, replacement);
    REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
}

// The debezium preset as MappingOptions::from makes it.
MappingOptions debezium() {
    outboxd::config::Config cfg;
    cfg.postgres.layout = outboxd::config::Layout::kDebezium;
    cfg.postgres.columns.event_id = "id";
    cfg.postgres.columns.event_type = "type";
    cfg.postgres.route.by_column = "aggregatetype";
    cfg.postgres.route.topic_replacement = "outbox.event.${routedByValue}";
    auto o = MappingOptions::from(cfg);
    o.outbox_source = "shop/public.outbox";
    return o;
}

PendingRow row(std::string aggregate_type,
               std::optional<std::string> payload,
               PayloadType type = PayloadType::kJson) {
    PendingRow r;
    r.id = 42;
    r.topic = std::move(aggregate_type);
    r.key = "order-7";
    r.payload = std::move(payload);
    r.payload_type = type;
    r.event_id = "7b1c4b8e-0e6f-4a51-9d7a-52b1d6f5e0a1";
    r.event_type = "OrderCreated";
    r.created_at_us = 1700000000123456;
    return r;
}

Mapped mapped(Mapping& m, const PendingRow& r) {
    auto out = m.map(r);
    if (auto* err = std::get_if<std::string>(&out)) {
        FAIL(*err);
    }
    return std::get<Mapped>(out);
}

std::string error_of(Mapping& m, const PendingRow& r) {
    auto out = m.map(r);
    REQUIRE(std::holds_alternative<std::string>(out));
    return std::get<std::string>(out);
}

std::optional<std::string> header(const Mapped& m, const std::string& name) {
    for (const auto& h : m.headers) {
        if (h.name == name) {
            return h.value;
        }
    }
    return std::nullopt;
}

std::string value_of(const Mapped& m, const PendingRow& r) {
    const auto& v = m.value_is_payload ? r.payload : m.value;
    REQUIRE(v.has_value());
    return *v;
}

} // namespace

TEST_CASE("topic route: Debezium's default expression and replacement", "[unit][mapping]") {
    const auto r = route_of("(?<routedByValue>.*)", "outbox.event.${routedByValue}");
    CHECK(r.apply("Order") == "outbox.event.Order");
    CHECK(r.apply("") == "outbox.event.");
}

TEST_CASE("topic route: numbered groups, literal dollars, values that do not match",
          "[unit][mapping]") {
    const auto r = route_of("(\\w+)-(?<region>eu|us)", "events.${region}.$1\\$");
    CHECK(r.apply("billing-eu") == "events.eu.billing$");
    // The whole value must match; otherwise it is the topic as it is.
    CHECK(r.apply("billing-asia") == "billing-asia");
    // $12 with only two groups is group 1 followed by "2", as in Java.
    CHECK(route_of("(a)(b)", "x$12").apply("ab") == "xa2");
    // Character classes keep their parentheses literal.
    CHECK(route_of("[(]?(\\w+)[)]?", "t.$1").apply("(abc)") == "t.abc");
}

TEST_CASE("topic route: Java-only constructs and bad replacements are refused with the reason",
          "[unit][mapping]") {
    CHECK_THAT(route_error("(?<=a)b", "$0"), Catch::Contains("lookbehind"));
    CHECK_THAT(route_error("a++", "x"), Catch::Contains("possessive"));
    CHECK_THAT(route_error("\\p{Lu}+", "x"), Catch::Contains("Java-only"));
    CHECK_THAT(route_error("(?i)abc", "x"), Catch::Contains("inline flags"));
    CHECK_THAT(route_error("(a", "x"), Catch::Contains("route.topic_regex"));
    CHECK_THAT(route_error("(?<v>.*)", "${w}"), Catch::Contains("no group named \"w\""));
    CHECK_THAT(route_error("(.*)", "$2"), Catch::Contains("no group 2"));
    CHECK_THAT(route_error("(.*)", "a$"), Catch::Contains("write \\$"));
    CHECK_THAT(route_error("(?<v>a)(?<v>b)", "$1"), Catch::Contains("used twice"));
}

TEST_CASE("debezium layout: topic, key, the id header, value as the payload's bytes",
          "[unit][mapping]") {
    Mapping m(debezium());
    const auto r = row("Order", R"({"total": 12.50, "items": [1, 2]})");
    const auto out = mapped(m, r);
    CHECK(out.topic == "outbox.event.Order");
    CHECK(out.value_is_payload);
    CHECK(value_of(out, r) == R"({"total": 12.50, "items": [1, 2]})");
    REQUIRE(out.headers.size() == 1);
    CHECK(out.headers[0].name == "id");
    CHECK(out.headers[0].value == "7b1c4b8e-0e6f-4a51-9d7a-52b1d6f5e0a1");
    CHECK(out.partition == -1);
    CHECK(out.timestamp_ms == 0);
}

TEST_CASE("debezium layout: a NULL id, route value or bad routed topic fails the row readably",
          "[unit][mapping]") {
    Mapping m(debezium());
    auto r = row("Order", "{}");
    r.event_id.reset();
    CHECK_THAT(error_of(m, r), Catch::Contains("event id column is NULL"));
    CHECK_THAT(error_of(m, row("Order Lines", "{}")),
               Catch::Contains("routed topic \"outbox.event.Order Lines\" from \"Order Lines\""));
}

TEST_CASE("expand_json_payload: JSON objects and arrays become compact JSON, others stay",
          "[unit][mapping]") {
    auto o = debezium();
    o.expand_json_payload = true;
    Mapping m(o);
    const auto obj = row("Order", R"({"b": 1, "a": [1.5, 10.0, -3.25], "s": "x y"})");
    auto out = mapped(m, obj);
    CHECK_FALSE(out.value_is_payload);
    CHECK(value_of(out, obj) == R"({"b":1,"a":[1.5,10.0,-3.25],"s":"x y"})");
    // An array mixing ints and doubles: Debezium's expansion fails, the
    // payload goes as it is.
    const auto mixed = row("Order", R"({"a": [1, 2.5]})");
    CHECK(value_of(mapped(m, mixed), mixed) == R"("{\"a\": [1, 2.5]}")");
    // What cannot be expanded is sent as a JSON string, as the converter
    // writes a string; NULL as JSON null; bytea as its base64 string.
    const auto scalar = row("Order", R"("just text")");
    CHECK(value_of(mapped(m, scalar), scalar) == "\"\\\"just text\\\"\"");
    const auto broken = row("Order", "{not json", PayloadType::kText);
    CHECK(value_of(mapped(m, broken), broken) == R"("{not json")");
    const auto none = row("Order", std::nullopt);
    CHECK(value_of(mapped(m, none), none) == "null");
    const auto bytes = row("Order", R"({"a": 1})", PayloadType::kBytea);
    CHECK(value_of(mapped(m, bytes), bytes) == R"("eyJhIjogMX0=")");
}

TEST_CASE("additional fields: headers in order, envelope members, the partition",
          "[unit][mapping]") {
    auto o = debezium();
    o.additional_fields = {AdditionalField{"type", Placement::kHeader, "eventType"},
                           AdditionalField{"aggregatetype", Placement::kHeader, "aggregatetype"},
                           AdditionalField{"region", Placement::kPartition, "region"}};
    Mapping m(o);
    auto r = row("Order", "{}");
    r.fields = {std::string("OrderCreated"), std::string("Order"), std::string("2")};
    const auto out = mapped(m, r);
    REQUIRE(out.headers.size() == 3);
    CHECK(out.headers[1].name == "eventType");
    CHECK(out.headers[1].value == "OrderCreated");
    CHECK(out.headers[2].name == "aggregatetype");
    CHECK(out.partition == 2);

    r.fields[2] = std::string("-1");
    CHECK_THAT(error_of(m, r), Catch::Contains("not a partition number"));
    // NULL: the partitioner chooses by the key; a NULL header is a null value.
    r.fields[2].reset();
    r.fields[1].reset();
    const auto by_key = mapped(m, r);
    CHECK(by_key.partition == -1);
    CHECK(by_key.headers[2].null_value);
}

TEST_CASE("envelope placement: the value is a JSON object of the payload and the members",
          "[unit][mapping]") {
    auto o = debezium();
    o.additional_fields = {AdditionalField{"type", Placement::kEnvelope, "eventType"},
                           AdditionalField{"version", Placement::kEnvelope, "version"}};
    Mapping m(o);
    auto r = row("Order", R"({"a": 1})");
    r.fields = {std::string(R"("OrderCreated")"), std::string("3")};
    CHECK(value_of(mapped(m, r), r)
          == R"({"payload":"{\"a\": 1}","eventType":"OrderCreated","version":3})");

    auto bytes = row("Order", std::string("\x01\x02\xff", 3), PayloadType::kBytea);
    bytes.fields = {std::nullopt, std::string("1")};
    CHECK(value_of(mapped(m, bytes), bytes)
          == R"({"payload":"AQL/","eventType":null,"version":1})");

    o.expand_json_payload = true;
    Mapping expanding(o);
    CHECK(value_of(mapped(expanding, r), r)
          == R"({"payload":{"a":1},"eventType":"OrderCreated","version":3})");
}

TEST_CASE("tombstone_on_empty_payload: NULL and blank payloads become a null value",
          "[unit][mapping]") {
    auto o = debezium();
    Mapping keep(o);
    const auto blank = row("Order", std::string(" \t\n"), PayloadType::kText);
    CHECK(mapped(keep, blank).value_is_payload);
    o.tombstone_on_empty_payload = true;
    Mapping m(o);
    for (const auto& r : {blank, row("Order", std::nullopt)}) {
        const auto out = mapped(m, r);
        CHECK_FALSE(out.value_is_payload);
        CHECK_FALSE(out.value.has_value());
        CHECK(header(out, "id"));
    }
    CHECK(mapped(m, row("Order", "{}")).value_is_payload);
}

TEST_CASE("trace context: Debezium's Properties text becomes traceparent and tracestate",
          "[unit][mapping]") {
    Mapping m(debezium());
    auto r = row("Order", "{}");
    r.tracing = "#Mon Jan 01 00:00:00 UTC 2024\n"
                "traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n"
                "tracestate=vendor\\=1\n";
    auto out = mapped(m, r);
    CHECK(header(out, "traceparent") == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    CHECK(header(out, "tracestate") == "vendor=1");
    CHECK_FALSE(out.trace_problem);

    // An invalid context never fails the row: it is left out and said why.
    r.tracing = "traceparent=00-zz-b7ad6b7169203331-01";
    out = mapped(m, r);
    CHECK_FALSE(header(out, "traceparent"));
    CHECK(out.trace_problem);
}

TEST_CASE("event timestamp: the Kafka timestamp in milliseconds", "[unit][mapping]") {
    Mapping m(debezium());
    auto r = row("Order", "{}");
    r.event_time_us = 1700000000123456;
    CHECK(mapped(m, r).timestamp_ms == 1700000000123);
}

TEST_CASE("cloudevents-binary on Kafka: ce_ headers and content-type, value unchanged",
          "[unit][mapping]") {
    auto o = debezium();
    o.envelope = Envelope::kCloudEventsBinary;
    Mapping m(o);
    const auto r = row("Order", R"({"a": 1})");
    const auto out = mapped(m, r);
    CHECK(out.value_is_payload);
    CHECK(header(out, "ce_specversion") == "1.0");
    CHECK(header(out, "ce_id") == "7b1c4b8e-0e6f-4a51-9d7a-52b1d6f5e0a1");
    CHECK(header(out, "ce_source") == "/outboxd/shop/public.outbox");
    CHECK(header(out, "ce_type") == "OrderCreated");
    CHECK(header(out, "ce_time") == "2023-11-14T22:13:20.123456Z");
    CHECK(header(out, "content-type") == "application/json");
    CHECK(header(out, "id"));
    CHECK(out.content_type.empty());
}

TEST_CASE("cloudevents-binary on RabbitMQ: cloudEvents_ headers and the content-type property",
          "[unit][mapping]") {
    auto o = debezium();
    o.envelope = Envelope::kCloudEventsBinary;
    o.rabbitmq = true;
    o.ce_source = "urn:shop:orders";
    Mapping m(o);
    auto r = row("Order", "hello", PayloadType::kText);
    r.event_type.reset();
    r.event_id.reset();
    o.event_id = false;
    Mapping no_id(o);
    const auto out = mapped(no_id, r);
    CHECK(header(out, "cloudEvents_id") == "42");
    CHECK(header(out, "cloudEvents_source") == "urn:shop:orders");
    // No type column value: the topic stands in.
    CHECK(header(out, "cloudEvents_type") == "outbox.event.Order");
    CHECK(out.content_type == "text/plain; charset=utf-8");
    CHECK_FALSE(header(out, "content-type"));
}

TEST_CASE("cloudevents-structured: the value is the JSON event holding the payload",
          "[unit][mapping]") {
    auto o = debezium();
    o.envelope = Envelope::kCloudEventsStructured;
    Mapping m(o);
    auto r = row("Order", R"({"total": 12.50})");
    r.tracing = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const auto out = mapped(m, r);
    CHECK_FALSE(out.value_is_payload);
    CHECK(header(out, "content-type") == "application/cloudevents+json; charset=UTF-8");
    const std::string v = value_of(out, r);
    CHECK_THAT(v, Catch::Contains(R"("specversion":"1.0")"));
    CHECK_THAT(v, Catch::Contains(R"("type":"OrderCreated")"));
    CHECK_THAT(v, Catch::Contains(R"("datacontenttype":"application/json")"));
    // The payload's JSON is kept byte for byte (12.50 stays 12.50).
    CHECK_THAT(v, Catch::Contains(R"("data":{"total": 12.50})"));
    CHECK_THAT(v, Catch::Contains(R"("traceparent":"00-0af7651916cd43dd8448eb211c80319c)"));
}

TEST_CASE("the outboxd layout maps as before: topic column, headers column, payload unchanged",
          "[unit][mapping]") {
    Mapping m(MappingOptions{});
    PendingRow r;
    r.id = 5;
    r.topic = "orders";
    r.payload = "p";
    r.headers = R"({"a":"1"})";
    const auto out = mapped(m, r);
    CHECK(out.topic == "orders");
    CHECK(out.value_is_payload);
    REQUIRE(out.headers.size() == 1);
    CHECK(out.headers[0].name == "a");
    r.topic = "bad topic";
    CHECK_THAT(error_of(m, r), Catch::Contains("topic"));
}
