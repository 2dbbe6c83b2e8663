#include "relay/cloudevents.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ce = outboxd::relay::cloudevents;
using outboxd::publish::Header;
using outboxd::relay::TraceContext;

namespace {

constexpr std::int64_t k20180405T173100 = 1'522'949'460'000'000;
constexpr std::int64_t k20180405T035624 = 1'522'900'584'000'000;

// The event of the JSON format's examples (json-format.md 3.2), with the
// given id, content type and data.
ce::Event
example(std::string_view id, std::string_view content_type, std::optional<std::string_view> data) {
    ce::Event e;
    e.id = id;
    e.source = "/mycontext";
    e.type = "com.example.someevent";
    e.time_us = k20180405T173100;
    e.datacontenttype = content_type;
    e.data = data;
    return e;
}

std::string body_of(const ce::Event& e) {
    auto r = ce::to_structured(e);
    REQUIRE(std::holds_alternative<ce::StructuredEvent>(r));
    CHECK(std::get<ce::StructuredEvent>(r).content_type
          == "application/cloudevents+json; charset=UTF-8");
    return std::get<ce::StructuredEvent>(r).body;
}

std::string structured_error(const ce::Event& e) {
    auto r = ce::to_structured(e);
    REQUIRE(std::holds_alternative<std::string>(r));
    return std::get<std::string>(r);
}

ce::BinaryEvent binary_of(const ce::Event& e, std::string_view prefix) {
    auto r = ce::to_binary(e, prefix);
    REQUIRE(std::holds_alternative<ce::BinaryEvent>(r));
    return std::get<ce::BinaryEvent>(r);
}

std::vector<std::pair<std::string, std::string>> pairs(const std::vector<Header>& hs) {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(hs.size());
    for (const Header& h : hs) {
        out.emplace_back(h.name, h.value);
    }
    return out;
}

// The "data" member a JSON payload becomes under application/json: itself
// when it is one JSON text, else a base64 member.
std::string json_data_member(std::string_view payload) {
    const std::string body = body_of(example("x", "application/json", payload));
    const std::size_t at = body.rfind(R"(,"data)");
    REQUIRE(at != std::string::npos);
    return body.substr(at + 1, body.size() - at - 2);
}

bool embedded(std::string_view payload) {
    return json_data_member(payload) == "\"data\":" + std::string(payload);
}

} // namespace

