// The benchmarked daemon: one outboxd process on one table, with what /proc
// says about it, the waits on its table, and a client of its review console.
#pragma once

#include "common.h"
#include "config/config.h"
#include "proc.h"
#include "services.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace outboxd::bench {

// --relay-dsn: what the benchmarked daemons connect with (DaemonRun).
extern std::string g_relay_dsn; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

// One outboxd process on one table, with what /proc says about it.
class DaemonRun {
public:
    // With `console`, the daemon also serves the review console and its API
    // (http.console, no tokens file: reads need no token).
    DaemonRun(const config::Postgres& table,
              int batch_size,
              int max_message_bytes,
              const std::string& broker = "kafka",
              const std::string& confirm_group = {},
              bool console = false);
    ~DaemonRun();
    DaemonRun(const DaemonRun&) = delete;
    DaemonRun& operator=(const DaemonRun&) = delete;

    double start_wall_s() const { return start_wall_s_; }

    void check_alive();

    // Waits for the "relaying" log line: the producer exists and the relay
    // loop is about to start, so a row inserted now is on the hot path.
    void wait_until_relaying(std::chrono::seconds timeout);

    // Now, for the idle figures.
    ProcessMemory memory_now() const { return read_memory(daemon_->pid()); }
    double peak_anon_mib() const { return peak_anon_mib_; }

    // Peak RSS (VmHWM) in MiB and CPU seconds used, read from /proc, then
    // SIGTERM and a clean exit. Call once, while the daemon still runs.
    void stop();

    double peak_rss_mib() const { return peak_rss_mib_; }
    double cpu_s() const { return cpu_s_; }
    int pid() const { return daemon_->pid(); }
    // The port of its HTTP endpoint (127.0.0.1, from http.port_file) once it
    // serves; nullopt after `timeout`. Any thread.
    std::optional<int> http_port(std::chrono::milliseconds timeout) const {
        return daemon_->http_port(timeout);
    }
    std::string log() const { return daemon_->log(); }
    double stopped_wall_s() const { return stopped_wall_s_; }

private:
    void stop_sampling();

    std::string config_path_;
    double start_wall_s_ = 0;
    std::unique_ptr<ot::Daemon> daemon_;
    std::atomic<bool> sampling_done_{false};
    std::atomic<double> peak_anon_mib_{0};
    std::thread sampler_;
    double peak_rss_mib_ = 0;
    double cpu_s_ = 0;
    double stopped_wall_s_ = 0;
};

// What a browser showing the review console (docs/console.md) asks for each
// time the page is refreshed: the page, its script and style, then the
// summary, the list of rows at 2 and 4 and the action log, once a second
// from the moment the daemon serves until stop(). Requests go one after the
// other, each on a new connection, from a thread of its own; the object is
// made, stopped and read on one thread.
class ConsoleClient {
public:
    struct Counts {
        int page_loads = 0; // every request of the load made
        int requests = 0;
        int not_ok = 0;            // answers other than 200, and requests with no answer
        std::string first_failure; // "GET /api/v1/rows...: 503 {...}"
        double slowest_ms = 0;     // the slowest single request
        std::string slowest_path;
    };

    // Starts the thread; `run` must outlive this object.
    explicit ConsoleClient(const DaemonRun& run);
    ~ConsoleClient(); // stop()
    ConsoleClient(const ConsoleClient&) = delete;
    ConsoleClient& operator=(const ConsoleClient&) = delete;

    // Lets a page load under way finish, then joins. Call before the daemon
    // is stopped: a request it refuses while stopping is not the console's
    // cost. Idempotent.
    void stop();

    // After stop().
    const Counts& counts() const { return counts_; }

private:
    void run(const DaemonRun& daemon);
    // One refresh of the page, every request of it.
    void load_page(int port);

    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    Counts counts_; // written by the thread until it is joined
    std::thread thread_;
};

// Until no row is at status 0 (true) or `timeout` (false). Polls the last
// row by primary key first: a count over the table would compete with the
// relay for the same two cores.
bool wait_all_sent(DaemonRun& run,
                   const config::Postgres& t,
                   std::int64_t last_id,
                   std::chrono::seconds timeout);

struct SentTimes {
    double first_s = 0; // epoch seconds of min(sent_at)
    double last_s = 0;  // epoch seconds of max(sent_at)
    std::int64_t sent = 0;
};

SentTimes sent_times(const config::Postgres& t);

} // namespace outboxd::bench
