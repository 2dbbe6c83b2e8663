#include "latency.h"

#include "common.h"
#include "daemon_run.h"
#include "destinations.h"
#include "inserter.h"
#include "services.h"
#include "store/sql.h"
#include "tables.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace outboxd::bench {
namespace {

// Warm-up rows, excluded from the figures: the first produce to a topic
// waits for metadata and broker connections, which is start-up, not
// steady-state latency. Returns the last warm-up row's id.
std::int64_t send_warmup_rows(DaemonRun& run, const config::Postgres& t, const std::string& topic) {
    std::vector<ot::NewRow> warm;
    warm.reserve(kWarmupRows);
    for (int i = 0; i < kWarmupRows; ++i) {
        warm.push_back(ot::NewRow{topic, "warm-" + std::to_string(i), std::string(16, 'w'), {}});
    }
    const auto warm_ids = ot::insert_rows(ot::services().pg_dsn, t, warm);
    const std::int64_t warm_max = warm_ids.back();
    if (!wait_all_sent(run, t, warm_max, std::chrono::seconds(60))) {
        run.stop();
        throw std::runtime_error("latency: warm-up rows not sent within 60 s");
    }
    return warm_max;
}

// Runs every inserter on a thread of its own until its end; an inserter's
// failure stops the daemon and is thrown.
void run_inserters(DaemonRun& run, const std::vector<std::unique_ptr<Inserter>>& inserters) {
    std::vector<std::thread> threads;
    std::vector<std::string> errors(inserters.size());
    for (std::size_t i = 0; i < inserters.size(); ++i) {
        threads.emplace_back([&, i] {
            try {
                inserters[i]->run();
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (const auto& e : errors) {
        if (!e.empty()) {
            run.stop();
            throw std::runtime_error("latency: inserter failed: " + e);
        }
    }
}

// The inserters' own figures: rows, schedule lag, statement times, rate.
void add_insert_figures(const std::vector<std::unique_ptr<Inserter>>& inserters,
                        double insert_secs,
                        LatencyResult& r) {
    std::vector<double> statements;
    for (const auto& ins : inserters) {
        r.rows += ins->inserted();
        r.max_schedule_lag_ms =
            std::max(r.max_schedule_lag_ms,
                     std::chrono::duration<double, std::milli>(ins->max_lag()).count());
        statements.insert(statements.end(), ins->statement_ms().begin(), ins->statement_ms().end());
    }
    std::sort(statements.begin(), statements.end());
    if (!statements.empty()) {
        r.insert_p50_ms = quantile(statements, 0.5);
        r.insert_p99_ms = quantile(statements, 0.99);
    }
    r.achieved_rate = static_cast<double>(r.rows) / insert_secs;
}

// The percentiles of (sent_at - created_at) of the rows after `after_id`.
void add_row_latency(const config::Postgres& t, std::int64_t after_id, LatencyResult& r) {
    const auto& c = t.columns;
    // created_at is now() of the inserting transaction, sent_at is now() of
    // the marking one: both from the database clock, so no skew.
    const auto q =
        ot::sql(ot::services().pg_dsn,
                "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),"
                " percentile_cont(0.9) WITHIN GROUP (ORDER BY ms),"
                " percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms) FROM (SELECT "
                "extract(epoch FROM "
                    + store::quote_ident(c.sent_at) + " - " + store::quote_ident(c.created_at)
                    + ") * 1000 AS ms FROM " + qualified(t) + " WHERE " + store::quote_ident(c.id)
                    + " > " + std::to_string(after_id) + ") s");
    if (std::stoll(q[0][0]) != r.rows) {
        throw std::runtime_error("latency: " + q[0][0] + " rows measured, " + std::to_string(r.rows)
                                 + " inserted");
    }
    r.p50_ms = std::stod(q[0][1]);
    r.p90_ms = std::stod(q[0][2]);
    r.p99_ms = std::stod(q[0][3]);
    r.max_ms = std::stod(q[0][4]);
}

// Fills r's split from the topic's LogAppendTime of each row's first copy.
void split_at_broker(const config::Postgres& t,
                     const std::string& topic,
                     std::int64_t after_id,
                     LatencyResult& r) {
    std::map<std::int64_t, std::int64_t> appended_ms;
    for (const auto& m : ot::read_topic(ot::services().kafka_bootstrap, topic)) {
        if (!m.log_append_time) {
            throw std::runtime_error("latency: the topic's timestamps are not LogAppendTime");
        }
        appended_ms.emplace(m.outbox_id, m.timestamp_ms);
    }
    const auto& c = t.columns;
    std::vector<double> to;
    std::vector<double> from;
    for (const auto& row :
         ot::sql(ot::services().pg_dsn,
                 "SELECT " + store::quote_ident(c.id) + ", extract(epoch FROM "
                     + store::quote_ident(c.created_at) + ") * 1000, extract(epoch FROM "
                     + store::quote_ident(c.sent_at) + ") * 1000 FROM " + qualified(t) + " WHERE "
                     + store::quote_ident(c.id) + " > " + std::to_string(after_id))) {
        const auto it = appended_ms.find(std::stoll(row[0]));
        if (it == appended_ms.end()) {
            throw std::runtime_error("latency: row " + row[0] + " not in Kafka");
        }
        const auto appended = static_cast<double>(it->second);
        to.push_back(appended - std::stod(row[1]));
        from.push_back(std::stod(row[2]) - appended);
    }
    std::sort(to.begin(), to.end());
    std::sort(from.begin(), from.end());
    r.split = true;
    r.to_broker_p50_ms = quantile(to, 0.5);
    r.to_broker_p99_ms = quantile(to, 0.99);
    r.from_broker_p50_ms = quantile(from, 0.5);
    r.from_broker_p99_ms = quantile(from, 0.99);
}

} // namespace

LatencyResult run_latency(const Options& opt) {
    auto t = fresh_table("bench_lat");
    const std::string topic =
        make_destination(opt, "bench-lat", {{"message.timestamp.type", "LogAppendTime"}});
    progress("latency: starting outboxd (LISTEN on channel " + t.notify_channel + ")");
    DaemonRun run(t, opt.batch_size, opt.max_message_bytes, opt.broker);
    run.wait_until_relaying(std::chrono::seconds(60));
    const std::int64_t warm_max = send_warmup_rows(run, t, topic);
    // Idle: connected, caught up, nothing to relay.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const auto idle = run.memory_now();

    progress("latency: inserting " + std::to_string(opt.rate) + " rows/s for "
             + std::to_string(opt.latency_seconds) + " s from " + std::to_string(opt.insert_threads)
             + " connections");
    const auto start = Clock::now() + std::chrono::milliseconds(200);
    const auto end = start + std::chrono::seconds(opt.latency_seconds);
    const auto inserters = make_inserters(t, topic, opt, start, end);
    run_inserters(run, inserters);
    const double insert_secs = Seconds(Clock::now() - start).count();
    if (!wait_all_sent(run, t, max_id(t), std::chrono::seconds(60))) {
        run.stop();
        throw std::runtime_error("latency: rows still pending 60 s after the last insert");
    }
    run.stop();

    LatencyResult r;
    add_insert_figures(inserters, insert_secs, r);
    add_row_latency(t, warm_max, r);
    r.idle_rss_mib = idle.rss_mib;
    r.idle_anon_mib = idle.anon_mib;
    r.idle_file_mib = idle.file_mib;
    if (!rabbit(opt)) {
        split_at_broker(t, topic, warm_max, r);
    }
    r.daemon_cpu_s = run.cpu_s();
    r.daemon_wall_s = run.stopped_wall_s() - run.start_wall_s();
    r.peak_rss_mib = run.peak_rss_mib();
    r.peak_anon_mib = run.peak_anon_mib();
    progress("latency: p50 " + fixed(r.p50_ms, 1) + " ms, p99 " + fixed(r.p99_ms, 1) + " ms");
    drop_destination(opt, topic, r.rows + kWarmupRows);
    drop_table(opt, t);
    return r;
}

} // namespace outboxd::bench