TEST_CASE("cloudevents: the JSON format's examples, structured", "[unit][cloudevents]") {
    SECTION("JSON object data is embedded as it is (example C234)") {
        const std::string data = "{\n    \"appinfoA\" : \"abc\",\n    \"appinfoB\" : 123,\n"
                                 "    \"appinfoC\" : true\n}";
        CHECK(body_of(example("C234-1234-1234", "application/json", data))
              == R"({"specversion":"1.0","id":"C234-1234-1234","source":"/mycontext",)"
                 R"("type":"com.example.someevent","time":"2018-04-05T17:31:00.000000Z",)"
                 R"("datacontenttype":"application/json","data":)"
                     + data + "}");
    }
    SECTION("XML data is a JSON string (example B234)") {
        CHECK(body_of(example("B234-1234-1234", "application/xml", R"(<much wow="xml"/>)"))
              == R"({"specversion":"1.0","id":"B234-1234-1234","source":"/mycontext",)"
                 R"("type":"com.example.someevent","time":"2018-04-05T17:31:00.000000Z",)"
                 R"("datacontenttype":"application/xml","data":"<much wow=\"xml\"/>"})");
    }
    SECTION("binary data is data_base64 (example A234)") {
        const std::string bytes("\x00\x01\xfe\xff thrift", 11);
        CHECK(body_of(example("A234-1234-1234", "application/vnd.apache.thrift.binary", bytes))
              == R"({"specversion":"1.0","id":"A234-1234-1234","source":"/mycontext",)"
                 R"("type":"com.example.someevent","time":"2018-04-05T17:31:00.000000Z",)"
                 R"("datacontenttype":"application/vnd.apache.thrift.binary",)"
                 R"("data_base64":"AAH+/yB0aHJpZnQ="})");
    }
    SECTION("a literal JSON string as data without a datacontenttype (example D234)") {
        CHECK(body_of(example("D234-1234-1234", "", R"("I'm just a string")"))
              == R"({"specversion":"1.0","id":"D234-1234-1234","source":"/mycontext",)"
                 R"("type":"com.example.someevent","time":"2018-04-05T17:31:00.000000Z",)"
                 R"("data":"I'm just a string"})");
    }
}

TEST_CASE("cloudevents: structured data: JSON kept byte for byte", "[unit][cloudevents]") {
    // Numbers no double holds, key order, duplicate keys, escapes and
    // whitespace are all the payload's own.
    for (const char* payload :
         {R"({"amount":12345678901234567890.000000000001,"b":1,"a":2})", R"({"x":1e400})",
          R"({"a":1,"a":2})", R"(["\u00e9\ud83d\ude00","\/\b\f\n\r\t\"\\"])", " \t\n[ ]\r\n", "0",
          "-0.5e-3", "true", "false", "null", R"("")", "{}", R"({"k":{"k":[[],{}]}})",
          "\"caf\xc3\xa9\"", R"("\ud800")"}) {
        INFO(payload);
        CHECK(embedded(payload));
    }
    // A nesting deep enough to exhaust a recursive parser's stack.
    const std::string deep = std::string(200'000, '[') + std::string(200'000, ']');
    CHECK(embedded(deep));
}

TEST_CASE("cloudevents: structured data: a JSON type whose payload is not JSON goes as base64",
          "[unit][cloudevents]") {
    for (const std::string& payload : {std::string(),
                                       std::string(" "),
                                       std::string("01"),
                                       std::string("-"),
                                       std::string("1."),
                                       std::string(".5"),
                                       std::string("1e"),
                                       std::string("+1"),
                                       std::string("[1,]"),
                                       std::string(R"({"a":1,})"),
                                       std::string(R"({"a" 1})"),
                                       std::string(R"({1:2})"),
                                       std::string(R"("\x")"),
                                       std::string(R"("\u12")"),
                                       std::string("\"a\nb\""),
                                       std::string("tru"),
                                       std::string("nul"),
                                       std::string("1 2"),
                                       std::string("[1]]"),
                                       std::string("{\"a\":\"\xff\"}"),
                                       std::string("\"\xed\xa0\x80\""),
                                       std::string("\xef\xbb\xbf{}"),
                                       std::string("{} // comment"),
                                       std::string("NaN"),
                                       std::string("[") + std::string(1000, '[')}) {
        INFO(payload);
        CHECK(json_data_member(payload).rfind(R"("data_base64":")", 0) == 0);
    }
    CHECK(json_data_member("not json") == R"("data_base64":"bm90IGpzb24=")");
}

TEST_CASE("cloudevents: structured data by content type", "[unit][cloudevents]") {
    const auto member = [](std::string_view content_type, std::string_view payload) {
        const std::string body = body_of(example("x", content_type, payload));
        const std::size_t at = body.rfind(R"(,"data)");
        REQUIRE(at != std::string::npos);
        return body.substr(at + 1, body.size() - at - 2);
    };
    // JSON types: */json and */*+json, parameters and case ignored.
    CHECK(member("application/cloudevents+json", "[1]") == R"("data":[1])");
    CHECK(member("Application/JSON; charset=utf-8", "[1]") == R"("data":[1])");
    CHECK(member("text/json", "[1]") == R"("data":[1])");
    // Text types: text/*, */xml, */*+xml, or a charset parameter; control
    // characters escaped.
    CHECK(member("text/plain; charset=utf-8", "line 1\nline\t2 \x01 \"q\" \\")
          == R"("data":"line 1\nline\t2 \u0001 \"q\" \\")");
    CHECK(member("text/csv", "a,b") == R"("data":"a,b")");
    CHECK(member("application/atom+xml", "<a/>") == R"("data":"<a/>")");
    CHECK(member("application/yaml; charset=utf-8", "a: 1") == R"("data":"a: 1")");
    CHECK(member("text/plain", "[1]") == R"("data":"[1]")");
    CHECK(member("text/plain", "caf\xc3\xa9") == "\"data\":\"caf\xc3\xa9\"");
    // Text that is not UTF-8 goes as base64.
    CHECK(member("text/plain", "\xff") == R"("data_base64":"/w==")");
    // Anything else is binary, even when it happens to be text.
    CHECK(member("application/octet-stream", "hello") == R"("data_base64":"aGVsbG8=")");
    CHECK(member("application/yaml", "a: 1") == R"("data_base64":"YTogMQ==")");
    CHECK(member("nonsense", "ab") == R"("data_base64":"YWI=")");
    CHECK(member("application/octet-stream", "") == R"("data_base64":"")");
}

TEST_CASE("cloudevents: a NULL payload is an event without data", "[unit][cloudevents]") {
    ce::Event e = example("x", "application/json", std::nullopt);
    const std::string body = body_of(e);
    CHECK(body.find("data") == std::string::npos); // nor datacontenttype: nothing to describe
    CHECK(body.back() == '}');
    const ce::BinaryEvent b = binary_of(e, ce::kKafkaPrefix);
    CHECK_FALSE(b.content_type);
}

TEST_CASE("cloudevents: binary mode, Kafka: the binding's example", "[unit][cloudevents]") {
    ce::Event e;
    e.id = "1234-1234-1234";
    e.source = "/mycontext/subcontext";
    e.type = "com.example.someevent";
    e.time_us = k20180405T035624;
    e.datacontenttype = "application/avro";
    e.data = std::string_view("\x02\x06"
                              "abc",
                              5);
    auto r = ce::to_kafka_binary_headers(e);
    REQUIRE(std::holds_alternative<std::vector<Header>>(r));
    CHECK(pairs(std::get<std::vector<Header>>(r))
          == std::vector<std::pair<std::string, std::string>>{
              {"ce_specversion", "1.0"},
              {"ce_id", "1234-1234-1234"},
              {"ce_source", "/mycontext/subcontext"},
              {"ce_type", "com.example.someevent"},
              {"ce_time", "2018-04-05T03:56:24.000000Z"},
              {"content-type", "application/avro"},
          });
}

TEST_CASE("cloudevents: binary mode, AMQP: content type apart, trace attributes",
          "[unit][cloudevents]") {
    const TraceContext trace{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                             "rojo=00f067aa0ba902b7"};
    ce::Event e = example("1234-1234-1234", "application/json; charset=utf-8", "{}");
    e.source = "/mycontext/subcontext";
    e.trace = &trace;
    const ce::BinaryEvent b = binary_of(e, ce::kAmqpPrefix);
    CHECK(pairs(b.headers)
          == std::vector<std::pair<std::string, std::string>>{
              {"cloudEvents_specversion", "1.0"},
              {"cloudEvents_id", "1234-1234-1234"},
              {"cloudEvents_source", "/mycontext/subcontext"},
              {"cloudEvents_type", "com.example.someevent"},
              {"cloudEvents_time", "2018-04-05T17:31:00.000000Z"},
              {"cloudEvents_traceparent", trace.traceparent},
              {"cloudEvents_tracestate", trace.tracestate},
          });
    REQUIRE(b.content_type);
    CHECK(*b.content_type == "application/json; charset=utf-8");

    // Without time, datacontenttype or tracestate, those are left out.
    const TraceContext no_state{trace.traceparent, ""};
    e.time_us.reset();
    e.datacontenttype = "";
    e.trace = &no_state;
    const ce::BinaryEvent bare = binary_of(e, "ce-");
    CHECK(bare.headers.size() == 5);
    CHECK(bare.headers.back().name == "ce-traceparent");
    CHECK_FALSE(bare.content_type);
}

TEST_CASE("cloudevents: structured mode carries the trace attributes", "[unit][cloudevents]") {
    const TraceContext trace{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                             "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"};
    ce::Event e = example("7", "application/json", "{}");
    e.time_us.reset();
    e.trace = &trace;
    CHECK(
        body_of(e)
        == R"({"specversion":"1.0","id":"7","source":"/mycontext","type":"com.example.someevent",)"
           R"("datacontenttype":"application/json",)"
           R"("traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",)"
           R"("tracestate":"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE","data":{}})");
}

TEST_CASE("cloudevents: attributes are JSON-escaped in structured mode", "[unit][cloudevents]") {
    ce::Event e = example("a\"b\\c", "", std::nullopt);
    e.type = "t\xc3\xa9";
    e.time_us.reset();
    CHECK(body_of(e)
          == "{\"specversion\":\"1.0\",\"id\":\"a\\\"b\\\\c\",\"source\":\"/mycontext\","
             "\"type\":\"t\xc3\xa9\"}");
}

TEST_CASE("cloudevents: invalid attributes are row errors", "[unit][cloudevents]") {
    const auto error_of = [](const ce::Event& e) {
        std::string s = structured_error(e);
        auto b = ce::to_binary(e, ce::kKafkaPrefix);
        REQUIRE(std::holds_alternative<std::string>(b));
        CHECK(std::get<std::string>(b) == s);
        return s;
    };
    ce::Event e = example("1", "application/json", "{}");
    e.id = "";
    CHECK(error_of(e) == "CloudEvents attribute id is empty");
    e = example("1", "application/json", "{}");
    e.type = "";
    CHECK(error_of(e) == "CloudEvents attribute type is empty");
    e.type = "a\nb";
    CHECK(error_of(e)
          == "CloudEvents attribute type contains the control character U+000A (byte 1)");
    e.type = "a\xc2\x85";
    CHECK(error_of(e).find("U+0085") != std::string::npos);
    e.type = "a\xef\xbf\xbf";
    CHECK(error_of(e).find("noncharacter U+FFFF") != std::string::npos);
    e.type = "ok";
    e.id = "\xc3";
    CHECK(error_of(e) == "CloudEvents attribute id is not valid UTF-8 (byte 0)");
    e.id = "\xed\xa0\x80"; // a surrogate written as UTF-8
    CHECK(error_of(e).find("not valid UTF-8") != std::string::npos);
    e.id = "\xc0\xaf"; // overlong
    CHECK(error_of(e).find("not valid UTF-8") != std::string::npos);
    e.id = "1";
    e.source = "";
    CHECK(error_of(e) == "CloudEvents attribute source is empty");
    e.source = "a b";
    CHECK(error_of(e).find("not a URI-reference") != std::string::npos);
    e.source = "/s";
    e.datacontenttype = "text/plain\n";
    CHECK(error_of(e).find("datacontenttype contains the control character") != std::string::npos);
    e.datacontenttype = "text/plain";
    e.time_us = -62'167'219'200'000'001;
    CHECK(error_of(e).find("outside the years 0000 to 9999") != std::string::npos);
}

TEST_CASE("cloudevents: RFC 3339 times with microseconds", "[unit][cloudevents]") {
    CHECK(ce::rfc3339_utc_micros(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(ce::rfc3339_utc_micros(-1) == "1969-12-31T23:59:59.999999Z");
    CHECK(ce::rfc3339_utc_micros(k20180405T173100 + 7) == "2018-04-05T17:31:00.000007Z");
    CHECK(ce::rfc3339_utc_micros(1'709'251'199'123'456) == "2024-02-29T23:59:59.123456Z");
    CHECK(ce::rfc3339_utc_micros(951'782'400'000'000) == "2000-02-29T00:00:00.000000Z");
    CHECK(ce::rfc3339_utc_micros(-62'167'219'200'000'000) == "0000-01-01T00:00:00.000000Z");
    CHECK(ce::rfc3339_utc_micros(253'402'300'799'999'999) == "9999-12-31T23:59:59.999999Z");
    CHECK_FALSE(ce::rfc3339_utc_micros(-62'167'219'200'000'001));
    CHECK_FALSE(ce::rfc3339_utc_micros(253'402'300'800'000'000));
    CHECK_FALSE(ce::rfc3339_utc_micros(INT64_MIN));
    CHECK_FALSE(ce::rfc3339_utc_micros(INT64_MAX));
}

TEST_CASE("cloudevents: source must be a URI-reference", "[unit][cloudevents][config]") {
    // The spec's own examples of source (spec.md, source) and other shapes.
    for (const char* ok :
         {"https://github.com/cloudevents", "mailto:cncf-wg-serverless@lists.cncf.io",
          "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "cloudevents/spec/pull/123",
          "/sensors/tn-1234567/alerts", "1-555-123-4567", "/outboxd/shop/public.outbox",
          "urn:example:billing", "https://example.com:8443/a?b=c&d=%20#frag", "//host/p",
          "http://[::1]:80/x", "http://user:pw@host:1/", "./a:b", "#f", "?q",
          "urn:", "a+b-c.d:rest"}) {
        INFO(ok);
        CHECK(ce::source_problem(ok).empty());
    }
    CHECK(ce::source_problem("").find("must not be empty") != std::string::npos);
    const auto problem = [](const char* s) {
        std::string p = ce::source_problem(s);
        CHECK(p.rfind("must be a URI-reference (RFC 3986 section 4.1): ", 0) == 0);
        return p;
    };
    CHECK(problem("a b").find("the space at byte 1 must be percent-encoded") != std::string::npos);
    CHECK(problem("/caf\xc3\xa9").find("the byte 0xC3 at byte 4") != std::string::npos);
    CHECK(problem("/a\"b").find("'\"'") != std::string::npos);
    CHECK(problem("%zz").find("percent-encoding") != std::string::npos);
    CHECK(problem("/a%2").find("percent-encoding") != std::string::npos);
    CHECK(problem("1abc:x").find("is not a scheme") != std::string::npos);
    CHECK(problem(":x").find("is not a scheme") != std::string::npos);
    CHECK(problem("a#b#c").find("second '#'") != std::string::npos);
    CHECK(problem("/p[0]").find("IP literal") != std::string::npos);
    CHECK(problem("/p?x=[1]").find("IP literal") != std::string::npos);
    CHECK(problem("http://[::1/").find("IP literal") != std::string::npos);
    CHECK(problem("http://[::1]x/").find("only \":port\"") != std::string::npos);
    CHECK(problem("http://host:port/").find("port must be digits") != std::string::npos);
    CHECK(problem("http://a:b:c/").find("only one") != std::string::npos);
    CHECK(problem("http://a[b]/").find("IP literal") != std::string::npos);
}

TEST_CASE("cloudevents: type and datacontenttype checks for the config",
          "[unit][cloudevents][config]") {
    CHECK(ce::type_problem("com.example.object.deleted.v2").empty());
    CHECK(ce::type_problem("") == "must not be empty");
    CHECK(ce::type_problem("a\tb").find("control character U+0009") != std::string::npos);

    for (const char* ok :
         {"application/json", "text/plain; charset=utf-8",
          "application/cloudevents+json; charset=UTF-8", "text/plain;charset=\"utf-8\"",
          "application/vnd.apache.thrift.binary"}) {
        INFO(ok);
        CHECK(ce::datacontenttype_problem(ok).empty());
    }
    for (const char* bad : {"", "json", "application/", "/json", "text/plain; charset",
                            "text/plain; charset=", "a b/c", "text/plain x", "text/plain; a=\"b"}) {
        INFO(bad);
        CHECK(ce::datacontenttype_problem(bad).rfind("must be a media type", 0) == 0);
    }
}
