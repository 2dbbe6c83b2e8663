// The daemon's thread for consumer confirmation (confirm.consumers,
// docs/consumers.md): on the active publisher only, every
// confirm.interval_ms it runs one confirm::Confirmer round (committed
// offsets, explicit reports, the deadline) on a database session and broker
// clients of its own, so confirming never slows the relay; every
// http.stats_interval_ms it refreshes the unconfirmed gauges.
//
// Threads: constructed, updated and destroyed by the main thread; its work
// runs on its own thread and reaches the rest only through Metrics.
#pragma once

#include "config/config.h"
#include "confirm/confirm_rules.h"
#include "metrics/metrics.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace outboxd::cli {

class ConfirmWorker {
public:
    // `source`: this outbox's outbox-source (reports for another are ignored).
    ConfirmWorker(config::Config cfg, std::string source, metrics::Metrics& metrics);
    ~ConfirmWorker(); // stops and joins
    ConfirmWorker(const ConfirmWorker&) = delete;
    ConfirmWorker& operator=(const ConfirmWorker&) = delete;

    // Rounds run only while this process publishes, so standbys never
    // compete with it for the same rows or the report consumer group.
    void set_leading(bool leading);
    // SIGHUP: the reloadable confirm.* settings.
    void update(const config::Config& cfg);
    void stop();

private:
    void run();

    config::Config cfg_; // guarded by mu_
    std::string source_;
    metrics::Metrics& metrics_;
    std::atomic<bool> leading_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    bool poke_ = false;
    std::thread thread_;
};

// The consumer group outboxd reads confirm.ack_topic with, per outbox.
std::string report_group(const std::string& source);

// What confirm.* says, as the rules take it.
confirm::Options confirm_options(const config::Confirm& c);

} // namespace outboxd::cli
