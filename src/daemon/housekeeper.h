// The housekeeper: everything that must not slow the relay. Every
// http.stats_interval_ms it refreshes the table's gauges (pending rows,
// oldest pending age, parked rows) and checks that PostgreSQL and the broker
// answer (for /readyz); on the active publisher only, it deletes old sent
// rows in short batches when retention is on. A WorkerTask of a
// LeadingWorker (daemon/leading_worker.h), on a database session and a
// broker client of its own, so a slow count or a long retention round never
// holds up a delivery report.
//
// Errors: an outage of either service is a gauge and a /readyz answer, not
// an exception; a database error that is not an outage (a revoked
// privilege) is thrown, and the worker stops the daemon with it.
//
// Threads: update() from the owning thread; round() on the worker's.
#pragma once

#include "config/config.h"
#include "daemon/leading_worker.h"
#include "health/health_state.h"
#include "metrics/metrics.h"
#include "publish/broker_admin.h"
#include "store/housekeeping_store.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace outboxd::daemon {

struct HousekeeperOptions {
    Millis stats_interval{10000};      // http.stats_interval_ms
    Millis retention_age{0};           // retention.sent_max_age_ms; 0: retention off
    std::size_t retention_batch{1000}; // retention.batch_size
    Millis retention_interval{60000};  // retention.interval_ms
    bool partitions = false;           // retention.mode partition
    std::string broker_name;           // "kafka", for the log

    // Its own sections of the configuration: http, retention, broker.
    static HousekeeperOptions from(const config::Config& cfg);
};

struct HousekeeperParts {
    // A new session or client each time the last one failed. The store
    // opens lazily: constructing it may not touch the network.
    std::function<std::unique_ptr<store::HousekeepingStore>()> open_store;
    std::function<std::unique_ptr<publish::BrokerAdmin>()> open_admin;
    metrics::Metrics& metrics;
    health::HealthState& health;
};

class Housekeeper final : public WorkerTask {
public:
    // One retention round deletes at most this many batches before the
    // health refresh runs again; while batches come back full the next
    // round follows at once, so retention keeps up with any rate its
    // DELETE can.
    static constexpr int kMaxBatchesPerRound = 100;
    // Longest wait for the broker during the health refresh.
    static constexpr Millis kBrokerPingTimeout{5000};

    Housekeeper(HousekeeperOptions options, HousekeeperParts parts);

    // SIGHUP: new intervals and retention settings; the worker's wake()
    // makes them count at once.
    void update(const HousekeeperOptions& options);

    TimePoint round(const RoundInput& in) override;
    void reset() override;

private:
    void refresh(const HousekeeperOptions& o);
    // Returns true when rows old enough are still left (a full last batch).
    bool retention(const HousekeeperOptions& o, const RoundInput& in);
    void partitions(const HousekeeperOptions& o, const RoundInput& in);
    store::HousekeepingStore& store();

    HousekeeperParts parts_;
    std::mutex mu_;
    HousekeeperOptions options_; // guarded by mu_
    bool changed_ = false;       // guarded by mu_: refresh now
    // The worker's thread only:
    std::unique_ptr<store::HousekeepingStore> store_;
    std::unique_ptr<publish::BrokerAdmin> admin_;
    bool first_ = true;
    TimePoint next_refresh_{};
    TimePoint next_retention_{};
    TimePoint next_partitions_{}; // retention.mode partition: once per interval
    bool was_leading_ = false;
    // retention.mode partition: the newest id at the last round, and the
    // rate of ids a second it gave (daemon/partition_rules.h).
    std::int64_t last_max_id_ = -1;
    TimePoint last_max_id_at_{};
    double id_rate_ = 0;
    std::string last_held_;
    std::string last_pg_error_;
    std::string last_broker_error_;
};

} // namespace outboxd::daemon
