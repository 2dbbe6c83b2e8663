// Owners for the librdkafka handles of one admin request (a result queue
// and the event polled from it), shared by the admin calls in kafka/.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>

namespace outboxd::kafka {

struct QueueDeleter {
    void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
    void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

} // namespace outboxd::kafka
