// Reads consumer reports from confirm.ack_queue (docs/consumers.md): a
// consumer on its own connection with manual acknowledgements, so a report
// is acknowledged only after the confirmer applied it (at-least-once: a
// report applied twice changes nothing). A lost connection is opened again
// at the next poll; reports not yet acknowledged come back from the broker.
// One thread (the confirmer's).
#pragma once

#include "common/clock.h"
#include "common/status.h"
#include "config/config.h"
#include "publish/consumer_report.h"
#include "rabbitmq/connection.h"

#include <cstdint>
#include <string>
#include <vector>

namespace outboxd::rabbitmq {

class ReportConsumer {
public:
    // Throws std::invalid_argument for a URL that cannot be parsed.
    ReportConsumer(const config::RabbitMq& cfg, std::string queue);

    // Up to `max` reports waiting now (the broker delivers at most `max`
    // unacknowledged ones: basic.qos).
    Status poll(std::size_t max, std::vector<publish::ConsumerReport>* out);
    // Acknowledges everything poll() returned.
    Status ack();

private:
    Status ensure_consuming(std::size_t prefetch);
    void drop(const std::string& why);

    Endpoint endpoint_;
    std::string queue_;
    Connection conn_;
    bool consuming_ = false;
    std::uint64_t last_tag_ = 0; // of the last report poll() returned; 0: none to ack
};

} // namespace outboxd::rabbitmq
