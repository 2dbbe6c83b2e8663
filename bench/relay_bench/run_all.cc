#include "run_all.h"

#include "common.h"
#include "summary.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace outboxd::bench {
namespace {

nlohmann::json config_json(const Options& opt) {
    std::string broker_list;
    for (const auto& b : opt.brokers) {
        broker_list += (broker_list.empty() ? "" : ",") + b;
    }
    return {{"rows", opt.rows},
            {"batch_size", opt.batch_size},
            {"payload_bytes", opt.payload_bytes},
            {"max_message_bytes", opt.max_message_bytes},
            {"keys", opt.keys},
            {"repeat", opt.repeat},
            {"warmup_rows", opt.warmup_rows},
            {"latency_seconds", opt.latency_seconds},
            {"rate", opt.rate},
            {"insert_threads", opt.insert_threads},
            {"partitions", kTopicPartitions},
            {"broker", broker_list},
            {"console_client", opt.console_client},
            {"layout", opt.layout}};
}

// A broker started moments ago is still warming up (JIT, caches): on
// fresh services the first relay round came out 10-20 % slower than the
// ones after it. One unreported run takes that out of the figures.
void warm_up(const Options& opt) {
    if (opt.warmup_rows > 0
        && (!opt.skip_throughput || !opt.skip_latency || !opt.skip_publish_ceiling)) {
        for (const auto& b : opt.brokers) {
            Options warm = for_broker(opt, b);
            warm.rows = opt.warmup_rows;
            run_throughput(warm, "warm-up (" + b + ")");
        }
    }
}

// One round's phases 2 and 5 on broker `b`.
void run_broker_round(const Options& opt, const std::string& b, BrokerRuns& runs) {
    const Options o = for_broker(opt, b);
    if (!opt.skip_publish_ceiling) {
        runs.publish.push_back(run_publish_ceiling(o));
    }
    if (!opt.skip_throughput) {
        runs.tputs.push_back(run_throughput(o, "throughput (" + b + ")"));
        if (opt.confirm && b == "kafka") {
            Options on = o;
            on.confirm_group = ot::unique_name("bench-consumer");
            runs.tputs_confirm.push_back(
                run_throughput(on, "throughput (" + b + ", confirmation on)"));
        }
    }
}

// Ceiling and relay alternate within each round (and the brokers with
// them), so background load on the machine hits every figure alike.
void run_rounds(const Options& opt, Measurements& m) {
    if (opt.skip_ceiling && opt.skip_throughput && opt.skip_publish_ceiling) {
        return;
    }
    std::vector<std::size_t> batches{static_cast<std::size_t>(opt.batch_size)};
    if (batches[0] != kExtraCeilingBatch) {
        batches.push_back(kExtraCeilingBatch);
    }
    for (int round = 1; round <= opt.repeat; ++round) {
        progress("round " + std::to_string(round) + " of " + std::to_string(opt.repeat));
        if (!opt.skip_ceiling) {
            for (auto b : batches) {
                m.ceilings[b].push_back(run_ceiling(opt, b));
            }
        }
        for (const auto& b : opt.brokers) {
            run_broker_round(opt, b, m.runs[b]);
        }
    }
}

// Phases 3-4, and 6 with --confirm, once per broker after the rounds.
void run_latencies(const Options& opt, Measurements& m) {
    if (opt.skip_latency) {
        return;
    }
    for (const auto& b : opt.brokers) {
        m.runs[b].lat = run_latency(for_broker(opt, b));
        if (opt.confirm && b == "kafka") {
            m.runs[b].confirm_lag = run_confirm_lag(for_broker(opt, b));
        }
    }
}

} // namespace

int run_all(const Options& opt) {
    nlohmann::json out;
    out["config"] = config_json(opt);
    Measurements m;
    warm_up(opt);
    run_rounds(opt, m);
    run_latencies(opt, m);
    print_summary(opt, m, out);
    std::printf("\n%s\n", out.dump().c_str());
    (void)std::fflush(stdout);
    return 0;
}

} // namespace outboxd::bench
