// The inventory service's own tables: `inventory_inbox` (one row per outbox
// message applied) and `inventory` (the stock reserved per sku), on one
// PostgreSQL connection that is opened again after it is lost. Main thread
// only.
#pragma once

#include "order.h"

#include <memory>
#include <stdexcept>
#include <string>

namespace inventory {

// The database cannot be reached or asked to try again (lost connection,
// in-doubt commit, server shutting down, serialization failure): wait and
// repeat the same call; the inbox makes a repeat harmless.
struct DbUnavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Anything else (a missing privilege or table, a constraint): not an outage,
// never retried; the consumer stops with this reason.
struct DbFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class Applied { kApplied, kDuplicate };

class InventoryDb {
public:
    InventoryDb(std::string dsn, std::string schema);
    ~InventoryDb();
    InventoryDb(const InventoryDb&) = delete;
    InventoryDb& operator=(const InventoryDb&) = delete;

    // CREATE SCHEMA / TABLE IF NOT EXISTS, serialised by an advisory lock
    // so consumers starting together do not race on the catalog.
    void migrate();
    // DbFailure naming the missing table, for --no-migrate.
    void check_tables();

    // In ONE transaction: insert (source, id) into the inbox, ON CONFLICT DO
    // NOTHING; only if that inserted a row, add qty to the sku's reserved
    // stock. Returns which of the two happened once the commit succeeded.
    // Throws DbUnavailable or DbFailure; on DbUnavailable nothing may be
    // assumed about the commit, and calling again is the answer.
    Applied apply(const OutboxRef& ref, const Order& order);

    std::string inbox_table() const;
    std::string inventory_table() const;

private:
    struct Session; // the libpqxx connection, kept out of this header
    Session& session();
    [[noreturn]] void rethrow_classified();

    std::string dsn_;
    std::string schema_;
    std::unique_ptr<Session> session_;
};

} // namespace inventory
