// What the relay tells the outside world about its work, for metrics. The
// relay calls these on its own thread, at the moment each fact becomes true;
// implementations must be cheap and must not block or throw (the daemon's
// implementation only bumps atomics). The defaults do nothing, so a test or a
// benchmark overrides only what it checks.
#pragma once

#include "publish/publisher.h"

#include <cstddef>
#include <cstdint>

namespace outboxd::relay {

class RelayObserver {
public:
    virtual ~RelayObserver() = default;

    // A fetch returned `rows` rows, at least one (empty polls are not
    // reported: they would drown the batch-size histogram in zeros).
    virtual void on_batch(std::size_t /*rows*/) {}
    // Kafka acknowledged a row created at `created_at_us` (Unix microseconds,
    // by the database clock): the commit-to-ack latency ends here.
    virtual void on_acked(std::int64_t /*created_at_us*/) {}
    // `rows` acknowledged rows were written as status 1.
    virtual void on_marked_sent(std::size_t /*rows*/) {}
    // One counted failure (G3) was written; `parked` when it moved the row
    // to status 2.
    virtual void on_counted_failure(publish::FailureReason /*reason*/, bool /*parked*/) {}
    // A transient (outage) error; never counted against a row.
    virtual void on_transient_error() {}
    // The producer was destroyed and created again after a fatal error.
    virtual void on_producer_rebuild() {}
    // The database answered again after a failure (a new session).
    virtual void on_db_reconnected() {}
};

} // namespace outboxd::relay
