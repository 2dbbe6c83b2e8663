// The running daemon, assembled from a Config: the HTTP endpoint, the
// PostgreSQL store, the broker parts (brokers.h, the one place that names a
// broker component), the one-publisher lease, the background workers and the
// supervisor's life cycle (docs/design.md §4), until a stop signal. cli/
// parses the command line and calls this; the life cycle and the workers
// themselves live in daemon/ against interfaces and are unit-tested there.
#pragma once

#include "config/config.h"

#include <functional>

namespace outboxd::daemon {

// Loads the configuration again from the same file and environment (SIGHUP).
using ReloadFn = std::function<config::LoadResult()>;

// `outboxd run`: returns the process exit code (common/exit_codes.h): 0 after
// a stop signal, 1 when it cannot start or a failure that is not an outage
// stops it. Main thread only; signals.h's handlers must be installed.
int run(const config::Config& cfg, const ReloadFn& reload);

} // namespace outboxd::daemon
