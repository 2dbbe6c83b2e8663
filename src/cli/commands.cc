#include "cli/commands.h"

#include "cli/housekeeper.h"
#include "cli/systemd_notify.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/version.h"
#include "health/health_state.h"
#include "http/address.h"
#include "http/server.h"
#include "leader/pg_advisory_lease.h"
#include "metrics/metrics.h"
#include "publish/kafka_publisher.h"
#include "publish/topic_audit.h"
#include "reconcile/read_back.h"
#include "relay/relay.h"
#include "store/pg_outbox_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <unistd.h>

namespace outboxd::cli {
namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_reload{false};

extern "C" void on_stop_signal(int sig) {
    g_stop_signal.store(sig);
}

extern "C" void on_reload_signal(int /*sig*/) {
    g_reload.store(true);
}

} // namespace

void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    // No SA_RESTART: a blocking wait for notifications returns at once.
    sa.sa_flags = 0;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    // SIGHUP re-reads the configuration; before `run` reaches its loop the
    // flag simply waits there, so an early SIGHUP does not kill the daemon.
    struct sigaction hup {};
    hup.sa_handler = on_reload_signal;
    sigemptyset(&hup.sa_mask);
    hup.sa_flags = 0;
    sigaction(SIGHUP, &hup, nullptr);
}

namespace {

bool stopping() {
    return g_stop_signal.load() != 0;
}

// Feeds the relay's facts into the metrics. Runs on the main thread inside
// Relay::step(); only touches atomics.
class MetricsObserver final : public relay::RelayObserver {
public:
    explicit MetricsObserver(metrics::Metrics& m)
        : m_(m) {}

    void on_batch(std::size_t rows) override {
        m_.batch_size_rows.observe(static_cast<double>(rows));
    }
    void on_acked(std::int64_t created_at_us) override {
        if (created_at_us <= 0) {
            return; // no created_at column value: no latency to report
        }
        const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        // Clocks of the database and this host may differ a little: a
        // negative latency is recorded as zero rather than dropped.
        const double seconds =
            static_cast<double>(std::max<std::int64_t>(0, now_us - created_at_us)) / 1e6;
        m_.relay_latency_seconds.observe(seconds);
    }
    void on_marked_sent(std::size_t rows) override {
        m_.rows_sent.inc(rows);
        m_.last_sent_timestamp_seconds.set(
            static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count())
            / 1000.0);
    }
    void on_counted_failure(publish::FailureReason reason, bool parked) override {
        m_.rows_failed.with(publish::to_label(reason)).inc();
        if (parked) {
            m_.rows_parked.inc();
        }
    }
    void on_transient_error() override { m_.transient_errors.inc(); }
    void on_producer_rebuild() override { m_.producer_rebuilds.inc(); }
    void on_db_reconnected() override { m_.db_reconnects.inc(); }

private:
    metrics::Metrics& m_;
};

// /healthz may not fail merely because the loop waits as long as it was told
// to (poll and rescan intervals of minutes): the limit is never shorter than
// twice the longest wait.
Millis stall_limit(const config::Config& cfg) {
    return std::max(
        {cfg.http.stall_timeout, 2 * cfg.relay.poll_interval, 2 * cfg.relay.rescan_interval});
}

relay::RelayOptions relay_options(const config::Config& cfg) {
    relay::RelayOptions o;
    o.batch_size = static_cast<std::size_t>(cfg.relay.batch_size);
    o.max_in_flight = static_cast<std::size_t>(cfg.relay.max_in_flight);
    o.max_batch_bytes = static_cast<std::size_t>(cfg.relay.max_batch_bytes);
    o.max_in_flight_bytes = static_cast<std::size_t>(cfg.relay.max_in_flight_bytes);
    o.max_message_bytes = static_cast<std::size_t>(
        std::max<std::int64_t>(0, publish::producer_max_message_bytes(cfg.kafka)));
    o.retry.max_attempts = cfg.relay.max_attempts;
    o.retry.initial = cfg.relay.retry_backoff_initial;
    o.retry.max = cfg.relay.retry_backoff_max;
    o.poll_interval = cfg.relay.poll_interval;
    o.rescan_interval = cfg.relay.rescan_interval;
    return o;
}

