// JSON as Debezium's outbox EventRouter sends it with Kafka Connect's
// JsonConverter (schemas.enable=false), for postgres.layout: debezium
// (docs/debezium.md): the expanded payload (table.expand.json.payload) and
// the envelope placement's {"payload": ...} value. Measured against a real
// EventRouter run (tests/data/debezium/golden), not guessed:
//  - an expanded document becomes a Connect struct whose schema comes from
//    the document: members that are null, empty arrays and unusable types
//    are left out; every array's non-null elements must share one JSON type
//    (objects in an array share the union of their members, in the order
//    they first appear); a number keeps Jackson's class (int, then long,
//    then double), and a value of another class than its schema's (1 and
//    2.5 in one array, a long where an int came first, an integer beyond
//    64 bits) makes the expansion fail. A top-level array, on which
//    Debezium's worker stops, is expanded by the rules of an array member;
//  - written compactly, doubles as Java's Double.toString writes them
//    (10.0, 1.23456789E7, 1.0E-7), strings escaped as Jackson does
//    (control characters as \uXXXX with capitals, characters beyond the
//    Basic Multilingual Plane as their UTF-16 surrogate escapes, the rest
//    as UTF-8).
// No I/O; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace outboxd::relay::debezium_json {

// The payload text expanded as the EventRouter expands it, written as
// JsonConverter writes it; nullopt where the EventRouter's expansion fails
// (not JSON, not starting with '{' or '[', or a document its schema
// inference refuses). Like Jackson's readTree, text after the first JSON
// value is ignored.
std::optional<std::string> expand(std::string_view text);

// `text` as a JSON string literal, escaped as Jackson escapes it.
std::string quote(std::string_view text);

// A parsed JSON value written as JsonConverter writes it.
std::string write(const nlohmann::ordered_json& value);

// Java's Double.toString(d) for a finite d, from the shortest digits that
// read back as d.
std::string java_double(double d);

} // namespace outboxd::relay::debezium_json
