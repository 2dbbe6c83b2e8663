#include "cli/commands.h"

#include "common/clock.h"
#include "daemon/run/audit.h"
#include "daemon/run/brokers.h"
#include "leader/pg_advisory_lease.h"
#include "store/pg_outbox_store.h"

#include <iostream>
#include <string>
#include <vector>

using outboxd::daemon::audit_lines;
using outboxd::daemon::audit_policy;
using outboxd::daemon::AuditLine;
using outboxd::daemon::broker_address;
using outboxd::daemon::declare_summary;
using outboxd::daemon::make_broker_admin;
using outboxd::daemon::topics_to_audit;

namespace outboxd::cli {

std::string table_name(const config::Config& cfg) {
    return store::qualified_table(cfg.postgres);
}

std::int64_t effective_lock_key(const config::Config& cfg) {
    return leader::effective_lock_key(cfg.leader, cfg.postgres);
}

int cmd_migrate(const config::Config& cfg) {
    store::PgOutboxStore st(cfg.postgres);
    try {
        const auto stmts = st.migrate();
        if (cfg.postgres.layout == config::Layout::kDebezium) {
            std::cout << "outboxd: adopted " << table_name(cfg) << " (layout debezium):\n";
            for (const auto& line : stmts) {
                std::cout << "  " << line << "\n";
            }
            return kExitOk;
        }
        std::cout << "outboxd: migrated " << table_name(cfg) << " (" << stmts.size()
                  << " statements: table, pending, failed, consumer-failed and closed "
                     "indexes, the action log "
                  << store::actions_table(cfg.postgres) << ", autovacuum settings, "
                  << (cfg.confirm.enabled()
                          ? "confirmation columns (kafka_partition, kafka_offset, confirmed_by, "
                            "resends) and indexes, "
                          : "")
                  << (cfg.postgres.notify_channel.empty()
                          ? "no NOTIFY trigger"
                          : "NOTIFY trigger on channel " + cfg.postgres.notify_channel)
                  << ")\n";
        return kExitOk;
    } catch (const std::exception& e) {
        std::cerr << "outboxd: migrate failed: " << e.what() << "\n";
        return kExitFailure;
    }
}

int cmd_check(const config::Config& cfg) {
    // `check` is read-only: it never takes the lock, it only says who holds it.
    int problems = 0;
    std::cout << "config: ok\n";
    store::PgOutboxStore st(cfg.postgres);
    std::vector<std::string> topics(audit_policy(cfg).configured);
    try {
        st.verify();
        topics = topics_to_audit(cfg, st);
        std::cout << "postgres: ok (table " << table_name(cfg) << ")\n";
        if (cfg.leader.enabled) {
            const auto key = effective_lock_key(cfg);
            const auto holder =
                leader::describe_holder(cfg.postgres.dsn, key, cfg.postgres.session_timeout);
            std::cout << "leader: "
                      << (holder.empty() ? "none (no outboxd is publishing from this table)"
                                         : "publishing from " + holder)
                      << " (lock key " << key << ")\n";
        }
    } catch (const std::exception& e) {
        std::cout << "postgres: FAILED: " << e.what() << "\n";
        ++problems;
    }
    try {
        const auto admin = make_broker_admin(cfg);
        const std::string name = admin->broker_name();
        const auto audit = admin->audit(topics, Millis(10000));
        if (!audit.reached.ok()) {
            std::cout << name << ": FAILED: " << audit.reached.error() << "\n";
            ++problems;
        } else {
            std::cout << name << ": ok (" << broker_address(cfg) << ")\n";
            if (const auto declared = declare_summary(cfg); !declared.empty()) {
                // Read-only: the daemon declares these at start, check does not.
                std::cout << name << ": declares at start " << declared << "\n";
            }
            if (!audit.complete.ok()) {
                std::cout << name << ": audit incomplete: " << audit.complete.error() << "\n";
                ++problems;
            }
            for (const auto& line : audit_lines(cfg, audit, /*missing_fails=*/true)) {
                const bool fails = line.level == AuditLine::Level::kFailure;
                std::cout << admin->destination_noun() << " " << line.name << ": "
                          << (fails                                      ? "FAILED: "
                              : line.level == AuditLine::Level::kWarning ? "warning: "
                                                                         : "")
                          << line.text << "\n";
                problems += fails ? 1 : 0;
            }
        }
    } catch (const std::exception& e) {
        std::cout << config::broker_name(cfg.broker) << ": FAILED: " << e.what() << "\n";
        ++problems;
    }
    if (problems > 0) {
        std::cout << problems << " problem" << (problems == 1 ? "" : "s") << " found\n";
        return kExitFailure;
    }
    std::cout << "all checks passed\n";
    return kExitOk;
}

} // namespace outboxd::cli