// Topics to audit: the configured ones plus those of rows now pending.
std::vector<std::string> topics_to_audit(const config::Config& cfg, store::PgOutboxStore& st) {
    std::set<std::string> all(cfg.kafka.audit_topics.begin(), cfg.kafka.audit_topics.end());
    for (auto& t : st.pending_topics()) {
        all.insert(std::move(t));
    }
    return {all.begin(), all.end()};
}

// Logs the audit; returns false when require_durable_topics forbids starting.
bool report_audit(const config::Config& cfg, const publish::AuditResult& audit) {
    auto log = log::get("publish");
    if (!audit.reached_cluster) {
        log->warn("topic audit skipped: {}", audit.error);
        return !cfg.kafka.require_durable_topics;
    }
    if (!audit.error.empty()) {
        log->warn("topic audit incomplete: {}", audit.error);
    }
    bool weak = !audit.error.empty();
    for (const auto& a : audit.topics) {
        if (!a.exists) {
            // Rows for it will fail as row-level errors and be parked; that is
            // not a durability question.
            log->warn("topic {}: does not exist; rows for it will be retried and parked", a.topic);
            continue;
        }
        if (a.problems.empty()) {
            log->info("topic {}: durable (partitions={} rf={} min.insync.replicas={})", a.topic,
                      a.partitions, a.replication_factor, a.min_insync_replicas);
            continue;
        }
        weak = true;
        for (const auto& p : a.problems) {
            if (cfg.kafka.require_durable_topics) {
                log->error("topic {}: {}", a.topic, p);
            } else {
                log->warn("topic {}: {}", a.topic, p);
            }
        }
    }
    if (weak && cfg.kafka.require_durable_topics) {
        log->error(
            "refusing to start: kafka.require_durable_topics is true and a target topic is not "
            "durable (replication.factor >= 2, min.insync.replicas >= 2, no unclean election)");
        return false;
    }
    return true;
}

} // namespace

std::string table_name(const config::Config& cfg) {
    return store::quote_ident(cfg.postgres.schema) + "." + store::quote_ident(cfg.postgres.table);
}

std::int64_t effective_lock_key(const config::Config& cfg) {
    return cfg.leader.lock_key != 0 ? cfg.leader.lock_key
                                    : leader::lock_key_for(cfg.postgres.schema, cfg.postgres.table);
}

int cmd_migrate(const config::Config& cfg) {
    store::PgOutboxStore st(cfg.postgres);
    try {
        const auto stmts = st.migrate();
        std::cout << "outboxd: migrated " << table_name(cfg) << " (" << stmts.size()
                  << " statements: table, pending and failed indexes, autovacuum settings, "
                  << (cfg.postgres.notify_channel.empty()
                          ? "no NOTIFY trigger"
                          : "NOTIFY trigger on channel " + cfg.postgres.notify_channel)
                  << ")\n";
        return kExitOk;
    } catch (const std::exception& e) {
        std::cerr << "outboxd: migrate failed: " << e.what() << "\n";
        return kExitFailure;
    }
}

