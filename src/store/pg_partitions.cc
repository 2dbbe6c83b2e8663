// PgOutboxStore's calls for retention.mode partition (docs/operations.md):
// the table's partitions, adding one ahead of the ids, dropping one whose
// rows are all sent and old enough. The rules of which to add or drop are
// daemon/partition_rules.h; this file only carries them out.
#include "store/pg_internal.h"
#include "store/pg_outbox_store.h"
#include "store/pg_session.h"

#include <pqxx/pqxx>

#include <algorithm>

namespace outboxd::store {

namespace {

// How long a partition's drop may wait for the table's lock. DROP of a
// partition locks the whole table: the application's inserts queue behind
// it while it waits, so the wait is short, and a table that stays busy
// longer is tried again next round.
constexpr const char* kDropLockTimeout = "200ms";
// Attaching a partition locks only the default partition (whose rows it
// checks); the relay's fetch reads that one too.
constexpr const char* kAttachLockTimeout = "2s";

std::string held_words(const pqxx::row& r, bool confirming) {
    static const int kPlain[] = {0, 2, 4, 5};
    static const int kConfirming[] = {0, 1, 2, 4, 5};
    std::string out;
    for (int i = 0; i < static_cast<int>(r.size()); ++i) {
        const auto n = r[i].as<std::int64_t>();
        if (n > 0) {
            const int status = confirming ? kConfirming[i] : kPlain[i];
            out += (out.empty() ? "" : ", ") + std::to_string(n) + " at " + std::to_string(status);
        }
    }
    return out;
}

// Rows at 2, 4 or 5 wait for a person; at 0 (and 1 with confirmation)
// only for the relay or the consumers.
bool waits_for_person(const pqxx::row& r, bool confirming) {
    const int first = confirming ? 2 : 1; // index of status 2
    for (int i = first; i < static_cast<int>(r.size()); ++i) {
        if (r[i].as<std::int64_t>() > 0) {
            return true;
        }
    }
    return false;
}

bool any_rows(const pqxx::row& r) {
    return std::any_of(r.begin(), r.end(),
                       [](const pqxx::field& f) { return f.as<std::int64_t>() > 0; });
}

} // namespace

PartitionState PgOutboxStore::partition_state() {
    const std::string t = qualified_table(cfg_);
    return guarded("reading the table's partitions", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        const auto kind =
            tx.exec_params("SELECT c.relkind::text, (SELECT pg_get_partkeydef(c.oid)) FROM "
                           "pg_class c WHERE c.oid = to_regclass($1)",
                           t);
        const std::string want = "RANGE (" + quote_ident(cfg_.columns.id) + ")";
        const std::string plain_want = "RANGE (" + cfg_.columns.id + ")";
        if (kind.empty() || kind[0][0].as<std::string>() != "p"
            || (kind[0][1].as<std::string>() != want
                && kind[0][1].as<std::string>() != plain_want)) {
            throw StoreMisconfigured(
                "retention.mode is partition but " + t + " is not partitioned by range of "
                + cfg_.columns.id
                + "; `outboxd migrate` creates it so, and docs/operations.md says how to move "
                  "an existing table");
        }
        PartitionState st;
        const std::string default_name = cfg_.table + "_default";
        for (const auto& row :
             tx.exec_params("SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM "
                            "pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE "
                            "i.inhparent = to_regclass($1)",
                            t)) {
            const auto name = row[0].as<std::string>();
            const auto bound = row[1].as<std::string>();
            if (bound == "DEFAULT") {
                if (name != default_name) {
                    throw StoreMisconfigured("the default partition of " + t + " is " + name
                                             + "; retention.mode partition needs it named "
                                             + default_name);
                }
                st.has_default = true;
            } else if (const auto r = parse_range_bound(bound)) {
                st.partitions.push_back({name, r->first, r->second});
            }
        }
        if (!st.has_default) {
            throw StoreMisconfigured(t + " has no default partition " + default_name
                                     + "; run `outboxd migrate`");
        }
        std::sort(st.partitions.begin(), st.partitions.end(),
                  [](const Partition& a, const Partition& b) { return a.lo < b.lo; });
        const std::string id = quote_ident(cfg_.columns.id);
        const auto r = tx.exec_params(
            "SELECT greatest((SELECT coalesce(max(" + id + "), 0) FROM " + t
                + "), coalesce(pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass), "
                  "0)), (SELECT coalesce(max("
                + id + "), 0) FROM " + default_partition(cfg_) + ")",
            t, cfg_.columns.id);
        st.max_id = r[0][0].as<std::int64_t>();
        st.max_default_id = r[0][1].as<std::int64_t>();
        return st;
    });
}

