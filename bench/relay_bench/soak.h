// --soak: the retention soak. One outboxd with retention on relays a steady
// insert load for many minutes; once a minute one line says what the table
// holds (rows at 1 and 0, table and index size, live and dead tuples, the
// partitions), what retention deleted, the minute's latency (created_at to
// the broker's LogAppendTime) and the WAL written. At the end: whether the
// size stayed flat, and one JSON line with every minute.
#pragma once

#include "options.h"

#include <vector>

namespace outboxd::bench {

// Whether a series of per-minute sizes stayed flat: the mean of the last
// third of the minutes against the mean of minutes 3 to N/3 (1-based; the
// first two minutes are the table filling up to its retention age).
struct Flatness {
    bool judged = false; // false below 9 minutes: no baseline window
    int base_first = 0;  // 1-based minutes of the baseline window, inclusive
    int base_last = 0;
    int last_first = 0; // and of the last third
    int last_last = 0;
    double base_mean = 0;
    double last_mean = 0;
    double growth_pct = 0;        // (last_mean - base_mean) / base_mean
    double growth_pct_per_10 = 0; // the same per 10 minutes between the windows' middles
    bool flat = false;            // |growth_pct_per_10| <= kFlatPctPer10Minutes
};

// "Flat": the size grows (or shrinks) by at most this much per 10 minutes.
constexpr double kFlatPctPer10Minutes = 5.0;

// `per_minute[i]` is minute i + 1's value.
Flatness judge_flatness(const std::vector<double>& per_minute);

// The whole soak (opt.soak_*); prints to stdout, progress to stderr.
// Returns the process's exit code.
int run_soak(const Options& opt);

} // namespace outboxd::bench
