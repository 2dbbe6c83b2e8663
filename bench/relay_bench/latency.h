// Phases 3 and 4, latency and memory: outboxd idle with LISTEN, rows
// inserted at a steady rate, (sent_at - created_at) percentiles computed in
// SQL; the daemon's memory idle and at its peak.
#pragma once

#include "options.h"

#include <cstdint>

namespace outboxd::bench {

struct LatencyResult {
    std::int64_t rows = 0;
    double achieved_rate = 0;
    double max_schedule_lag_ms = 0; // worst delay of an insert against its slot
    double p50_ms = 0;
    double p90_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
    // The inserting statement's own time (INSERT and its commit, the WAL
    // flush included), measured by the inserter: created_at is taken at its
    // start, so every row's latency contains it. The part outboxd cannot
    // shorten.
    double insert_p50_ms = 0;
    double insert_p99_ms = 0;
    // Kafka only (the topic stamps LogAppendTime, in ms): each row's time
    // split at the broker's append, created_at -> append (notice, fetch,
    // produce, linger, the request) and append -> sent_at (the
    // acknowledgement, the report, the wait for the marking write).
    bool split = false;
    double to_broker_p50_ms = 0;
    double to_broker_p99_ms = 0;
    double from_broker_p50_ms = 0;
    double from_broker_p99_ms = 0;
    double daemon_cpu_s = 0;
    double daemon_wall_s = 0;
    double peak_rss_mib = 0;
    double peak_anon_mib = 0;
    // Idle, after the warm-up rows and before the load: nothing to relay.
    double idle_rss_mib = 0;
    double idle_anon_mib = 0;
    double idle_file_mib = 0;
};

LatencyResult run_latency(const Options& opt);

} // namespace outboxd::bench
