// A consumer's report about a row (docs/consumers.md): read from
// confirm.ack_topic (Kafka) or confirm.ack_queue (RabbitMQ) by the broker
// components, judged by confirm/confirm_rules.h. Header names as consumers
// write them; a missing header is nullopt.
#pragma once

#include <optional>
#include <string>

namespace outboxd::publish {

inline constexpr const char* kOutboxConsumerHeader = "outbox-consumer";
inline constexpr const char* kOutboxResultHeader = "outbox-result"; // consumed | failed

struct ConsumerReport {
    std::optional<std::string> source;   // outbox-source
    std::optional<std::string> id;       // outbox-id, as text
    std::optional<std::string> consumer; // outbox-consumer
    std::optional<std::string> result;   // outbox-result
    std::string body;                    // the reason, for failed
};

} // namespace outboxd::publish
