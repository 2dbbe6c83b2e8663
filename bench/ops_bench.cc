// outboxd_ops_bench: what the operations surface (metrics, HTTP endpoint)
// costs, in process, without PostgreSQL or Kafka. It prints numbers, never a
// verdict; docs/benchmarks.md ("Operations overhead") reads them.
//
// Phases:
//  1. metrics   ns per update on the relay's path: each update alone, one
//               of each of the four (rows_failed, relay_latency_seconds,
//               rows_sent, batch_size_rows) as an upper bound per row, and
//               what the daemon's MetricsObserver really does per row.
//               Single thread, then again while a second thread calls
//               Metrics::render() in a loop.
//  2. render    Metrics::render() time and output size.
//  3. http      http::Server on 127.0.0.1:0 serving a real Metrics on
//               /metrics (and a constant /healthz for the bare HTTP cost):
//               sequential http::get requests, then 8 client threads.
//  4. memory    VmRSS of this process before and after Metrics and the
//               server, and after the HTTP load.
//
// Single process, single machine: the client threads compete with the
// server for the same cores, so the concurrent figures are a lower bound of
// what the server alone could do.
#include "http/client.h"
#include "http/server.h"
#include "metrics/metrics.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace outboxd::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::int64_t ops = 5000000; // updates per timed run of phase 1
    int repeat = 5;             // timed runs per phase-1 figure; median shown
    int renders = 2000;         // phase 2
    int requests = 2000;        // phase 3, sequential
    int client_threads = 8;     // phase 3, concurrent
    int requests_per_thread = 500;
};

void progress(const std::string& text) {
    std::cerr << "[ops-bench] " << text << std::endl;
}

// A line of /proc/self/status in KiB ("VmRSS", "VmHWM"); -1 when missing.
long status_kib(const std::string& key) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind(key + ":", 0) == 0) {
            return std::stol(line.substr(key.size() + 1));
        }
    }
    return -1;
}

double mib(long kib) {
    return static_cast<double>(kib) / 1024.0;
}

double ns_since(Clock::time_point start) {
    return std::chrono::duration<double, std::nano>(Clock::now() - start).count();
}

// Sorted copy's value at quantile q (nearest rank).
double quantile(std::vector<double> v, double q) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(rank, v.size() - 1)];
}

double median(const std::vector<double>& v) {
    return quantile(v, 0.5);
}

