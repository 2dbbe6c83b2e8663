// The broker boundary's second half: what the daemon asks a broker besides
// producing. The health probe behind /readyz and the start-up durability
// audit (docs/design.md G2), on a client of their own, so the relay's publisher
// serves only the relay and a probe never waits behind its queue. Each
// broker component implements it (kafka::AdminClient); `check`, the start-up
// and the housekeeper use only this interface. One thread per instance.
#pragma once

#include "common/clock.h"
#include "common/status.h"

#include <string>
#include <vector>

namespace outboxd::publish {

// What the audit found for one destination (a Kafka topic).
struct DestinationAudit {
    std::string name;
    bool exists = false;
    // What was found, for the log and `check` ("partitions=3 rf=3
    // min.insync.replicas=2"); set when the destination exists.
    std::string summary;
    // Where G2 is not met: refused with require_durable; empty: durable.
    // For a destination that does not exist, the one problem says so.
    std::vector<std::string> problems;
};

struct AuditReport {
    Status reached;  // failure: the broker could not be asked at all
    Status complete; // failure: asked, but some settings could not be read
    std::vector<DestinationAudit> destinations;
};

// What declare() did.
struct DeclareResult {
    Status status;                     // failure: not everything was declared
    bool retry = false;                // with a failure: the broker could not be reached; try again
    std::vector<std::string> declared; // "exchange 'orders' (topic, durable)", in order
    std::vector<std::string> skipped;  // entries for another virtual host, and why
};

class BrokerAdmin {
public:
    virtual ~BrokerAdmin() = default;

    // For log lines and `check`: "kafka"; "topic".
    virtual std::string broker_name() const = 0;
    virtual std::string destination_noun() const = 0;

    // One light round trip: ok when a broker answered within `timeout`.
    virtual Status ping(Millis timeout) = 0;

    // Every destination in `names`, in that order.
    virtual AuditReport audit(const std::vector<std::string>& names, Millis timeout) = 0;

    // Declares the topology the config names (RabbitMQ: rabbitmq.declare_file),
    // idempotently; a declaration the broker holds differently is a failure
    // without retry. Brokers without such a setting declare nothing.
    virtual DeclareResult declare(Millis timeout) = 0;
};

} // namespace outboxd::publish
