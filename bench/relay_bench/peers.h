// Phase 7, side by side (--peer-debezium-libs, --peer-outboxx-bin,
// --side-by-side): the same backlog, steady load and insert-capacity load
// with no relay, then relayed by Kafka Connect + Debezium's outbox
// EventRouter, by outboxx and by outboxd, one after the other, each on a
// fresh table and topic.
#pragma once

#include "options.h"

namespace outboxd::bench {

// Runs the baseline and every relay, prints their table (a column each) and
// the JSON line; the exit code.
int run_peers(const Options& opt);

} // namespace outboxd::bench