void row(const std::string& name, const std::string& value) {
    std::printf("  %-58s %20s\n", name.c_str(), value.c_str());
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// ---- 1. metrics on the relay's path ----------------------------------------

// Inputs cycled through by the loops: random so every histogram bucket and
// label position is hit and the branch predictor cannot learn the sequence
// (with a short repeating cycle observe() fell from ~45 to ~6 ns, which a
// relay's real latencies would never do); precomputed so the loop times the
// metric, not the input. A power of two, so the index is a mask.
constexpr std::size_t kInputs = std::size_t{1} << 16;

struct Inputs {
    std::array<double, kInputs> latency_s{};
    std::array<double, kInputs> batch_rows{};
    std::array<std::string_view, kInputs> reason{};
};

Inputs make_inputs() {
    Inputs in;
    // Latencies from 1 ms to ~2 s, batch sizes 0..1000, reasons uniform
    // (with() compares label strings in order: later labels cost more).
    // Fixed seed: every run times the same sequence.
    std::mt19937_64 rng(20261126);
    for (std::size_t i = 0; i < kInputs; ++i) {
        in.latency_s[i] = 0.001 * static_cast<double>(1 + rng() % 2000);
        in.batch_rows[i] = static_cast<double>(rng() % 1001);
        in.reason[i] = metrics::fail_reasons()[rng() % metrics::fail_reasons().size()];
    }
    return in;
}

enum class Path {
    kRowsFailed,  // rows_failed.with(reason).inc()
    kLatency,     // relay_latency_seconds.observe()
    kRowsSent,    // rows_sent.inc()
    kBatchSize,   // batch_size_rows.observe()
    kBundle,      // all four above, once each: the brief's per-row figure
    kObserverRow, // what MetricsObserver does per row, see below
    kClockRead,   // system_clock::now() alone: most of kObserverRow
};

const char* path_name(Path p) {
    switch (p) {
    case Path::kRowsFailed:
        return "rows_failed.with(reason).inc()";
    case Path::kLatency:
        return "relay_latency_seconds.observe()";
    case Path::kRowsSent:
        return "rows_sent.inc()";
    case Path::kBatchSize:
        return "batch_size_rows.observe()";
    case Path::kBundle:
        return "all four, once each (per row, upper bound)";
    case Path::kObserverRow:
        return "MetricsObserver per row (batch 500)";
    case Path::kClockRead:
        return "  of which system_clock::now(), one call";
    }
    return "?";
}

const char* path_key(Path p) {
    switch (p) {
    case Path::kRowsFailed:
        return "rows_failed_inc";
    case Path::kLatency:
        return "latency_observe";
    case Path::kRowsSent:
        return "rows_sent_inc";
    case Path::kBatchSize:
        return "batch_size_observe";
    case Path::kBundle:
        return "bundle_of_four";
    case Path::kObserverRow:
        return "observer_per_row";
    case Path::kClockRead:
        return "system_clock_now";
    }
    return "?";
}

constexpr std::size_t kBatch = 500;

std::int64_t unix_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// ns per operation (per row for kObserverRow) of one timed run of `ops`.
double time_path(metrics::Metrics& m, const Inputs& in, Path p, std::int64_t ops) {
    const auto start = Clock::now();
    switch (p) {
    case Path::kRowsFailed:
        for (std::int64_t i = 0; i < ops; ++i) {
            m.rows_failed.with(in.reason[static_cast<std::size_t>(i) & (kInputs - 1)]).inc();
        }
        break;
    case Path::kLatency:
        for (std::int64_t i = 0; i < ops; ++i) {
            m.relay_latency_seconds.observe(
                in.latency_s[static_cast<std::size_t>(i) & (kInputs - 1)]);
        }
        break;
    case Path::kRowsSent:
        for (std::int64_t i = 0; i < ops; ++i) {
            m.rows_sent.inc();
        }
        break;
    case Path::kBatchSize:
        for (std::int64_t i = 0; i < ops; ++i) {
            m.batch_size_rows.observe(in.batch_rows[static_cast<std::size_t>(i) & (kInputs - 1)]);
        }
        break;
    case Path::kBundle:
        for (std::int64_t i = 0; i < ops; ++i) {
            const auto k = static_cast<std::size_t>(i) & (kInputs - 1);
            m.rows_failed.with(in.reason[k]).inc();
            m.relay_latency_seconds.observe(in.latency_s[k]);
            m.rows_sent.inc();
            m.batch_size_rows.observe(in.batch_rows[k]);
        }
        break;
    case Path::kObserverRow: {
        // As src/cli/commands.cc MetricsObserver: on_acked per row (a
        // system_clock read, then observe); once per batch of kBatch rows
        // on_batch (observe) and on_marked_sent (inc by the batch, a
        // gauge set with a second clock read). A counted failure is rare
        // and is left out here; kRowsFailed gives its price.
        const std::int64_t created_us = unix_us() - 5000;
        for (std::int64_t i = 0; i < ops; ++i) {
            const auto now_us = unix_us();
            m.relay_latency_seconds.observe(
                static_cast<double>(std::max<std::int64_t>(0, now_us - created_us)) / 1e6);
            if (static_cast<std::size_t>(i) % kBatch == kBatch - 1) {
                m.batch_size_rows.observe(static_cast<double>(kBatch));
                m.rows_sent.inc(kBatch);
                m.last_sent_timestamp_seconds.set(static_cast<double>(unix_us()) / 1e6);
            }
        }
        break;
    }
    case Path::kClockRead: {
        std::int64_t sink = 0;
        for (std::int64_t i = 0; i < ops; ++i) {
            sink ^= unix_us();
        }
        // Keeps the loop: the compiler may not drop a result that is used.
        if (sink == 42) {
            std::fputs("", stderr);
        }
        break;
    }
    }
    return ns_since(start) / static_cast<double>(ops);
}

struct PathResult {
    double ns_alone = 0;     // median over the runs
    double ns_contended = 0; // median, with a render() loop on another thread
};

// Calls render() until told to stop; counts the calls.
class RenderLoop {
public:
    explicit RenderLoop(const metrics::Metrics& m)
        : thread_([this, &m] {
            while (!stop_.load(std::memory_order_relaxed)) {
                const auto text = m.render();
                bytes_.store(text.size(), std::memory_order_relaxed);
                renders_.fetch_add(1, std::memory_order_relaxed);
            }
        }) {}
    ~RenderLoop() { stop(); }
    RenderLoop(const RenderLoop&) = delete;
    RenderLoop& operator=(const RenderLoop&) = delete;

    void stop() {
        stop_.store(true);
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    std::uint64_t renders() const { return renders_.load(); }

private:
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> renders_{0};
    std::atomic<std::size_t> bytes_{0};
    std::thread thread_;
};

// ---- 3. HTTP ---------------------------------------------------------------

struct HttpResult {
    int requests = 0;
    int errors = 0; // exceptions or non-200 answers
    double seconds = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
    std::size_t body_bytes = 0;
    double per_s() const { return seconds > 0 ? requests / seconds : 0; }
};

// One client's loop: `n` one-shot GETs (new connection each, as Prometheus
// without keep-alive and kubelet probes do), latency of each in ms.
void get_loop(const std::string& host_port,
              const std::string& path,
              int n,
              std::vector<double>& latencies_ms,
              int& errors,
              std::size_t& body_bytes) {
    latencies_ms.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const auto start = Clock::now();
        try {
            const auto r = http::get(host_port, path, std::chrono::milliseconds(5000));
            if (r.status != 200) {
                ++errors;
            }
            body_bytes = r.body.size();
        } catch (const std::exception& e) {
            ++errors;
            if (errors == 1) {
                progress("GET " + path + " failed: " + e.what());
            }
        }
        latencies_ms.push_back(ns_since(start) / 1e6);
    }
}

HttpResult
run_http(const std::string& host_port, const std::string& path, int threads, int per_thread) {
    std::vector<std::vector<double>> lat(static_cast<std::size_t>(threads));
    std::vector<int> errors(static_cast<std::size_t>(threads), 0);
    std::vector<std::size_t> bytes(static_cast<std::size_t>(threads), 0);
    const auto start = Clock::now();
    if (threads == 1) {
        get_loop(host_port, path, per_thread, lat[0], errors[0], bytes[0]);
    } else {
        std::vector<std::thread> clients;
        for (std::size_t t = 0; t < static_cast<std::size_t>(threads); ++t) {
            clients.emplace_back(
                [&, t] { get_loop(host_port, path, per_thread, lat[t], errors[t], bytes[t]); });
        }
        for (auto& c : clients) {
            c.join();
        }
    }
    HttpResult r;
    r.seconds = ns_since(start) / 1e9;
    std::vector<double> all;
    for (std::size_t t = 0; t < lat.size(); ++t) {
        all.insert(all.end(), lat[t].begin(), lat[t].end());
        r.errors += errors[t];
        r.body_bytes = std::max(r.body_bytes, bytes[t]);
    }
    r.requests = static_cast<int>(all.size());
    r.p50_ms = quantile(all, 0.5);
    r.p99_ms = quantile(all, 0.99);
    r.max_ms = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
    return r;
}

nlohmann::json to_json(const HttpResult& r) {
    return {{"requests", r.requests}, {"errors", r.errors},        {"seconds", r.seconds},
            {"per_s", r.per_s()},     {"p50_ms", r.p50_ms},        {"p99_ms", r.p99_ms},
            {"max_ms", r.max_ms},     {"body_bytes", r.body_bytes}};
}

void print_http(const std::string& name, const HttpResult& r) {
    row(name + ": requests/s", fixed(r.per_s(), 0));
    row(name + ": p50 / p99 / max, ms",
        fixed(r.p50_ms, 3) + " / " + fixed(r.p99_ms, 3) + " / " + fixed(r.max_ms, 2));
    if (r.errors > 0) {
        row(name + ": ERRORS (exceptions or non-200)", std::to_string(r.errors));
    }
}

// ---- run -------------------------------------------------------------------

int run_all(const Options& opt) {
    nlohmann::json out;
    out["config"] = {{"ops", opt.ops},
                     {"repeat", opt.repeat},
                     {"renders", opt.renders},
                     {"requests", opt.requests},
                     {"client_threads", opt.client_threads},
                     {"requests_per_thread", opt.requests_per_thread},
                     {"hardware_threads", std::thread::hardware_concurrency()}};
    {
        std::ifstream la("/proc/loadavg");
        std::string load;
        std::getline(la, load);
        out["loadavg_at_start"] = load;
    }

    // 4. (first reading) memory before anything of ours exists.
    const long rss_start = status_kib("VmRSS");
    auto m = std::make_unique<metrics::Metrics>();
    const long rss_metrics = status_kib("VmRSS");

    // 1. metrics path
    auto in_ptr = std::make_unique<Inputs>(make_inputs());
    const Inputs& in = *in_ptr;
    const std::vector<Path> paths{Path::kRowsFailed, Path::kLatency, Path::kRowsSent,
                                  Path::kBatchSize,  Path::kBundle,  Path::kObserverRow,
                                  Path::kClockRead};
    std::vector<PathResult> results(paths.size());
    // One untimed run to fault in pages and settle the clock frequency.
    time_path(*m, in, Path::kBundle, opt.ops / 10);
    progress("metrics: single thread");
    for (std::size_t i = 0; i < paths.size(); ++i) {
        std::vector<double> runs;
        for (int r = 0; r < opt.repeat; ++r) {
            runs.push_back(time_path(*m, in, paths[i], opt.ops));
        }
        results[i].ns_alone = median(runs);
    }
    progress("metrics: with a render() loop on a second thread");
    std::uint64_t contended_renders = 0;
    double contended_s = 0;
    {
        RenderLoop loop(*m);
        const auto start = Clock::now();
        for (std::size_t i = 0; i < paths.size(); ++i) {
            std::vector<double> runs;
            for (int r = 0; r < opt.repeat; ++r) {
                runs.push_back(time_path(*m, in, paths[i], opt.ops));
            }
            results[i].ns_contended = median(runs);
        }
        loop.stop();
        contended_s = ns_since(start) / 1e9;
        contended_renders = loop.renders();
    }

    // 2. render, with every family populated by the runs above.
    progress("render: " + std::to_string(opt.renders) + " calls");
    std::vector<double> render_us;
    std::size_t render_bytes = 0;
    for (int i = 0; i < opt.renders; ++i) {
        const auto start = Clock::now();
        const auto text = m->render();
        render_us.push_back(ns_since(start) / 1e3);
        render_bytes = text.size();
    }

    // 3. HTTP. The inputs (2 MiB) go first, so the readings below show the
    // server, not this benchmark's tables.
    in_ptr.reset();
    const long rss_before_server = status_kib("VmRSS");
    http::Routes routes;
    const metrics::Metrics& metrics_ref = *m;
    routes["/metrics"] = [&metrics_ref] {
        return http::Response{200, metrics::kContentType, metrics_ref.render()};
    };
    routes["/healthz"] = [] {
        return http::Response{200, "text/plain; charset=utf-8", "ok\n"};
    };
    http::Server server("127.0.0.1:0", std::move(routes));
    const std::string host_port = "127.0.0.1:" + std::to_string(server.port());
    // Give the server thread a moment to reach its accept loop's steady state.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const long rss_server = status_kib("VmRSS");

    progress("http: " + std::to_string(opt.requests) + " sequential GETs on " + host_port);
    // Warm-up: first connections pay for lazy initialisation on both sides.
    run_http(host_port, "/metrics", 1, 50);
    const auto seq_metrics = run_http(host_port, "/metrics", 1, opt.requests);
    const auto seq_health = run_http(host_port, "/healthz", 1, opt.requests);
    // Before the client threads: their stacks stay cached in this process
    // and would be counted as the server's.
    const long rss_after_seq = status_kib("VmRSS");
    progress("http: " + std::to_string(opt.client_threads) + " client threads x "
             + std::to_string(opt.requests_per_thread) + " GETs");
    const auto par_metrics =
        run_http(host_port, "/metrics", opt.client_threads, opt.requests_per_thread);
    const auto par_health =
        run_http(host_port, "/healthz", opt.client_threads, opt.requests_per_thread);
    const long rss_after_load = status_kib("VmRSS");
    server.stop();
    const long hwm = status_kib("VmHWM");

    // ---- report ----
    std::printf("\noutboxd operations overhead (%u hardware threads; median of %d runs of %lld "
                "updates)\n",
                std::thread::hardware_concurrency(), opt.repeat, static_cast<long long>(opt.ops));
    std::printf("Metrics updates, ns per op: alone / with a render() loop on another thread\n");
    for (std::size_t i = 0; i < paths.size(); ++i) {
        row(path_name(paths[i]),
            fixed(results[i].ns_alone, 1) + " / " + fixed(results[i].ns_contended, 1));
        out["metrics_ns"][path_key(paths[i])] = {{"alone", results[i].ns_alone},
                                                 {"contended", results[i].ns_contended}};
    }
    const double reader_per_s = static_cast<double>(contended_renders) / contended_s;
    row("render() calls/s by the reader meanwhile", fixed(reader_per_s, 0));
    out["metrics_ns"]["reader_renders_per_s"] = reader_per_s;

    std::printf("Metrics::render()\n");
    row("time p50 / p99 / max, us", fixed(quantile(render_us, 0.5), 1) + " / "
                                        + fixed(quantile(render_us, 0.99), 1) + " / "
                                        + fixed(quantile(render_us, 1.0), 1));
    row("output, bytes", std::to_string(render_bytes));
    out["render"] = {{"p50_us", quantile(render_us, 0.5)},
                     {"p99_us", quantile(render_us, 0.99)},
                     {"max_us", quantile(render_us, 1.0)},
                     {"bytes", render_bytes}};

    std::printf("HTTP (http::Server on 127.0.0.1, one-shot http::get, new connection each)\n");
    print_http("/metrics sequential", seq_metrics);
    print_http("/healthz sequential", seq_health);
    print_http("/metrics " + std::to_string(opt.client_threads) + " threads", par_metrics);
    print_http("/healthz " + std::to_string(opt.client_threads) + " threads", par_health);
    row("/metrics body, bytes", std::to_string(seq_metrics.body_bytes));
    out["http"] = {{"metrics_sequential", to_json(seq_metrics)},
                   {"healthz_sequential", to_json(seq_health)},
                   {"metrics_concurrent", to_json(par_metrics)},
                   {"healthz_concurrent", to_json(par_health)}};

    std::printf("Memory of this process (VmRSS), MiB\n");
    row("at start", fixed(mib(rss_start), 2));
    row("after Metrics constructed (+KiB)",
        fixed(mib(rss_metrics), 2) + " (+" + std::to_string(rss_metrics - rss_start) + ")");
    row("before server start", fixed(mib(rss_before_server), 2));
    row("after server start (+KiB)",
        fixed(mib(rss_server), 2) + " (+" + std::to_string(rss_server - rss_before_server) + ")");
    row("after sequential GETs (+KiB since before server)",
        fixed(mib(rss_after_seq), 2) + " (+" + std::to_string(rss_after_seq - rss_before_server)
            + ")");
    row("after concurrent GETs, client stacks incl. (+KiB)",
        fixed(mib(rss_after_load), 2) + " (+" + std::to_string(rss_after_load - rss_before_server)
            + ")");
    row("peak (VmHWM)", fixed(mib(hwm), 2));
    out["rss_kib"] = {{"start", rss_start},
                      {"after_metrics", rss_metrics},
                      {"before_server", rss_before_server},
                      {"after_server", rss_server},
                      {"after_sequential_gets", rss_after_seq},
                      {"after_http_load", rss_after_load},
                      {"hwm", hwm}};
    {
        std::ifstream la("/proc/loadavg");
        std::string load;
        std::getline(la, load);
        out["loadavg_at_end"] = load;
    }
    std::printf("\n%s\n", out.dump().c_str());
    std::fflush(stdout);
    const int errors =
        seq_metrics.errors + seq_health.errors + par_metrics.errors + par_health.errors;
    // Failed requests make the HTTP figures meaningless; say so by the exit code.
    return errors == 0 ? 0 : 1;
}

} // namespace
} // namespace outboxd::bench

