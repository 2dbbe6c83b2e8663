#include "cli/housekeeper.h"

#include "cli/brokers.h"
#include "common/log.h"
#include "store/pg_outbox_store.h"

#include <memory>

namespace outboxd::cli {
namespace {

// One retention round deletes at most this many batches before it lets the
// health refresh run again; the rest waits for the next round.
constexpr int kMaxBatchesPerRound = 100;
// Longest wait for a broker during the health refresh.
constexpr Millis kBrokerPingTimeout{5000};

// The housekeeper's own session never LISTENs: it would receive every
// insert's notification and, read only between refreshes, hold back
// PostgreSQL's notification queue for every other listener.
config::Postgres counting_store_config(const config::Config& cfg) {
    config::Postgres pg = cfg.postgres;
    pg.notify_channel.clear();
    return pg;
}

} // namespace

Housekeeper::Housekeeper(config::Config cfg, metrics::Metrics& metrics, health::HealthState& health)
    : cfg_(std::move(cfg))
    , metrics_(metrics)
    , health_(health) {
    thread_ = std::thread([this] { run(); });
}

Housekeeper::~Housekeeper() {
    stop();
}

void Housekeeper::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void Housekeeper::set_leading(bool leading) {
    const bool was = leading_.exchange(leading);
    if (leading && !was) {
        // A new leader looks at retention at once.
        std::lock_guard<std::mutex> lk(mu_);
        poke_ = true;
        cv_.notify_all();
    }
}

void Housekeeper::update(const config::Config& cfg) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        cfg_.http = cfg.http;
        cfg_.retention = cfg.retention;
        poke_ = true;
    }
    cv_.notify_all();
}

void Housekeeper::run() {
    auto log = log::get("housekeeping");
    std::unique_ptr<store::PgOutboxStore> st;
    std::unique_ptr<publish::BrokerAdmin> probe;
    auto next_refresh = Clock::now();
    auto next_retention = Clock::now();
    std::string last_pg_error;
    std::string last_broker_error;
    std::unique_lock<std::mutex> lk(mu_);
    while (!stop_) {
        const config::Config cfg = cfg_;
        lk.unlock();
        const auto now = Clock::now();
        if (now >= next_refresh) {
            next_refresh = now + cfg.http.stats_interval;
            // PostgreSQL: the table's gauges double as the reachability check.
            try {
                if (!st) {
                    st = std::make_unique<store::PgOutboxStore>(counting_store_config(cfg));
                }
                const auto h = st->health_summary();
                metrics_.pending_rows.set(static_cast<double>(h.pending));
                metrics_.parked_rows.set(static_cast<double>(h.parked));
                metrics_.oldest_pending_age_seconds.set(h.oldest_pending_age_s);
                metrics_.postgres_up.set(1);
                health_.set_postgres(true);
                if (!last_pg_error.empty()) {
                    log->info("postgres answers again");
                    last_pg_error.clear();
                }
            } catch (const std::exception& e) {
                st.reset(); // a new session next time
                metrics_.postgres_up.set(0);
                health_.set_postgres(false, e.what());
                if (last_pg_error != e.what()) {
                    log->warn("health refresh: postgres: {}", e.what());
                    last_pg_error = e.what();
                }
            }
            std::string broker_error;
            try {
                if (!probe) {
                    probe = make_broker_admin(cfg);
                }
                broker_error = probe->ping(kBrokerPingTimeout).error();
            } catch (const std::exception& e) {
                broker_error = e.what();
                probe.reset();
            }
            metrics_.broker_up.set(broker_error.empty() ? 1 : 0);
            metrics_.kafka_up.set(broker_error.empty() ? 1 : 0); // exported only for Kafka
            health_.set_broker(broker_error.empty(), broker_error);
            if (broker_error != last_broker_error) {
                if (broker_error.empty()) {
                    log->info("{} answers again", config::broker_name(cfg.broker));
                } else {
                    log->warn("health refresh: {}: {}", config::broker_name(cfg.broker),
                              broker_error);
                }
                last_broker_error = broker_error;
            }
        }
        const bool retention_on = cfg.retention.sent_max_age.count() > 0;
        if (retention_on && leading_.load() && Clock::now() >= next_retention) {
            next_retention = Clock::now() + cfg.retention.interval;
            std::size_t deleted = 0;
            try {
                if (!st) {
                    st = std::make_unique<store::PgOutboxStore>(counting_store_config(cfg));
                }
                const auto limit = static_cast<std::size_t>(cfg.retention.batch_size);
                for (int i = 0; i < kMaxBatchesPerRound && leading_.load(); ++i) {
                    // One short transaction per batch: locks last milliseconds,
                    // and the relay's updates never queue behind a big delete.
                    const std::size_t n =
                        st->delete_sent_older_than(cfg.retention.sent_max_age, limit);
                    deleted += n;
                    metrics_.retention_deleted_rows.inc(n);
                    if (n < limit) {
                        break;
                    }
                    std::lock_guard<std::mutex> stop_lk(mu_);
                    if (stop_) {
                        break;
                    }
                }
                if (deleted > 0) {
                    log->info("retention: deleted {} sent rows older than {} ms", deleted,
                              cfg.retention.sent_max_age.count());
                }
            } catch (const std::exception& e) {
                st.reset();
                log->warn("retention: {} (deleted {} rows before the error); retry in {} ms",
                          e.what(), deleted, cfg.retention.interval.count());
            }
        }
        lk.lock();
        auto wake = next_refresh;
        if (retention_on && leading_.load()) {
            wake = std::min(wake, next_retention);
        }
        cv_.wait_until(lk, wake, [this] { return stop_ || poke_; });
        if (poke_) {
            poke_ = false;
            next_refresh = Clock::now();
        }
    }
}

} // namespace outboxd::cli
