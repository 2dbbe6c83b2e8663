#include "cli/commands.h"

#include "cli/audit.h"
#include "cli/brokers.h"
#include "cli/systemd_notify.h"
#include "common/backoff.h"
#include "common/clock.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/version.h"
#include "daemon/background.h"
#include "daemon/supervisor.h"
#include "health/health_state.h"
#include "http/server.h"
#include "leader/pg_advisory_lease.h"
#include "metrics/metrics.h"
#include "relay/relay.h"
#include "store/pg_outbox_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
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

// The relay's facts into the metrics, its log lines to the "relay" logger.
// Runs on the main thread inside Relay::step(); touches atomics and logs.
class MetricsObserver final : public relay::RelayObserver {
public:
    explicit MetricsObserver(metrics::Metrics& m)
        : m_(m)
        , log_(log::get("relay")) {}

    void on_event(const relay::RelayEvent& ev) override {
        switch (ev.kind) {
        case relay::RelayEvent::Kind::kDebug:
            log_->debug("{}", ev.text);
            break;
        case relay::RelayEvent::Kind::kInfo:
            log_->info("{}", ev.text);
            break;
        case relay::RelayEvent::Kind::kWarn:
            log_->warn("{}", ev.text);
            break;
        case relay::RelayEvent::Kind::kError:
            log_->error("{}", ev.text);
            break;
        }
    }

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
    std::shared_ptr<spdlog::logger> log_;
};

// /healthz may not fail merely because the loop waits as long as it was told
// to (poll and rescan intervals of minutes): the limit is never shorter than
// twice the longest wait.
Millis stall_limit(const config::Config& cfg) {
    return std::max(
        {cfg.http.stall_timeout, 2 * cfg.relay.poll_interval, 2 * cfg.relay.rescan_interval});
}

} // namespace

std::string table_name(const config::Config& cfg) {
    return store::qualified_table(cfg.postgres);
}

std::int64_t effective_lock_key(const config::Config& cfg) {
    return leader::effective_lock_key(cfg.leader, cfg.postgres);
}

int cmd_migrate(const config::Config& cfg) {
    store::PgOutboxStore st(cfg.postgres);
    try {
        const auto stmts = st.migrate();
        std::cout << "outboxd: migrated " << table_name(cfg) << " (" << stmts.size()
                  << " statements: table, pending and failed indexes, autovacuum settings, "
                  << (cfg.confirm.enabled()
                          ? "confirmation columns (kafka_partition, kafka_offset, confirmed_by, "
                            "resends) and indexes, "
                          : "")
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
    std::vector<std::string> topics(audit_policy(cfg).configured);
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
        const auto admin = make_broker_admin(cfg);
        const std::string name = admin->broker_name();
        const auto audit = admin->audit(topics, Millis(10000));
        if (!audit.reached.ok()) {
            std::cout << name << ": FAILED: " << audit.reached.error() << "\n";
            ++problems;
        } else {
            std::cout << name << ": ok (" << broker_address(cfg) << ")\n";
            if (const auto declared = declare_summary(cfg); !declared.empty()) {
                // Read-only: the daemon declares these at start, check does not.
                std::cout << name << ": declares at start " << declared << "\n";
            }
            if (!audit.complete.ok()) {
                std::cout << name << ": audit incomplete: " << audit.complete.error() << "\n";
                ++problems;
            }
            for (const auto& line : audit_lines(cfg, audit, /*missing_fails=*/true)) {
                const bool fails = line.level == AuditLine::Level::kFailure;
                std::cout << admin->destination_noun() << " " << line.name << ": "
                          << (fails                                      ? "FAILED: "
                              : line.level == AuditLine::Level::kWarning ? "warning: "
                                                                         : "")
                          << line.text << "\n";
                problems += fails ? 1 : 0;
            }
        }
    } catch (const std::exception& e) {
        std::cout << config::broker_name(cfg.broker) << ": FAILED: " << e.what() << "\n";
        ++problems;
    }
    if (problems > 0) {
        std::cout << problems << " problem" << (problems == 1 ? "" : "s") << " found\n";
        return kExitFailure;
    }
    std::cout << "all checks passed\n";
    return kExitOk;
}

