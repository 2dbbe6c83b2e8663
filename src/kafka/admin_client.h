// A small Kafka client for everything that is not producing: the start-up
// durability audit (G2) and the health probe behind /readyz. It has its own
// connection, so the relay's producer serves only the relay, and a probe or
// an audit never waits behind the producer's queue. One thread per client.
#pragma once

#include "config/config.h"
#include "kafka/group_offsets.h"
#include "publish/broker_admin.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace outboxd::kafka {

class AdminClient final : public publish::BrokerAdmin {
public:
    // Throws PublisherConfigError (kafka_publisher.h) when librdkafka refuses
    // a property, naming it; never for an unreachable cluster.
    explicit AdminClient(const config::Kafka& cfg);
    ~AdminClient() override;
    AdminClient(const AdminClient&) = delete;
    AdminClient& operator=(const AdminClient&) = delete;

    std::string broker_name() const override { return "kafka"; }
    std::string destination_noun() const override { return "topic"; }
    Status ping(Millis timeout) override;
    publish::AuditReport audit(const std::vector<std::string>& names, Millis timeout) override;
    // Topics are created by their owners (or the broker's auto-creation),
    // never by the relay: nothing to declare.
    publish::DeclareResult declare(Millis /*timeout*/) override { return {}; }

    // A consumer group's committed offsets for `partitions` (consumer
    // confirmation); a failure names the group and the broker's answer.
    GroupOffsets committed_offsets(const std::string& group,
                                   const std::vector<TopicPartition>& partitions,
                                   Millis timeout);

    struct Handle; // public only for librdkafka's log callback

private:
    std::unique_ptr<Handle> h_;
};

} // namespace outboxd::kafka
