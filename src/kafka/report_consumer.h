// Reads consumer reports from confirm.ack_topic (docs/consumers.md) as a
// member of its own consumer group, committing only after the confirmer
// applied what it took (at-least-once: a report applied twice changes
// nothing). One thread (the confirmer's).
#pragma once

#include "common/clock.h"
#include "common/status.h"
#include "config/config.h"
#include "publish/consumer_report.h"

#include <memory>
#include <string>
#include <vector>

namespace outboxd::kafka {

class ReportConsumer {
public:
    // `group`: outboxd's own consumer group for the reports of this outbox.
    // Throws PublisherConfigError when librdkafka refuses the properties.
    ReportConsumer(const config::Kafka& cfg, std::string topic, const std::string& group);
    ~ReportConsumer(); // leaves the group
    ReportConsumer(const ReportConsumer&) = delete;
    ReportConsumer& operator=(const ReportConsumer&) = delete;

    // Up to `max` reports, waiting at most `wait` for the first one.
    Status poll(std::size_t max, Millis wait, std::vector<publish::ConsumerReport>* out);
    // Commits what poll() returned (synchronously).
    Status commit();

private:
    struct Handle;
    std::unique_ptr<Handle> h_;
    std::string topic_;
    bool uncommitted_ = false;
};

} // namespace outboxd::kafka
