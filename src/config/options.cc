#include "config/options.h"

#include "common/host_port.h"
#include "common/kafka_topic.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <type_traits>

namespace outboxd::config {
namespace {

// PostgreSQL truncates longer identifiers (NAMEDATALEN - 1), so a longer
// name would silently address a different table or column.
constexpr std::size_t kMaxIdentifierBytes = 63;

std::string check_identifier_part(const std::string& text, const std::string& what) {
    if (text.empty()) {
        return what + " must not be empty";
    }
    if (text.size() > kMaxIdentifierBytes) {
        return what + " must be at most 63 bytes (got " + std::to_string(text.size())
               + "; PostgreSQL would truncate it)";
    }
    if (text.find('\0') != std::string::npos) {
        return what + " must not contain a NUL byte";
    }
    return "";
}

std::string check_identifier(const std::string& text) {
    const std::string problem = check_identifier_part(text, "name");
    return problem.empty() ? "" : "column " + problem;
}

} // namespace

std::vector<std::string> split_additional_field(const std::string& text) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const auto colon = text.find(':', start);
        parts.push_back(text.substr(start, colon - start));
        if (colon == std::string::npos) {
            return parts;
        }
        start = colon + 1;
    }
}

AdditionalField parse_additional_field(const std::string& text) {
    const auto parts = split_additional_field(text);
    AdditionalField f;
    f.column = parts.at(0);
    const std::string& where = parts.at(1);
    f.placement = where == "envelope"    ? Placement::kEnvelope
                  : where == "partition" ? Placement::kPartition
                                         : Placement::kHeader;
    f.alias = parts.size() > 2 ? parts[2] : f.column;
    return f;
}

std::string format_additional_field(const AdditionalField& field) {
    switch (field.placement) {
    case Placement::kPartition:
        return field.column + ":partition";
    case Placement::kEnvelope:
        return field.column + ":envelope" + (field.alias != field.column ? ":" + field.alias : "");
    case Placement::kHeader:
        break;
    }
    return field.column + ":header" + (field.alias != field.column ? ":" + field.alias : "");
}

const std::vector<std::pair<std::string_view, std::string_view>>& debezium_layout_defaults() {
    static const std::vector<std::pair<std::string_view, std::string_view>> kPreset = {
        {"postgres.columns.id", "outboxd_id"},
        {"postgres.columns.key", "aggregateid"},
        {"postgres.columns.payload", "payload"},
        {"postgres.columns.headers", ""},
        {"postgres.columns.status", "outboxd_status"},
        {"postgres.columns.attempts", "outboxd_attempts"},
        {"postgres.columns.last_error", "outboxd_last_error"},
        {"postgres.columns.next_attempt_at", "outboxd_next_attempt_at"},
        {"postgres.columns.created_at", "outboxd_created_at"},
        {"postgres.columns.sent_at", "outboxd_sent_at"},
        {"postgres.columns.kafka_partition", "outboxd_kafka_partition"},
        {"postgres.columns.kafka_offset", "outboxd_kafka_offset"},
        {"postgres.columns.confirmed_by", "outboxd_confirmed_by"},
        {"postgres.columns.resends", "outboxd_resends"},
        {"postgres.columns.event_id", "id"},
        {"postgres.columns.event_type", "type"},
        {"postgres.columns.tracing", "tracingspancontext"},
        {"postgres.route.by_column", "aggregatetype"},
        {"postgres.route.topic_replacement", "outbox.event.${routedByValue}"},
    };
    return kPreset;
}

