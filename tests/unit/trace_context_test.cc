#include "relay/trace_context.h"

#include <catch2/catch.hpp>

#include <string>

using outboxd::relay::parse_trace_column;
using outboxd::relay::parse_trace_headers;
using outboxd::relay::TraceParse;
using outboxd::relay::TraceProblemKind;

namespace {

// Trace Context level 1's own examples ("Examples of HTTP traceparent
// Headers", "Examples of tracestate HTTP Headers").
const std::string& sampled() {
    static const std::string kValue = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    return kValue;
}
const std::string& not_sampled() {
    static const std::string kValue = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    return kValue;
}
const std::string& two_vendors() {
    static const std::string kValue = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
    return kValue;
}

TraceProblemKind kind_of(const TraceParse& r) {
    REQUIRE(r.problem);
    return r.problem->kind;
}

std::string problem_of(const TraceParse& r) {
    REQUIRE(r.problem);
    return r.problem->message;
}

// A traceparent the bare-value path refuses, with the reason's text.
std::string refused(const std::string& traceparent) {
    const TraceParse r = parse_trace_column(traceparent);
    CHECK_FALSE(r.context);
    CHECK(kind_of(r) == TraceProblemKind::kInvalidTraceparent);
    return problem_of(r);
}

} // namespace

TEST_CASE("trace: the spec's traceparent examples pass through unchanged", "[unit][trace]") {
    for (const std::string& tp : {sampled(), not_sampled()}) {
        const TraceParse r = parse_trace_column(tp);
        REQUIRE(r.context);
        CHECK(r.context->traceparent == tp);
        CHECK(r.context->tracestate.empty());
        CHECK_FALSE(r.problem);
    }
}

TEST_CASE("trace: empty and blank text is no trace context, not a problem", "[unit][trace]") {
    for (const char* text : {"", "   ", "\n\r\n", "\t"}) {
        const TraceParse r = parse_trace_column(text);
        CHECK_FALSE(r.context);
        CHECK_FALSE(r.problem);
    }
    const TraceParse h = parse_trace_headers("", "");
    CHECK_FALSE(h.context);
    CHECK_FALSE(h.problem);
}

TEST_CASE("trace: a bare traceparent may have blanks around it", "[unit][trace]") {
    const TraceParse r = parse_trace_column("  " + sampled() + " \n");
    REQUIRE(r.context);
    CHECK(r.context->traceparent == sampled());
}

TEST_CASE("trace: traceparent grammar violations are refused with the reason", "[unit][trace]") {
    CHECK(refused("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")
              .find("trace-id must be 32 lowercase hex")
          != std::string::npos);
    CHECK(refused("00-00000000000000000000000000000000-00f067aa0ba902b7-01")
              .find("trace-id must not be all zeroes")
          != std::string::npos);
    CHECK(refused("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")
              .find("parent-id must not be all zeroes")
          != std::string::npos);
    CHECK(refused("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bx-01")
              .find("parent-id must be 16")
          != std::string::npos);
    CHECK(refused("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g").find("trace-flags")
          != std::string::npos);
    CHECK(refused("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").find("version ff")
          != std::string::npos);
    CHECK(refused("0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").find("version must be")
          != std::string::npos);
    // Version 00 has exactly four fields.
    CHECK(refused(sampled() + "-extra").find("exactly 55") != std::string::npos);
    CHECK(refused("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1").find("55 characters")
          != std::string::npos);
    CHECK(
        refused("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01").find("separated by '-'")
        != std::string::npos);
    // The message quotes the value, cut and with unprintable bytes escaped.
    const std::string long_bad = "00-" + std::string(200, 'z');
    const std::string msg = refused(long_bad);
    CHECK(msg.find("...") != std::string::npos);
    CHECK(msg.size() < 200);
    CHECK(refused("00-\x01").find("\\x01") != std::string::npos);
}

TEST_CASE("trace: a higher version is read by its first four fields and sent as 00",
          "[unit][trace]") {
    const std::string tail = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for (const std::string& tp : {tail, tail + "-what-the-future-will-bring"}) {
        const TraceParse r = parse_trace_column(tp);
        REQUIRE(r.context);
        CHECK(r.context->traceparent == sampled());
        CHECK_FALSE(r.problem);
    }
    // The flags must end the value or be followed by a dash.
    CHECK(refused(tail + "x").find("followed by '-'") != std::string::npos);
    CHECK(refused("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7").find("55")
          != std::string::npos);
}

