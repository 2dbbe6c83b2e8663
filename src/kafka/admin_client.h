// A small Kafka client for everything that is not producing: the start-up
// durability audit (G2) and the health probe behind /readyz. It has its own
// connection, so the relay's producer serves only the relay, and a probe or
// an audit never waits behind the producer's queue. One thread per client.
#pragma once

#include "config/config.h"
#include "kafka/topic_audit.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace outboxd::kafka {

class AdminClient {
public:
    // Throws PublisherConfigError (kafka_publisher.h) when librdkafka refuses
    // a property, naming it; never for an unreachable cluster.
    explicit AdminClient(const config::Kafka& cfg);
    ~AdminClient();
    AdminClient(const AdminClient&) = delete;
    AdminClient& operator=(const AdminClient&) = delete;

    AuditResult audit(const std::vector<std::string>& topics, std::chrono::milliseconds timeout);
    // "" when a broker answered within `timeout`, else why not.
    std::string ping(std::chrono::milliseconds timeout);

    struct Handle; // public only for librdkafka's log callback

private:
    std::unique_ptr<Handle> h_;
};

} // namespace outboxd::kafka
