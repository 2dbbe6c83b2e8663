// Internal to the store's pg_*.cc files (one class, PgOutboxStore, split by
// job): its sessions, and the helpers more than one of those files uses.
#pragma once

#include "store/libpq_session.h"
#include "store/pg_outbox_store.h"
#include "store/sql.h"

#include <pqxx/pqxx>

#include <memory>
#include <string>
#include <vector>

namespace outboxd::store {

// Records that a notification arrived; runs inside libpqxx calls on the
// relay thread, so a plain flag is enough.
class WakeupReceiver final : public pqxx::notification_receiver {
public:
    WakeupReceiver(pqxx::connection_base& c, const std::string& channel)
        : pqxx::notification_receiver(c, channel) {}
    void operator()(const std::string& /*payload*/, int /*backend_pid*/) override { fired = true; }
    bool fired = false;
};

struct PgOutboxStore::Session {
    std::unique_ptr<pqxx::connection> conn;
    // The fetch's own connection (binary results), opened on the first fetch.
    std::unique_ptr<BinaryFetchSession> fetch;
    // The marks' own connection (written in the background), opened on the
    // first begin_mark_sent.
    std::unique_ptr<MarkWriteSession> mark;
    std::unique_ptr<WakeupReceiver> receiver; // destroyed before conn
    Statements sql;
    AdminStatements admin;
    ConfirmStatements confirm; // empty unless cfg.confirming()
    PayloadType payload_type = PayloadType::kBytea;

    Session() = default;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() {
        mark.reset();
        fetch.reset();
        receiver.reset();
        conn.reset();
    }
};

// A requeue wakes the relay at once: a wake-up that finds no new ids makes it
// rescan from the lowest pending id, where requeued rows are. Delivered at
// commit, so never for a requeue that rolled back.
inline void notify_relay(pqxx::dbtransaction& tx, const std::string& channel) {
    if (!channel.empty()) {
        tx.exec_params("SELECT pg_notify($1, '')", channel);
    }
}

// How a payload column of this SQL type (format_type) is read; throws
// StoreMisconfigured for a type outboxd cannot send.
PayloadType payload_type_of(const std::string& sql_type, const std::string& column);

// The non-empty comma-separated parts of a text field (array_to_string of
// ids, or of consumer names, which have no commas: the config refuses
// them); none for NULL.
std::vector<std::string> comma_parts(const pqxx::field& f);

// An error while a new session checks the table (pg_errors.cc): an outage
// SQLSTATE is StoreUnavailable, anything else StoreMisconfigured.
[[noreturn]] void throw_session_failure(const std::string& what, const pqxx::sql_error& e);

} // namespace outboxd::store
