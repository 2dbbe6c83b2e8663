// common/java_properties.h: Java Properties text as Properties.load reads it
// (the one parser behind `outboxd convert-debezium` and the tracing column),
// and common/text.h's hex digits and UTF-8 writing.
#include "common/java_properties.h"
#include "common/text.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

using outboxd::append_utf8;
using outboxd::hex_digit_value;
using outboxd::JavaProperty;
using outboxd::parse_java_properties;

namespace {

// The entries as key -> value (the last of a repeated key wins, as in
// Java); fails the test on any problem.
std::map<std::string, std::string> props(const std::string& text) {
    std::map<std::string, std::string> m;
    for (const JavaProperty& p : parse_java_properties(text)) {
        INFO("line " << p.line << ": " << p.problem);
        CHECK(p.problem.empty());
        m[p.key] = p.value;
    }
    return m;
}

std::string utf8(std::uint32_t cp) {
    std::string out;
    append_utf8(out, cp);
    return out;
}

} // namespace

TEST_CASE("java properties: the three separators and blanks around them",
          "[unit][java_properties]") {
    const auto m = props("a=1\n"
                         "b : 2\n"
                         "c 3\n"
                         "d\t=\t4\n"
                         "  e=  5 has spaces  \n"
                         "f\n"
                         "g=\n"
                         "h:=x\n"
                         "i==j\n"
                         "j = a=b:c\n"
                         "k \t = \f v\n"
                         "l = = w\n"
                         "=no key\n");
    CHECK(m.at("a") == "1");
    CHECK(m.at("b") == "2");
    CHECK(m.at("c") == "3");
    CHECK(m.at("d") == "4");
    CHECK(m.at("e") == "5 has spaces  "); // trailing blanks belong to the value, as in Java
    CHECK(m.at("f").empty());
    CHECK(m.at("g").empty());
    CHECK(m.at("h") == "=x"); // one separator only
    CHECK(m.at("i") == "=j");
    CHECK(m.at("j") == "a=b:c");
    CHECK(m.at("k") == "v");
    CHECK(m.at("l") == "= w");
    CHECK(m.at("") == "no key");
}

TEST_CASE("java properties: comments, blank lines and line endings", "[unit][java_properties]") {
    const auto m = props("# a comment\r\n"
                         "   ! another, indented\r\n"
                         "\r\n"
                         "   \t \n"
                         "a=1\r\n"
                         "b=2\r"
                         "c=3 # not a comment\n"
                         "d=4");
    CHECK(m.size() == 4);
    CHECK(m.at("a") == "1");
    CHECK(m.at("b") == "2");
    CHECK(m.at("c") == "3 # not a comment");
    CHECK(m.at("d") == "4");
    CHECK(props("\rx=1\r").at("x") == "1");
    CHECK(parse_java_properties("").empty());
    CHECK(parse_java_properties("# only\n! comments\n\n  \n").empty());
}

TEST_CASE("java properties: continuation lines", "[unit][java_properties]") {
    const auto m = props("list=a,\\\n"
                         "      b,\\\n"
                         "\t\tc\n"
                         "even=ends in a backslash\\\\\n"
                         "next=1\n"
                         "# a comment line ending in a backslash \\\n"
                         "after.comment=2\n"
                         "key\\\n"
                         "  split=3\n"
                         "sep\\\r\n"
                         "  = 4\n"
                         "hash=\\\n"
                         "# not a comment\n"
                         "blank=x\\\n"
                         "   \n"
                         "after.blank=5\n"
                         "last=trailing\\");
    CHECK(m.at("list") == "a,b,c");
    CHECK(m.at("even") == "ends in a backslash\\");
    CHECK(m.at("next") == "1");
    CHECK(m.at("after.comment") == "2"); // a comment line never continues
    CHECK(m.at("keysplit") == "3");
    CHECK(m.at("sep") == "4");
    CHECK(m.at("hash") == "# not a comment"); // a continued line is never a comment
    CHECK(m.at("blank") == "x");              // a blank continued line ends it
    CHECK(m.at("after.blank") == "5");
    CHECK(m.at("last") == "trailing");
}

