// The application's insert capacity (side-by-side run, --capacity-seconds):
// kCapacityClients connections inserting rows of the benchmark's shape as
// fast as they can, single-row autocommit INSERTs, with or without a relay
// running; and what PostgreSQL says about the WAL and the table.
#pragma once

#include "config/config.h"
#include "options.h"

#include <cstdint>
#include <functional>
#include <string>

namespace outboxd::bench {

constexpr int kCapacityClients = 4;

// pg_current_wal_lsn() as bytes from 0/0: the difference of two is the WAL
// written in between.
double wal_position_bytes();

// CHECKPOINT: a phase that starts right after one writes the same full-page
// images as any other that does.
void checkpoint();

struct CapacityResult {
    int clients = 0;
    std::int64_t rows = 0;
    double seconds = 0; // first INSERT's start to the last one's commit
    double inserts_per_s = 0;
    double postgres_cpu_s = 0; // while inserting
    // After the last commit until `relayed` returned: how far the relay was
    // behind when the inserts stopped.
    double caught_up_s = 0;
    // WAL from the first INSERT until `relayed` returned: the inserts' and
    // the relay's.
    double wal_bytes = 0;

    double wal_bytes_per_row() const {
        return rows > 0 ? wal_bytes / static_cast<double>(rows) : 0;
    }
    double postgres_cores() const { return seconds > 0 ? postgres_cpu_s / seconds : 0; }
};

// kCapacityClients connections insert into `t` (topic `topic`, keys and
// payload of opt's shape, distinct bytes per row) for opt.capacity_seconds,
// unthrottled; then `relayed(rows)` waits until the relay running (if any)
// has relayed the phase's `rows` rows.
CapacityResult run_capacity(const Options& opt,
                            const config::Postgres& t,
                            const std::string& topic,
                            const std::function<void(std::int64_t rows)>& relayed);

// The table's size and dead tuples, as pg_table_size, pg_indexes_size and
// pg_stat_user_tables say.
struct Footprint {
    double heap_bytes = 0;  // pg_table_size: heap, free space and visibility maps, TOAST
    double index_bytes = 0; // pg_indexes_size
    std::int64_t dead_tuples = 0;
    std::int64_t live_tuples = 0;
    std::int64_t rows = 0; // count(*)
};

// Read after the sessions that wrote the table have ended (their statistics
// are flushed when a backend exits; the wait covers the exit itself).
Footprint table_footprint(const config::Postgres& t);

} // namespace outboxd::bench