int main(int argc, char** argv) {
    outboxd::bench::Options opt;
    CLI::App app{"outboxd_ops_bench: cost of metrics updates, Metrics::render() and the HTTP "
                 "endpoint, in process (see docs/benchmarks.md)"};
    app.add_option("--ops", opt.ops, "Updates per timed run of each metrics figure")
        ->check(CLI::Range(std::int64_t{1000}, std::int64_t{1000000000}));
    app.add_option("--repeat", opt.repeat, "Timed runs per metrics figure; the median is shown")
        ->check(CLI::Range(1, 50));
    app.add_option("--renders", opt.renders, "render() calls timed")->check(CLI::Range(1, 1000000));
    app.add_option("--requests", opt.requests, "Sequential GETs per route")
        ->check(CLI::Range(1, 1000000));
    app.add_option("--client-threads", opt.client_threads, "Concurrent client threads")
        ->check(CLI::Range(1, 60));
    app.add_option("--requests-per-thread", opt.requests_per_thread,
                   "GETs per client thread and route in the concurrent run")
        ->check(CLI::Range(1, 1000000));
    CLI11_PARSE(app, argc, argv);
    try {
        return outboxd::bench::run_all(opt);
    } catch (const std::exception& e) {
        std::cerr << "outboxd_ops_bench: " << e.what() << std::endl;
        return 1;
    }
}
