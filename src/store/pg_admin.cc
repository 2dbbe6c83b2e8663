// PgOutboxStore's admin and maintenance calls on the data session:
// `outboxd status`, requeue by ids, the health counts, retention and
// `outboxd migrate`.
#include "store/pg_internal.h"
#include "store/pg_outbox_store.h"
#include "store/pg_session.h"

#include <pqxx/pqxx>

#include <map>
#include <set>

namespace outboxd::store {

StatusSummary PgOutboxStore::status_summary() {
    return guarded("counting rows by status", [&](Session& s) {
        StatusSummary out;
        pqxx::nontransaction tx(*s.conn);
        const auto r = tx.exec(s.admin.status_summary);
        const auto& f = r[0];
        out.pending = f[0].as<std::int64_t>();
        out.sent = f[1].as<std::int64_t>();
        out.failed = f[2].as<std::int64_t>();
        out.consumed = f[5].as<std::int64_t>();
        out.consumer_failed = f[6].as<std::int64_t>();
        out.closed = f[7].as<std::int64_t>();
        out.other = f[3].as<std::int64_t>() - out.pending - out.sent - out.failed - out.consumed
                    - out.consumer_failed - out.closed;
        if (out.pending > 0 && !f[4].is_null()) {
            out.oldest_pending_age_s = f[4].as<double>();
        }
        return out;
    });
}

HealthSummary PgOutboxStore::health_summary() {
    return guarded("reading the health counts", [&](Session& s) {
        HealthSummary out;
        pqxx::nontransaction tx(*s.conn);
        const auto r = tx.exec_params(s.admin.health_summary, kHealthCountCap);
        const auto& f = r[0];
        out.pending = f[0].as<std::int64_t>();
        out.pending_capped = out.pending >= kHealthCountCap;
        out.parked = f[1].as<std::int64_t>();
        out.parked_capped = out.parked >= kHealthCountCap;
        out.oldest_pending_age_s = f[2].is_null() ? 0.0 : f[2].as<double>();
        return out;
    });
}

std::size_t PgOutboxStore::requeue_ids(const std::vector<std::int64_t>& ids,
                                       bool include_sent,
                                       RequeueSkipped* skipped) {
    if (ids.empty()) {
        return 0;
    }
    RequeueSkipped left;
    const std::size_t changed = guarded("requeuing rows", [&](Session& s) {
        pqxx::work tx(*s.conn);
        const auto locked = tx.exec_params(s.admin.lock_ids, int_array_literal(ids));
        std::map<std::int64_t, int> status;
        for (const auto& f : locked) {
            status[f[0].as<std::int64_t>()] = f[1].as<int>();
        }
        std::set<std::int64_t> seen;
        for (const auto id : ids) {
            if (!seen.insert(id).second) {
                continue;
            }
            const auto it = status.find(id);
            if (it == status.end()) {
                left.not_found.push_back(id);
            } else if (it->second == 0) {
                left.already_pending.push_back(id);
            } else if (it->second == 1 && !include_sent) {
                left.sent.push_back(id);
            } else if (it->second != 1 && it->second != 2
                       && !(it->second == 4 && cfg_.confirming())) {
                // 3 (consumed) is done; 4 is requeued only while confirmation is on.
                left.other_status.push_back(id);
            }
        }
        const std::size_t n =
            tx.exec_params(s.admin.requeue_ids, int_array_literal(ids), include_sent)
                .affected_rows();
        if (n > 0) {
            notify_relay(tx, cfg_.notify_channel);
        }
        tx.commit();
        return n;
    });
    if (skipped != nullptr) {
        *skipped = std::move(left);
    }
    return changed;
}

std::size_t PgOutboxStore::delete_sent_older_than(std::chrono::milliseconds age,
                                                  std::size_t limit) {
    if (limit == 0) {
        return 0;
    }
    return guarded("deleting old sent rows", [&](Session& s) {
        // One statement is one transaction: the row locks last only as long
        // as deleting `limit` rows takes.
        pqxx::nontransaction tx(*s.conn);
        return tx
            .exec_params(s.admin.delete_sent, static_cast<std::int64_t>(age.count()),
                         static_cast<std::int64_t>(limit))
            .affected_rows();
    });
}

// Not guarded(): a connection of its own, and any error but a lost link is
// a migration that cannot be applied (StoreMisconfigured).
std::vector<std::string> PgOutboxStore::migrate() {
    std::unique_ptr<pqxx::connection> conn;
    try {
        conn = std::make_unique<pqxx::connection>(
            session_dsn(cfg_.dsn, "outboxd", cfg_.session_timeout));
    } catch (const std::exception& e) {
        throw StoreUnavailable(std::string("connecting to PostgreSQL: ") + e.what());
    }
    auto stmts = migration_statements(cfg_);
    try {
        pqxx::work tx(*conn);
        // Serialise concurrent migrations (several replicas starting at once).
        tx.exec("SELECT pg_advisory_xact_lock(7476150311)");
        for (const auto& sql : stmts) {
            tx.exec(sql);
        }
        tx.commit();
    } catch (const pqxx::broken_connection& e) {
        throw StoreUnavailable(std::string("migrating: ") + e.what());
    } catch (const std::exception& e) {
        throw StoreMisconfigured(std::string("migrating: ") + e.what());
    }
    session_.reset();
    return stmts;
}

} // namespace outboxd::store
