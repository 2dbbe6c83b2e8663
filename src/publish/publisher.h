// The broker as the relay sees it. KafkaPublisher implements it with
// librdkafka, RabbitPublisher with rabbitmq-c; unit tests use a fake.
// Callers never include a broker library.
// A publisher is used by one thread (the relay loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outboxd::publish {

// A broker client's settings refused by its library (a bad property, a
// client that cannot be created): a misconfiguration, never retried
// (daemon/failure.h). Each broker's own config errors derive from it.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// How the relay must treat an error (docs/design.md G3).
enum class ErrorClass {
    kTransient, // outage, leader move, full queue: retry, never counts as an attempt
    kRow,       // about this row (too large, invalid, unknown topic): counts an attempt
    kFatal,     // the producer is unusable: rebuild it, re-read rows still at 0
};

// Why a row-level (counted) failure happened: the `reason` label of
// outboxd_rows_failed_total. A closed set, so the metric's cardinality
// cannot grow with whatever text a broker sends.
enum class FailureReason {
    kMessageTooLarge,
    kInvalidRecord,
    kUnknownTopic,
    kNotAuthorized,
    kEncoding, // the row could not be turned into a message (no topic, bad headers)
    kPolicyViolation,
    kUnroutable, // RabbitMQ returned it (basic.return): no queue bound for its routing key
    kOther,
};

inline const char* to_label(FailureReason r) {
    switch (r) {
    case FailureReason::kMessageTooLarge:
        return "message_too_large";
    case FailureReason::kInvalidRecord:
        return "invalid_record";
    case FailureReason::kUnknownTopic:
        return "unknown_topic";
    case FailureReason::kNotAuthorized:
        return "not_authorized";
    case FailureReason::kEncoding:
        return "encoding";
    case FailureReason::kPolicyViolation:
        return "policy_violation";
    case FailureReason::kUnroutable:
        return "unroutable";
    case FailureReason::kOther:
        return "other";
    }
    return "other";
}

// Headers every message carries, whatever the broker (docs/design.md G6): the row
// id, for consumers' deduplication and the read-back, and the outbox it came
// from ("dbname/schema.table"), so the read-back never takes another
// outbox's row ids for ours. A row's own headers may not use these names.
inline constexpr const char* kOutboxIdHeader = "outbox-id";
inline constexpr const char* kOutboxSourceHeader = "outbox-source";

// Every FailureReason, for whoever must list them (the metric's labels).
inline constexpr FailureReason kAllFailureReasons[] = {
    FailureReason::kMessageTooLarge, FailureReason::kInvalidRecord, FailureReason::kUnknownTopic,
    FailureReason::kNotAuthorized,   FailureReason::kEncoding,      FailureReason::kPolicyViolation,
    FailureReason::kUnroutable,      FailureReason::kOther,
};

struct Header {
    std::string name;
    std::string value;
    bool null_value = false; // Kafka: a header whose value is null (value then empty)
};

struct Message {
    std::int64_t id = 0; // the row id; also sent as header `outbox-id`
    std::string_view topic;
    std::optional<std::string_view> key;
    std::optional<std::string_view> payload;
    const std::vector<Header>* headers = nullptr; // may be null: no headers of the row's own
    std::int32_t partition = -1;                  // Kafka: -1 lets the partitioner choose
    std::int64_t timestamp_ms = 0;                // Kafka: 0 is the time of producing
    std::string_view content_type; // RabbitMQ: the content-type property; empty: none
};

// Result of handing a message to the producer.
struct ProduceResult {
    bool accepted = false; // true: a delivery report will follow
    ErrorClass error_class = ErrorClass::kTransient;
    std::string error;
    FailureReason reason = FailureReason::kOther; // meaningful for ErrorClass::kRow
};

struct DeliveryReport {
    std::int64_t id = 0;
    bool ok = false; // true only when the broker acknowledged the write (Kafka acks=all,
                     // RabbitMQ basic.ack without a basic.return)
    ErrorClass error_class = ErrorClass::kTransient;
    std::string error;
    FailureReason reason = FailureReason::kOther; // meaningful for ErrorClass::kRow
    // Where the broker put it (Kafka, with ok): kept for consumer
    // confirmation by committed offsets. -1: not known (RabbitMQ).
    std::int32_t partition = -1;
    std::int64_t offset = -1;
};

class Publisher {
public:
    virtual ~Publisher() = default;

    // Hands one message to the producer without waiting for the broker.
    virtual ProduceResult produce(const Message& m) = 0;

    // Serves delivery reports, waiting up to `timeout` for the first one.
    virtual std::vector<DeliveryReport> poll(std::chrono::milliseconds timeout) = 0;

    // A file descriptor that becomes readable when poll() has something to
    // serve, for a caller that waits on several sources at once (the
    // relay: reports, notifications, the marking write); -1 when this
    // publisher has none, and the caller waits in poll() instead. Asked
    // before every such wait: the call also re-arms it.
    virtual int wakeup_fd() { return -1; }

    // True once the producer hit a fatal error and must be rebuilt.
    virtual bool fatal() const = 0;
    virtual std::string fatal_reason() const = 0;

    // Waits up to `timeout` for outstanding reports, then destroys the
    // producer and creates a new one. Returns the reports it collected;
    // messages without a report stay at status 0 and are sent again.
    virtual std::vector<DeliveryReport> rebuild(std::chrono::milliseconds timeout) = 0;

    // Waits up to `timeout` for outstanding reports (shutdown); returns them.
    virtual std::vector<DeliveryReport> drain(std::chrono::milliseconds timeout) = 0;

    // Drops every message not yet sent to the broker: leadership is lost and
    // they must not leave after the lock is gone (G5). Their rows stay at 0.
    virtual void purge_queued() = 0;
};

} // namespace outboxd::publish