TEST_CASE("java properties: escapes in keys and values", "[unit][java_properties]") {
    const auto m = props("tab=a\\tb\n"
                         "nl=a\\nb\\r\\f\n"
                         "key\\ with\\ blanks=1\n"
                         "key\\=eq\\:colon=2\n"
                         "uni=caf\\u00e9 \\u20AC\n"
                         "\\u006b\\u0065y=\\u0030\n"
                         "pair=\\uD83D\\uDE00\n"
                         "other=\\q\\\\\\#\n"
                         "raw=caf\xC3\xA9\n");
    CHECK(m.at("tab") == "a\tb");
    CHECK(m.at("nl") == "a\nb\r\f");
    CHECK(m.at("key with blanks") == "1");
    CHECK(m.at("key=eq:colon") == "2");
    CHECK(m.at("uni") == "caf\xC3\xA9 \xE2\x82\xAC");
    CHECK(m.at("key") == "0");
    CHECK(m.at("pair") == "\xF0\x9F\x98\x80");
    CHECK(m.at("other") == "q\\#");
    CHECK(m.at("raw") == "caf\xC3\xA9"); // bytes pass as they stand
}

TEST_CASE("java properties: a lone surrogate becomes U+FFFD", "[unit][java_properties]") {
    const std::string fffd = "\xEF\xBF\xBD";
    const auto m = props("high=\\uD83D!\n"
                         "low=\\uDE00!\n"
                         "end=x\\uD83D\n"
                         "two.highs=\\uD83D\\uD83D\\uDE00\n"
                         "escape.between=\\uD83D\\t\\uDE00\n");
    CHECK(m.at("high") == fffd + "!");
    CHECK(m.at("low") == fffd + "!");
    CHECK(m.at("end") == "x" + fffd);
    CHECK(m.at("two.highs") == fffd + "\xF0\x9F\x98\x80");
    CHECK(m.at("escape.between") == fffd + "\t" + fffd);
}

TEST_CASE("java properties: every entry in order, with the line it starts on",
          "[unit][java_properties]") {
    const auto entries = parse_java_properties("# header\r\n"
                                               "a=1\r\n"
                                               "b=2\\\n"
                                               "  more\r"
                                               "\r\n"
                                               "a=3");
    REQUIRE(entries.size() == 3);
    CHECK(entries[0].key == "a");
    CHECK(entries[0].value == "1");
    CHECK(entries[0].line == 2);
    CHECK(entries[1].key == "b");
    CHECK(entries[1].value == "2more");
    CHECK(entries[1].line == 3);
    CHECK(entries[2].key == "a"); // a repeated key is listed again
    CHECK(entries[2].value == "3");
    CHECK(entries[2].line == 6);
}

TEST_CASE("java properties: a malformed \\u escape is the entry's problem, the rest is read",
          "[unit][java_properties]") {
    const auto entries = parse_java_properties("a=1\n"
                                               "# c\n"
                                               "b=\\u12x4\n"
                                               "k\\uzz=v\n"
                                               "short=\\u12\n"
                                               "c=3\n");
    REQUIRE(entries.size() == 5);
    CHECK(entries[0].problem.empty());
    CHECK(entries[1].line == 3);
    CHECK(entries[1].key == "b");
    CHECK(entries[1].value.empty());
    CHECK_THAT(entries[1].problem, Catch::Contains("\\uXXXX") && Catch::Contains("value"));
    CHECK(entries[2].key.empty()); // the escape is in the key
    CHECK(entries[2].value.empty());
    CHECK_THAT(entries[2].problem, Catch::Contains("\\uXXXX") && Catch::Contains("key"));
    CHECK(entries[3].key == "short");
    CHECK_FALSE(entries[3].problem.empty());
    CHECK(entries[4].key == "c");
    CHECK(entries[4].value == "3");
    CHECK(entries[4].problem.empty());
}

TEST_CASE("text: hex digits and UTF-8", "[unit][java_properties]") {
    CHECK(hex_digit_value('0') == 0);
    CHECK(hex_digit_value('9') == 9);
    CHECK(hex_digit_value('a') == 10);
    CHECK(hex_digit_value('F') == 15);
    for (const char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0'}) {
        CHECK(hex_digit_value(c) == -1);
    }
    CHECK(utf8(0x41) == "A");
    CHECK(utf8(0x7F) == "\x7F");
    CHECK(utf8(0x80) == "\xC2\x80");
    CHECK(utf8(0xE9) == "\xC3\xA9");
    CHECK(utf8(0x7FF) == "\xDF\xBF");
    CHECK(utf8(0x800) == "\xE0\xA0\x80");
    CHECK(utf8(0x20AC) == "\xE2\x82\xAC");
    CHECK(utf8(0xFFFF) == "\xEF\xBF\xBF");
    CHECK(utf8(0x10000) == "\xF0\x90\x80\x80");
    CHECK(utf8(0x1F600) == "\xF0\x9F\x98\x80");
    CHECK(utf8(0x10FFFF) == "\xF4\x8F\xBF\xBF");
    CHECK(utf8(0).size() == 1);
}
