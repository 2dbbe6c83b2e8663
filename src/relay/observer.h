// Everything the relay tells the outside world goes through this one
// interface: the facts of its work (metrics, the relay's own RelayStats) and
// what it wants the log to say. The relay calls these on its own thread, at
// the moment each fact becomes true; implementations must be cheap and must
// not block or throw (the daemon's only bumps atomics and writes log lines).
// The defaults do nothing, so a test or a benchmark overrides only what it
// checks.
#pragma once

#include "publish/publisher.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace outboxd::relay {

// Something the relay wants the log to say; the observer decides how.
struct RelayEvent {
    enum class Kind { kDebug, kInfo, kWarn, kError } kind = Kind::kInfo;
    std::string text;
};

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
    // A database call failed (an outage; the relay backs off).
    virtual void on_db_error() {}
    // A row was handed to the producer; a report will follow.
    virtual void on_produced() {}
    // A fetch handed `rows` rows (at least one) to the producer.
    virtual void on_batch_produced(std::size_t /*rows*/) {}
    // A full pass from the lowest pending id began.
    virtual void on_pass() {}
    // A line for the log.
    virtual void on_event(const RelayEvent& /*event*/) {}
};

} // namespace outboxd::relay