namespace {

// The process-wide parts every state of `run` shares: the endpoint's view
// (health, metrics), systemd, and the loop's heartbeat.
struct RunContext {
    SteadyClock clock;
    metrics::Metrics metrics;
    health::HealthState health{clock};
    SystemdNotifier systemd;
    std::atomic<std::int64_t> stall_limit_ms{0};
    // Every wait of the main loop, start-up included, goes through here:
    // /healthz and the systemd watchdog see the loop turning.
    void turned() {
        health.loop_turned();
        systemd.watchdog();
    }
};

void write_port_file(const std::string& path, std::uint16_t port);

// /metrics, /healthz, /readyz on their own thread; null when http.listen is
// empty. Throws std::exception when the address cannot be bound.
std::unique_ptr<http::Server> start_http(const config::Config& cfg, RunContext& ctx) {
    if (cfg.http.listen.empty()) {
        return nullptr;
    }
    http::Routes routes;
    routes["/metrics"] = [&ctx] {
        return http::Response{200, metrics::kContentType, ctx.metrics.render()};
    };
    routes["/healthz"] = [&ctx] {
        const auto v = ctx.health.liveness(Millis(ctx.stall_limit_ms.load()));
        return http::Response{v.ok ? 200 : 503, "text/plain; charset=utf-8", v.body};
    };
    routes["/readyz"] = [&ctx] {
        const auto v = ctx.health.readiness();
        return http::Response{v.ok ? 200 : 503, "text/plain; charset=utf-8", v.body};
    };
    auto server = std::make_unique<http::Server>(cfg.http.listen, std::move(routes));
    // The bound port, which differs from the configured one for port 0.
    log::get("http")->info(
        "serving /metrics /healthz /readyz on {}",
        format_host_port({parse_host_port(cfg.http.listen).host, server->port()}));
    if (!cfg.http.port_file.empty()) {
        write_port_file(cfg.http.port_file, server->port());
    }
    return server;
}

// http.port_file: written whole or not at all (a reader never sees half a
// number), after the port serves. Throws when it cannot be written.
void write_port_file(const std::string& path, std::uint16_t port) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        f << port << "\n";
        if (!f.flush()) {
            throw std::runtime_error("http.port_file: cannot write " + tmp);
        }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        throw std::runtime_error("http.port_file: cannot rename " + tmp + " to " + path);
    }
}

