// JSON as Debezium's EventRouter and Kafka Connect's JsonConverter write it
// (relay/debezium_json.h). The expected texts are those of the real run in
// tests/data/debezium/golden. No I/O.
#include "relay/debezium_json.h"

#include <catch2/catch.hpp>

namespace dj = outboxd::relay::debezium_json;

TEST_CASE("java_double: Double.toString's two notations", "[unit][debezium-json]") {
    CHECK(dj::java_double(10.0) == "10.0");
    CHECK(dj::java_double(13.0) == "13.0");
    CHECK(dj::java_double(1.5) == "1.5");
    CHECK(dj::java_double(-0.25) == "-0.25");
    CHECK(dj::java_double(0.001) == "0.001");
    CHECK(dj::java_double(1e-4) == "1.0E-4");
    CHECK(dj::java_double(1e-7) == "1.0E-7");
    CHECK(dj::java_double(12345678.9) == "1.23456789E7");
    CHECK(dj::java_double(9999999.0) == "9999999.0");
    CHECK(dj::java_double(1e7) == "1.0E7");
    CHECK(dj::java_double(0.0) == "0.0");
    CHECK(dj::java_double(-0.0) == "-0.0");
    CHECK(dj::java_double(1.0 / 3) == "0.3333333333333333");
    CHECK(dj::java_double(1.2345678901234567) == "1.2345678901234567");
}

TEST_CASE("expand: members in document order, compact, doubles as Java writes them",
          "[unit][debezium-json]") {
    CHECK(dj::expand(R"({"paid": false, "lines": [{"qty": 2, "sku": "A-1", "price": 1.5}, )"
                     R"({"qty": 1, "sku": "B-2", "price": 10.0}], "total": 13.0, "note": null})")
          == R"({"paid":false,"lines":[{"qty":2,"sku":"A-1","price":1.5},)"
             R"({"qty":1,"sku":"B-2","price":10.0}],"total":13.0})");
    CHECK(dj::expand(R"({"dec": 12345678.9, "int": 2147483647, "long": 9007199254740993, )"
                     R"("tiny": 1e-7, "negZero": 0.0, "maxLong": 9223372036854775807})")
          == R"({"dec":1.23456789E7,"int":2147483647,"long":9007199254740993,"tiny":1.0E-7,)"
             R"("negZero":0.0,"maxLong":9223372036854775807})");
}

TEST_CASE("expand: empty arrays and nulls leave, objects in arrays share their members",
          "[unit][debezium-json]") {
    CHECK(dj::expand(
              R"({"empty": {}, "emptyList": [], "ints": [1, null, 3], "nested": [[1, 2], [3]]})")
          == R"({"empty":{},"ints":[1,null,3],"nested":[[1,2],[3]]})");
    CHECK(dj::expand(R"({"items": [{"a": 1}, {"a": 2, "b": "x"}, {"a": 3, "b": null}]})")
          == R"({"items":[{"a":1,"b":null},{"a":2,"b":"x"},{"a":3,"b":null}]})");
    CHECK(dj::expand(R"({"onlyNull": null})") == "{}");
    // Debezium's worker stops on a top-level array; outboxd sends it.
    CHECK(dj::expand("[1, 2]") == "[1,2]");
    CHECK(dj::expand("[]") == "[]");
    CHECK(dj::expand(R"([{"a": 1}, {"b": 2.5}])") == R"([{"a":1,"b":null},{"a":null,"b":2.5}])");
    CHECK_FALSE(dj::expand("[1, 2.5]"));
}

TEST_CASE("expand: where the EventRouter's expansion fails, nothing is expanded",
          "[unit][debezium-json]") {
    CHECK_FALSE(dj::expand(R"({"mixed": [1, 2.5]})"));
    CHECK_FALSE(dj::expand(R"({"allNull": [null, null]})"));
    CHECK_FALSE(dj::expand(R"({"mixedTypes": [1, "a"]})"));
    CHECK_FALSE(dj::expand(R"({"grows": [1, 2147483648]})"));
    CHECK_FALSE(dj::expand(R"({"big": 12345678901234567890})"));
    CHECK_FALSE(dj::expand(R"("just a JSON string")"));
    CHECK_FALSE(dj::expand("42"));
    CHECK_FALSE(dj::expand(" {\"a\": 1}"));
    CHECK_FALSE(dj::expand("{not json"));
    CHECK_FALSE(dj::expand(R"({"a": 1,})"));
    CHECK_FALSE(dj::expand(R"({"a": 1 /* comment */})"));
    CHECK_FALSE(dj::expand(R"({"nan": NaN})"));
    // Like Jackson's readTree: the first value, whatever follows.
    CHECK(dj::expand(R"({"a": 1} trailing text)") == R"({"a":1})");
}

TEST_CASE("quote: Jackson's escapes", "[unit][debezium-json]") {
    CHECK(dj::quote("quote \" backslash \\ tab \t newline \n")
          == R"("quote \" backslash \\ tab \t newline \n")");
    CHECK(dj::quote("\x01\x1f") == R"("\u0001\u001F")");
    // BMP characters stay UTF-8; beyond it, UTF-16 surrogate escapes.
    CHECK(dj::quote("Zo\xc3\xab \xf0\x9f\x9a\x80") == "\"Zo\xc3\xab \\uD83D\\uDE80\"");
    CHECK(dj::quote("\x7f\xe2\x80\xa8") == "\"\x7f\xe2\x80\xa8\"");
}
