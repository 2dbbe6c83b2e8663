// Phase 1, the PostgreSQL ceiling: PgOutboxStore alone, keyset
// fetch_pending + mark_sent in turn, one thread, no broker.
#pragma once

#include "options.h"

#include <cstddef>
#include <cstdint>

namespace outboxd::bench {

struct CeilingResult {
    std::size_t batch = 0;
    double rows_per_s = 0;
    double fetch_ms_avg = 0; // per batch
    double mark_ms_avg = 0;  // per batch
    std::int64_t batches = 0;
};

CeilingResult run_ceiling(const Options& opt, std::size_t batch);

} // namespace outboxd::bench