int cmd_check(const config::Config& cfg) {
    // `check` is read-only: it never takes the lock, it only says who holds it.
    int problems = 0;
    std::cout << "config: ok\n";
    store::PgOutboxStore st(cfg.postgres);
    std::vector<std::string> topics(cfg.kafka.audit_topics);
    try {
        st.verify();
        topics = topics_to_audit(cfg, st);
        std::cout << "postgres: ok (table " << table_name(cfg) << ")\n";
        if (cfg.leader.enabled) {
            const auto key = effective_lock_key(cfg);
            const auto holder =
                leader::describe_holder(cfg.postgres.dsn, key, cfg.postgres.session_timeout);
            std::cout << "leader: "
                      << (holder.empty() ? "none (no outboxd is publishing from this table)"
                                         : "publishing from " + holder)
                      << " (lock key " << key << ")\n";
        }
    } catch (const std::exception& e) {
        std::cout << "postgres: FAILED: " << e.what() << "\n";
        ++problems;
    }
    try {
        publish::KafkaPublisher pub(cfg.kafka);
        const auto audit = publish::audit_topics(pub.handle(), topics, Millis(10000));
        if (!audit.reached_cluster) {
            std::cout << "kafka: FAILED: " << audit.error << "\n";
            ++problems;
        } else {
            std::cout << "kafka: ok (" << cfg.kafka.bootstrap_servers << ")\n";
            if (!audit.error.empty()) {
                std::cout << "kafka: audit incomplete: " << audit.error << "\n";
                ++problems;
            }
            for (const auto& a : audit.topics) {
                if (a.problems.empty()) {
                    std::cout << "topic " << a.topic << ": durable (partitions=" << a.partitions
                              << " rf=" << a.replication_factor
                              << " min.insync.replicas=" << a.min_insync_replicas << ")\n";
                    continue;
                }
                for (const auto& p : a.problems) {
                    const bool counts = !a.exists || cfg.kafka.require_durable_topics;
                    std::cout << "topic " << a.topic << ": " << (counts ? "FAILED: " : "warning: ")
                              << p << "\n";
                    problems += counts ? 1 : 0;
                }
            }
        }
    } catch (const std::exception& e) {
        std::cout << "kafka: FAILED: " << e.what() << "\n";
        ++problems;
    }
    if (problems > 0) {
        std::cout << problems << " problem" << (problems == 1 ? "" : "s") << " found\n";
        return kExitFailure;
    }
    std::cout << "all checks passed\n";
    return kExitOk;
}

