#include "throughput.h"

#include "common.h"
#include "daemon_run.h"
#include "destinations.h"
#include "keeping_up_group.h"
#include "store/pg_outbox_store.h"
#include "tables.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace outboxd::bench {
namespace {

// --console-client: rows at status 2 in the drained table, so the console's
// list has a page of rows to read (50 of them) as it would in production.
constexpr int kParkedRows = 200;

// Times fetch_pending from id 0 on a table whose rows are all sent.
double time_rescan(store::PgOutboxStore& st) {
    const auto t0 = Clock::now();
    const auto rows = st.fetch_pending(0, 500, kMaxBatchBytes, 0);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!rows.empty()) {
        throw std::runtime_error("rescan probe: " + std::to_string(rows.size())
                                 + " rows still pending");
    }
    return ms;
}

// The rescan figures of r, on the drained table t.
void measure_rescans(const std::string& name, const config::Postgres& t, ThroughputResult& r) {
    auto cfg = t;
    cfg.notify_channel.clear();
    store::PgOutboxStore st(cfg);
    st.verify();
    r.rescan_first_ms = time_rescan(st);
    r.rescan_again_ms = time_rescan(st);
    const auto v0 = Clock::now();
    ot::sql(ot::services().pg_dsn, "VACUUM " + qualified(t));
    r.vacuum_s = Seconds(Clock::now() - v0).count();
    r.rescan_vacuum_ms = time_rescan(st);
    progress(name + ": rescan of the drained table " + fixed(r.rescan_first_ms, 1) + " ms, then "
             + fixed(r.rescan_again_ms, 1) + " ms; after VACUUM (" + fixed(r.vacuum_s, 1) + " s) "
             + fixed(r.rescan_vacuum_ms, 1) + " ms");
}

} // namespace

ThroughputResult run_throughput(const Options& opt, const std::string& name) {
    progress(name + ": pre-filling " + std::to_string(opt.rows) + " rows");
    const bool dbz = opt.layout == "debezium";
    auto t = dbz ? debezium_table("bench_tput") : fresh_table("bench_tput");
    // Debezium's route: topic outbox.event.<aggregatetype>.
    const std::string topic = make_destination(opt, dbz ? "outbox.event.bench-tput" : "bench-tput",
                                               message_size_configs(opt));
    if (opt.console_client) {
        add_parked(t, topic, kParkedRows);
    }
    prefill(opt, t, topic);
    std::unique_ptr<KeepingUpGroup> group;
    if (!opt.confirm_group.empty()) {
        migrate_for_confirm(t, opt.confirm_group);
        group = std::make_unique<KeepingUpGroup>(topic, opt.confirm_group,
                                                 std::chrono::milliseconds(100));
    }
    const auto last_id = max_id(t);
    progress(name + ": starting outboxd (batch_size " + std::to_string(opt.batch_size) + ")");
    if (dbz) { // the daemon's config file has no layout key; it inherits this
        ::setenv("OUTBOXD_POSTGRES_LAYOUT", "debezium", 1);
    }
    DaemonRun run(t, opt.batch_size, opt.max_message_bytes, opt.broker, opt.confirm_group,
                  opt.console_client);
    ::unsetenv("OUTBOXD_POSTGRES_LAYOUT");
    std::unique_ptr<ConsoleClient> console;
    if (opt.console_client) {
        console = std::make_unique<ConsoleClient>(run);
    }
    // The client stops first: what a stopping daemon refuses is not a cost.
    const auto stop = [&] {
        if (console) {
            console->stop();
        }
        run.stop();
    };
    const auto timeout = std::chrono::seconds(std::max<std::int64_t>(120, opt.rows / 500));
    if (!wait_all_sent(run, t, last_id, timeout)) {
        stop();
        throw std::runtime_error(name + ": rows still pending after "
                                 + std::to_string(timeout.count()) + " s");
    }
    stop();
    const auto times = sent_times(t);
    ThroughputResult r;
    r.total_s = times.last_s - run.start_wall_s();
    r.first_row_s = times.first_s - run.start_wall_s();
    r.rows_per_s = static_cast<double>(times.sent) / r.total_s;
    r.steady_rows_per_s =
        static_cast<double>(times.sent) / std::max(times.last_s - times.first_s, 1e-6);
    r.daemon_cpu_s = run.cpu_s();
    r.peak_rss_mib = run.peak_rss_mib();
    r.peak_anon_mib = run.peak_anon_mib();
    progress(name + ": " + grouped(r.rows_per_s) + " rows/s (" + fixed(r.total_s, 2)
             + " s, first row after " + fixed(r.first_row_s * 1000, 0) + " ms); daemon CPU "
             + fixed(r.daemon_cpu_s, 2) + " s, peak RSS " + fixed(r.peak_rss_mib, 1) + " MiB");
    if (console) {
        const auto& c = console->counts();
        r.console_page_loads = c.page_loads;
        r.console_requests = c.requests;
        r.console_not_ok = c.not_ok;
        r.console_slowest_ms = c.slowest_ms;
        progress(name + ": console client: " + std::to_string(c.page_loads) + " page loads, "
                 + std::to_string(c.requests) + " requests, " + std::to_string(c.not_ok)
                 + " not 200; slowest " + fixed(c.slowest_ms, 1) + " ms (" + c.slowest_path + ")");
    }
    measure_rescans(name, t, r);
    drop_destination(opt, topic, times.sent);
    drop_table(opt, t);
    // The console must answer while the relay drains: a refused or failed
    // request fails the run, after its figures and clean-up.
    if (r.console_not_ok > 0) {
        throw std::runtime_error(
            name + ": console client: " + std::to_string(r.console_not_ok) + " of "
            + std::to_string(r.console_requests) + " requests not answered 200; the first: "
            + console->counts().first_failure + "\noutboxd's log:\n" + ot::tail_of(run.log()));
    }
    return r;
}

} // namespace outboxd::bench
