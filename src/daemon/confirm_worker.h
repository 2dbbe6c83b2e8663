// Consumer confirmation (confirm.consumers, docs/consumers.md) as a
// WorkerTask of a LeadingWorker: on the active publisher only, every
// confirm.interval_ms it runs one confirm::Confirmer round (committed
// offsets, explicit reports, the deadline) on a database session and broker
// clients of its own, so confirming never slows the relay; every
// http.stats_interval_ms it refreshes the unconfirmed gauges. Which broker
// clients it gets is decided by whoever builds its ConfirmClients
// (daemon/run/brokers.h); it sees only the interfaces.
//
// Errors: a failed offsets or reports call is a problem of that round
// (logged once per text); an outage of the store fails the round and the
// worker retries it with new clients; anything else stops the daemon.
//
// Threads: update() from the owning thread; round() on the worker's.
#pragma once

#include "config/config.h"
#include "confirm/confirmer.h"
#include "daemon/leading_worker.h"
#include "metrics/metrics.h"
#include "store/confirm_store.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace outboxd::daemon {

struct ConfirmWorkerOptions {
    confirm::Options rules;       // consumers, deadline, resend, max resends
    std::size_t batch_size{1000}; // confirm.batch_size
    Millis interval{1000};        // confirm.interval_ms
    Millis stats_interval{10000}; // http.stats_interval_ms: the gauges
    std::string reports_from;     // "confirm.ack_topic t", for the log; empty: none

    // Its own sections of the configuration: confirm, http.
    static ConfirmWorkerOptions from(const config::Config& cfg);
};

// What one process needs while it leads; dropped when it stops leading or
// a round failed.
struct ConfirmClients {
    std::unique_ptr<store::ConfirmStore> store;
    std::unique_ptr<confirm::OffsetSource> offsets; // null: no committed offsets (RabbitMQ)
    std::unique_ptr<confirm::ReportSource> reports; // null: no explicit reports
};

class ConfirmWorker final : public WorkerTask {
public:
    // The gauges count up to this many rows (a gauge, not an audit).
    static constexpr std::int64_t kGaugeCap = 1000000;

    // `source`: this outbox's outbox-source (reports for another are
    // ignored). `open`: new clients; may throw a misconfiguration.
    ConfirmWorker(ConfirmWorkerOptions options,
                  std::string source,
                  std::function<ConfirmClients()> open,
                  metrics::Metrics& metrics);

    void update(const ConfirmWorkerOptions& options);

    TimePoint round(const RoundInput& in) override;
    void reset() override;

private:
    ConfirmWorkerOptions snapshot();

    const std::string source_;
    std::function<ConfirmClients()> open_;
    metrics::Metrics& metrics_;
    std::mutex mu_;
    ConfirmWorkerOptions options_; // guarded by mu_
    // The worker's thread only:
    ConfirmClients clients_;
    std::unique_ptr<confirm::Confirmer> confirmer_;
    TimePoint next_gauges_{};
    std::string last_problem_;
};

} // namespace outboxd::daemon
