#include "inventory_db.h"

#include <pqxx/pqxx>

#include <set>

namespace inventory {
namespace {

// SQLSTATEs that mean "try again" rather than "something is wrong": class
// 08 (connection), 53 (insufficient resources), 58 (system error), the
// admin/crash shutdowns, a cancelled statement, serialization failure and
// deadlock, a lock not available, a read-only standby after a fail-over.
bool is_outage_sqlstate(const std::string& s) {
    static const std::set<std::string> codes = {"57P01", "57P02", "57P03", "57014",
                                                "40001", "40P01", "55P03", "25006"};
    return s.rfind("08", 0) == 0 || s.rfind("53", 0) == 0 || s.rfind("58", 0) == 0
           || codes.count(s) != 0;
}

// A stable key for pg_advisory_xact_lock: concurrent migrations of this
// consumer queue behind each other (CREATE ... IF NOT EXISTS is not safe
// against a concurrent CREATE of the same name).
constexpr long long kMigrateLockKey = 0x696e76656e746f; // "invento"

// PostgreSQL's quoting of an identifier: the schema comes from the command
// line and is quoted, never pasted into SQL.
std::string quote_ident(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

} // namespace

InventoryDb::InventoryDb(std::string dsn, std::string schema)
    : dsn_(std::move(dsn))
    , schema_(std::move(schema)) {}

InventoryDb::~InventoryDb() = default;

struct InventoryDb::Session {
    explicit Session(const std::string& dsn)
        : conn(dsn) {}
    pqxx::connection conn;
};

InventoryDb::Session& InventoryDb::session() {
    if (!session_) {
        try {
            auto s = std::make_unique<Session>(dsn_);
            {
                // Visible in pg_stat_activity, unless the DSN named one.
                pqxx::nontransaction tx(s->conn);
                tx.exec("SELECT set_config('application_name', 'outboxd-inventory-consumer', "
                        "false) WHERE current_setting('application_name') = ''");
            }
            // libpqxx 6 prepares on first use, so this works before migrate().
            s->conn.prepare("inbox_insert", "INSERT INTO " + inbox_table()
                                                + " (source, outbox_id) VALUES ($1, $2) "
                                                  "ON CONFLICT (source, outbox_id) DO NOTHING");
            s->conn.prepare("reserve", "INSERT INTO " + inventory_table()
                                           + " AS i (sku, reserved) VALUES ($1, $2) "
                                             "ON CONFLICT (sku) DO UPDATE SET reserved = "
                                             "i.reserved + EXCLUDED.reserved");
            session_ = std::move(s);
        } catch (...) {
            rethrow_classified();
        }
    }
    return *session_;
}

std::string InventoryDb::inbox_table() const {
    return quote_ident(schema_) + ".inventory_inbox";
}

std::string InventoryDb::inventory_table() const {
    return quote_ident(schema_) + ".inventory";
}

void InventoryDb::rethrow_classified() {
    try {
        throw;
    } catch (const pqxx::broken_connection& e) {
        session_.reset(); // libpqxx 6 would reconnect silently; we open a new one ourselves
        throw DbUnavailable(e.what());
    } catch (const pqxx::in_doubt_error& e) {
        session_.reset();
        throw DbUnavailable(std::string("commit in doubt: ") + e.what());
    } catch (const pqxx::sql_error& e) {
        if (is_outage_sqlstate(e.sqlstate())) {
            if (e.sqlstate().rfind("08", 0) == 0 || e.sqlstate().rfind("57P", 0) == 0) {
                session_.reset();
            }
            throw DbUnavailable(std::string(e.what()) + " (SQLSTATE " + e.sqlstate() + ")");
        }
        throw DbFailure(std::string(e.what()) + " (SQLSTATE " + e.sqlstate() + ")");
    } catch (const DbUnavailable&) {
        throw;
    } catch (const DbFailure&) {
        throw;
    } catch (const std::exception& e) {
        throw DbFailure(e.what());
    }
}

void InventoryDb::migrate() {
    try {
        pqxx::work tx(session().conn);
        tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrateLockKey) + ")");
        // CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege on the
        // database even when the schema is there: ask first.
        if (tx.exec_params("SELECT NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                           schema_)[0][0]
                .as<bool>()) {
            tx.exec("CREATE SCHEMA IF NOT EXISTS " + quote_ident(schema_));
        }
        tx.exec("CREATE TABLE IF NOT EXISTS " + inbox_table()
                + " (source text NOT NULL, outbox_id bigint NOT NULL, "
                  "consumed_at timestamptz NOT NULL DEFAULT now(), "
                  "PRIMARY KEY (source, outbox_id))");
        tx.exec("CREATE TABLE IF NOT EXISTS " + inventory_table()
                + " (sku text PRIMARY KEY, reserved bigint NOT NULL)");
        tx.commit();
    } catch (...) {
        rethrow_classified();
    }
}

void InventoryDb::check_tables() {
    try {
        pqxx::nontransaction tx(session().conn);
        for (const auto& t : {inbox_table(), inventory_table()}) {
            if (tx.exec_params("SELECT to_regclass($1) IS NULL", t)[0][0].as<bool>()) {
                throw DbFailure("table " + t
                                + " does not exist: create it with --migrate (or start "
                                  "without --no-migrate)");
            }
        }
    } catch (...) {
        rethrow_classified();
    }
}

Applied InventoryDb::apply(const OutboxRef& ref, const Order& order) {
    try {
        pqxx::work tx(session().conn);
        const auto inserted = tx.exec_prepared("inbox_insert", ref.source, ref.id);
        if (inserted.affected_rows() == 0) {
            // Already applied by an earlier delivery of this message (its
            // offset was not committed before a crash or a rebalance).
            tx.abort();
            return Applied::kDuplicate;
        }
        tx.exec_prepared("reserve", order.sku, order.qty);
        tx.commit();
        return Applied::kApplied;
    } catch (...) {
        rethrow_classified();
    }
}

} // namespace inventory
