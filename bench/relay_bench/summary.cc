#include "summary.h"

#include "common.h"
#include "destinations.h"
#include "report.h"

#include <cstdio>

namespace outboxd::bench {
namespace {

// Across brokers: for the closing lines.
struct Totals {
    double peak_rss = 0;
    std::map<std::string, double> drain_median;
};

void print_heading(const Options& opt, bool ranges) {
    std::printf("\noutboxd benchmark: %s rows of %d B, %d keys",
                grouped(static_cast<double>(opt.rows)).c_str(), opt.payload_bytes, opt.keys);
    if (ranges) {
        std::printf("; median (min-max) of %d rounds", opt.repeat);
    }
    std::printf("\n");
}

// Returns the ceiling's rate by batch size, for the relay's ratio to it.
std::map<std::size_t, Spread>
print_ceilings(const std::map<std::size_t, std::vector<CeilingResult>>& ceilings,
               bool ranges,
               nlohmann::json& out) {
    std::map<std::size_t, Spread> ceiling_rate;
    if (ceilings.empty()) {
        return ceiling_rate;
    }
    std::printf("PostgreSQL ceiling (keyset fetch_pending + mark_sent in turn, one thread)\n");
    for (const auto& [b, cruns] : ceilings) {
        const auto rate = spread(cruns, [](const CeilingResult& c) { return c.rows_per_s; });
        const auto fetch = spread(cruns, [](const CeilingResult& c) { return c.fetch_ms_avg; });
        const auto mark = spread(cruns, [](const CeilingResult& c) { return c.mark_ms_avg; });
        ceiling_rate[b] = rate;
        const std::string name = "batch " + std::to_string(b);
        row(name + ": rows/s", with_range(rate, ranges));
        row(name + ": fetch / mark ms per batch",
            fixed(fetch.median, 2) + " / " + fixed(mark.median, 2));
        out["ceiling"][std::to_string(b)] = {{"rows_per_s", to_json(rate)},
                                             {"fetch_ms_per_batch", fetch.median},
                                             {"mark_ms_per_batch", mark.median}};
    }
    return ceiling_rate;
}

// --console-client: what the client refreshing the console page got, over
// all rounds.
void print_console_client(const std::vector<ThroughputResult>& tputs, nlohmann::json& jb) {
    int loads = 0;
    int requests = 0;
    int not_ok = 0;
    double slowest_ms = 0;
    for (const auto& t : tputs) {
        loads += t.console_page_loads;
        requests += t.console_requests;
        not_ok += t.console_not_ok;
        slowest_ms = std::max(slowest_ms, t.console_slowest_ms);
    }
    row("console client: page loads / requests / not 200",
        std::to_string(loads) + " / " + std::to_string(requests) + " / " + std::to_string(not_ok));
    row("console client: slowest request, ms", fixed(slowest_ms, 1));
    jb["throughput"]["console_client"] = {{"page_loads", loads},
                                          {"requests", requests},
                                          {"not_200", not_ok},
                                          {"slowest_ms", slowest_ms}};
}

// The relay drain's two rates, for the ratios after it.
struct DrainRates {
    Spread rate;
    Spread steady;
};

DrainRates print_drain(const Options& opt,
                       const std::vector<ThroughputResult>& tputs,
                       bool ranges,
                       nlohmann::json& jb,
                       Totals& totals) {
    const auto rate = spread(tputs, [](const ThroughputResult& t) { return t.rows_per_s; });
    const auto steady =
        spread(tputs, [](const ThroughputResult& t) { return t.steady_rows_per_s; });
    const auto first =
        spread(tputs, [](const ThroughputResult& t) { return t.first_row_s * 1000; });
    const auto total = spread(tputs, [](const ThroughputResult& t) { return t.total_s; });
    const auto cores =
        spread(tputs, [](const ThroughputResult& t) { return t.daemon_cpu_s / t.total_s; });
    const auto rss = spread(tputs, [](const ThroughputResult& t) { return t.peak_rss_mib; });
    const auto anon = spread(tputs, [](const ThroughputResult& t) { return t.peak_anon_mib; });
    std::printf(" relay drain (outboxd, batch_size %d)\n", opt.batch_size);
    row("rows/s (start to last row at status 1)", with_range(rate, ranges));
    row("rows/s (first to last row sent)", with_range(steady, ranges));
    row("time to first row sent, ms", with_range(first, ranges));
    row("total time, s", fixed(total.median, 2));
    row("daemon CPU, cores busy", fixed(cores.median, 2));
    row("peak RSS / peak anonymous (RssAnon), MiB", fixed(rss.max, 1) + " / " + fixed(anon.max, 1));
    const auto rescan1 = spread(tputs, [](const ThroughputResult& t) { return t.rescan_first_ms; });
    const auto rescan2 = spread(tputs, [](const ThroughputResult& t) { return t.rescan_again_ms; });
    const auto rescan3 =
        spread(tputs, [](const ThroughputResult& t) { return t.rescan_vacuum_ms; });
    row("rescan of the drained table: first / next / after VACUUM, ms",
        fixed(rescan1.median, 1) + " / " + fixed(rescan2.median, 1) + " / "
            + fixed(rescan3.median, 1));
    jb["throughput"] = {
        {"rows_per_s", to_json(rate)},
        {"steady_rows_per_s", to_json(steady)},
        {"first_row_ms", to_json(first)},
        {"total_s", total.median},
        {"daemon_cores", cores.median},
        {"peak_rss_mib", rss.max},
        {"peak_anon_mib", anon.max},
        {"rescan_ms",
         {{"first", rescan1.median}, {"next", rescan2.median}, {"after_vacuum", rescan3.median}}}};
    if (opt.console_client) {
        print_console_client(tputs, jb);
    }
    totals.peak_rss = std::max(totals.peak_rss, rss.max);
    return DrainRates{rate, steady};
}

// The drain against the PostgreSQL ceiling of the same batch size and
// against the publish ceiling, where those were measured.
void print_drain_ratios(const Options& opt,
                        const DrainRates& drain,
                        const std::map<std::size_t, Spread>& ceiling_rate,
                        const std::optional<Spread>& publish_rate,
                        nlohmann::json& jb) {
    if (auto it = ceiling_rate.find(static_cast<std::size_t>(opt.batch_size));
        it != ceiling_rate.end()) {
        const double ratio = drain.rate.median / it->second.median;
        row("relay / PostgreSQL ceiling, same batch size", fixed(ratio * 100, 1) + " %");
        // Without the daemon's start-up: what the hot loop itself reaches.
        const double steady_ratio = drain.steady.median / it->second.median;
        row("first-to-last rate / PostgreSQL ceiling", fixed(steady_ratio * 100, 1) + " %");
        jb["throughput"]["ratio_to_ceiling"] = ratio;
        jb["throughput"]["steady_ratio_to_ceiling"] = steady_ratio;
    }
    if (publish_rate) {
        const double ratio = drain.steady.median / publish_rate->median;
        row("first-to-last rate / publish ceiling", fixed(ratio * 100, 1) + " %");
        jb["throughput"]["steady_ratio_to_publish_ceiling"] = ratio;
    }
}

void print_confirm_drain(const std::vector<ThroughputResult>& tputs_confirm,
                         const Spread& rate,
                         bool ranges,
                         nlohmann::json& jb) {
    const auto on = spread(tputs_confirm, [](const ThroughputResult& t) { return t.rows_per_s; });
    const auto on_cores =
        spread(tputs_confirm, [](const ThroughputResult& t) { return t.daemon_cpu_s / t.total_s; });
    std::printf(" relay drain with confirmation on (a consumer group committing "
                "every 100 ms)\n");
    row("rows/s (start to last row at 1 or 3)", with_range(on, ranges));
    row("daemon CPU, cores busy", fixed(on_cores.median, 2));
    row("confirmation on / off (medians)", fixed(on.median / rate.median * 100, 1) + " %");
    jb["throughput_confirm"] = {{"rows_per_s", to_json(on)},
                                {"daemon_cores", on_cores.median},
                                {"ratio_to_off", on.median / rate.median}};
}

void print_confirm_lag(const Options& opt, const ConfirmLagResult& cl, nlohmann::json& jb) {
    std::printf(" confirmation lag, consumer commit -> status 3 (%d rows/s, %d s, "
                "confirm.interval_ms 1000)\n",
                opt.rate, opt.latency_seconds);
    row("commits measured", grouped(static_cast<double>(cl.samples)));
    row("p50, ms", fixed(cl.p50_ms, 1));
    row("p99, ms", fixed(cl.p99_ms, 1));
    row("max, ms", fixed(cl.max_ms, 1));
    row("rows at 3 at the end / rows",
        grouped(static_cast<double>(cl.consumed)) + " / " + grouped(static_cast<double>(cl.rows)));
    jb["confirm_lag"] = {{"samples", cl.samples}, {"p50_ms", cl.p50_ms}, {"p99_ms", cl.p99_ms},
                         {"max_ms", cl.max_ms},   {"rows", cl.rows},     {"consumed", cl.consumed}};
}

void print_latency(const Options& opt, const LatencyResult& lat, nlohmann::json& jb) {
    std::printf(" latency, created_at -> sent_at (%d rows/s target, %d s)\n", opt.rate,
                opt.latency_seconds);
    row("rows measured", grouped(static_cast<double>(lat.rows)));
    row("achieved insert rate, rows/s", grouped(lat.achieved_rate));
    row("worst insert lag behind schedule, ms", fixed(lat.max_schedule_lag_ms, 1));
    row("p50, ms", fixed(lat.p50_ms, 1));
    row("p90, ms", fixed(lat.p90_ms, 1));
    row("p99, ms", fixed(lat.p99_ms, 1));
    row("max, ms", fixed(lat.max_ms, 1));
    row("of which the INSERT + commit, p50 / p99, ms",
        fixed(lat.insert_p50_ms, 1) + " / " + fixed(lat.insert_p99_ms, 1));
    if (lat.split) {
        // LogAppendTime has 1 ms steps: each half is +-1 ms.
        row("created_at -> broker append, p50 / p99, ms",
            fixed(lat.to_broker_p50_ms, 1) + " / " + fixed(lat.to_broker_p99_ms, 1));
        row("broker append -> sent_at, p50 / p99, ms",
            fixed(lat.from_broker_p50_ms, 1) + " / " + fixed(lat.from_broker_p99_ms, 1));
    }
    row("daemon CPU, cores busy", fixed(lat.daemon_cpu_s / lat.daemon_wall_s, 2));
    row("peak RSS / peak anonymous, MiB",
        fixed(lat.peak_rss_mib, 1) + " / " + fixed(lat.peak_anon_mib, 1));
    row("idle RSS = anonymous + file-backed (libraries), MiB",
        fixed(lat.idle_rss_mib, 1) + " = " + fixed(lat.idle_anon_mib, 1) + " + "
            + fixed(lat.idle_file_mib, 1));
    jb["latency"] = {{"rows", lat.rows},
                     {"peak_anon_mib", lat.peak_anon_mib},
                     {"idle_rss_mib", lat.idle_rss_mib},
                     {"idle_anon_mib", lat.idle_anon_mib},
                     {"idle_file_mib", lat.idle_file_mib},
                     {"achieved_rate", lat.achieved_rate},
                     {"max_schedule_lag_ms", lat.max_schedule_lag_ms},
                     {"insert_p50_ms", lat.insert_p50_ms},
                     {"insert_p99_ms", lat.insert_p99_ms},
                     {"to_broker_p50_ms", lat.to_broker_p50_ms},
                     {"to_broker_p99_ms", lat.to_broker_p99_ms},
                     {"from_broker_p50_ms", lat.from_broker_p50_ms},
                     {"from_broker_p99_ms", lat.from_broker_p99_ms},
                     {"p50_ms", lat.p50_ms},
                     {"p90_ms", lat.p90_ms},
                     {"p99_ms", lat.p99_ms},
                     {"max_ms", lat.max_ms},
                     {"daemon_cores", lat.daemon_cpu_s / lat.daemon_wall_s},
                     {"peak_rss_mib", lat.peak_rss_mib}};
}

// One broker's section: publish ceiling, drain (and with confirmation on),
// confirmation lag, latency.
void print_broker(const Options& opt,
                  const std::string& b,
                  const BrokerRuns& br,
                  const std::map<std::size_t, Spread>& ceiling_rate,
                  nlohmann::json& jb,
                  Totals& totals) {
    const bool ranges = opt.repeat > 1;
    const Options o = for_broker(opt, b);
    jb["destination"] = destination_text(o);
    std::printf("%s (%s)\n", broker_title(b).c_str(), destination_text(o).c_str());
    std::optional<Spread> publish_rate;
    if (!br.publish.empty()) {
        publish_rate =
            spread(br.publish, [](const PublishCeilingResult& p) { return p.rows_per_s; });
        row("publish ceiling (publisher alone), msgs/s", with_range(*publish_rate, ranges));
        jb["publish_ceiling"] = {{"rows_per_s", to_json(*publish_rate)}};
    }
    if (!br.tputs.empty()) {
        const auto drain = print_drain(opt, br.tputs, ranges, jb, totals);
        totals.drain_median[b] = drain.rate.median;
        print_drain_ratios(opt, drain, ceiling_rate, publish_rate, jb);
        if (!br.tputs_confirm.empty()) {
            print_confirm_drain(br.tputs_confirm, drain.rate, ranges, jb);
        }
    }
    if (br.confirm_lag) {
        print_confirm_lag(opt, *br.confirm_lag, jb);
    }
    if (br.lat) {
        print_latency(opt, *br.lat, jb);
        totals.peak_rss = std::max(totals.peak_rss, br.lat->peak_rss_mib);
    }
}

void print_totals(Totals& totals, nlohmann::json& out) {
    if (totals.drain_median.count("kafka") != 0 && totals.drain_median.count("rabbitmq") != 0) {
        const double ratio = totals.drain_median["rabbitmq"] / totals.drain_median["kafka"];
        std::printf("Brokers\n");
        row("RabbitMQ drain / Kafka drain (medians)", fixed(ratio * 100, 1) + " %");
        out["rabbitmq_to_kafka_drain"] = ratio;
    }
    if (totals.peak_rss > 0) {
        std::printf("Daemon memory\n");
        row("peak RSS (VmHWM, max over runs), MiB", fixed(totals.peak_rss, 1));
        out["peak_rss_mib"] = totals.peak_rss;
    }
}

} // namespace

void print_summary(const Options& opt, Measurements& m, nlohmann::json& out) {
    const bool ranges = opt.repeat > 1;
    print_heading(opt, ranges);
    const auto ceiling_rate = print_ceilings(m.ceilings, ranges, out);
    Totals totals;
    for (const auto& b : opt.brokers) {
        print_broker(opt, b, m.runs[b], ceiling_rate, out["brokers"][b], totals);
    }
    print_totals(totals, out);
}

} // namespace outboxd::bench