TEST_CASE("trace: tracestate is normalised and checked", "[unit][trace]") {
    SECTION("the spec's examples") {
        for (const char* ts :
             {"rojo=00f067aa0ba902b7", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}) {
            const TraceParse r = parse_trace_headers(sampled(), ts);
            REQUIRE(r.context);
            CHECK(r.context->tracestate == ts);
            CHECK_FALSE(r.problem);
        }
    }
    SECTION("whitespace around members and empty members are dropped") {
        const TraceParse r =
            parse_trace_headers(sampled(), " rojo=00f067aa0ba902b7 ,\t, congo=t61rcWkgMzE,");
        REQUIRE(r.context);
        CHECK(r.context->tracestate == two_vendors());
        const TraceParse only_blank = parse_trace_headers(sampled(), " , ");
        REQUIRE(only_blank.context);
        CHECK(only_blank.context->tracestate.empty());
        CHECK_FALSE(only_blank.problem);
    }
    SECTION("multi-tenant keys and values with inner spaces") {
        const TraceParse r = parse_trace_headers(sampled(), "fw529a3039@dt=a b,7x_-*/@sys=v");
        REQUIRE(r.context);
        CHECK(r.context->tracestate == "fw529a3039@dt=a b,7x_-*/@sys=v");
    }
    SECTION("an invalid tracestate is dropped, the traceparent kept") {
        for (const char* bad : {"Rojo=1", "rojo", "rojo=", "rojo=a,rojo=b", "1abc=x", "a@1sys=x",
                                "a@toolongsystemid=x", "rojo=a=b", "rojo=caf\xc3\xa9"}) {
            const TraceParse r = parse_trace_headers(sampled(), bad);
            REQUIRE(r.context);
            CHECK(r.context->traceparent == sampled());
            CHECK(r.context->tracestate.empty());
            CHECK(kind_of(r) == TraceProblemKind::kInvalidTracestate);
        }
        CHECK(problem_of(parse_trace_headers(sampled(), "rojo=a,rojo=b")).find("twice")
              != std::string::npos);
    }
    SECTION("at most 32 list-members") {
        std::string ts;
        for (int i = 0; i < 32; ++i) {
            ts += (i == 0 ? "" : ",") + std::string("k") + std::to_string(i) + "=v";
        }
        CHECK_FALSE(parse_trace_headers(sampled(), ts).problem);
        const TraceParse r = parse_trace_headers(sampled(), ts + ",k32=v");
        CHECK(problem_of(r).find("more than 32") != std::string::npos);
    }
    SECTION("key and value lengths") {
        CHECK_FALSE(parse_trace_headers(sampled(), std::string(256, 'a') + "=v").problem);
        CHECK(parse_trace_headers(sampled(), std::string(257, 'a') + "=v").problem);
        CHECK_FALSE(parse_trace_headers(sampled(), "k=" + std::string(256, 'v')).problem);
        CHECK(parse_trace_headers(sampled(), "k=" + std::string(257, 'v')).problem);
    }
}

TEST_CASE("trace: headers: a tracestate without a traceparent is ignored and counted",
          "[unit][trace]") {
    const TraceParse r = parse_trace_headers("", two_vendors());
    CHECK_FALSE(r.context);
    CHECK(kind_of(r) == TraceProblemKind::kNoTraceparent);
    const TraceParse bad = parse_trace_headers("nope", two_vendors());
    CHECK_FALSE(bad.context);
    CHECK(kind_of(bad) == TraceProblemKind::kInvalidTraceparent);
}

TEST_CASE("trace: Java Properties text as Properties.store writes it", "[unit][trace]") {
    // A date comment, then key=value lines, '=' escaped in values.
    const std::string text = "#Mon May 06 10:15:30 UTC 2024\n"
                             "traceparent="
                             + sampled()
                             + "\n"
                               "tracestate=rojo\\=00f067aa0ba902b7,congo\\=t61rcWkgMzE\n";
    const TraceParse r = parse_trace_column(text);
    REQUIRE(r.context);
    CHECK(r.context->traceparent == sampled());
    CHECK(r.context->tracestate == two_vendors());
    CHECK_FALSE(r.problem);
}

