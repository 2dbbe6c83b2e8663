// A row as a CloudEvent 1.0 (`message.envelope: cloudevents-binary |
// cloudevents-structured`): the attributes as broker headers around the
// unchanged payload (binary content mode), or one JSON document holding
// attributes and data (structured content mode, the JSON event format).
// Pure functions, no I/O; any thread.
//
// Attributes sent, in this order: specversion ("1.0"), id, source, type,
// time (when known), datacontenttype (when set and there is a payload),
// and the Distributed Tracing extension's traceparent and tracestate (when
// the row has a trace context). A NULL payload is an event without data.
#pragma once

#include "publish/publisher.h"
#include "relay/trace_context.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace outboxd::relay::cloudevents {

inline constexpr std::string_view kSpecVersion = "1.0";

// Binary mode header prefixes. Kafka: "ce_" (Kafka protocol binding 1.0.2,
// 3.2.3.1). AMQP: "cloudEvents_" (AMQP protocol binding: 1.0.2 wrote
// "cloudEvents:", the binding since permits "cloudEvents_" and prefers it
// for JMS 2.0 clients, and its consumers SHOULD read both). On RabbitMQ
// these are the AMQP 0-9-1 message's header table entries, which RabbitMQ
// shows AMQP 1.0 consumers as application-properties.
inline constexpr std::string_view kKafkaPrefix = "ce_";
inline constexpr std::string_view kAmqpPrefix = "cloudEvents_";

// Where the Kafka binding puts datacontenttype in binary mode, and the
// structured mode's content type in either mode.
inline constexpr std::string_view kKafkaContentTypeHeader = "content-type";
// The structured mode's content type: the Kafka header `content-type`, or
// the AMQP message's content-type property.
inline constexpr std::string_view kStructuredContentType =
    "application/cloudevents+json; charset=UTF-8";

// One event's inputs; the views must outlive the call.
struct Event {
    std::string_view id;     // non-empty; source + id is unique per event
    std::string_view source; // a non-empty URI-reference (checked at config load)
    std::string_view type;   // non-empty
    // Microseconds since the Unix epoch, sent as RFC 3339 UTC with six
    // fraction digits ("2024-05-01T12:00:00.123456Z"); nullopt: no `time`.
    std::optional<std::int64_t> time_us;
    std::string_view datacontenttype;     // "" : none
    std::optional<std::string_view> data; // the payload bytes; nullopt: NULL, no data
    const TraceContext* trace = nullptr;  // nullptr: no Distributed Tracing attributes
};

struct BinaryEvent {
    // `prefix` + attribute name for every attribute but datacontenttype,
    // in the order above; values as UTF-8 text.
    std::vector<publish::Header> headers;
    // datacontenttype, for the transport's own content type (AMQP's
    // content-type property, Kafka's `content-type` header); nullopt when
    // not set or when there is no payload.
    std::optional<std::string> content_type;
};

// Binary content mode: the message's value is `e.data` unchanged. Returns
// the reason when an attribute is not valid (a row-level error).
std::variant<BinaryEvent, std::string> to_binary(const Event& e, std::string_view prefix);

// Binary content mode as the Kafka binding spells it: the "ce_" headers,
// then `content-type` (datacontenttype) when there is one.
std::variant<std::vector<publish::Header>, std::string> to_kafka_binary_headers(const Event& e);

struct StructuredEvent {
    std::string body; // the message's value: one JSON object
    std::string_view content_type = kStructuredContentType;
};

// Structured content mode, the JSON event format (json-format.md 3.1):
//  - no payload: no data member;
//  - a JSON datacontenttype (`*/json`, `*/*+json`, parameters ignored) or
//    none at all (the format reads that as application/json): "data" is the
//    payload itself, copied byte for byte when it is one JSON text (RFC
//    8259, strict UTF-8), so numbers and key order are never rewritten;
//    otherwise "data_base64";
//  - a text datacontenttype (`text/*`, `*/xml`, `*/*+xml`, or one with a
//    charset parameter): "data" is the payload as a JSON string when it is
//    valid UTF-8, otherwise "data_base64";
//  - any other datacontenttype (application/octet-stream, ...):
//    "data_base64" (RFC 4648 base64, padded).
std::variant<StructuredEvent, std::string> to_structured(const Event& e);

// RFC 3339 UTC with six fraction digits for microseconds since the epoch;
// nullopt outside years 0000 to 9999, which RFC 3339 cannot write.
std::optional<std::string> rfc3339_utc_micros(std::int64_t unix_us);

// Config validators: "" when fine, else what is wrong (the loader prefixes
// the option's name).
// A CloudEvents `source`: a non-empty URI-reference (RFC 3986 4.1) such as
// "/outboxd/shop/public.outbox" or "urn:example:billing".
std::string source_problem(std::string_view source);
// A CloudEvents `type`: a non-empty string without control characters.
std::string type_problem(std::string_view type);
// A datacontenttype: a media type "type/subtype" with optional ";
// name=value" parameters (RFC 2045 tokens).
std::string datacontenttype_problem(std::string_view media_type);

} // namespace outboxd::relay::cloudevents
