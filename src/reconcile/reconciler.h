// The read-back of docs/design.md G6 as the daemon's supervisor sees it: one
// blocking call that settles the ack-to-mark gap a previous publisher (or a
// dead producer) left, before anything is produced. KafkaReadBack
// (read_back.h) implements it; unit tests use a fake. One thread.
#pragma once

#include "common/status.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace outboxd::reconcile {

struct ReadBackResult {
    Status status; // failure: nothing may be produced yet (retry)
    std::int64_t messages_read = 0;
    std::size_t ours = 0; // messages with this outbox's outbox-source
    int partitions = 0;
    std::size_t topics = 0;
    std::size_t marked = 0; // pending rows found in the broker, now at status 1
    // Not empty: this broker has no read-back, and why (logged instead of
    // the counts above).
    std::string skipped;
};

class Reconciler {
public:
    virtual ~Reconciler() = default;
    // Reads back and marks; never throws for database or broker trouble
    // (a failed status with the reason: the caller retries before producing).
    virtual ReadBackResult read_back() = 0;
};

} // namespace outboxd::reconcile
