#include "daemon/run/audit.h"

#include "common/log.h"
#include "daemon/run/brokers.h"
#include "store/pg_outbox_store.h"

#include <set>

namespace outboxd::daemon {

std::vector<std::string> topics_to_audit(const config::Config& cfg, store::PgOutboxStore& st) {
    const auto configured = audit_policy(cfg).configured;
    std::set<std::string> all(configured.begin(), configured.end());
    for (auto& t : st.pending_topics()) {
        all.insert(std::move(t));
    }
    return {all.begin(), all.end()};
}

std::vector<AuditLine>
audit_lines(const config::Config& cfg, const publish::AuditReport& audit, bool missing_fails) {
    std::vector<AuditLine> out;
    const auto weak_level =
        audit_policy(cfg).require_durable ? AuditLine::Level::kFailure : AuditLine::Level::kWarning;
    for (const auto& a : audit.destinations) {
        if (!a.exists && !missing_fails) {
            out.push_back({AuditLine::Level::kWarning, a.name,
                           "does not exist; rows for it will be retried and parked"});
            continue;
        }
        if (!a.exists) {
            for (const auto& p : a.problems) {
                out.push_back({AuditLine::Level::kFailure, a.name, p});
            }
            continue;
        }
        if (a.problems.empty()) {
            out.push_back({AuditLine::Level::kOk, a.name, "durable (" + a.summary + ")"});
            continue;
        }
        for (const auto& p : a.problems) {
            out.push_back({weak_level, a.name, p});
        }
    }
    return out;
}

bool report_audit(const config::Config& cfg,
                  const publish::BrokerAdmin& admin,
                  const publish::AuditReport& audit) {
    auto log = log::get("publish");
    const std::string noun = admin.destination_noun();
    const AuditPolicy policy = audit_policy(cfg);
    if (!audit.reached.ok()) {
        if (policy.require_durable) {
            log->error("refusing to start: {} is true and the {} audit could not run: {}",
                       policy.require_key, noun, audit.reached.error());
            return false;
        }
        log->warn("{} audit skipped: {}", noun, audit.reached.error());
        return true;
    }
    if (!audit.complete.ok()) {
        log->warn("{} audit incomplete: {}", noun, audit.complete.error());
    }
    bool refuse = !audit.complete.ok() && policy.require_durable;
    for (const auto& line : audit_lines(cfg, audit, /*missing_fails=*/false)) {
        switch (line.level) {
        case AuditLine::Level::kOk:
            log->info("{} {}: {}", noun, line.name, line.text);
            break;
        case AuditLine::Level::kWarning:
            log->warn("{} {}: {}", noun, line.name, line.text);
            break;
        case AuditLine::Level::kFailure:
            log->error("{} {}: {}", noun, line.name, line.text);
            refuse = true;
            break;
        }
    }
    if (refuse) {
        log->error("refusing to start: {} is true and {}", policy.require_key, policy.requirement);
        return false;
    }
    return true;
}

} // namespace outboxd::daemon