// PostgreSQL may come up after us (sidecar start order): wait for the table,
// but give up at once on a problem retrying cannot fix. Then declare the
// broker topology the config names, audit the topics (before leadership, so
// standbys warn about weak topics too) and read the outbox's source id. nullopt: go on; a value:
// exit with it.
std::optional<int> start_up(const config::Config& cfg,
                            store::PgOutboxStore& st,
                            RunContext& ctx,
                            std::string* source) {
    auto log = log::get("main");
    Backoff backoff(Millis(100), Millis(5000));
    while (!stopping()) {
        ctx.turned();
        try {
            st.verify();
            break;
        } catch (const store::StoreUnavailable& e) {
            const Millis delay = backoff.next();
            log->warn("{}; retry in {} ms", e.what(), delay.count());
            ctx.health.set_postgres(false, e.what());
            std::this_thread::sleep_for(delay);
        } catch (const store::StoreMisconfigured& e) {
            log->critical("{}", e.what());
            return kExitFailure;
        }
    }
    if (stopping()) {
        return kExitOk;
    }
    {
        const auto admin = make_broker_admin(cfg);
        // The topology first (rabbitmq.declare_file), so the audit below and
        // the first rows find their exchanges and queues. Unreachable: wait
        // for the broker, as for PostgreSQL above; refused: do not start.
        if (const auto declared = declare_summary(cfg); !declared.empty()) {
            log->info("declaring the topology of {}", declared);
        }
        Backoff declare_backoff(Millis(500), Millis(5000));
        while (!stopping()) {
            ctx.turned();
            const auto d = admin->declare(Millis(10000));
            for (const auto& what : d.skipped) {
                log->warn("not declared: {}", what);
            }
            if (d.status.ok()) {
                for (const auto& what : d.declared) {
                    log->info("declared {}", what);
                }
                break;
            }
            if (!d.retry) {
                log->critical("refusing to start: {}", d.status.error());
                return kExitFailure;
            }
            const Millis delay = declare_backoff.next();
            log->warn("declaring the {} topology: {}; retry in {} ms", admin->broker_name(),
                      d.status.error(), delay.count());
            std::this_thread::sleep_for(delay);
        }
        if (stopping()) {
            return kExitOk;
        }
        std::vector<std::string> topics;
        try {
            topics = topics_to_audit(cfg, st);
        } catch (const store::StoreUnavailable& e) {
            log->warn("listing pending topics for the audit: {}", e.what());
            topics = audit_policy(cfg).configured;
        }
        if (!topics.empty() || audit_policy(cfg).require_durable) {
            const auto audit = admin->audit(topics, Millis(10000));
            if (audit.reached.ok()) {
                ctx.metrics.weak_destinations.set(static_cast<double>(
                    std::count_if(audit.destinations.begin(), audit.destinations.end(),
                                  [](const auto& d) { return !d.problems.empty(); })));
            }
            if (!report_audit(cfg, *admin, audit)) {
                return kExitFailure;
            }
        }
    }
    while (!stopping() && source->empty()) {
        ctx.turned();
        try {
            *source = st.source_id();
        } catch (const store::StoreUnavailable& e) {
            log->warn("{}; retrying", e.what());
            std::this_thread::sleep_for(Millis(1000));
        }
    }
    if (stopping()) {
        log->info("signal {} received during start-up: nothing was produced", g_stop_signal.load());
        return kExitOk;
    }
    return std::nullopt;
}

daemon::SupervisorOptions supervisor_options(const config::Config& cfg) {
    return daemon::SupervisorOptions::from(cfg, max_message_bytes(cfg), effective_lock_key(cfg));
}

// SIGHUP: applies a new configuration's reloadable keys; the others keep
// their running values and are named in the log. A bad file or a merge that
// breaks a rule between options is refused, and the daemon runs on.
void apply_reload(config::Config& cfg,
                  const ReloadFn& reload,
                  RunContext& ctx,
                  daemon::Supervisor& supervisor,
                  daemon::Background& background) {
    auto reload_log = log::get("config");
    auto loaded = reload();
    if (!loaded.problems.empty()) {
        for (const auto& p : loaded.problems) {
            reload_log->error("reload: {}", config::format_problem(p));
        }
        reload_log->error("reload refused: {} problem{}; still running with the previous "
                          "configuration",
                          loaded.problems.size(), loaded.problems.size() == 1 ? "" : "s");
        ctx.metrics.config_reloads.with("error").inc();
        return;
    }
    const config::Config& next = *loaded.config;
    const auto restart_only = config::restart_only_changes(cfg, next);
    for (const auto& key : restart_only) {
        reload_log->warn("reload: {} changed but needs a restart; still using the running value",
                         key);
    }
    // Take every reloadable option from the new file, keep the rest.
    config::Config merged = next;
    config::keep_restart_only(merged, cfg);
    // The file was checked on its own; the merge may pair a new value with
    // a running restart-only one that it does not fit.
    const auto misfits = config::merge_problems(merged);
    if (!misfits.empty()) {
        for (const auto& m : misfits) {
            reload_log->error("reload refused: {}; still running with the previous configuration",
                              m);
        }
        ctx.metrics.config_reloads.with("error").inc();
        return;
    }
    cfg = merged;
    log::setup(cfg.log.level, cfg.log.format);
    supervisor.set_options(supervisor_options(cfg));
    background.update(cfg);
    ctx.stall_limit_ms.store(stall_limit(cfg).count());
    ctx.metrics.config_reloads.with("ok").inc();
    reload_log->info("reloaded (batch_size={} poll_interval_ms={} max_attempts={} log.level={} "
                     "retention.sent_max_age_ms={}){}",
                     cfg.relay.batch_size, cfg.relay.poll_interval.count(), cfg.relay.max_attempts,
                     cfg.log.level, cfg.retention.sent_max_age.count(),
                     restart_only.empty() ? "" : "; restart to apply the rest");
}

