// Phase 5, the publish ceiling: the broker's publisher class alone (no
// PostgreSQL), N messages of the same size and keys, at most
// relay.max_in_flight unconfirmed, until every one is confirmed.
#pragma once

#include "options.h"

namespace outboxd::bench {

struct PublishCeilingResult {
    double rows_per_s = 0;
    double total_s = 0;
};

// The publisher outboxd uses, with its defaults, fed from memory: the rate
// the broker and its client reach on this machine without PostgreSQL.
PublishCeilingResult run_publish_ceiling(const Options& opt);

} // namespace outboxd::bench