namespace {

std::string check_identifier_or_empty(const std::string& text) {
    return text.empty() ? "" : check_identifier(text);
}

std::string check_additional_field(const std::string& text) {
    const auto parts = split_additional_field(text);
    if (parts.size() < 2 || parts.size() > 3) {
        return "must be column:header[:name], column:envelope[:name] or column:partition (got "
               "\""
               + text + "\")";
    }
    if (std::string problem = check_identifier(parts[0]); !problem.empty()) {
        return problem;
    }
    if (parts[1] != "header" && parts[1] != "envelope" && parts[1] != "partition") {
        return "placement must be header, envelope or partition (got \"" + parts[1] + "\")";
    }
    if (parts.size() == 3 && (parts[2].empty() || parts[1] == "partition")) {
        return parts[1] == "partition" ? "a partition placement takes no name"
                                       : "the name after the placement must not be empty";
    }
    return "";
}

std::string check_channel(const std::string& text) {
    // Empty is meaningful: no LISTEN, poll only.
    if (text.empty()) {
        return "";
    }
    const std::string problem = check_identifier_part(text, "name");
    return problem.empty() ? "" : "channel " + problem;
}

std::string check_table(const std::string& text) {
    const auto dot = text.find('.');
    if (dot == std::string::npos) {
        const std::string problem = check_identifier_part(text, "table name");
        return problem.empty() ? "" : problem + R"( (write "schema.table" or "table"))";
    }
    std::string problem = check_identifier_part(text.substr(0, dot), "schema part");
    if (problem.empty()) {
        problem = check_identifier_part(text.substr(dot + 1), "table part");
    }
    return problem.empty() ? "" : problem + R"( (write "schema.table" or "table"))";
}

std::string check_topic(const std::string& text) {
    return kafka_topic_problem(text).empty()
               ? ""
               : "must be a valid Kafka topic name (1 to 249 letters, digits, '.', '_' or '-')";
}

// Quoted for a message; property values are short and not secret here
// (secret-file values come in through check_kafka_property with a
// description instead).
std::string check_property(const std::string& key, const std::string& value) {
    return check_kafka_property(key, value, "\"" + value + "\"");
}

// A property -> file entry: the file is read and checked by the loader, so
// only the shape is checked here.
std::string check_property_file(const std::string& key, const std::string& path) {
    if (key.empty()) {
        return "property name must not be empty";
    }
    return path.empty() ? "must name a file" : "";
}

// "host:port", "[v6]:port" or "" (endpoint off). Resolving the host is left
// to the listener; this catches what can never work.
std::string check_listen(const std::string& text) {
    if (text.empty()) {
        return "";
    }
    const auto problem = host_port_problem(text);
    if (problem.empty()) {
        return "";
    }
    // The port and bracket messages already show the value or an example.
    const bool explains_itself =
        problem.rfind("the port ", 0) == 0 || problem.rfind("an IPv6 address ", 0) == 0;
    return explains_itself ? problem
                           : problem
                                 + " (write host:port, e.g. 127.0.0.1:9187 or [::1]:9187; \"\" "
                                   "turns the endpoint off)";
}

// amqp://user:pass@host:port/vhost or amqps://...; the value is a secret,
// so no message quotes it.
std::string check_amqp_url(const std::string& text) {
    if (text.rfind("amqp://", 0) != 0 && text.rfind("amqps://", 0) != 0) {
        return "must be an AMQP URI starting with amqp:// or amqps:// (e.g. "
               "amqp://user:password@127.0.0.1:5672/vhost)";
    }
    return "";
}

// The management plugin's base address. Only plain HTTP for now.
std::string check_management_url(const std::string& text) {
    if (text.empty() || text.rfind("http://", 0) == 0) {
        return "";
    }
    if (text.rfind("https://", 0) == 0) {
        return "https is not supported yet (write http://user:password@host:15672)";
    }
    return "must start with http:// (e.g. http://guest:guest@127.0.0.1:15672) or be empty";
}

// AMQP exchange names are short strings: 1 to 255 bytes here (the default
// exchange "" cannot be audited).
std::string check_exchange(const std::string& text) {
    if (text.empty() || text.size() > 255) {
        return "must be an exchange name of 1 to 255 bytes";
    }
    return "";
}

std::string check_topic_or_empty(const std::string& text) {
    return text.empty() ? "" : check_topic(text);
}

// A consumer name is a Kafka consumer group id and a header value: printable
// text without commas (lists from the environment are comma-separated).
std::string check_consumer(const std::string& text) {
    if (text.empty() || text.size() > 255) {
        return "must be a consumer name (a consumer group id) of 1 to 255 bytes";
    }
    for (char c : text) {
        if (static_cast<unsigned char>(c) < 0x20 || c == ',') {
            return "must be a consumer name without control characters or commas";
        }
    }
    return "";
}

std::int64_t as_int(const OptionValue& v) {
    return std::get<std::int64_t>(v);
}
const std::string& as_string(const OptionValue& v) {
    return std::get<std::string>(v);
}

// Binds an option to the Config member it sets, in one expression:
// bind<&Config::relay, &Relay::batch_size>(o), members nested to any depth.
// The member's type decides the conversion from and to the option's value
// (text, bool, integer, duration in milliseconds, list, map); the option's
// range was checked before store.
template <typename T>
void from_value(T& out, const OptionValue& v) {
    if constexpr (
        std::is_same_v<
            T,
            std::
                string> || std::is_same_v<T, bool> || std::is_same_v<T, std::vector<std::string>> || std::is_same_v<T, std::map<std::string, std::string>>) {
        out = std::get<T>(v);
    } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
        out = std::chrono::milliseconds(as_int(v));
    } else {
        static_assert(std::is_integral_v<T>, "bind: unsupported member type");
        out = static_cast<T>(as_int(v));
    }
}

template <typename T>
OptionValue to_value(const T& in) {
    if constexpr (
        std::is_same_v<
            T,
            std::
                string> || std::is_same_v<T, bool> || std::is_same_v<T, std::vector<std::string>> || std::is_same_v<T, std::map<std::string, std::string>>) {
        return in;
    } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
        return static_cast<std::int64_t>(in.count());
    } else {
        static_assert(std::is_integral_v<T>, "bind: unsupported member type");
        return static_cast<std::int64_t>(in);
    }
}

template <auto... Members>
void bind(Option& o) {
    o.store = [](Config& c, const OptionValue& v) {
        from_value((c.*....*Members), v);
    };
    o.load = [](const Config& c) -> OptionValue {
        return to_value((c.*....*Members));
    };
}

