#include "daemon/run/run.h"

#include "common/backoff.h"
#include "common/clock.h"
#include "common/exit_codes.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/version.h"
#include "console/assets.h"
#include "console/worker.h"
#include "daemon/background.h"
#include "daemon/run/audit.h"
#include "daemon/run/brokers.h"
#include "daemon/run/metrics_observer.h"
#include "daemon/run/signals.h"
#include "daemon/run/systemd_notify.h"
#include "daemon/supervisor.h"
#include "health/health_state.h"
#include "http/server.h"
#include "leader/pg_advisory_lease.h"
#include "metrics/metrics.h"
#include "relay/cloudevents.h"
#include "store/pg_outbox_store.h"
#include "store/pg_review_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include <unistd.h>

namespace outboxd::daemon {
namespace {

// /healthz may not fail merely because the loop waits as long as it was told
// to (poll and rescan intervals of minutes): the limit is never shorter than
// twice the longest wait.
Millis stall_limit(const config::Config& cfg) {
    return std::max(
        {cfg.http.stall_timeout, 2 * cfg.relay.poll_interval, 2 * cfg.relay.rescan_interval});
}

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

// The tokens the console checks: none without a tokens file.
console::TokenList console_tokens(const config::Config& cfg) {
    if (cfg.http.tokens_file.empty()) {
        return nullptr;
    }
    return std::make_shared<const std::vector<console::Token>>(cfg.http.tokens);
}

// The endpoint: the server and, with http.console, the console's worker,
// which holds answers the server thread waits for. The server stops taking
// requests first, then the worker goes, then the server's I/O.
struct Endpoint {
    std::unique_ptr<console::Worker> console;
    std::unique_ptr<http::Server> server;
    Endpoint() = default;
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;
    Endpoint(Endpoint&&) = delete;
    Endpoint& operator=(Endpoint&&) = delete;
    ~Endpoint() {
        if (server) {
            server->stop();
        }
        console.reset();
        server.reset();
    }
};

// What the console shows at a glance, from the metrics and health the
// daemon keeps anyway: no query.
console::Overview overview(const config::Config& cfg, const RunContext& ctx) {
    const auto& m = ctx.metrics;
    console::Overview o;
    o.version = version_line();
    const auto role = ctx.health.role();
    o.role = role == health::Role::kLeader ? "publisher" : health::to_string(role);
    o.broker = config::broker_name(cfg.broker);
    o.broker_up = m.broker_up.value() > 0;
    o.postgres_up = m.postgres_up.value() > 0;
    o.pending = m.pending_rows.value();
    if (o.pending > 0) {
        o.oldest_pending_age_s = m.oldest_pending_age_seconds.value();
    }
    o.parked = m.parked_rows.value();
    if (cfg.confirm.enabled()) {
        o.unconfirmed = m.unconfirmed_rows.value();
    }
    o.sent_total = m.rows_sent.value();
    return o;
}

std::unique_ptr<console::Worker> start_console(const config::Config& cfg, RunContext& ctx) {
    console::WorkerOptions options;
    options.api.confirmation = cfg.confirm.enabled();
    options.on_answer = [&ctx](int status) {
        ctx.metrics.console_requests.with(console::answer_class(status)).inc();
    };
    options.now_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    // cfg is copied: the console keeps the table and columns it started with
    // (both restart-only).
    return std::make_unique<console::Worker>(
        std::make_unique<store::PgReviewStore>(cfg.postgres),
        [cfg, &ctx] { return overview(cfg, ctx); }, options, console_tokens(cfg));
}

// /metrics, /healthz, /readyz (and the console) on their own thread; nothing
// when http.listen is empty. Throws std::exception when the address cannot
// be bound.
void start_http(const config::Config& cfg, RunContext& ctx, Endpoint& endpoint) {
    if (cfg.http.listen.empty()) {
        return;
    }
    http::Routes routes;
    std::vector<http::PrefixRoute> prefixes;
    if (cfg.http.console) {
        endpoint.console = start_console(cfg, ctx);
        routes = console::asset_routes();
        prefixes.push_back(
            {"/api/",
             [worker = endpoint.console.get()](http::Request req, http::Reply reply) {
                 worker->submit(std::move(req), std::move(reply));
             },
             console::kMaxBody});
    }
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
    auto server = std::make_unique<http::Server>(cfg.http.listen, std::move(routes),
                                                 http::ServerOptions{}, std::move(prefixes));
    // The bound port, which differs from the configured one for port 0.
    const auto host = parse_host_port(cfg.http.listen).host;
    log::get("http")->info("serving /metrics /healthz /readyz{} on {}",
                           cfg.http.console ? " /console/ /api/v1/" : "",
                           format_host_port({host, server->port()}));
    if (cfg.http.console && cfg.http.tokens_file.empty() && !is_loopback_host(host)) {
        log::get("http")->warn("the console listens beyond loopback without http.tokens_file: "
                               "everyone who reaches {} can read the parked rows",
                               cfg.http.listen);
    }
    if (!cfg.http.port_file.empty()) {
        write_port_file(cfg.http.port_file, server->port());
    }
    endpoint.server = std::move(server);
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
        log->info("signal {} received during start-up: nothing was produced", stop_signal());
        return kExitOk;
    }
    return std::nullopt;
}

daemon::SupervisorOptions supervisor_options(const config::Config& cfg, const std::string& source) {
    auto o = daemon::SupervisorOptions::from(cfg, max_message_bytes(cfg),
                                             leader::effective_lock_key(cfg.leader, cfg.postgres));
    o.relay.mapping.outbox_source = source;
    return o;
}

// SIGHUP: applies a new configuration's reloadable keys; the others keep
// their running values and are named in the log. A bad file or a merge that
// breaks a rule between options is refused, and the daemon runs on.
void apply_reload(config::Config& cfg,
                  const ReloadFn& reload,
                  RunContext& ctx,
                  daemon::Supervisor& supervisor,
                  daemon::Background& background,
                  console::Worker* console,
                  const std::string& source) {
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
    supervisor.set_options(supervisor_options(cfg, source));
    background.update(cfg);
    if (console != nullptr) {
        console->set_tokens(console_tokens(cfg));
    }
    ctx.stall_limit_ms.store(stall_limit(cfg).count());
    ctx.metrics.config_reloads.with("ok").inc();
    reload_log->info("reloaded (batch_size={} poll_interval_ms={} max_attempts={} log.level={} "
                     "retention.sent_max_age_ms={}){}",
                     cfg.relay.batch_size, cfg.relay.poll_interval.count(), cfg.relay.max_attempts,
                     cfg.log.level, cfg.retention.sent_max_age.count(),
                     restart_only.empty() ? "" : "; restart to apply the rest");
}

// Jitter of the lease retries: seeded apart per process and start.
XorShiftRandom seeded_random(const ClockSource& clock) {
    return XorShiftRandom(static_cast<std::uint64_t>(::getpid())
                          ^ static_cast<std::uint64_t>(clock.now().time_since_epoch().count()));
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
        SystemdNotifier::status(std::string(health::to_string(role))
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
    ctx.metrics.console_requests.set_exported(cfg.http.console);
    ctx.stall_limit_ms.store(stall_limit(cfg).count());
}

// Null with leader.enabled false: this process always publishes.
std::unique_ptr<leader::PgAdvisoryLease> make_lease(const config::Config& cfg) {
    if (!cfg.leader.enabled) {
        return nullptr;
    }
    const auto key = leader::effective_lock_key(cfg.leader, cfg.postgres);
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
        const std::string why = "signal " + std::to_string(stop_signal());
        background.set_leading(false);
        SystemdNotifier::stopping("stopping: " + why);
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

int run(const config::Config& start_cfg, const ReloadFn& reload) {
    auto log = log::get("main");
    config::Config cfg = start_cfg; // the effective configuration; SIGHUP changes it
    log->info("{} starting: table {} -> {}", version_line(), store::qualified_table(cfg.postgres),
              broker_target(cfg));
    if (cfg.message.envelope != config::Envelope::kNone) {
        // Checked here, not per row: a bad source would park every row.
        std::string problem;
        if (!cfg.message.ce_source.empty()) {
            problem = relay::cloudevents::source_problem(cfg.message.ce_source);
            problem = problem.empty() ? "" : "message.cloudevents.source: " + problem;
        }
        if (problem.empty() && !cfg.message.ce_datacontenttype.empty()) {
            problem = relay::cloudevents::datacontenttype_problem(cfg.message.ce_datacontenttype);
            problem = problem.empty() ? "" : "message.cloudevents.datacontenttype: " + problem;
        }
        if (!problem.empty()) {
            log->critical("config error: {}", problem);
            return kExitUsage;
        }
    }
    RunContext ctx;
    prepare_context(cfg, ctx);
    Endpoint endpoint;
    try {
        start_http(cfg, ctx, endpoint);
    } catch (const std::exception& e) {
        log->critical("{}", e.what());
        return kExitFailure;
    }
    store::PgOutboxStore st(cfg.postgres);
    std::string source;
    if (const auto exit_code = start_up(cfg, st, ctx, &source)) {
        return *exit_code;
    }
    if (endpoint.console) {
        endpoint.console->serve(); // the start-up's sessions are open now
    }
    ctx.turned();
    const auto lease = make_lease(cfg);
    XorShiftRandom random = seeded_random(ctx.clock);
    MetricsObserver observer(ctx.metrics);
    // `cfg` by reference: a session opened after a reload uses the merged config.
    Background background(
        cfg, BackgroundParts{HousekeeperParts{[&cfg] { return open_housekeeping_store(cfg); },
                                              [&cfg] { return make_broker_admin(cfg); },
                                              ctx.metrics, ctx.health},
                             [&cfg, source] { return make_confirm_clients(cfg, source); }, source,
                             ctx.metrics, ctx.clock});
    background.start();
    // A stop asked for during the read-back ends it at once: the rows stay
    // pending and the next publisher reads back again.
    auto broker = make_broker_parts(cfg, st, source, [&ctx] {
        ctx.turned();
        return !stopping();
    });
    SleepWaiter waiter;
    RunListener listener(cfg, ctx, background);
    Supervisor supervisor(supervisor_options(cfg, source),
                          Parts{st, lease.get(), *broker.publishers, *broker.reconciler, ctx.clock,
                                random, waiter, listener, &observer});
    SystemdNotifier::ready(lease ? "standby" : "starting");
    int exit_code = kExitOk;
    while (supervisor.state() != State::kStopped) {
        ctx.turned();
        if (take_reload_request()) {
            apply_reload(cfg, reload, ctx, supervisor, background, endpoint.console.get(), source);
        }
        exit_code = check_stop(supervisor, background, exit_code);
        supervisor.step();
    }
    background.stop();
    ctx.metrics.leader.set(0);
    finish(cfg, supervisor);
    return exit_code;
}

} // namespace outboxd::daemon
