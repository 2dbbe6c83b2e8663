// The durability audit as `run` and `check` report it: which destinations
// to audit, one verdict per destination from one rule, and the start-up
// log with its refusal under require_durable (docs/design.md G2).
// Main thread only.
#pragma once

#include "config/config.h"
#include "publish/broker_admin.h"

#include <string>
#include <vector>

namespace outboxd::store {
class PgOutboxStore;
}

namespace outboxd::daemon {

// Destinations to audit: the configured ones plus those of rows now pending.
std::vector<std::string> topics_to_audit(const config::Config& cfg, store::PgOutboxStore& st);

// One verdict per audited destination. `missing_fails`: a destination that
// does not exist is a failure (`check`, a deploy gate) rather than a warning
// (start-up: its rows are retried and parked, which is not a durability
// question).
struct AuditLine {
    enum class Level { kOk, kWarning, kFailure } level = Level::kOk;
    std::string name;
    std::string text;
};
std::vector<AuditLine>
audit_lines(const config::Config& cfg, const publish::AuditReport& audit, bool missing_fails);

// Logs the audit; returns false when the broker's require-durable option
// forbids starting.
bool report_audit(const config::Config& cfg,
                  const publish::BrokerAdmin& admin,
                  const publish::AuditReport& audit);

} // namespace outboxd::daemon