std::vector<Option> build_options() {
    std::vector<Option> table;
    table.reserve(56);
    // Each reference is used only before the next add(), so growth cannot
    // invalidate it.
    auto add = [&table](std::string key, OptionType type, std::optional<std::string> def,
                        std::string description) -> Option& {
        Option& o = table.emplace_back();
        o.key = std::move(key);
        o.type = type;
        o.default_value = std::move(def);
        o.description = std::move(description);
        return o;
    };
    auto add_int = [&add](std::string key, OptionType type, std::int64_t min, std::int64_t max,
                          std::int64_t def, std::string description) -> Option& {
        Option& o = add(std::move(key), type, std::to_string(def), std::move(description));
        o.min = min;
        o.max = max;
        return o;
    };

    // --- postgres -----------------------------------------------------------
    {
        Option& o = add("postgres.dsn", OptionType::kString, std::nullopt,
                        "libpq connection string (keyword=value or postgresql:// URI). Required "
                        "unless postgres.dsn_file is set; never both.");
        o.required = true;
        o.secret = true;
        o.check_text = check_not_empty;
        bind<&Config::postgres, &Postgres::dsn>(o);
    }
    {
        // No store: the loader reads the file and stores its text as the DSN.
        Option& o = add("postgres.dsn_file", OptionType::kString, std::nullopt,
                        "File holding the DSN, surrounding whitespace trimmed (for mounted "
                        "secrets). A relative path is taken from the config file's directory.");
        o.check_text = check_not_empty;
    }
    {
        Option& o = add("postgres.table", OptionType::kString, std::string("public.outbox"),
                        "Outbox table as \"schema.table\", or \"table\" for schema public. Split "
                        "at the first dot; each part quoted in SQL, at most 63 bytes.");
        o.check_text = check_table;
        o.store = [](Config& c, const OptionValue& v) {
            const std::string& text = as_string(v);
            const auto dot = text.find('.');
            if (dot == std::string::npos) {
                c.postgres.schema = "public";
                c.postgres.table = text;
            } else {
                c.postgres.schema = text.substr(0, dot);
                c.postgres.table = text.substr(dot + 1);
            }
        };
        o.load = [](const Config& c) -> OptionValue {
            return c.postgres.schema + "." + c.postgres.table;
        };
    }
    {
        Option& o = add("postgres.notify_channel", OptionType::kString, std::string("outbox"),
                        "Channel to LISTEN on for insert wake-ups. Empty string: no LISTEN, poll "
                        "only.");
        o.check_text = check_channel;
        bind<&Config::postgres, &Postgres::notify_channel>(o);
    }
    struct ColumnOption {
        const char* key;
        const char* def;
        const char* description;
        void (*bind)(Option&);
    };
    const ColumnOption columns[] = {
        {"id", "id", "Row id: bigint from a sequence; sets the order per key.",
         bind<&Config::postgres, &Postgres::columns, &Columns::id>},
        {"topic", "topic", "Target Kafka topic (text, not null).",
         bind<&Config::postgres, &Postgres::columns, &Columns::topic>},
        {"key", "msg_key", "Kafka message key (text); NULL sends the message without a key.",
         bind<&Config::postgres, &Postgres::columns, &Columns::key>},
        {"payload", "payload", "Message value: bytea, text or jsonb.",
         bind<&Config::postgres, &Postgres::columns, &Columns::payload>},
        {"headers", "headers", "Kafka headers as a jsonb object of name to string value.",
         bind<&Config::postgres, &Postgres::columns, &Columns::headers>},
        {"status", "status",
         "Row status (smallint): 0 pending, 1 sent, 2 failed; with confirm.consumers also 3 "
         "consumed, 4 a consumer reported a failure.",
         bind<&Config::postgres, &Postgres::columns, &Columns::status>},
        {"attempts", "attempts", "Counted failures so far (integer).",
         bind<&Config::postgres, &Postgres::columns, &Columns::attempts>},
        {"last_error", "last_error", "Text of the last counted failure.",
         bind<&Config::postgres, &Postgres::columns, &Columns::last_error>},
        {"next_attempt_at", "next_attempt_at",
         "Earliest time of the next try after a counted failure (timestamptz).",
         bind<&Config::postgres, &Postgres::columns, &Columns::next_attempt_at>},
        {"created_at", "created_at", "Insert time (timestamptz).",
         bind<&Config::postgres, &Postgres::columns, &Columns::created_at>},
        {"sent_at", "sent_at", "Time Kafka acknowledged the row (timestamptz).",
         bind<&Config::postgres, &Postgres::columns, &Columns::sent_at>},
        {"kafka_partition", "kafka_partition",
         "Partition of the row's message (integer), kept for confirm.consumers.",
         bind<&Config::postgres, &Postgres::columns, &Columns::kafka_partition>},
        {"kafka_offset", "kafka_offset",
         "Offset of the row's message (bigint), kept for confirm.consumers.",
         bind<&Config::postgres, &Postgres::columns, &Columns::kafka_offset>},
        {"confirmed_by", "confirmed_by",
         "Consumers that confirmed the row (text[] NOT NULL DEFAULT '{}'), for "
         "confirm.consumers.",
         bind<&Config::postgres, &Postgres::columns, &Columns::confirmed_by>},
        {"resends", "resends",
         "Times the row was sent again for want of confirmation (integer NOT NULL DEFAULT 0).",
         bind<&Config::postgres, &Postgres::columns, &Columns::resends>},
    };
    for (const ColumnOption& col : columns) {
        Option& o = add(std::string("postgres.columns.") + col.key, OptionType::kString,
                        std::string(col.def), col.description);
        // Only the headers column may be absent ("": none).
        o.check_text =
            std::string_view(col.key) == "headers" ? check_identifier_or_empty : check_identifier;
        col.bind(o);
    }
    // Columns of another layout's table (docs/debezium.md); "" for none.
    const ColumnOption mapped[] = {
        {"event_id", "",
         "Column sent as header `id` (its value as text), for consumers' deduplication. "
         "debezium: id.",
         bind<&Config::postgres, &Postgres::columns, &Columns::event_id>},
        {"event_type", "",
         "Column holding the event's type: the CloudEvents `type` (message.envelope). "
         "debezium: type.",
         bind<&Config::postgres, &Postgres::columns, &Columns::event_type>},
        {"event_timestamp", "",
         "Column (timestamp or timestamptz) giving the Kafka message timestamp; \"\": the "
         "time of sending.",
         bind<&Config::postgres, &Postgres::columns, &Columns::event_timestamp>},
        {"tracing", "",
         "Column holding the row's W3C trace context: Java Properties text with traceparent "
         "(and tracestate) lines, or a bare traceparent; sent as the traceparent and tracestate "
         "headers. debezium: tracingspancontext, read only when the table has it.",
         bind<&Config::postgres, &Postgres::columns, &Columns::tracing>},
    };
    for (const ColumnOption& col : mapped) {
        Option& o = add(std::string("postgres.columns.") + col.key, OptionType::kString,
                        std::string(col.def), col.description);
        o.check_text = check_identifier_or_empty;
        col.bind(o);
    }
    {
        Option& o = add("postgres.layout", OptionType::kEnum, std::string("outboxd"),
                        "The table's layout: outboxd (its own table) or debezium (Debezium's "
                        "outbox table adopted as it is, messages as its EventRouter makes them; "
                        "docs/debezium.md). debezium changes the defaults of the options marked "
                        "\"debezium:\"; options set explicitly win.");
        o.allowed = {"outboxd", "debezium"};
        o.store = [](Config& c, const OptionValue& v) {
            c.postgres.layout = as_string(v) == "debezium" ? Layout::kDebezium : Layout::kOutboxd;
        };
        o.load = [](const Config& c) -> OptionValue {
            return std::string(c.postgres.layout == Layout::kDebezium ? "debezium" : "outboxd");
        };
    }
    {
        Option& o = add("postgres.route.by_column", OptionType::kString, std::string(""),
                        "Column the topic is made from through route.topic_regex and "
                        "route.topic_replacement; \"\": the topic column as it is. debezium: "
                        "aggregatetype.");
        o.check_text = check_identifier_or_empty;
        bind<&Config::postgres, &Postgres::route, &Route::by_column>(o);
    }
    {
        Option& o = add("postgres.route.topic_regex", OptionType::kString,
                        std::string("(?<routedByValue>.*)"),
                        "Regular expression (Java syntax, named groups allowed) the whole "
                        "by_column value must match; a value that does not match is the topic as "
                        "it is.");
        o.check_text = check_not_empty;
        bind<&Config::postgres, &Postgres::route, &Route::topic_regex>(o);
    }
    {
        Option& o = add("postgres.route.topic_replacement", OptionType::kString,
                        std::string("${routedByValue}"),
                        "The topic, with $N or ${name} standing for the regex's groups. debezium: "
                        "outbox.event.${routedByValue}.");
        o.check_text = check_not_empty;
        bind<&Config::postgres, &Postgres::route, &Route::topic_replacement>(o);
    }
    {
        Option& o = add("postgres.additional_fields", OptionType::kStringList, std::string(""),
                        "More columns in the message, each \"column:header[:name]\", "
                        "\"column:envelope[:name]\" (a member of a JSON value {\"payload\": ...}) "
                        "or \"column:partition\" (an integer column: the Kafka partition).");
        o.check_text = check_additional_field;
        o.store = [](Config& c, const OptionValue& v) {
            c.postgres.additional_fields.clear();
            for (const std::string& text : std::get<std::vector<std::string>>(v)) {
                c.postgres.additional_fields.push_back(parse_additional_field(text));
            }
        };
        o.load = [](const Config& c) -> OptionValue {
            std::vector<std::string> out;
            for (const AdditionalField& f : c.postgres.additional_fields) {
                out.push_back(format_additional_field(f));
            }
            return out;
        };
    }
    {
        Option& o = add("postgres.expand_json_payload", OptionType::kBool, std::string("false"),
                        "Send a payload holding a JSON object or array as compact JSON (no "
                        "spaces); other payloads as they are.");
        bind<&Config::postgres, &Postgres::expand_json_payload>(o);
    }
    {
        Option& o =
            add("postgres.tombstone_on_empty_payload", OptionType::kBool, std::string("false"),
                "Send a row whose payload is NULL or only whitespace as a tombstone (a null "
                "value), which log-compacted topics use to delete the key.");
        bind<&Config::postgres, &Postgres::tombstone_on_empty_payload>(o);
    }

    // --- message ------------------------------------------------------------
    {
        Option& o = add("message.envelope", OptionType::kEnum, std::string("none"),
                        "none: the payload as it is; cloudevents-binary: CloudEvents 1.0 "
                        "attributes as headers (Kafka ce_*, RabbitMQ cloudEvents_*), value "
                        "unchanged; cloudevents-structured: the value is a CloudEvents JSON "
                        "envelope holding the payload (docs/debezium.md).");
        o.allowed = {"none", "cloudevents-binary", "cloudevents-structured"};
        o.store = [](Config& c, const OptionValue& v) {
            const std::string& text = as_string(v);
            c.message.envelope = text == "cloudevents-binary" ? Envelope::kCloudEventsBinary
                                 : text == "cloudevents-structured"
                                     ? Envelope::kCloudEventsStructured
                                     : Envelope::kNone;
        };
        o.load = [](const Config& c) -> OptionValue {
            switch (c.message.envelope) {
            case Envelope::kCloudEventsBinary:
                return std::string("cloudevents-binary");
            case Envelope::kCloudEventsStructured:
                return std::string("cloudevents-structured");
            case Envelope::kNone:
                break;
            }
            return std::string("none");
        };
    }
    {
        Option& o = add("message.cloudevents.source", OptionType::kString, std::string(""),
                        "CloudEvents `source` (a URI reference); \"\": "
                        "/outboxd/<dbname>/<schema>.<table>.");
        bind<&Config::message, &Message::ce_source>(o);
    }
    {
        Option& o = add("message.cloudevents.datacontenttype", OptionType::kString, std::string(""),
                        "CloudEvents `datacontenttype`; \"\": application/json for a json or "
                        "jsonb payload column, text/plain; charset=utf-8 for text, "
                        "application/octet-stream for bytea.");
        bind<&Config::message, &Message::ce_datacontenttype>(o);
    }

    // --- broker -------------------------------------------------------------
    {
        Option& o = add("broker", OptionType::kEnum, std::string("kafka"),
                        "The broker this process relays to: kafka (the kafka section) or "
                        "rabbitmq (the rabbitmq section, docs/rabbitmq.md). One per process.");
        o.allowed = {"kafka", "rabbitmq"};
        o.store = [](Config& c, const OptionValue& v) {
            c.broker = as_string(v) == "rabbitmq" ? BrokerKind::kRabbitMq : BrokerKind::kKafka;
        };
        o.load = [](const Config& c) -> OptionValue {
            return std::string(broker_name(c.broker));
        };
    }

    // --- kafka --------------------------------------------------------------
    {
        Option& o = add("kafka.bootstrap_servers", OptionType::kString, std::nullopt,
                        "Comma-separated host:port list of brokers to bootstrap from. Required "
                        "with broker: kafka only.");
        o.required = true;
        o.check_text = check_not_empty;
        bind<&Config::kafka, &Kafka::bootstrap_servers>(o);
    }
    {
        Option& o = add("kafka.require_durable_topics", OptionType::kBool, std::string("false"),
                        "Refuse to start when a target topic has replication.factor < 2, "
                        "min.insync.replicas < 2 or unclean leader election on; false: only "
                        "report them.");
        bind<&Config::kafka, &Kafka::require_durable_topics>(o);
    }
    {
        Option& o = add("kafka.audit_topics", OptionType::kStringList, std::string(""),
                        "Topics audited at start-up besides the topics of pending rows.");
        o.check_text = check_topic;
        bind<&Config::kafka, &Kafka::audit_topics>(o);
    }
    {
        Option& o = add("kafka.properties", OptionType::kStringMap, std::string(""),
                        "librdkafka producer properties (TLS, SASL, linger.ms...) passed as-is. "
                        "Refused: acks other than all/-1, enable.idempotence=false, "
                        "transactional.id, bootstrap.servers.");
        o.check_entry = check_property;
        bind<&Config::kafka, &Kafka::properties>(o);
    }
    {
        // The loader reads each file into kafka.properties and stores the
        // resolved paths here.
        Option& o = add("kafka.properties_files", OptionType::kStringMap, std::string(""),
                        "librdkafka property -> file whose content, surrounding whitespace "
                        "trimmed, is the value (sasl.password, ssl.key.password... from mounted "
                        "secrets). A relative path is taken from the config file's directory. "
                        "Same refusals as kafka.properties; a property may not be set in both.");
        o.check_entry = check_property_file;
        bind<&Config::kafka, &Kafka::properties_files>(o);
    }

    // --- rabbitmq -----------------------------------------------------------
    {
        // Required with broker: rabbitmq; the loader checks it with the file.
        Option& o = add("rabbitmq.url", OptionType::kString, std::nullopt,
                        "AMQP URI amqp://user:password@host:5672/vhost (amqps:// for TLS). "
                        "Required with broker: rabbitmq unless rabbitmq.url_file is set; never "
                        "both. The password is never logged or printed.");
        o.secret = true;
        o.check_text = check_amqp_url;
        bind<&Config::rabbitmq, &RabbitMq::url>(o);
    }
    {
        // No store: the loader reads the file and stores its text as the URL.
        Option& o = add("rabbitmq.url_file", OptionType::kString, std::nullopt,
                        "File holding the AMQP URI, surrounding whitespace trimmed (for mounted "
                        "secrets). A relative path is taken from the config file's directory.");
        o.check_text = check_not_empty;
    }
    {
        // The loader resolves a relative path and checks the file is readable.
        Option& o = add("rabbitmq.ca_file", OptionType::kString, std::string(""),
                        "PEM file of the CA certificate(s) the broker's certificate is verified "
                        "against, with an amqps:// rabbitmq.url (peer and host name are always "
                        "verified). Empty: the system bundle /etc/ssl/certs/ca-certificates.crt. "
                        "A relative path is taken from the config file's directory.");
        bind<&Config::rabbitmq, &RabbitMq::ca_file>(o);
    }
    {
        Option& o = add("rabbitmq.audit_exchanges", OptionType::kStringList, std::string(""),
                        "Exchanges audited at start-up and by check besides the exchanges of "
                        "pending rows.");
        o.check_text = check_exchange;
        bind<&Config::rabbitmq, &RabbitMq::audit_exchanges>(o);
    }
    {
        // The loader resolves the path, reads and parses the file (every
        // problem in it is a config problem) into RabbitMq::declare.
        add("rabbitmq.declare_file", OptionType::kString, std::string(""),
            "File of exchanges, queues and bindings outboxd declares at start, "
            "before the audit: RabbitMQ's definitions format (JSON, as "
            "rabbitmqctl export_definitions writes it) or the same keys in YAML. "
            "Other sections of an export (users, policies, ...) are never applied. "
            "A declaration that differs from the broker's refuses the start. Empty: "
            "declare nothing. A relative path is taken from the config file's "
            "directory.");
    }
    {
        Option& o = add("rabbitmq.require_durable", OptionType::kBool, std::string("false"),
                        "Refuse to start when an audited exchange is missing or not durable, or "
                        "(with rabbitmq.management_url) a queue bound to it is not durable, "
                        "auto-delete, exclusive, not a quorum queue, or drops messages "
                        "(x-message-ttl without a dead-letter exchange, x-overflow drop-head "
                        "with a length limit); false: only report them.");
        bind<&Config::rabbitmq, &RabbitMq::require_durable>(o);
    }
    {
        Option& o = add("rabbitmq.management_url", OptionType::kString, std::string(""),
                        "Base URL of the RabbitMQ management API "
                        "(http://user:password@host:15672), for the durability audit of "
                        "exchanges and their queues. Empty: the audit only checks that "
                        "exchanges exist. The password is never logged or printed.");
        o.secret = true;
        o.check_text = check_management_url;
        bind<&Config::rabbitmq, &RabbitMq::management_url>(o);
    }

    // --- relay --------------------------------------------------------------
    {
        Option& o =
            add_int("relay.batch_size", OptionType::kInt, 1, 100000, defaults::kRelayBatchSize,
                    "Most rows fetched and produced in one pass.");
        o.reloadable = true;
        bind<&Config::relay, &Relay::batch_size>(o);
    }
    {
        Option& o = add_int("relay.poll_interval_ms", OptionType::kDurationMs, 10, 3600000,
                            defaults::kRelayPollInterval.count(),
                            "Longest wait between fetches when no LISTEN wake-up arrives.");
        o.reloadable = true;
        bind<&Config::relay, &Relay::poll_interval>(o);
    }
    {
        Option& o =
            add_int("relay.max_attempts", OptionType::kInt, 1, 1000, defaults::kRelayMaxAttempts,
                    "Counted failures before a row is parked at status 2. Outages never "
                    "count.");
        o.reloadable = true;
        bind<&Config::relay, &Relay::max_attempts>(o);
    }
    {
        Option& o = add_int("relay.retry_backoff_initial_ms", OptionType::kDurationMs, 1, 86400000,
                            defaults::kRelayRetryBackoffInitial.count(),
                            "Delay before retrying a row after its first counted failure; "
                            "doubles with each further failure.");
        o.reloadable = true;
        bind<&Config::relay, &Relay::retry_backoff_initial>(o);
    }
    {
        Option& o = add_int("relay.retry_backoff_max_ms", OptionType::kDurationMs, 1, 86400000,
                            defaults::kRelayRetryBackoffMax.count(),
                            "Upper bound of the retry delay. Must be at least "
                            "relay.retry_backoff_initial_ms.");
        o.reloadable = true;
        bind<&Config::relay, &Relay::retry_backoff_max>(o);
    }
    {
        Option& o = add_int("relay.shutdown_timeout_ms", OptionType::kDurationMs, 0, 3600000,
                            defaults::kRelayShutdownTimeout.count(),
                            "On SIGTERM, longest wait for delivery reports of rows in flight "
                            "before exiting.");
        bind<&Config::relay, &Relay::shutdown_timeout>(o);
    }
    {
        Option& o = add_int("relay.max_in_flight", OptionType::kInt, 1, 1000000,
                            defaults::kRelayMaxInFlight,
                            "Back-pressure: most rows produced but not yet reported. Must be at "
                            "least relay.batch_size.");
        bind<&Config::relay, &Relay::max_in_flight>(o);
    }
    {
        // 1 GiB: a fetch of that much would hold about twice as much while
        // its rows are copied out (the binary result and the rows); beyond
        // is a unit mistake.
        Option& o = add_int("relay.max_batch_bytes", OptionType::kInt, 1024, INT64_C(1073741824),
                            defaults::kRelayMaxBatchBytes,
                            "Most bytes (payload + key + headers) fetched in one pass: a fetch "
                            "stops adding rows once the rows before the next one reach it, so a "
                            "single larger row still comes on its own. The fetch holds about "
                            "twice this while it copies the rows out of the result. At most "
                            "relay.max_in_flight_bytes.");
        o.reloadable = true;
        bind<&Config::relay, &Relay::max_batch_bytes>(o);
    }
    {
        // librdkafka's queue.buffering.max.kbytes (at most INT32_MAX KiB)
        // follows from it, so it stays well below that.
        Option& o = add_int(
            "relay.max_in_flight_bytes", OptionType::kInt, 1024, INT64_C(17179869184),
            defaults::kRelayMaxInFlightBytes,
            "Back-pressure in bytes: no row is produced while the rows produced but not yet "
            "reported hold this many bytes (payload + key + headers); a row larger than the "
            "budget still goes once fewer are in flight. The producer's "
            "queue.buffering.max.kbytes is set from it (this plus message.max.bytes) unless "
            "kafka.properties sets it. At least relay.max_batch_bytes.");
        bind<&Config::relay, &Relay::max_in_flight_bytes>(o);
    }
    {
        Option& o = add_int("relay.rescan_interval_ms", OptionType::kDurationMs, 100, 3600000,
                            defaults::kRelayRescanInterval.count(),
                            "Interval between full scans from the lowest pending id, which "
                            "catch rows whose transaction committed late.");
        o.reloadable = true;
        bind<&Config::relay, &Relay::rescan_interval>(o);
    }

    // --- leader -------------------------------------------------------------
    {
        Option& o = add("leader.enabled", OptionType::kBool, std::string("true"),
                        "Take a PostgreSQL advisory lock so exactly one outboxd publishes from "
                        "the table; the others wait as standbys. Off: this process always "
                        "publishes, so run exactly one. (A transaction-pooling pooler is refused "
                        "either way: docs/deployment.md, Connection poolers.)");
        bind<&Config::leader, &Leader::enabled>(o);
    }
    {
        Option& o = add_int("leader.lock_key", OptionType::kInt, -INT64_MAX, INT64_MAX, 0,
                            "Advisory-lock key; 0 derives a stable key from postgres.table, so "
                            "processes on the same table agree without configuration.");
        bind<&Config::leader, &Leader::lock_key>(o);
    }
    {
        Option& o = add_int("leader.retry_interval_ms", OptionType::kDurationMs, 100, 600000, 2000,
                            "How often a standby tries to take the lock; bounds the takeover "
                            "time after the leader dies.");
        o.reloadable = true;
        bind<&Config::leader, &Leader::retry_interval>(o);
    }

    {
        // Stored with the PostgreSQL settings: every session outboxd opens
        // uses it, though the promise it makes is about leadership.
        Option& o = add_int(
            "leader.session_timeout_ms", OptionType::kDurationMs, 8000, 600000, 10000,
            "Bound for noticing a PostgreSQL connection that went silent (host gone, network "
            "partition): outboxd asks the server to drop such a session within it, which frees a "
            "vanished publisher's lock, and gives up its own connections within half of it, so a "
            "cut-off publisher has stopped before a successor can take the lock. "
            "Take-over after a partition: within this plus leader.retry_interval_ms. The DSN's own "
            "keepalive, tcp_user_timeout and connect_timeout settings (and server settings made "
            "for the role or through options) win.");
        bind<&Config::postgres, &Postgres::session_timeout>(o);
    }

    // --- retention ----------------------------------------------------------
    {
        // Ten years of 365 days: longer is almost surely a unit mistake.
        Option& o = add_int("retention.sent_max_age_ms", OptionType::kDurationMs, 0,
                            INT64_C(315360000000), 0,
                            "Delete rows at status 1 (sent), with confirm.consumers at 3 "
                            "(consumed), whose sent_at is older than this. 0 turns retention "
                            "off. Rows at 0, 2 and 4 are never deleted.");
        o.reloadable = true;
        bind<&Config::retention, &Retention::sent_max_age>(o);
    }
    {
        Option& o = add("retention.mode", OptionType::kEnum, std::string("delete"),
                        "delete: old sent rows are deleted in batches of retention.batch_size. "
                        "partition: the table is partitioned by range of id (`outboxd migrate` "
                        "makes it so); outboxd adds partitions ahead of the ids and drops a "
                        "partition once all its rows are sent and older than sent_max_age_ms, "
                        "with no per-row DELETE and no vacuum work. A partition holding a row "
                        "at 0, 2, 4 or 5 is never dropped. Needs sent_max_age_ms > 0, "
                        "postgres.layout outboxd and a role that owns the table.");
        o.allowed = {"delete", "partition"};
        o.store = [](Config& c, const OptionValue& v) {
            c.postgres.retention_mode =
                as_string(v) == "partition" ? RetentionMode::kPartition : RetentionMode::kDelete;
        };
        o.load = [](const Config& c) -> OptionValue {
            return std::string(c.postgres.retention_mode == RetentionMode::kPartition ? "partition"
                                                                                      : "delete");
        };
    }
    {
        Option& o = add_int("retention.batch_size", OptionType::kInt, 1, 100000, 1000,
                            "Most rows deleted per short transaction, so no lock is held long.");
        o.reloadable = true;
        bind<&Config::retention, &Retention::batch_size>(o);
    }
    {
        Option& o = add_int("retention.interval_ms", OptionType::kDurationMs, 100, 86400000, 60000,
                            "Pause between retention rounds.");
        o.reloadable = true;
        bind<&Config::retention, &Retention::interval>(o);
    }

    // --- confirm ------------------------------------------------------------
    {
        Option& o = add("confirm.consumers", OptionType::kStringList, std::string(""),
                        "Consumers that must confirm every row (docs/consumers.md): on Kafka "
                        "consumer group ids, whose committed offsets confirm rows; names in "
                        "explicit reports on both brokers. A row is 3 once all confirmed it, 4 "
                        "when one reported a failure. Empty: off, statuses stay 0/1/2.");
        o.check_text = check_consumer;
        bind<&Config::confirm, &Confirm::consumers>(o);
    }
    {
        Option& o = add("confirm.ack_topic", OptionType::kString, std::string(""),
                        "Kafka: topic of explicit consumer reports (headers outbox-source, "
                        "outbox-id, outbox-consumer, outbox-result consumed|failed; the body is "
                        "the reason). Empty: committed offsets only.");
        o.check_text = check_topic_or_empty;
        bind<&Config::confirm, &Confirm::ack_topic>(o);
    }
    {
        Option& o = add("confirm.ack_queue", OptionType::kString, std::string(""),
                        "RabbitMQ: queue of consumer reports (the same headers), read with "
                        "manual acknowledgements; required with confirm.consumers on RabbitMQ, "
                        "where reports are the only confirmation.");
        bind<&Config::confirm, &Confirm::ack_queue>(o);
    }
    {
        Option& o = add_int("confirm.deadline_ms", OptionType::kDurationMs, 1000,
                            INT64_C(2592000000), 600000,
                            "A row at 1 not confirmed by every consumer this long after sent_at "
                            "is unconfirmed (gauge, outboxd status, outboxd unconfirmed).");
        o.reloadable = true;
        bind<&Config::confirm, &Confirm::deadline>(o);
    }
    {
        Option& o = add("confirm.resend_unconfirmed", OptionType::kBool, std::string("false"),
                        "Send an unconfirmed row again (consumers deduplicate by outbox-id), at "
                        "most confirm.max_resends times, then park it at 2 naming the consumers "
                        "that never confirmed. false: only report it.");
        o.reloadable = true;
        bind<&Config::confirm, &Confirm::resend_unconfirmed>(o);
    }
    {
        Option& o = add_int("confirm.max_resends", OptionType::kInt, 0, 100, 3,
                            "Resends of an unconfirmed row before it is parked at 2.");
        o.reloadable = true;
        bind<&Config::confirm, &Confirm::max_resends>(o);
    }
    {
        Option& o = add_int("confirm.interval_ms", OptionType::kDurationMs, 100, 3600000, 1000,
                            "Pause between confirmation rounds (committed offsets asked, "
                            "reports applied, the deadline checked).");
        o.reloadable = true;
        bind<&Config::confirm, &Confirm::interval>(o);
    }
    {
        Option& o = add_int("confirm.batch_size", OptionType::kInt, 1, 100000, 1000,
                            "Most rows one confirmation statement touches.");
        o.reloadable = true;
        bind<&Config::confirm, &Confirm::batch_size>(o);
    }

    // --- http ---------------------------------------------------------------
    {
        Option& o = add("http.listen", OptionType::kString, std::string("127.0.0.1:9187"),
                        "Address of the HTTP endpoint (/metrics, /healthz, /readyz): host:port, "
                        "an IPv6 address in brackets ([::1]:9187), port 0 for any free port. "
                        "Loopback by default; empty string: no endpoint.");
        o.check_text = check_listen;
        bind<&Config::http, &Http::listen>(o);
    }
    {
        Option& o = add("http.port_file", OptionType::kString, std::string(),
                        "File the endpoint's bound port is written to (one line, decimal) once "
                        "it serves, and removed at a clean exit: how a supervisor or a test "
                        "finds the port chosen for http.listen port 0. Empty: none.");
        bind<&Config::http, &Http::port_file>(o);
    }
    {
        Option& o = add_int("http.stall_timeout_ms", OptionType::kDurationMs, 1000, 3600000, 60000,
                            "/healthz fails when the main loop has not turned for this long.");
        o.reloadable = true;
        bind<&Config::http, &Http::stall_timeout>(o);
    }
    {
        Option& o = add_int("http.stats_interval_ms", OptionType::kDurationMs, 100, 3600000, 10000,
                            "How often the pending count, oldest pending age, parked count and "
                            "both services' reachability are refreshed.");
        o.reloadable = true;
        bind<&Config::http, &Http::stats_interval>(o);
    }
    {
        Option& o = add("http.console", OptionType::kBool, std::string("false"),
                        "Serve the review console at /console/ and its JSON API under /api/v1/ "
                        "on http.listen: parked (2) and consumer-failed (4) rows, listed, read, "
                        "requeued or closed by a person (docs/console.md).");
        bind<&Config::http, &Http::console>(o);
    }
    {
        Option& o = add("http.tokens_file", OptionType::kString, std::string(),
                        "Tokens of the console's API, one per line: NAME ROLE SECRET, ROLE read "
                        "or write; relative to the config file. Mode 600 (or 640 owned by root): a "
                        "file others may read is refused. "
                        "Re-read on SIGHUP. Empty: the API is read-only for everyone who can "
                        "reach the listener.");
        o.reloadable = true;
        bind<&Config::http, &Http::tokens_file>(o);
    }

    // --- log ----------------------------------------------------------------
    {
        Option& o = add("log.level", OptionType::kEnum, std::string("info"),
                        "Lowest level written to stderr.");
        o.allowed = {"trace", "debug", "info", "warn", "error"};
        o.reloadable = true;
        bind<&Config::log, &Log::level>(o);
    }
    {
        Option& o = add("log.format", OptionType::kEnum, std::string("text"),
                        "Log line format: text for people, json (one object per line) for "
                        "collectors.");
        o.allowed = {"text", "json"};
        o.reloadable = true;
        o.store = [](Config& c, const OptionValue& v) {
            c.log.format = as_string(v) == "json" ? LogFormat::kJson : LogFormat::kText;
        };
        o.load = [](const Config& c) -> OptionValue {
            return std::string(c.log.format == LogFormat::kJson ? "json" : "text");
        };
    }
    return table;
}

} // namespace

