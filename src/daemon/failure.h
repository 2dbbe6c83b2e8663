// The daemon's one answer to "what went wrong, and what now?" for an
// exception that reached a loop (src/README.md "Error policy"):
//   outage         the database or broker cannot answer now: retry later
//   misconfigured  the table, a column, a client setting is wrong: stop
//   fatal          anything else (a revoked privilege, a bug): stop
// Row problems never arrive here: they are values (counted failures).
// No I/O; any thread.
#pragma once

#include <exception>
#include <string>

namespace outboxd::daemon {

enum class FailureKind { kOutage, kMisconfigured, kFatal };

const char* to_string(FailureKind k);

struct Failure {
    FailureKind kind = FailureKind::kFatal;
    std::string what;
    bool retry() const { return kind == FailureKind::kOutage; }
};

// StoreUnavailable is the store's outage; StoreMisconfigured, a broker
// client's refused settings (publish::ConfigError) and an invalid argument
// are misconfiguration; StoreFailure and everything else is fatal.
Failure classify(const std::exception& e);

// For a catch (...) site: the current exception, classified.
Failure classify_current();

} // namespace outboxd::daemon