void PgOutboxStore::create_partition(std::int64_t lo, std::int64_t hi) {
    guarded("adding a partition", [&](Session& s) {
        pqxx::work tx(*s.conn);
        tx.exec(std::string("SET LOCAL lock_timeout = '") + kAttachLockTimeout + "'");
        try {
            for (const auto& sql : create_partition_statements(cfg_, lo, hi)) {
                tx.exec(sql);
            }
        } catch (const pqxx::sql_error& e) {
            // 23514: ids of the new range reached the default partition
            // while it was added (a burst past the planned room). Nothing
            // changed; the next round plans above them.
            if (e.sqlstate() == "23514") {
                throw StoreUnavailable("adding the partition for ids " + std::to_string(lo) + " to "
                                       + std::to_string(hi - 1)
                                       + ": ids in that range arrived meanwhile; planned again "
                                         "next round");
            }
            throw;
        }
        tx.commit();
    });
}

DropOutcome PgOutboxStore::drop_partition(const Partition& p, std::chrono::milliseconds age) {
    const bool confirming = cfg_.confirming();
    return guarded("dropping a partition", [&](Session& s) {
        DropOutcome out;
        const std::string held_sql = partition_held_counts(cfg_, p.name);
        {
            pqxx::nontransaction tx(*s.conn);
            const auto held = tx.exec(held_sql);
            if (waits_for_person(held[0], confirming)) {
                out.kind = DropOutcome::Kind::kHeld;
                out.why = held_words(held[0], confirming);
                return out;
            }
            if (any_rows(held[0])) {
                return out; // kNotYet: the relay or the consumers have rows in it
            }
            // Without a lock: a full read of the partition, stopping at the
            // first row that is not done.
            if (tx.exec_params(partition_not_done(cfg_, p.name),
                               static_cast<std::int64_t>(age.count()))[0][0]
                    .as<bool>()) {
                return out;
            }
        }
        // Under the table's lock nothing changes; what could have changed
        // since the read above is a row that came back to 0 (a late insert,
        // an operator's requeue) or was parked or closed: each of those is
        // in a partial index, so the check again is quick.
        try {
            pqxx::work tx(*s.conn);
            tx.exec(std::string("SET LOCAL lock_timeout = '") + kDropLockTimeout + "'");
            tx.exec("LOCK TABLE " + qualified_table(cfg_) + " IN ACCESS EXCLUSIVE MODE");
            const auto held = tx.exec(held_sql);
            if (any_rows(held[0])) {
                if (waits_for_person(held[0], confirming)) {
                    out.kind = DropOutcome::Kind::kHeld;
                    out.why = held_words(held[0], confirming);
                }
                return out;
            }
            tx.exec("DROP TABLE " + quote_ident(cfg_.schema) + "." + quote_ident(p.name));
            tx.commit();
            out.kind = DropOutcome::Kind::kDropped;
        } catch (const pqxx::sql_error& e) {
            if (e.sqlstate() != "55P03") {
                throw;
            }
            out.kind = DropOutcome::Kind::kBusy;
            out.why =
                std::string("the table stayed locked by other sessions for ") + kDropLockTimeout;
        }
        return out;
    });
}

} // namespace outboxd::store
