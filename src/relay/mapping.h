// Turns a pending row into the message the broker gets: topic (from the topic
// column, or routed from another column), key, value, headers, partition and
// timestamp, in the outboxd layout or as Debezium's outbox EventRouter makes
// them from its table (postgres.layout, docs/debezium.md), optionally in a
// CloudEvents envelope (message.envelope) and with the row's W3C trace
// context. Or says why the row cannot be sent (a row-level error that
// counts an attempt, docs/design.md G3). No I/O; one thread uses an
// instance (the relay), which keeps a small cache of routed topics.
#pragma once

#include "common/topic_route.h"
#include "config/config.h"
#include "publish/publisher.h"
#include "store/outbox_store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace outboxd::relay {

// What the mapping needs of the configuration; copied, so a relay's mapping
// never changes under it.
struct MappingOptions {
    static MappingOptions from(const config::Config& cfg);

    bool rabbitmq = false; // AMQP names for CloudEvents attributes
    bool event_id = false; // postgres.columns.event_id is set: header `id`
    std::optional<TopicRoute> route;
    std::vector<config::AdditionalField> additional_fields;
    bool expand_json_payload = false;
    bool tombstone_on_empty_payload = false;
    config::Envelope envelope = config::Envelope::kNone;
    std::string ce_source; // "" : "/outboxd/" + outbox_source
    std::string ce_datacontenttype;
    // "dbname/schema.table", known once the daemon has connected.
    std::string outbox_source;
};

// A message as the mapping made it. `value` is unset while the value is the
// row's payload unchanged (value_is_payload), so the common case copies
// nothing; a null value (a tombstone) has value_is_payload false and no value.
struct Mapped {
    std::string topic;
    bool value_is_payload = true;
    std::optional<std::string> value;
    std::vector<publish::Header> headers;
    std::int32_t partition = -1;   // -1: the producer's partitioner
    std::int64_t timestamp_ms = 0; // 0: the time of producing
    std::string content_type;      // AMQP content-type property; "" none
    // A trace context the row had but that was not valid W3C: sent
    // without it (a message without tracing beats a parked payment).
    std::optional<std::string> trace_problem;
};

class Mapping {
public:
    explicit Mapping(MappingOptions options);

    std::variant<Mapped, std::string> map(const store::PendingRow& row);

    const MappingOptions& options() const { return options_; }

private:
    std::string route(const std::string& value);
    // message.envelope around a mapped message; `json_value`: the value
    // became JSON (expanded, or the envelope placement's object).
    std::variant<Mapped, std::string>
    envelop(const store::PendingRow& row, Mapped out, bool json_value) const;

    MappingOptions options_;
    std::unordered_map<std::string, std::string> routed_; // value -> topic, bounded
};

} // namespace outboxd::relay
