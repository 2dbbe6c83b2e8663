// Phase 6 (--confirm), confirmation lag: how long after a consumer group's
// commit the rows below it reach status 3.
#pragma once

#include "options.h"

#include <cstdint>

namespace outboxd::bench {

struct ConfirmLagResult {
    std::int64_t samples = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
    std::int64_t rows = 0;
    std::int64_t consumed = 0; // rows at 3 at the end
};

// Rows inserted at --rate while a consumer group commits the high
// watermarks at random moments (0-1 s apart); each sample is the time from
// one commit until no row below the committed offsets is still at 1 (the
// confirmer's round is confirm.interval_ms, 1 s by default, so the lag is
// up to one round plus the round's own work).
ConfirmLagResult run_confirm_lag(const Options& opt);

} // namespace outboxd::bench
