// The benchmarked daemon: one outboxd process on one table, with what /proc
// says about it, and the waits on its table.
#pragma once

#include "common.h"
#include "config/config.h"
#include "proc.h"
#include "services.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace outboxd::bench {

// --relay-dsn: what the benchmarked daemons connect with (DaemonRun).
extern std::string g_relay_dsn; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

// One outboxd process on one table, with what /proc says about it.
class DaemonRun {
public:
    DaemonRun(const config::Postgres& table,
              int batch_size,
              int max_message_bytes,
              const std::string& broker = "kafka",
              const std::string& confirm_group = {});
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
