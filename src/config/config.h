// The validated configuration of one outboxd process.
//
// Built once by load_config() from a YAML file plus OUTBOXD_* environment
// overrides; immutable afterwards, so any thread may read it. The loader is
// config.cc (checks.cc the checks between options and of the files they
// name); redaction, print-config, the SIGHUP reload merge and the Markdown
// reference have headers of their own, included here for their callers.
#pragma once

#include "common/log_format.h"
#include "config/options_markdown.h"
#include "config/print_config.h"
#include "config/rabbit_topology.h"
#include "config/redact.h"
#include "config/reload.h"
#include "console/tokens.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace outboxd::config {

// Column names of the outbox table; every one is quoted before it reaches SQL.
struct Columns {
    std::string id = "id";
    std::string topic = "topic";
    std::string key = "msg_key";
    std::string payload = "payload";
    std::string headers = "headers";
    std::string status = "status";
    std::string attempts = "attempts";
    std::string last_error = "last_error";
    std::string next_attempt_at = "next_attempt_at";
    std::string created_at = "created_at";
    std::string sent_at = "sent_at";
    // Consumer confirmation (confirm.consumers); added by `migrate`, read
    // and written only while confirmation is on.
    std::string kafka_partition = "kafka_partition"; // from the delivery report
    std::string kafka_offset = "kafka_offset";
    std::string confirmed_by = "confirmed_by"; // text[]: consumers that confirmed
    std::string resends = "resends";           // sent again past confirm.deadline_ms
    // Mapping of another layout's columns (docs/debezium.md); "" for none.
    std::string event_id;        // sent as header `id`, the value as text
    std::string event_type;      // the event's type (CloudEvents `type`)
    std::string event_timestamp; // the Kafka message timestamp
    std::string tracing;         // W3C trace context: Properties text or a bare traceparent
};

// The table's shape: outboxd's own (the default), or Debezium's outbox table
// adopted as it is (postgres.layout; docs/debezium.md). The layout only
// changes defaults: every mapping option below can be set with either.
enum class Layout { kOutboxd, kDebezium };

// How retention removes old sent rows (retention.mode; docs/operations.md):
// a DELETE in short batches, or, on a table partitioned by range of id,
// dropping whole partitions whose rows are all sent and old enough. Kept in
// Postgres because the table's DDL (`outboxd migrate`) depends on it.
enum class RetentionMode { kDelete, kPartition };

// Where an additional column goes (postgres.additional_fields).
enum class Placement { kHeader, kEnvelope, kPartition };

struct AdditionalField {
    std::string column;
    Placement placement = Placement::kHeader;
    std::string alias; // header name or envelope member; the column's name when not given
};

// The topic of a row from a column through a regular expression
// (postgres.route.*): off while by_column is empty, and the topic column is
// taken as it is.
struct Route {
    std::string by_column;
    std::string topic_regex = "(?<routedByValue>.*)";
    std::string topic_replacement = "${routedByValue}";
};

struct Postgres {
    std::string dsn;
    std::string schema = "public"; // from `table`, split at the first dot
    std::string table = "outbox";
    std::string notify_channel = "outbox"; // empty: no LISTEN, poll only
    Columns columns;
    Layout layout = Layout::kOutboxd;
    Route route;
    std::vector<AdditionalField> additional_fields;
    bool expand_json_payload = false;        // a JSON text payload sent as compact JSON
    bool tombstone_on_empty_payload = false; // NULL or blank payload: a null value
    // With layout debezium and columns.tracing left at its default, the
    // column is read only when the table has it.
    bool tracing_optional = false;
    RetentionMode retention_mode = RetentionMode::kDelete; // retention.mode
    // leader.session_timeout_ms: every session notices a dead link within
    // this, and asks the server to drop it within this (store/pg_session.h).
    std::chrono::milliseconds session_timeout{10000};
    // confirm.consumers, copied here by the loader: when not empty the relay
    // records each row's partition and offset, migrate adds the confirmation
    // columns and indexes, the start-up check requires them, and the admin
    // statements know statuses 3 and 4.
    std::vector<std::string> confirm_consumers;
    bool confirming() const { return !confirm_consumers.empty(); }
};

struct Kafka {
    std::string bootstrap_servers;
    bool require_durable_topics = false;
    std::vector<std::string> audit_topics; // audited at start-up beside pending rows' topics
    std::map<std::string, std::string> properties; // handed to librdkafka as-is
    // Property -> file its value was read from (path resolved against the
    // config file's directory). The values themselves are already in
    // `properties`; kept so printed configs show the file, never the secret.
    std::map<std::string, std::string> properties_files;
};

// Which broker one process relays to (`broker`); one per process.
enum class BrokerKind { kKafka, kRabbitMq };

// RabbitMQ (docs/rabbitmq.md). `url` is an amqp:// or amqps:// URI with the
// password in it: a secret, redacted wherever it is shown.
struct RabbitMq {
    std::string url;
    // amqps://: the CA file the broker's certificate must chain to (resolved
    // path); empty: the system CA bundle (rabbitmq/connection.h).
    std::string ca_file;
    std::vector<std::string> audit_exchanges; // audited beside pending rows' exchanges
    bool require_durable = false;
    // http://user:pass@host:15672 of the management plugin; empty: the audit
    // checks only that exchanges exist (durability needs this API).
    std::string management_url;
    // rabbitmq.declare_file, parsed (empty: declare nothing).
    RabbitTopology declare;
};