// The rules of the text itself are common/java_properties.h's
// (java_properties_test.cc); here: what the tracing column makes of them.
TEST_CASE("trace: Properties separators, escapes and repeated keys", "[unit][trace]") {
    const auto traceparent_of = [](const std::string& text) {
        const TraceParse r = parse_trace_column(text);
        REQUIRE(r.context);
        return r.context->traceparent;
    };
    CHECK(traceparent_of("traceparent:" + sampled()) == sampled());
    CHECK(traceparent_of("traceparent " + sampled()) == sampled());
    // Trailing blanks belong to the value; the traceparent check drops them.
    CHECK(traceparent_of("  traceparent \t = \f" + sampled() + "  ") == sampled());
    CHECK(traceparent_of("! a comment\r\n# another\r\n\r\ntraceparent=" + sampled() + "\r\n")
          == sampled());
    // \uXXXX escapes in the key and in the value.
    CHECK(traceparent_of("trace\\u0070arent=\\u0030" + sampled().substr(1)) == sampled());
    // A key with an escaped separator is another key.
    const TraceParse other = parse_trace_column("trace\\=parent=" + sampled());
    CHECK_FALSE(other.context);
    // The last of a repeated key wins, as Properties.load does.
    CHECK(traceparent_of("traceparent=junk\ntraceparent=" + sampled()) == sampled());
    // A continuation line joins the value.
    CHECK(traceparent_of(
              "traceparent=00-4bf92f3577b34da6\\\n    a3ce929d0e0e4736-00f067aa0ba902b7-01")
          == sampled());
}

TEST_CASE("trace: Properties text without a usable traceparent", "[unit][trace]") {
    SECTION("no traceparent key (an OpenTracing-era column)") {
        const TraceParse r =
            parse_trace_column("uber-trace-id=4bf92f3577b34da6:00f067aa0ba902b7:0:1\n");
        CHECK_FALSE(r.context);
        CHECK(kind_of(r) == TraceProblemKind::kNoTraceparent);
        CHECK(problem_of(r).find("uber-trace-id") != std::string::npos);
    }
    SECTION("comments only") {
        const TraceParse r = parse_trace_column("#Mon May 06 10:15:30 UTC 2024\n");
        CHECK_FALSE(r.context);
        CHECK(kind_of(r) == TraceProblemKind::kNoTraceparent);
    }
    SECTION("keys are case-sensitive, as Properties.getProperty is") {
        const TraceParse r = parse_trace_column("TraceParent=" + sampled());
        CHECK(kind_of(r) == TraceProblemKind::kNoTraceparent);
    }
    SECTION("an invalid traceparent") {
        const TraceParse r = parse_trace_column("traceparent=00-abc\ntracestate=rojo\\=1");
        CHECK_FALSE(r.context);
        CHECK(kind_of(r) == TraceProblemKind::kInvalidTraceparent);
    }
    SECTION("a malformed \\u escape") {
        const TraceParse r = parse_trace_column("traceparent=\\u00zz");
        CHECK_FALSE(r.context);
        CHECK(problem_of(r).find("\\uXXXX") != std::string::npos);
        // A lone surrogate is U+FFFD, which no traceparent has.
        const TraceParse lone = parse_trace_column("traceparent=\\ud800x");
        CHECK(kind_of(lone) == TraceProblemKind::kInvalidTraceparent);
    }
    SECTION("a malformed escape in the tracestate only loses the tracestate") {
        const TraceParse r = parse_trace_column("traceparent=" + sampled() + "\ntracestate=\\u12");
        REQUIRE(r.context);
        CHECK(r.context->traceparent == sampled());
        CHECK(r.context->tracestate.empty());
        CHECK(kind_of(r) == TraceProblemKind::kInvalidTracestate);
    }
    SECTION("a malformed escape elsewhere does not matter") {
        const TraceParse r = parse_trace_column("other=\\uqqqq\ntraceparent=" + sampled());
        REQUIRE(r.context);
        CHECK_FALSE(r.problem);
    }
    SECTION("a surrogate pair decodes to one character, which a tracestate refuses") {
        const TraceParse r =
            parse_trace_column("traceparent=" + sampled() + "\ntracestate=k\\=\\ud83d\\ude00");
        REQUIRE(r.context);
        CHECK(kind_of(r) == TraceProblemKind::kInvalidTracestate);
    }
}

TEST_CASE("trace: problem kinds have stable metric labels", "[unit][trace]") {
    using outboxd::relay::to_label;
    CHECK(std::string(to_label(TraceProblemKind::kNoTraceparent)) == "no_traceparent");
    CHECK(std::string(to_label(TraceProblemKind::kInvalidTraceparent)) == "invalid_traceparent");
    CHECK(std::string(to_label(TraceProblemKind::kInvalidTracestate)) == "invalid_tracestate");
}
