#include "confirm_lag.h"

#include "common.h"
#include "daemon_run.h"
#include "destinations.h"
#include "inserter.h"
#include "keeping_up_group.h"
#include "services.h"
#include "store/sql.h"
#include "tables.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace outboxd::bench {
namespace {

// The lag samples: after each commit, the time until no row below the
// committed offsets is still at 1, polled on a connection of its own.
class LagProbe {
public:
    explicit LagProbe(config::Postgres t)
        : t_(std::move(t))
        , poll_conn_(ot::services().pg_dsn) {}

    // On the committing thread.
    void measure(const KeepingUpGroup::Offsets& committed) {
        const auto& c = t_.columns;
        const auto at = Clock::now();
        std::string below;
        for (const auto& [p, o] : committed) {
            below += std::string(below.empty() ? "" : " OR ") + "("
                     + store::quote_ident(c.kafka_partition) + " = " + std::to_string(p) + " AND "
                     + store::quote_ident(c.kafka_offset) + " < " + std::to_string(o) + ")";
        }
        const std::string q = "SELECT count(*) FROM " + qualified(t_) + " WHERE "
                              + store::quote_ident(c.status) + " = 1 AND (" + below + ")";
        while (Clock::now() - at < std::chrono::seconds(10)) {
            pqxx::nontransaction tx(poll_conn_);
            if (tx.exec(q)[0][0].as<std::int64_t>() == 0) {
                std::lock_guard<std::mutex> lk(lags_mu_);
                lags_.push_back(
                    std::chrono::duration<double, std::milli>(Clock::now() - at).count());
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    // Once the committing thread is gone.
    std::vector<double> take() { return std::move(lags_); }

private:
    config::Postgres t_;
    pqxx::connection poll_conn_;
    std::mutex lags_mu_;
    std::vector<double> lags_;
};

// The insert load with a consumer group keeping up; returns the lag samples.
std::vector<double> commit_lags(const Options& opt,
                                const config::Postgres& t,
                                const std::string& topic,
                                const std::string& group) {
    LagProbe probe(t);
    {
        KeepingUpGroup keeping_up(
            topic, group, std::chrono::milliseconds(200),
            [&probe](const KeepingUpGroup::Offsets& committed) { probe.measure(committed); });
        progress("confirmation lag: inserting " + std::to_string(opt.rate) + " rows/s for "
                 + std::to_string(opt.latency_seconds) + " s");
        const auto start = Clock::now() + std::chrono::milliseconds(200);
        const auto end = start + std::chrono::seconds(opt.latency_seconds);
        const auto inserters = make_inserters(t, topic, opt, start, end);
        std::vector<std::thread> threads;
        threads.reserve(inserters.size());
        for (const auto& ins : inserters) {
            threads.emplace_back([&ins] { ins->run(); });
        }
        for (auto& th : threads) {
            th.join();
        }
        std::this_thread::sleep_for(std::chrono::seconds(3)); // the last commits
        if (!keeping_up.error().empty()) {
            throw std::runtime_error("confirmation lag: committing: " + keeping_up.error());
        }
    }
    return probe.take();
}

} // namespace

ConfirmLagResult run_confirm_lag(const Options& opt) {
    auto t = fresh_table("bench_clag");
    const std::string topic = make_destination(opt, "bench-clag");
    const std::string group = ot::unique_name("bench-consumer");
    migrate_for_confirm(t, group);
    progress("confirmation lag: starting outboxd (confirm.consumers [" + group + "])");
    DaemonRun run(t, opt.batch_size, opt.max_message_bytes, opt.broker, group);
    run.wait_until_relaying(std::chrono::seconds(60));
    auto lags = commit_lags(opt, t, topic, group);
    run.stop();
    ConfirmLagResult r;
    std::sort(lags.begin(), lags.end());
    r.samples = static_cast<std::int64_t>(lags.size());
    if (!lags.empty()) {
        r.p50_ms = quantile(lags, 0.5);
        r.p99_ms = quantile(lags, 0.99);
        r.max_ms = lags.back();
    }
    const auto& c = t.columns;
    const auto counts = ot::sql(ot::services().pg_dsn, "SELECT count(*), count(*) FILTER (WHERE "
                                                           + store::quote_ident(c.status)
                                                           + " = 3) FROM " + qualified(t));
    r.rows = std::stoll(counts[0][0]);
    r.consumed = std::stoll(counts[0][1]);
    progress("confirmation lag: p50 " + fixed(r.p50_ms, 1) + " ms, p99 " + fixed(r.p99_ms, 1)
             + " ms over " + std::to_string(r.samples) + " commits");
    drop_table(opt, t);
    return r;
}

} // namespace outboxd::bench
