// The daemon's background thread for everything that must not slow the
// relay: every http.stats_interval_ms it refreshes the table's gauges
// (pending rows, oldest pending age, parked rows) and checks that PostgreSQL
// and Kafka answer (for /readyz); on the active publisher only, it deletes
// old sent rows in small batches when retention is on. It has its own
// database connection and its own Kafka handle, so a slow count or a long
// retention round never holds up a delivery report.
//
// Threads: constructed, updated and destroyed by the main thread; its work
// runs on its own thread and reaches the rest only through Metrics and
// HealthState, which are safe to share.
#pragma once

#include "config/config.h"
#include "health/health_state.h"
#include "metrics/metrics.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace outboxd::cli {

class Housekeeper {
public:
    Housekeeper(config::Config cfg, metrics::Metrics& metrics, health::HealthState& health);
    ~Housekeeper(); // stops and joins
    Housekeeper(const Housekeeper&) = delete;
    Housekeeper& operator=(const Housekeeper&) = delete;

    // Retention runs only while this process is the active publisher, so
    // standbys never compete with it for the same rows.
    void set_leading(bool leading);

    // SIGHUP: new refresh interval and retention settings.
    void update(const config::Config& cfg);

    void stop();

private:
    void run();

    config::Config cfg_; // guarded by mu_
    metrics::Metrics& metrics_;
    health::HealthState& health_;
    std::atomic<bool> leading_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    bool poke_ = false; // guarded by mu_: settings or role changed, look again now
    std::thread thread_;
};

} // namespace outboxd::cli
