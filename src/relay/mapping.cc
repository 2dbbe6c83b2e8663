#include "relay/mapping.h"

#include "common/kafka_topic.h"
#include "common/text.h"
#include "relay/cloudevents.h"
#include "relay/debezium_json.h"
#include "relay/encode.h"
#include "relay/trace_context.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

namespace outboxd::relay {
namespace {

// Routed topics kept; past this the cache starts over (route values are
// usually a handful of aggregate types).
constexpr std::size_t kRoutedCacheSize = 10000;

// Java's String.trim(): every character up to U+0020 counts as blank.
bool blank(const std::string& text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
}

std::string default_content_type(store::PayloadType type) {
    switch (type) {
    case store::PayloadType::kJson:
        return "application/json";
    case store::PayloadType::kText:
        return "text/plain; charset=utf-8";
    case store::PayloadType::kBytea:
        break;
    }
    return "application/octet-stream";
}

std::optional<std::string> header_value(const std::vector<publish::Header>& headers,
                                        const std::string& name) {
    for (const auto& h : headers) {
        if (h.name == name) {
            return h.value;
        }
    }
    return std::nullopt;
}

} // namespace

MappingOptions MappingOptions::from(const config::Config& cfg) {
    MappingOptions o;
    const auto& pg = cfg.postgres;
    o.rabbitmq = cfg.broker == config::BrokerKind::kRabbitMq;
    o.event_id = !pg.columns.event_id.empty();
    if (!pg.route.by_column.empty()) {
        auto route = TopicRoute::compile(pg.route.topic_regex, pg.route.topic_replacement);
        if (auto* r = std::get_if<TopicRoute>(&route)) {
            o.route = std::move(*r);
        }
    }
    o.additional_fields = pg.additional_fields;
    o.expand_json_payload = pg.expand_json_payload;
    o.tombstone_on_empty_payload = pg.tombstone_on_empty_payload;
    o.envelope = cfg.message.envelope;
    o.ce_source = cfg.message.ce_source;
    o.ce_datacontenttype = cfg.message.ce_datacontenttype;
    return o;
}

Mapping::Mapping(MappingOptions options)
    : options_(std::move(options)) {}

std::string Mapping::route(const std::string& value) {
    if (!options_.route) {
        return value;
    }
    if (auto it = routed_.find(value); it != routed_.end()) {
        return it->second;
    }
    if (routed_.size() >= kRoutedCacheSize) {
        routed_.clear();
    }
    std::string topic = options_.route->apply(value);
    routed_.emplace(value, topic);
    return topic;
}

std::variant<Mapped, std::string> Mapping::map(const store::PendingRow& row) {
    Mapped out;
    out.topic = route(row.topic);
    if (auto err = kafka_topic_problem(out.topic); !err.empty()) {
        return options_.route
                   ? "routed topic \"" + out.topic + "\" from \"" + row.topic + "\": " + err
                   : err;
    }
    // The row's own headers column (the outboxd layout).
    auto enc = encode(row);
    if (auto* err = std::get_if<std::string>(&enc)) {
        return *err;
    }
    out.headers = std::move(std::get<Encoded>(enc).headers);
    if (options_.event_id) {
        if (!row.event_id) {
            return std::string("the event id column is NULL (postgres.columns.event_id)");
        }
        out.headers.push_back({"id", *row.event_id});
    }

    // The value: the payload, expanded, or a JSON envelope around it.
    std::optional<std::string> expanded; // the payload expanded as the EventRouter does
    const bool textual = row.payload_type != store::PayloadType::kBytea;
    if (options_.expand_json_payload) {
        // The value is JSON, as Kafka Connect's JsonConverter writes what
        // the EventRouter made: the expanded document, or the payload it
        // could not expand as a JSON string (bytes as base64), or null.
        if (textual && row.payload) {
            expanded = debezium_json::expand(*row.payload);
        }
        out.value = expanded       ? *expanded
                    : !row.payload ? std::string("null")
                    : textual      ? debezium_json::quote(*row.payload)
                                   : debezium_json::quote(base64(*row.payload));
        out.value_is_payload = false;
    }
    bool envelope = false;
    std::string members; // ,"name":value for each envelope placement
    for (std::size_t i = 0; i < options_.additional_fields.size(); ++i) {
        const auto& f = options_.additional_fields[i];
        const std::optional<std::string> value =
            i < row.fields.size() ? row.fields[i] : std::optional<std::string>();
        switch (f.placement) {
        case config::Placement::kHeader:
            // A NULL column is a header with a null value.
            out.headers.push_back({f.alias, value.value_or(std::string()), !value.has_value()});
            break;
        case config::Placement::kEnvelope: {
            envelope = true;
            // The column as JSON (to_jsonb in the fetch), written as the
            // EventRouter's converter writes it.
            auto j = value ? nlohmann::ordered_json::parse(*value, nullptr, false)
                           : nlohmann::ordered_json();
            members +=
                "," + debezium_json::quote(f.alias) + ":"
                + (j.is_discarded() ? debezium_json::quote(*value) : debezium_json::write(j));
            break;
        }
        case config::Placement::kPartition: {
            if (!value) {
                break; // NULL: the partitioner chooses, by the key
            }
            std::int64_t p = -1;
            const auto* begin = value->data();
            const auto* end = value->data() + value->size();
            if (std::from_chars(begin, end, p).ptr != end || p < 0 || p > INT32_MAX) {
                return "partition column \"" + f.column + "\" holds \"" + *value
                       + "\", not a partition number";
            }
            out.partition = static_cast<std::int32_t>(p);
            break;
        }
        }
    }
    const bool empty_payload = !row.payload || blank(*row.payload);
    if (options_.tombstone_on_empty_payload && empty_payload) {
        out.value.reset();
        out.value_is_payload = false;
    } else if (envelope) {
        std::string v = "{\"payload\":";
        if (expanded) {
            v += *expanded;
        } else if (!row.payload) {
            v += "null";
        } else if (textual) {
            v += debezium_json::quote(*row.payload);
        } else {
            v +=
                debezium_json::quote(base64(*row.payload)); // bytes as a JSON converter writes them
        }
        v += members;
        v += '}';
        out.value = std::move(v);
        out.value_is_payload = false;
    }

    if (row.tracing) {
        const TraceParse trace = parse_trace_column(*row.tracing);
        if (trace.context) {
            if (!header_value(out.headers, "traceparent")) {
                out.headers.push_back({"traceparent", trace.context->traceparent});
                if (!trace.context->tracestate.empty()) {
                    out.headers.push_back({"tracestate", trace.context->tracestate});
                }
            }
        }
        if (trace.problem) {
            out.trace_problem = trace.problem->message;
        }
    }
    if (row.event_time_us) {
        out.timestamp_ms = *row.event_time_us / 1000;
    }

    if (options_.envelope != config::Envelope::kNone) {
        return envelop(row, std::move(out), envelope || expanded.has_value());
    }
    return out;
}

std::variant<Mapped, std::string>
Mapping::envelop(const store::PendingRow& row, Mapped out, bool json_value) const {
    const std::string id = row.event_id.value_or(std::to_string(row.id));
    const std::string source =
        !options_.ce_source.empty() ? options_.ce_source : "/outboxd/" + options_.outbox_source;
    std::string type;
    if (row.event_type && !row.event_type->empty()) {
        type = *row.event_type;
    } else if (auto t = header_value(out.headers, "type"); t && !t->empty()) {
        type = *t;
    } else {
        type = out.topic;
    }
    const std::string content_type = !options_.ce_datacontenttype.empty()
                                         ? options_.ce_datacontenttype
                                         : (json_value ? std::string("application/json")
                                                       : default_content_type(row.payload_type));
    std::optional<TraceContext> trace;
    if (auto tp = header_value(out.headers, "traceparent")) {
        trace = TraceContext{*tp, header_value(out.headers, "tracestate").value_or(std::string())};
    }
    const std::optional<std::string>& value = out.value_is_payload ? row.payload : out.value;
    cloudevents::Event e;
    e.id = id;
    e.source = source;
    e.type = type;
    e.time_us =
        row.event_time_us ? row.event_time_us : std::optional<std::int64_t>(row.created_at_us);
    e.datacontenttype = content_type;
    if (value) {
        e.data = std::string_view(*value);
    }
    e.trace = trace ? &*trace : nullptr;
    if (options_.envelope == config::Envelope::kCloudEventsBinary) {
        auto made = cloudevents::to_binary(e, options_.rabbitmq ? cloudevents::kAmqpPrefix
                                                                : cloudevents::kKafkaPrefix);
        if (auto* err = std::get_if<std::string>(&made)) {
            return "CloudEvents: " + *err;
        }
        auto& binary = std::get<cloudevents::BinaryEvent>(made);
        for (auto& h : binary.headers) {
            out.headers.push_back(std::move(h));
        }
        if (binary.content_type) {
            if (options_.rabbitmq) {
                out.content_type = *binary.content_type;
            } else {
                out.headers.push_back(
                    {std::string(cloudevents::kKafkaContentTypeHeader), *binary.content_type});
            }
        }
        return out;
    }
    auto made = cloudevents::to_structured(e);
    if (auto* err = std::get_if<std::string>(&made)) {
        return "CloudEvents: " + *err;
    }
    auto& structured = std::get<cloudevents::StructuredEvent>(made);
    out.value = std::move(structured.body);
    out.value_is_payload = false;
    if (options_.rabbitmq) {
        out.content_type = std::string(structured.content_type);
    } else {
        out.headers.push_back({std::string(cloudevents::kKafkaContentTypeHeader),
                               std::string(structured.content_type)});
    }
    return out;
}

} // namespace outboxd::relay