class SleepWaiter final : public daemon::Waiter {
public:
    void wait(Millis d) override { std::this_thread::sleep_for(d); }
};

// Role changes go to /readyz, the metrics, systemd's STATUS= and the
// background workers (retention and confirmation run on the publisher only)
// at once.
class RunListener final : public daemon::Listener {
public:
    RunListener(const config::Config& cfg, RunContext& ctx, daemon::Background& background)
        : cfg_(cfg)
        , ctx_(ctx)
        , background_(background) {}
    void on_role(health::Role role, const std::string& detail, bool able) override {
        ctx_.health.set_role(role, detail, able);
        ctx_.metrics.leader.set(role == health::Role::kLeader ? 1 : 0);
        background_.set_leading(role == health::Role::kLeader);
        cli::SystemdNotifier::status(std::string(health::to_string(role))
                                     + (detail.empty() ? "" : ": " + detail));
    }
    void on_in_flight(std::size_t rows, std::size_t bytes) override {
        ctx_.metrics.in_flight_messages.set(static_cast<double>(rows));
        ctx_.metrics.in_flight_bytes.set(static_cast<double>(bytes));
    }
    void on_leadership_lost() override { ctx_.metrics.leadership_losses.inc(); }
    void on_read_back(const reconcile::ReadBackResult& r) override {
        const char* result = !r.status.ok()       ? "failed"
                             : !r.skipped.empty() ? "skipped"
                             : r.topics == 0      ? "nothing_pending"
                                                  : "read";
        ctx_.metrics.read_backs.with(result).inc();
        ctx_.metrics.read_back_marked_rows.inc(r.marked);
    }
    void on_term_started() override {
        log::get("main")->info(
            "relaying (batch_size={} max_in_flight={} max_batch_bytes={} max_in_flight_bytes={} "
            "poll_interval_ms={} notify_channel={})",
            cfg_.relay.batch_size, cfg_.relay.max_in_flight, cfg_.relay.max_batch_bytes,
            cfg_.relay.max_in_flight_bytes, cfg_.relay.poll_interval.count(),
            cfg_.postgres.notify_channel.empty() ? "<none>" : cfg_.postgres.notify_channel);
    }

private:
    const config::Config& cfg_;
    RunContext& ctx_;
    daemon::Background& background_;
};

// Health and metrics as this configuration shapes them, before anything
// serves them.
void prepare_context(const config::Config& cfg, RunContext& ctx) {
    ctx.health.set_broker_name(config::broker_name(cfg.broker));
    // outboxd_broker_up serves every broker; outboxd_kafka_up only Kafka's.
    ctx.metrics.kafka_up.set_exported(cfg.broker == config::BrokerKind::kKafka);
    // The confirmation families exist only where rows are confirmed; the
    // per-consumer gauge's label values are the configured consumers.
    for (metrics::Metric* m : ctx.metrics.confirm_families()) {
        m->set_exported(cfg.confirm.enabled());
    }
    ctx.metrics.unconfirmed_by_consumer.set_values(cfg.confirm.consumers);
    ctx.stall_limit_ms.store(stall_limit(cfg).count());
}

// Null with leader.enabled false: this process always publishes.
std::unique_ptr<leader::PgAdvisoryLease> make_lease(const config::Config& cfg) {
    if (!cfg.leader.enabled) {
        return nullptr;
    }
    const auto key = effective_lock_key(cfg);
    log::get("leader")->info("one publisher per table: advisory lock key {}", key);
    return std::make_unique<leader::PgAdvisoryLease>(cfg.postgres.dsn, key,
                                                     cfg.postgres.session_timeout);
}

