#include "daemon/housekeeper.h"

#include "common/log.h"
#include "daemon/partition_rules.h"

#include <algorithm>

namespace outboxd::daemon {

HousekeeperOptions HousekeeperOptions::from(const config::Config& cfg) {
    HousekeeperOptions o;
    o.stats_interval = cfg.http.stats_interval;
    o.retention_age = cfg.retention.sent_max_age;
    o.retention_batch = static_cast<std::size_t>(cfg.retention.batch_size);
    o.retention_interval = cfg.retention.interval;
    o.partitions = cfg.postgres.retention_mode == config::RetentionMode::kPartition;
    o.broker_name = config::broker_name(cfg.broker);
    return o;
}

Housekeeper::Housekeeper(HousekeeperOptions options, HousekeeperParts parts)
    : parts_(std::move(parts))
    , options_(std::move(options)) {}

void Housekeeper::update(const HousekeeperOptions& options) {
    std::lock_guard<std::mutex> lk(mu_);
    options_ = options;
    changed_ = true;
}

void Housekeeper::reset() {
    store_.reset();
    admin_.reset();
}

store::HousekeepingStore& Housekeeper::store() {
    if (!store_) {
        store_ = parts_.open_store();
    }
    return *store_;
}

TimePoint Housekeeper::round(const RoundInput& in) {
    HousekeeperOptions o;
    bool changed = false;
    {
        std::lock_guard<std::mutex> lk(mu_);
        o = options_;
        changed = changed_;
        changed_ = false;
    }
    if (first_ || changed || in.now >= next_refresh_) {
        first_ = false;
        next_refresh_ = in.now + o.stats_interval;
        refresh(o);
    }
    const bool retention_on = o.retention_age.count() > 0;
    // A new leader looks at retention at once.
    if (in.leading && !was_leading_) {
        next_retention_ = in.now;
        next_partitions_ = in.now;
    }
    was_leading_ = in.leading;
    if (retention_on && in.leading && in.now >= next_retention_) {
        const bool behind = retention(o, in);
        // Partitions once per interval, also while the DELETE catches up
        // (each look at a drop candidate may read a whole partition).
        if (o.partitions && in.go_on() && in.now >= next_partitions_) {
            next_partitions_ = in.now + o.retention_interval;
            partitions(o, in);
        }
        // Behind: the next round at once (after a health refresh if one is
        // due), not after the interval.
        next_retention_ = behind ? in.now : in.now + o.retention_interval;
        parts_.metrics.retention_catching_up.set(behind ? 1 : 0);
    }
    TimePoint next = next_refresh_;
    if (retention_on && in.leading) {
        next = std::min(next, next_retention_);
    }
    return next;
}

void Housekeeper::refresh(const HousekeeperOptions& o) {
    auto log = log::get("housekeeping");
    // PostgreSQL: the table's gauges double as the reachability check. An
    // outage is an answer for /readyz; anything else is thrown on.
    try {
        const auto h = store().health_summary();
        parts_.metrics.pending_rows.set(static_cast<double>(h.pending));
        parts_.metrics.parked_rows.set(static_cast<double>(h.parked));
        parts_.metrics.oldest_pending_age_seconds.set(h.oldest_pending_age_s);
        parts_.metrics.postgres_up.set(1);
        parts_.health.set_postgres(true);
        if (!last_pg_error_.empty()) {
            log->info("postgres answers again");
            last_pg_error_.clear();
        }
    } catch (...) {
        const Failure f = classify_current();
        store_.reset(); // a new session next time
        parts_.metrics.postgres_up.set(0);
        parts_.health.set_postgres(false, f.what);
        if (!f.retry()) {
            throw;
        }
        if (last_pg_error_ != f.what) {
            log->warn("health refresh: postgres: {}", f.what);
            last_pg_error_ = f.what;
        }
    }
    // The broker: a probe's failure is a Status; a client the library
    // refuses is a misconfiguration (thrown on).
    if (!admin_) {
        admin_ = parts_.open_admin();
    }
    const std::string broker_error = admin_->ping(kBrokerPingTimeout).error();
    parts_.metrics.broker_up.set(broker_error.empty() ? 1 : 0);
    parts_.metrics.kafka_up.set(broker_error.empty() ? 1 : 0); // exported only for Kafka
    parts_.health.set_broker(broker_error.empty(), broker_error);
    if (broker_error != last_broker_error_) {
        if (broker_error.empty()) {
            log->info("{} answers again", o.broker_name);
        } else {
            log->warn("health refresh: {}: {}", o.broker_name, broker_error);
        }
        last_broker_error_ = broker_error;
    }
}

bool Housekeeper::retention(const HousekeeperOptions& o, const RoundInput& in) {
    auto log = log::get("housekeeping");
    std::size_t deleted = 0;
    bool behind = false;
    try {
        for (int i = 0; i < kMaxBatchesPerRound && in.go_on(); ++i) {
            // One short transaction per batch: locks last milliseconds, and
            // the relay's updates never queue behind a big delete.
            const std::size_t n =
                store().delete_sent_older_than(o.retention_age, o.retention_batch);
            deleted += n;
            parts_.metrics.retention_deleted_rows.inc(n);
            behind = n == o.retention_batch;
            if (!behind) {
                break;
            }
        }
    } catch (...) {
        const Failure f = classify_current();
        store_.reset();
        if (!f.retry()) {
            throw;
        }
        log->warn("retention: {} (deleted {} rows before the error); retry in {} ms", f.what,
                  deleted, o.retention_interval.count());
        return false;
    }
    if (deleted > 0) {
        log->info("retention: deleted {} sent rows older than {} ms{}", deleted,
                  o.retention_age.count(), behind ? "; more are due, going on" : "");
    }
    return behind;
}

void Housekeeper::partitions(const HousekeeperOptions& o, const RoundInput& in) {
    auto log = log::get("housekeeping");
    try {
        const store::PartitionState st = store().partition_state();
        if (last_max_id_ >= 0) {
            id_rate_ =
                id_rate(last_max_id_, st.max_id,
                        std::chrono::duration_cast<Millis>(in.now - last_max_id_at_), id_rate_);
        }
        last_max_id_ = st.max_id;
        last_max_id_at_ = in.now;
        const auto plan =
            plan_partitions(st, partition_width(id_rate_, o.retention_age, o.retention_interval));
        std::size_t count = st.partitions.size() + (st.has_default ? 1 : 0);
        for (const IdRange& r : plan.create) {
            store().create_partition(r.lo, r.hi);
            ++count;
            log->info("retention: added the partition for ids {} to {}", r.lo, r.hi - 1);
        }
        std::size_t held = 0;
        std::string held_text;
        for (const auto& p : plan.candidates) {
            if (!in.go_on()) {
                break;
            }
            const auto out = store().drop_partition(p, o.retention_age);
            switch (out.kind) {
            case store::DropOutcome::Kind::kDropped:
                --count;
                parts_.metrics.retention_partitions_dropped.inc();
                log->info("retention: dropped partition {} (ids {} to {})", p.name, p.lo, p.hi - 1);
                break;
            case store::DropOutcome::Kind::kHeld:
                ++held;
                held_text += (held_text.empty() ? "" : "; ") + p.name + ": " + out.why;
                break;
            case store::DropOutcome::Kind::kBusy:
                log->info("retention: partition {} not dropped this round: {}", p.name, out.why);
                break;
            case store::DropOutcome::Kind::kNotYet:
                break;
            }
        }
        parts_.metrics.retention_partitions.set(static_cast<double>(count));
        parts_.metrics.retention_partitions_held.set(static_cast<double>(held));
        if (held_text != last_held_ && !held_text.empty()) {
            log->warn("retention: partitions kept for rows waiting for a person: {}", held_text);
        }
        last_held_ = held_text;
    } catch (...) {
        const Failure f = classify_current();
        store_.reset();
        if (!f.retry()) {
            throw;
        }
        log->warn("retention: partitions: {}; retry in {} ms", f.what,
                  o.retention_interval.count());
    }
}

} // namespace outboxd::daemon