int cmd_run(const config::Config& start_cfg, const ReloadFn& reload) {
    auto log = log::get("main");
    // The effective configuration; a SIGHUP changes its reloadable keys.
    config::Config cfg = start_cfg;
    log->info("outboxd {} starting: table {} -> kafka {}", kVersion, table_name(cfg),
              cfg.kafka.bootstrap_servers);

    SteadyClock clock;
    metrics::Metrics metrics;
    health::HealthState health(clock);
    SystemdNotifier systemd;
    std::atomic<std::int64_t> stall_limit_ms{stall_limit(cfg).count()};
    // Every wait of the main loop, start-up included, goes through here:
    // /healthz and the systemd watchdog see the loop turning.
    const auto turned = [&] {
        health.loop_turned();
        systemd.watchdog();
    };
    std::unique_ptr<http::Server> http_server;
    if (!cfg.http.listen.empty()) {
        http::Routes routes;
        routes["/metrics"] = [&metrics] {
            return http::Response{200, metrics::kContentType, metrics.render()};
        };
        routes["/healthz"] = [&health, &stall_limit_ms] {
            const auto v = health.liveness(Millis(stall_limit_ms.load()));
            return http::Response{v.ok ? 200 : 503, "text/plain; charset=utf-8", v.body};
        };
        routes["/readyz"] = [&health] {
            const auto v = health.readiness();
            return http::Response{v.ok ? 200 : 503, "text/plain; charset=utf-8", v.body};
        };
        try {
            http_server = std::make_unique<http::Server>(cfg.http.listen, std::move(routes));
        } catch (const std::exception& e) {
            log->critical("{}", e.what());
            return kExitFailure;
        }
        // The bound port, which differs from the configured one for port 0.
        log::get("http")->info("serving /metrics /healthz /readyz on {}",
                               http::format_host_port({http::parse_host_port(cfg.http.listen).host,
                                                       http_server->port()}));
    }

    store::PgOutboxStore st(cfg.postgres);
    // PostgreSQL may come up after us (sidecar start order): wait for it, but
    // give up at once on a problem retrying cannot fix.
    Millis backoff(100);
    while (!stopping()) {
        turned();
        try {
            st.verify();
            break;
        } catch (const store::StoreUnavailable& e) {
            log->warn("{}; retry in {} ms", e.what(), backoff.count());
            health.set_postgres(false, e.what());
            std::this_thread::sleep_for(backoff);
            backoff = std::min(backoff * 2, Millis(5000));
        } catch (const store::StoreMisconfigured& e) {
            log->critical("{}", e.what());
            return kExitFailure;
        }
    }
    if (stopping()) {
        return kExitOk;
    }

    {
        // Audit before leadership, so standbys warn about weak topics too.
        publish::KafkaPublisher audit_pub(cfg.kafka);
        std::vector<std::string> topics;
        try {
            topics = topics_to_audit(cfg, st);
        } catch (const store::StoreUnavailable& e) {
            log->warn("listing pending topics for the audit: {}", e.what());
            topics = cfg.kafka.audit_topics;
        }
        if (!topics.empty() || cfg.kafka.require_durable_topics) {
            const auto audit = publish::audit_topics(audit_pub.handle(), topics, Millis(10000));
            if (!report_audit(cfg, audit)) {
                return kExitFailure;
            }
        }
    }
    if (stopping()) {
        log->info("signal {} received during start-up: nothing was produced", g_stop_signal.load());
        return kExitOk;
    }

    turned();
    XorShiftRandom random(static_cast<std::uint64_t>(::getpid())
                          ^ static_cast<std::uint64_t>(clock.now().time_since_epoch().count()));
    auto relay_log = log::get("relay");
    auto leader_log = log::get("leader");
    const auto on_event = [relay_log](const relay::RelayEvent& ev) {
        switch (ev.kind) {
        case relay::RelayEvent::Kind::kDebug:
            relay_log->debug("{}", ev.text);
            break;
        case relay::RelayEvent::Kind::kInfo:
            relay_log->info("{}", ev.text);
            break;
        case relay::RelayEvent::Kind::kWarn:
            relay_log->warn("{}", ev.text);
            break;
        case relay::RelayEvent::Kind::kError:
            relay_log->error("{}", ev.text);
            break;
        }
    };

    std::string source;
    while (!stopping() && source.empty()) {
        turned();
        try {
            source = st.source_id();
        } catch (const store::StoreUnavailable& e) {
            log->warn("{}; retrying", e.what());
            std::this_thread::sleep_for(Millis(1000));
        }
    }
    // The read-back (G6). False: could not finish; the caller retries
    // before producing anything.
    const auto read_back = [&]() -> bool {
        auto rb_log = log::get("readback");
        const auto r = reconcile::read_back(st, cfg.kafka, source, Millis(60000), turned);
        if (!r.ok) {
            rb_log->warn("read-back failed, not producing yet: {}", r.error);
            return false;
        }
        if (r.topics == 0) {
            rb_log->info("nothing pending: no read-back needed");
        } else {
            rb_log->info("read back {} messages ({} ours) from {} partitions of {} topics; {} "
                         "pending rows were already in Kafka and are now marked sent",
                         r.messages_read, r.ours, r.partitions, r.topics, r.marked);
        }
        return true;
    };

    std::unique_ptr<leader::PgAdvisoryLease> lease;
    if (cfg.leader.enabled) {
        const auto key = effective_lock_key(cfg);
        lease = std::make_unique<leader::PgAdvisoryLease>(cfg.postgres.dsn, key,
                                                          cfg.postgres.session_timeout);
        leader_log->info("one publisher per table: advisory lock key {}", key);
    }
    std::unique_ptr<publish::KafkaPublisher> pub;
    std::unique_ptr<relay::Relay> relay;
    relay::RelayStats total{}; // over every leadership term of this process
    MetricsObserver observer(metrics);
    Housekeeper housekeeper(cfg, metrics, health);
    // Role changes go to the log's reader, /readyz, the metrics and the
    // housekeeper (retention runs on the publisher only) at once.
    const auto set_role = [&](health::Role role, const std::string& detail, bool able = true) {
        health.set_role(role, detail, able);
        metrics.leader.set(role == health::Role::kLeader ? 1 : 0);
        housekeeper.set_leading(role == health::Role::kLeader);
        systemd.status(std::string(health::to_string(role))
                       + (detail.empty() ? "" : ": " + detail));
    };
    set_role(health::Role::kStandby, lease ? "taking the lock" : "");

    const auto start_publishing = [&] {
        pub = std::make_unique<publish::KafkaPublisher>(
            publish::with_queue_limit(cfg.kafka, cfg.relay.max_in_flight_bytes), source);
        relay =
            std::make_unique<relay::Relay>(relay_options(cfg), st, *pub, clock, random, on_event);
        relay->set_observer(&observer);
        relay->set_after_rebuild([&read_back] {
            // Rows in flight on the dead producer may have reached Kafka.
            if (!read_back()) {
                log::get("readback")
                    ->warn("rows in flight at the producer rebuild may be sent twice");
            }
        });
        if (lease) {
            // Checked before every batch: a process that lost its lock
            // stops producing before it reads another row.
            relay->set_fence([&lease] { return lease->confirm(); });
        }
        log->info("relaying (batch_size={} max_in_flight={} max_batch_bytes={} "
                  "max_in_flight_bytes={} poll_interval_ms={} notify_channel={})",
                  cfg.relay.batch_size, cfg.relay.max_in_flight, cfg.relay.max_batch_bytes,
                  cfg.relay.max_in_flight_bytes, cfg.relay.poll_interval.count(),
                  cfg.postgres.notify_channel.empty() ? "<none>" : cfg.postgres.notify_channel);
        set_role(health::Role::kLeader, lease
                                            ? "lock key " + std::to_string(effective_lock_key(cfg))
                                            : "leader election off");
    };
    // Records what it can of the rows in flight, then drops the producer.
    const auto stop_publishing = [&](Millis timeout) {
        relay->begin_shutdown();
        const auto unknown = relay->finish_shutdown(timeout);
        const auto& s = relay->stats();
        total.sent += s.sent;
        total.failed_attempts += s.failed_attempts;
        total.parked += s.parked;
        relay.reset();
        pub.reset();
        metrics.in_flight_messages.set(0);
        metrics.in_flight_bytes.set(0);
        if (unknown > 0) {
            log->warn("{} rows of unknown outcome stay at status 0; the next publisher sends "
                      "them again",
                      unknown);
        }
    };

    auto next_try = clock.now();
    std::string last_standby_reason;
    auto next_report = clock.now() + std::chrono::seconds(10);
    relay::RelayStats last{};
    bool leading = false; // lease held (or no lease), relay not yet started
    // Applies a new configuration's reloadable keys (SIGHUP); the others
    // keep their running values and are named in the log.
    const auto apply_reload = [&] {
        auto reload_log = log::get("config");
        auto loaded = reload();
        if (!loaded.problems.empty()) {
            for (const auto& p : loaded.problems) {
                reload_log->error("reload: {}", config::format_problem(p));
            }
            reload_log->error("reload refused: {} problem{}; still running with the previous "
                              "configuration",
                              loaded.problems.size(), loaded.problems.size() == 1 ? "" : "s");
            metrics.config_reloads.with("error").inc();
            return;
        }
        const config::Config& next = *loaded.config;
        const auto restart_only = config::restart_only_changes(cfg, next);
        for (const auto& key : restart_only) {
            reload_log->warn("reload: {} changed but needs a restart; still using the running "
                             "value",
                             key);
        }
        // Take every reloadable option from the new file, keep the rest.
        config::Config merged = next;
        config::keep_restart_only(merged, cfg);
        // The file was checked on its own; the merge may pair a new value
        // with a running restart-only one that it does not fit.
        const auto misfits = config::merge_problems(merged);
        if (!misfits.empty()) {
            for (const auto& m : misfits) {
                reload_log->error("reload refused: {}; still running with the previous "
                                  "configuration",
                                  m);
            }
            metrics.config_reloads.with("error").inc();
            return;
        }
        cfg = merged;
        log::setup(cfg.log.level, cfg.log.format == config::LogFormat::kJson ? log::Format::kJson
                                                                             : log::Format::kText);
        if (relay) {
            relay->set_options(relay_options(cfg));
        }
        housekeeper.update(cfg);
        stall_limit_ms.store(stall_limit(cfg).count());
        metrics.config_reloads.with("ok").inc();
        reload_log->info("reloaded (batch_size={} poll_interval_ms={} max_attempts={} "
                         "log.level={} retention.sent_max_age_ms={}){}",
                         cfg.relay.batch_size, cfg.relay.poll_interval.count(),
                         cfg.relay.max_attempts, cfg.log.level, cfg.retention.sent_max_age.count(),
                         restart_only.empty() ? "" : "; restart to apply the rest");
    };
    systemd.ready(lease ? "standby" : "starting");
    // Until this process publishes, its data session has nothing to do; a
    // LISTENing session left idle would hold back PostgreSQL's notification
    // queue for everyone (see PgOutboxStore::disconnect).
    st.disconnect();
    while (!stopping()) {
        turned();
        if (g_reload.exchange(false)) {
            apply_reload();
        }
        if (!relay) {
            if (!leading && !lease) {
                leading = true;
            }
            if (!leading && clock.now() >= next_try) {
                if (lease->try_acquire()) {
                    std::string watch;
                    for (const auto& w : lease->server_watch()) {
                        watch += (watch.empty() ? "" : ", ") + w;
                    }
                    leader_log->info("leader: lock acquired (session pid {}; the server drops "
                                     "it if this process goes silent: {})",
                                     lease->backend_pid(), watch);
                    last_standby_reason.clear();
                    leading = true;
                } else {
                    if (lease->last_problem() != last_standby_reason) {
                        last_standby_reason = lease->last_problem();
                        leader_log->info("standby: {}; retrying every {} ms", last_standby_reason,
                                         cfg.leader.retry_interval.count());
                        // Only "lock held by ..." is shown by /readyz and
                        // STATUS; a session error's text stays in the log.
                        const bool held_elsewhere = lease->held_elsewhere();
                        set_role(health::Role::kStandby,
                                 held_elsewhere ? last_standby_reason
                                                : "lock session unavailable (see the log)",
                                 held_elsewhere);
                    }
                    next_try = clock.now() + cfg.leader.retry_interval;
                }
            }
            if (leading) {
                // A new term: settle what the previous publisher left in the
                // ack-to-mark gap before producing anything (G6).
                if (lease && !lease->confirm()) {
                    leader_log->error("leadership lost ({}) before publishing",
                                      lease->last_problem());
                    leading = false;
                    next_try = clock.now();
                    continue;
                }
                if (read_back()) {
                    // The producer is created only now: a fresh idempotent
                    // producer left idle first was seen to take a second
                    // longer to deliver its first message.
                    start_publishing();
                    leading = false;
                    continue;
                }
                next_try = clock.now() + Millis(1000);
                std::this_thread::sleep_for(Millis(1000));
                continue;
            }
            std::this_thread::sleep_for(
                std::min(Millis(100),
                         std::chrono::duration_cast<Millis>(next_try - clock.now()) + Millis(1)));
            continue;
        }
        relay->step();
        if (relay->fenced()) {
            leader_log->error("leadership lost ({}): stopped producing, now standby",
                              lease ? lease->last_problem() : std::string("fence"));
            // Unsent messages must not leave after the lock is gone.
            pub->purge_queued();
            stop_publishing(Millis(2000));
            st.disconnect();
            set_role(health::Role::kStandby, "leadership lost");
            last_standby_reason.clear();
            next_try = clock.now();
            continue;
        }
        metrics.in_flight_messages.set(static_cast<double>(relay->in_flight()));
        metrics.in_flight_bytes.set(static_cast<double>(relay->in_flight_bytes()));
        if (clock.now() >= next_report) {
            const auto& s = relay->stats();
            if (s.sent != last.sent || s.failed_attempts != last.failed_attempts
                || relay->in_flight() > 0) {
                relay_log->info("sent={} (+{}) failed_attempts={} parked={} in_flight={} "
                                "transient_errors={} rebuilds={} db_errors={}",
                                s.sent, s.sent - std::min(s.sent, last.sent), s.failed_attempts,
                                s.parked, relay->in_flight(), s.transient_errors,
                                s.producer_rebuilds, s.db_errors);
            }
            last = s;
            next_report = clock.now() + std::chrono::seconds(10);
        }
    }

    health.set_role(health::Role::kStopping, "signal " + std::to_string(g_stop_signal.load()));
    housekeeper.set_leading(false);
    systemd.stopping("stopping: signal " + std::to_string(g_stop_signal.load()));
    if (relay) {
        log->info("signal {} received: stopping fetch, waiting up to {} ms for {} in-flight rows",
                  g_stop_signal.load(), cfg.relay.shutdown_timeout.count(), relay->in_flight());
        stop_publishing(cfg.relay.shutdown_timeout);
    } else {
        log->info("signal {} received while standby", g_stop_signal.load());
    }
    if (lease) {
        lease->release();
    }
    housekeeper.stop();
    metrics.leader.set(0);
    log->info("stopped: sent={} failed_attempts={} parked={}", total.sent, total.failed_attempts,
              total.parked);
    return kExitOk;
}

} // namespace outboxd::cli