// A signal, or a background failure that is not an outage (docs/design.md
// §5: stop as the relay would, exit 1), asks the supervisor to drain.
// Returns the exit code so far.
int check_stop(daemon::Supervisor& supervisor, daemon::Background& background, int exit_code) {
    if (const auto failed = background.failure(); failed && exit_code == kExitOk) {
        exit_code = kExitFailure;
        supervisor.request_stop(failed->what);
    }
    if (stopping()) {
        const std::string why = "signal " + std::to_string(g_stop_signal.load());
        background.set_leading(false);
        cli::SystemdNotifier::stopping("stopping: " + why);
        supervisor.request_stop(why);
    }
    return exit_code;
}

// After the supervisor stopped: the port file goes (nothing serves it now)
// and the totals are logged.
void finish(const config::Config& cfg, const daemon::Supervisor& supervisor) {
    if (!cfg.http.port_file.empty()) {
        // A file already gone is what we want; nothing else to do.
        (void)std::remove(cfg.http.port_file.c_str());
    }
    const auto total = supervisor.totals();
    log::get("main")->info("stopped: sent={} failed_attempts={} parked={}", total.sent,
                           total.failed_attempts, total.parked);
}

} // namespace

// Wiring only: the life cycle itself is daemon::Supervisor.
int cmd_run(const config::Config& start_cfg, const ReloadFn& reload) {
    auto log = log::get("main");
    config::Config cfg = start_cfg; // the effective configuration; SIGHUP changes it
    log->info("{} starting: table {} -> {}", version_line(), table_name(cfg), broker_target(cfg));
    RunContext ctx;
    prepare_context(cfg, ctx);
    std::unique_ptr<http::Server> http_server;
    try {
        http_server = start_http(cfg, ctx);
    } catch (const std::exception& e) {
        log->critical("{}", e.what());
        return kExitFailure;
    }
    store::PgOutboxStore st(cfg.postgres);
    std::string source;
    if (const auto exit_code = start_up(cfg, st, ctx, &source)) {
        return *exit_code;
    }
    ctx.turned();
    const auto lease = make_lease(cfg);
    XorShiftRandom random(static_cast<std::uint64_t>(::getpid())
                          ^ static_cast<std::uint64_t>(ctx.clock.now().time_since_epoch().count()));
    MetricsObserver observer(ctx.metrics);
    // `cfg` by reference: a session opened after a reload uses the merged config.
    daemon::Background background(
        cfg, daemon::BackgroundParts{
                 daemon::HousekeeperParts{[&cfg] { return open_housekeeping_store(cfg); },
                                          [&cfg] { return make_broker_admin(cfg); }, ctx.metrics,
                                          ctx.health},
                 [&cfg, source] { return make_confirm_clients(cfg, source); }, source, ctx.metrics,
                 ctx.clock});
    background.start();
    // A stop asked for during the read-back ends it at once: the rows stay
    // pending and the next publisher reads back again.
    auto broker = make_broker_parts(cfg, st, source, [&ctx] {
        ctx.turned();
        return !stopping();
    });
    SleepWaiter waiter;
    RunListener listener(cfg, ctx, background);
    daemon::Supervisor supervisor(supervisor_options(cfg),
                                  daemon::Parts{st, lease.get(), *broker.publishers,
                                                *broker.reconciler, ctx.clock, random, waiter,
                                                listener, &observer});
    cli::SystemdNotifier::ready(lease ? "standby" : "starting");
    int exit_code = kExitOk;
    while (supervisor.state() != daemon::State::kStopped) {
        ctx.turned();
        if (g_reload.exchange(false)) {
            apply_reload(cfg, reload, ctx, supervisor, background);
        }
        exit_code = check_stop(supervisor, background, exit_code);
        supervisor.step();
    }
    background.stop();
    ctx.metrics.leader.set(0);
    finish(cfg, supervisor);
    return exit_code;
}

} // namespace outboxd::cli