// Defaults of the relay.* options, written once: the option table
// (options.cc) hands them to the loader, and Relay below and
// relay::RelayOptions (relay/relay.h) start from them. The example file
// must show the same values (tests/unit/config_defaults_test.cc).
namespace defaults {
inline constexpr int kRelayBatchSize = 500;
inline constexpr std::chrono::milliseconds kRelayPollInterval{1000};
inline constexpr int kRelayMaxAttempts = 5;
inline constexpr std::chrono::milliseconds kRelayRetryBackoffInitial{1000};
inline constexpr std::chrono::milliseconds kRelayRetryBackoffMax{60000};
inline constexpr std::chrono::milliseconds kRelayShutdownTimeout{10000};
inline constexpr int kRelayMaxInFlight = 10000;
inline constexpr std::chrono::milliseconds kRelayRescanInterval{5000};
inline constexpr std::int64_t kRelayMaxBatchBytes = std::int64_t{4} * 1024 * 1024;
inline constexpr std::int64_t kRelayMaxInFlightBytes = std::int64_t{8} * 1024 * 1024;
} // namespace defaults

struct Relay {
    int batch_size = defaults::kRelayBatchSize;
    std::chrono::milliseconds poll_interval = defaults::kRelayPollInterval;
    int max_attempts = defaults::kRelayMaxAttempts;
    std::chrono::milliseconds retry_backoff_initial = defaults::kRelayRetryBackoffInitial;
    std::chrono::milliseconds retry_backoff_max = defaults::kRelayRetryBackoffMax;
    std::chrono::milliseconds shutdown_timeout = defaults::kRelayShutdownTimeout;
    // back-pressure: rows produced but not yet reported
    int max_in_flight = defaults::kRelayMaxInFlight;
    // full pass from the lowest pending id
    std::chrono::milliseconds rescan_interval = defaults::kRelayRescanInterval;
    // Byte budgets (payload + key + headers), beside the row counts above:
    // a fetch stops adding rows once they pass max_batch_bytes, and no row
    // is produced while max_in_flight_bytes are produced but not reported.
    // docs/operations.md ("Memory") shows how memory follows from them.
    std::int64_t max_batch_bytes = defaults::kRelayMaxBatchBytes;
    std::int64_t max_in_flight_bytes = defaults::kRelayMaxInFlightBytes;
};

// One active publisher per table (docs/design.md G5).
struct Leader {
    bool enabled = true;
    std::int64_t lock_key = 0; // 0: derived from the table name
    std::chrono::milliseconds retry_interval{2000};
};

// The HTTP endpoint (/metrics, /healthz, /readyz).
struct Http {
    std::string listen = "127.0.0.1:9187";           // host:port or [v6]:port; empty: no endpoint
    std::chrono::milliseconds stall_timeout{60000};  // /healthz fails past this loop pause
    std::chrono::milliseconds stats_interval{10000}; // refresh of pending counts, reachability
    std::string port_file;   // the bound port is written here (for port 0); empty: none
    bool console = false;    // the review console at /console/ and its API at /api/v1/
    std::string tokens_file; // resolved against the config file's folder; empty: none
    // Read from tokens_file when the configuration was loaded (empty
    // without one): the console checks requests against these.
    std::vector<console::Token> tokens;
};

// Deletion of sent rows; off while sent_max_age is 0.
struct Retention {
    std::chrono::milliseconds sent_max_age{0};
    int batch_size = 1000; // rows per short DELETE transaction
    std::chrono::milliseconds interval{60000};
};

using LogFormat = log::Format; // one enum for the config and the loggers

struct Log {
    std::string level = "info";
    LogFormat format = LogFormat::kText;
};

// Consumer confirmation (statuses 3 and 4, docs/consumers.md).
struct Confirm {
    std::vector<std::string> consumers; // Kafka consumer group ids / report names; empty: off
    std::string ack_topic; // Kafka topic of explicit consumer reports; empty: offsets only
    std::string ack_queue; // RabbitMQ queue of consumer reports (the only confirmation there)
    std::chrono::milliseconds deadline{600000};
    bool resend_unconfirmed = false;
    int max_resends = 3;
    std::chrono::milliseconds interval{1000}; // pause between confirmation rounds
    int batch_size = 1000;                    // rows per statement of a round
    bool enabled() const { return !consumers.empty(); }
};

// The envelope of every message (message.envelope; docs/debezium.md).
enum class Envelope { kNone, kCloudEventsBinary, kCloudEventsStructured };

struct Message {
    Envelope envelope = Envelope::kNone;
    std::string ce_source;          // "" : "/outboxd/<dbname>/<schema>.<table>"
    std::string ce_datacontenttype; // "" : from the payload column's type
};

struct Config {
    BrokerKind broker = BrokerKind::kKafka;
    Postgres postgres;
    Message message;
    Kafka kafka;
    RabbitMq rabbitmq;
    Relay relay;
    Leader leader;
    Retention retention;
    Confirm confirm;
    Http http;
    Log log;
};

// One problem found while loading: `path` is the dotted key ("relay.batch_size")
// or the environment variable name; `message` says what is wrong.
struct Problem {
    std::string path;
    std::string message;
};

struct LoadResult {
    std::optional<Config> config;  // set only when problems is empty
    std::vector<Problem> problems; // every problem found, in file order
};

// Reads `path` (YAML) and applies `env` (NAME=VALUE strings, normally
// environ) on top. Never throws for bad input: problems are returned.
LoadResult load_config(const std::string& path, const std::vector<std::string>& env);

// Same, from YAML text already in memory (tests, `check` on stdin).
LoadResult load_config_text(const std::string& yaml_text,
                            const std::string& source_name,
                            const std::vector<std::string>& env);

// "relay.batch_size: must be between 1 and 100000 (got 0)"
std::string format_problem(const Problem& p);

// "kafka" or "rabbitmq", as `broker` is written.
const char* broker_name(BrokerKind kind);

} // namespace outboxd::config