std::string check_not_empty(const std::string& text) {
    return text.empty() ? "must not be empty" : "";
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// The producer's guarantees (docs/design.md G2) rest on these settings, so a
// property that weakens them is a configuration error, not a tuning choice.
std::string
check_kafka_property(const std::string& key, const std::string& value, const std::string& shown) {
    if (key.empty()) {
        return "property name must not be empty";
    }
    if (key == "acks" || key == "request.required.acks") {
        const std::string v = lower(value);
        if (v != "all" && v != "-1") {
            return "refused: outboxd requires " + key
                   + "=all (or -1) so that a row is marked sent only once every in-sync "
                     "replica has it (got "
                   + shown + ")";
        }
        return "";
    }
    if (key == "enable.idempotence") {
        const std::string v = lower(value);
        if (v != "true" && v != "1") {
            return "refused: outboxd requires enable.idempotence=true, which keeps per-key "
                   "order and avoids duplicates when the producer retries (got "
                   + shown + ")";
        }
        return "";
    }
    if (key == "transactional.id") {
        return "refused: transactional producers are not supported yet";
    }
    if (key == "bootstrap.servers" || key == "metadata.broker.list") {
        return "refused: set kafka.bootstrap_servers instead";
    }
    return "";
}

const std::vector<Option>& options() {
    static const std::vector<Option> kTable = build_options();
    return kTable;
}

const Option* find_option(std::string_view key) {
    for (const Option& o : options()) {
        if (o.key == key) {
            return &o;
        }
    }
    return nullptr;
}

std::string env_var_name(std::string_view key) {
    std::string name(kEnvPrefix);
    for (char c : key) {
        name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return name;
}

std::string env_var_display(const Option& o) {
    if (o.key == "kafka.properties") {
        return std::string(kPropertyEnvPrefix) + "<NAME>";
    }
    if (o.key == "kafka.properties_files") {
        return std::string(kPropertyFileEnvPrefix) + "<NAME>";
    }
    return env_var_name(o.key);
}

std::string describe_default(const Option& o) {
    if (!o.default_value) {
        return "";
    }
    const std::string& d = *o.default_value;
    switch (o.type) {
    case OptionType::kString:
        return "\"" + d + "\"";
    case OptionType::kStringList:
        return d.empty() ? "[]" : "[" + d + "]";
    case OptionType::kStringMap:
        return "{}";
    default:
        return d;
    }
}

const std::vector<AtLeastRule>& at_least_rules() {
    static const std::vector<AtLeastRule> kRules = {
        {"relay.retry_backoff_max_ms", "relay.retry_backoff_initial_ms"},
        {"relay.max_in_flight", "relay.batch_size"},
        {"relay.max_in_flight_bytes", "relay.max_batch_bytes"},
    };
    return kRules;
}

std::int64_t int_value(const Config& config, std::string_view key) {
    const Option* o = find_option(key);
    return std::get<std::int64_t>(o->load(config));
}

} // namespace outboxd::config
