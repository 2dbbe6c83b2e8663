// Phase 7 (--peer-debezium-libs), side by side with Debezium: the same
// backlog and steady load relayed by Kafka Connect + Debezium's outbox
// EventRouter and by outboxd, one after the other.
#pragma once

#include "options.h"

namespace outboxd::bench {

// Runs both relays, prints their table and JSON line; the exit code.
int run_peers(const Options& opt);

} // namespace outboxd::bench
