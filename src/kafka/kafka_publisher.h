// Publisher on librdkafka's C API: one idempotent producer (acks=all,
// unbounded retries, message.timeout.ms=0 unless configured), rebuilt after a
// fatal error. Callbacks only record results; they run inside poll() on the
// relay thread, so no locking is needed. One thread only.
#pragma once

#include "config/config.h"
#include "publish/publisher.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// NOLINTNEXTLINE(readability-identifier-naming): the C library's name
using rd_kafka_t = struct rd_kafka_s;

namespace outboxd::kafka {

// The broker boundary this component implements (publish/publisher.h).
using publish::DeliveryReport;
using publish::ErrorClass;
using publish::FailureReason;
using publish::Header;
using publish::kOutboxIdHeader;
using publish::kOutboxSourceHeader;
using publish::Message;
using publish::ProduceResult;
using publish::Publisher;

// A kafka.properties entry librdkafka refused, or a producer that could not
// be created: a start-up misconfiguration, fatal for the process.
class PublisherConfigError : public publish::ConfigError {
public:
    using publish::ConfigError::ConfigError;
};

class KafkaPublisher final : public Publisher {
public:
    // `source` ("dbname/schema.table") goes into every message's
    // outbox-source header; empty: no such header.
    explicit KafkaPublisher(config::Kafka cfg, std::string source = {});
    ~KafkaPublisher() override;
    KafkaPublisher(const KafkaPublisher&) = delete;
    KafkaPublisher& operator=(const KafkaPublisher&) = delete;

    ProduceResult produce(const Message& m) override;
    std::vector<DeliveryReport> poll(std::chrono::milliseconds timeout) override;
    bool fatal() const override;
    std::string fatal_reason() const override;
    std::vector<DeliveryReport> rebuild(std::chrono::milliseconds timeout) override;
    std::vector<DeliveryReport> drain(std::chrono::milliseconds timeout) override;
    // An eventfd librdkafka writes to when a report (or any event) is queued
    // for poll(); kept across rebuilds. -1 if the eventfd could not be made.
    int wakeup_fd() override;

    // Drops messages not yet sent to a broker (their reports say purged, a
    // transient error); messages already on the wire cannot be recalled.
    void purge_queued() override;

    // Messages handed over and not yet reported.
    int outstanding() const;

    // The underlying handle, for the topic audit (admin API) only.
    rd_kafka_t* handle() const;

    // Tests: make librdkafka raise a fatal error as a broker would.
    void inject_fatal_for_test(const std::string& reason);

    struct State;

private:
    void create();
    void destroy();

    config::Kafka cfg_;
    std::string source_;
    std::unique_ptr<State> state_;
    int wake_fd_ = -1;
};

// The producer's own queue limit, queue.buffering.max.kbytes, derived from
// the relay's in-flight byte budget: the relay stops producing at
// `max_in_flight_bytes`, so the queue must hold that plus one message of
// the largest size the producer accepts (message.max.bytes), or a single
// large row could never be queued. Without it librdkafka would allow 1 GiB.
// kafka.properties wins when it sets the key itself.
config::Kafka with_queue_limit(config::Kafka kafka, std::int64_t max_in_flight_bytes);

// message.max.bytes as librdkafka will use it: kafka.properties, else its
// default (1000000).
std::int64_t producer_max_message_bytes(const config::Kafka& kafka);

// Effective librdkafka properties: contract-keeping defaults, then the
// user's kafka.properties, then the settings outboxd never lets go of.
std::vector<std::pair<std::string, std::string>> producer_properties(const config::Kafka& cfg);

// The same for outboxd's consumers (the read-back, consumer reports): the
// user's properties carry TLS and SASL settings; producer-only keys are left
// out (a consumer would only warn about them).
std::vector<std::pair<std::string, std::string>> consumer_properties(const config::Kafka& cfg);

} // namespace outboxd::kafka
