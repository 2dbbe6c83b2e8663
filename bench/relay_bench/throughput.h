// Phase 2, throughput: the real outboxd binary drains N pre-filled rows.
#pragma once

#include "options.h"

#include <string>

namespace outboxd::bench {

struct ThroughputResult {
    double rows_per_s = 0;        // rows / (last sent_at - daemon start)
    double steady_rows_per_s = 0; // rows / (last sent_at - first sent_at)
    double first_row_s = 0;       // first sent_at - daemon start
    double total_s = 0;
    double daemon_cpu_s = 0;
    double peak_rss_mib = 0;
    double peak_anon_mib = 0;
    // The relay's fetch from the start of the pending index (what a rescan
    // does) on the drained table: every entry it walks is a drained row's
    // dead one until VACUUM removes them.
    double rescan_first_ms = 0;  // right after the drain
    double rescan_again_ms = 0;  // the next one (index entries hinted dead by the first)
    double rescan_vacuum_ms = 0; // after VACUUM
    double vacuum_s = 0;
    // --console-client: what the client refreshing the console page got.
    int console_page_loads = 0;
    int console_requests = 0;
    int console_not_ok = 0; // answers other than 200, and requests with no answer
    double console_slowest_ms = 0;
};

// `name` labels the progress lines ("throughput", "warm-up").
ThroughputResult run_throughput(const Options& opt, const std::string& name);

} // namespace outboxd::bench
