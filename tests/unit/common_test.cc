// The small rules with one owner in common/: integer parsing, Kafka's
// topic-name rule, exponential back-off, ISO-8601 timestamps, the version.
#include "common/backoff.h"
#include "common/iso_time.h"
#include "common/kafka_topic.h"
#include "common/parse_int.h"
#include "common/version.h"

#include <catch2/catch.hpp>

#include <regex>
#include <string>

using outboxd::IntParse;
using outboxd::parse_int64;
using outboxd::to_int64;

TEST_CASE("parse_int64: digits and a minus sign, the whole text, or nothing", "[unit][common]") {
    std::int64_t v = 0;
    CHECK(parse_int64("42", &v) == IntParse::kOk);
    CHECK(v == 42);
    CHECK(parse_int64("-7", &v) == IntParse::kOk);
    CHECK(v == -7);
    CHECK(parse_int64("9223372036854775807", &v) == IntParse::kOk);
    CHECK(v == INT64_MAX);
    CHECK(parse_int64("9223372036854775808", &v) == IntParse::kOutOfRange);
    CHECK(parse_int64("-9223372036854775809", &v) == IntParse::kOutOfRange);
    for (const char* bad :
         {"", "-", "+1", " 1", "1 ", "1.5", "0x10", "12a", "99999999999999999999x"}) {
        INFO("\"" << bad << "\"");
        CHECK(parse_int64(bad, &v) == IntParse::kNotANumber);
        CHECK_FALSE(to_int64(bad));
    }
    CHECK(to_int64("1000000") == std::optional<std::int64_t>(1000000));
}

TEST_CASE("kafka_topic_problem: Kafka's own rule", "[unit][common]") {
    using outboxd::kafka_topic_problem;
    CHECK(kafka_topic_problem("billing.invoices-v2_x").empty());
    CHECK(kafka_topic_problem(std::string(249, 'a')).empty());
    CHECK_FALSE(kafka_topic_problem(std::string(250, 'a')).empty());
    CHECK_FALSE(kafka_topic_problem("").empty());
    CHECK_FALSE(kafka_topic_problem(".").empty());
    CHECK_FALSE(kafka_topic_problem("..").empty());
    CHECK_FALSE(kafka_topic_problem("a b").empty());
    CHECK_FALSE(kafka_topic_problem("caf\xc3\xa9").empty());
}

TEST_CASE("Backoff: initial, doubled, capped, reset", "[unit][common]") {
    using outboxd::Millis;
    outboxd::Backoff b(Millis(100), Millis(500));
    CHECK(b.next() == Millis(100));
    CHECK(b.next() == Millis(200));
    CHECK(b.next() == Millis(400));
    CHECK(b.next() == Millis(500));
    CHECK(b.next() == Millis(500));
    b.reset();
    CHECK(b.next() == Millis(100));
    b.set_bounds(Millis(10), Millis(50));
    CHECK(b.next() == Millis(50)); // 100 * 2 capped by the new max
}

TEST_CASE("iso8601_utc: UTC, milliseconds, floor for times before 1970", "[unit][common]") {
    CHECK(outboxd::iso8601_utc(std::int64_t{0}) == "1970-01-01T00:00:00.000Z");
    CHECK(outboxd::iso8601_utc(std::int64_t{1714564800123}) == "2024-05-01T12:00:00.123Z");
    CHECK(outboxd::iso8601_utc(std::int64_t{-1}) == "1969-12-31T23:59:59.999Z");
    CHECK(outboxd::iso8601_utc(std::int64_t{-1000}) == "1969-12-31T23:59:59.000Z");
    const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(86400001));
    CHECK(outboxd::iso8601_utc(t) == "1970-01-02T00:00:00.001Z");
}

TEST_CASE("version_line names the release and the commit", "[unit][common]") {
    const std::string line = outboxd::version_line();
    INFO(line);
    // A git checkout: 12 hex digits, "-dirty" with uncommitted changes; a
    // build given -DOUTBOXD_COMMIT: that id; neither: "unknown".
    CHECK(
        std::regex_match(line, std::regex(R"(outboxd \d+\.\d+\.\d+ \(commit [A-Za-z0-9._+-]+\))")));
    CHECK(line.find(outboxd::kVersion) != std::string::npos);
    CHECK(line.find(outboxd::build_commit()) != std::string::npos);
    CHECK(std::string(outboxd::build_commit()) != "");
}
