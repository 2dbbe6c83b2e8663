// PgOutboxStore's admin and maintenance calls on the data session:
// `outboxd status`, requeue by ids, the health counts, retention and
// `outboxd migrate`.
#include "store/pg_internal.h"
#include "store/pg_outbox_store.h"
#include "store/pg_session.h"

#include <pqxx/pqxx>

#include <algorithm>
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

namespace {

// Adopting a table in Debezium's layout (docs/debezium.md): the columns in
// one short transaction that gives up after a lock timeout rather than
// queue the application's inserts behind it, then each index built
// concurrently. Returns what changed, in words.
std::vector<std::string> adopt(pqxx::connection& conn, const config::Postgres& cfg) {
    const std::string t = qualified_table(cfg);
    std::vector<std::string> changed;
    try {
        // Statements outside a transaction, each on its own (libpqxx allows
        // one transaction object per connection at a time).
        const auto plain = [&conn](const std::string& sql) {
            pqxx::nontransaction tx(conn);
            return tx.exec(sql);
        };
        const auto plain_t = [&conn, &t](const std::string& sql) {
            pqxx::nontransaction tx(conn);
            return tx.exec_params(sql, t);
        };
        // Serialise concurrent migrations (several replicas starting at once).
        plain("SELECT pg_advisory_lock(7476150311)");
        bool exists = false;
        std::vector<std::string> columns;
        std::vector<std::string> indexes;
        {
            const auto r = plain_t("SELECT to_regclass($1) IS NOT NULL");
            exists = r[0][0].as<bool>();
        }
        if (exists) {
            for (const auto& row : plain_t("SELECT attname FROM pg_attribute WHERE attrelid = "
                                           "to_regclass($1) AND attnum > 0 AND NOT attisdropped")) {
                columns.emplace_back(row[0].c_str());
            }
            for (const auto& row :
                 plain_t("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = "
                         "i.indexrelid WHERE i.indrelid = to_regclass($1) AND "
                         "i.indisvalid")) {
                indexes.emplace_back(row[0].c_str());
            }
            if (!cfg.columns.payload.empty()
                && std::find(columns.begin(), columns.end(), cfg.columns.payload)
                       == columns.end()) {
                plain("SELECT pg_advisory_unlock(7476150311)");
                throw StoreMisconfigured("table " + t + " has no column \"" + cfg.columns.payload
                                         + "\" (postgres.columns.payload): is it the outbox "
                                           "table, and are the postgres.columns.* names right?");
            }
        }
        const auto steps = adoption_steps(cfg, exists, columns, indexes);
        {
            pqxx::work tx(conn);
            // A moment, not a queue: ALTER TABLE waits for the table's lock
            // and every insert after it would wait behind it.
            tx.exec("SET LOCAL lock_timeout = '3s'");
            for (const auto& step : steps) {
                if (!step.concurrently) {
                    tx.exec(step.sql);
                    if (!step.what.empty()) {
                        changed.push_back(step.what);
                    }
                }
            }
            tx.commit();
        }
        for (const auto& step : steps) {
            if (step.concurrently) {
                plain(step.sql);
                changed.push_back(step.what);
            }
        }
        // Rows deleted in the transaction that inserted them (Quarkus's
        // remove-after-insert) are never seen by a poller: say so now.
        const auto st = plain_t(
            "SELECT n_tup_ins, n_tup_del FROM pg_stat_user_tables WHERE relid = to_regclass($1)");
        if (!st.empty() && !st[0][0].is_null()) {
            const auto ins = st[0][0].as<std::int64_t>();
            const auto del = st[0][1].as<std::int64_t>();
            if (ins >= 10 && del * 100 >= ins * 99) {
                changed.push_back(
                    "WARNING: " + std::to_string(del) + " of the " + std::to_string(ins)
                    + " rows ever inserted were deleted again: if the application deletes each row "
                      "in the transaction that inserts it (Quarkus's remove-after-insert), outboxd "
                      "never sees them; turn that off before starting outboxd "
                      "(docs/debezium.md)");
            }
        }
        plain("SELECT pg_advisory_unlock(7476150311)");
    } catch (const StoreMisconfigured&) {
        throw;
    } catch (const pqxx::broken_connection& e) {
        throw StoreUnavailable(std::string("migrating: ") + e.what());
    } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() == "55P03") {
            throw StoreUnavailable("migrating: the table stayed locked by other sessions for 3 s; "
                                   "nothing was changed, run `outboxd migrate` again");
        }
        throw StoreMisconfigured(std::string("migrating: ") + e.what());
    } catch (const std::exception& e) {
        throw StoreMisconfigured(std::string("migrating: ") + e.what());
    }
    if (changed.empty()) {
        changed.push_back("nothing to change: " + t + " has everything outboxd needs");
    }
    return changed;
}

} // namespace

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
    if (cfg_.layout == config::Layout::kDebezium) {
        auto done = adopt(*conn, cfg_);
        session_.reset();
        return done;
    }
    auto stmts = migration_statements(cfg_);
    try {
        pqxx::work tx(*conn);
        // Serialise concurrent migrations (several replicas starting at once).
        tx.exec("SELECT pg_advisory_xact_lock(7476150311)");
        if (cfg_.retention_mode == config::RetentionMode::kPartition) {
            const auto kind =
                tx.exec_params("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)",
                               qualified_table(cfg_));
            if (!kind.empty() && kind[0][0].as<std::string>() != "p") {
                throw StoreMisconfigured(
                    "retention.mode is partition, but " + qualified_table(cfg_)
                    + " exists and is not partitioned; migrate changes no existing table's "
                      "layout: see docs/operations.md for moving to a partitioned table");
            }
        }
        for (const auto& sql : stmts) {
            tx.exec(sql);
        }
        tx.commit();
    } catch (const pqxx::broken_connection& e) {
        throw StoreUnavailable(std::string("migrating: ") + e.what());
    } catch (const StoreMisconfigured&) {
        throw;
    } catch (const std::exception& e) {
        throw StoreMisconfigured(std::string("migrating: ") + e.what());
    }
    session_.reset();
    return stmts;
}

} // namespace outboxd::store
