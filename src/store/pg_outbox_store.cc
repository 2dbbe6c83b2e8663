#include "store/pg_outbox_store.h"

#include "store/libpq_session.h"
#include "store/pg_session.h"

#include <pqxx/pqxx>

#include <array>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <poll.h>

namespace outboxd::store {
namespace {

// "{3,NULL,...}" for the partitions and offsets of mark_sent: -1 (not
// known, RabbitMQ) is NULL.
std::pair<std::string, std::string> placement_literals(const std::vector<SentMark>& rows) {
    std::string parts = "{";
    std::string offsets = "{";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const char* sep = i == 0 ? "" : ",";
        parts +=
            sep + (rows[i].partition < 0 ? std::string("NULL") : std::to_string(rows[i].partition));
        offsets +=
            sep + (rows[i].offset < 0 ? std::string("NULL") : std::to_string(rows[i].offset));
    }
    return {parts + "}", offsets + "}"};
}

// confirmed_by as array_to_string(.., ','): consumer names have no commas
// (the config refuses them, and reports name only configured consumers).
std::vector<std::string> split_names(const pqxx::field& f) {
    std::vector<std::string> out;
    if (f.is_null()) {
        return out;
    }
    const std::string text(f.c_str(), f.size());
    std::size_t from = 0;
    while (from < text.size()) {
        const auto comma = text.find(',', from);
        const auto end = comma == std::string::npos ? text.size() : comma;
        if (end > from) {
            out.push_back(text.substr(from, end - from));
        }
        from = end + 1;
    }
    return out;
}

// With confirm.consumers the four confirmation columns must exist: said
// now, with what to do, rather than at the first mark.
void check_confirm_columns(pqxx::connection& conn, const config::Postgres& pg) {
    const auto& c = pg.columns;
    pqxx::nontransaction tx(conn);
    for (const auto* col : {&c.kafka_partition, &c.kafka_offset, &c.confirmed_by, &c.resends}) {
        const auto r = tx.exec_params(
            "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND "
            "NOT attisdropped",
            qualified_table(pg), *col);
        if (r.empty()) {
            throw StoreMisconfigured("table " + qualified_table(pg) + " has no column \"" + *col
                                     + "\", which confirm.consumers needs: run `outboxd migrate` "
                                       "with this config (it adds the confirmation columns and "
                                       "indexes)");
        }
    }
}

// Records that a notification arrived; runs inside libpqxx calls on the
// relay thread, so a plain flag is enough.
class WakeupReceiver final : public pqxx::notification_receiver {
public:
    WakeupReceiver(pqxx::connection_base& c, const std::string& channel)
        : pqxx::notification_receiver(c, channel) {}
    void operator()(const std::string& /*payload*/, int /*backend_pid*/) override { fired = true; }
    bool fired = false;
};

// A requeue wakes the relay at once: a wake-up that finds no new ids makes it
// rescan from the lowest pending id, where requeued rows are. Delivered at
// commit, so never for a requeue that rolled back.
void notify_relay(pqxx::dbtransaction& tx, const std::string& channel) {
    if (!channel.empty()) {
        tx.exec_params("SELECT pg_notify($1, '')", channel);
    }
}

PayloadType payload_type_of(const std::string& sql_type, const std::string& column) {
    if (sql_type == "bytea") {
        return PayloadType::kBytea;
    }
    if (sql_type == "text" || sql_type.rfind("character", 0) == 0) {
        return PayloadType::kText;
    }
    if (sql_type == "json" || sql_type == "jsonb") {
        return PayloadType::kJson;
    }
    throw StoreMisconfigured("payload column \"" + column + "\" has type " + sql_type
                             + "; supported: bytea, text, varchar, json, jsonb");
}

} // namespace

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

PgOutboxStore::PgOutboxStore(config::Postgres cfg)
    : cfg_(std::move(cfg)) {}

PgOutboxStore::~PgOutboxStore() = default;

void PgOutboxStore::disconnect() {
    session_.reset();
}

namespace {

template <typename T>
bool is(const std::exception& e) {
    return dynamic_cast<const T*>(&e) != nullptr;
}

struct NamedFailure {
    bool (*matches)(const std::exception&);
    const char* why;
};

// libpqxx 6.4 maps the common SQLSTATEs to exception classes and then leaves
// sqlstate() empty; only the generic sql_error carries its code. Subclasses
// before their base.
constexpr NamedFailure kNamedFailures[] = {
    {is<pqxx::insufficient_privilege>, "insufficient privilege, SQLSTATE 42501"},
    {is<pqxx::undefined_table>, "undefined table, SQLSTATE 42P01"},
    {is<pqxx::undefined_column>, "undefined column, SQLSTATE 42703"},
    {is<pqxx::syntax_error>, "syntax error or access rule violation, SQLSTATE class 42"},
    {is<pqxx::integrity_constraint_violation>, "integrity constraint violation, SQLSTATE class 23"},
    {is<pqxx::data_exception>, "data exception, SQLSTATE class 22"},
    {is<pqxx::feature_not_supported>, "feature not supported, SQLSTATE class 0A"},
    {is<pqxx::plpgsql_error>, "PL/pgSQL error (a trigger?), SQLSTATE class P0"},
};

} // namespace

std::optional<std::string> not_an_outage(const std::exception& e) {
    if (is<pqxx::broken_connection>(e) || is<pqxx::in_doubt_error>(e)
        || is<pqxx::transaction_rollback>(e) || is<pqxx::insufficient_resources>(e)
        || is<StoreUnavailable>(e)) {
        return std::nullopt;
    }
    for (const auto& f : kNamedFailures) {
        if (f.matches(e)) {
            return std::string(f.why);
        }
    }
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
        if (is_outage_sqlstate(sql->sqlstate())) {
            return std::nullopt;
        }
        return "SQLSTATE " + sql->sqlstate();
    }
    // conversion_error, usage_error, bad_alloc...: a bug, never an outage.
    return std::string("not a database error");
}

[[noreturn]] void throw_connect_failure(const std::exception& e) {
    const std::string what = std::string("connecting to PostgreSQL: ") + e.what();
    if (const auto why = refused_connection(e.what())) {
        throw StoreMisconfigured(what + " (" + *why + "): not an outage, not retried");
    }
    throw StoreUnavailable(what);
}

[[noreturn]] void throw_session_failure(const std::string& what, const pqxx::sql_error& e) {
    // An outage while a new session checks the table (a restart, a
    // statement_timeout) is retried like any other outage; anything else
    // means the table or the grants are not what the config says.
    if (is_outage_sqlstate(e.sqlstate())) {
        throw StoreUnavailable(what + ": " + e.what());
    }
    throw StoreMisconfigured(what + ": " + e.what());
}

void PgOutboxStore::fail(const std::string& what, const std::exception& e) {
    // Drop the session whatever the error was: a fresh one is the only state
    // we can reason about (LISTEN registrations and locks die with the old).
    session_.reset();
    if (const auto why = not_an_outage(e)) {
        throw StoreFailure(what + ": " + e.what() + " (" + *why + "): not an outage, not retried");
    }
    throw StoreUnavailable(what + ": " + e.what());
}

PgOutboxStore::Session& PgOutboxStore::session() {
    if (session_) {
        return *session_;
    }
    auto s = std::make_unique<Session>();
    try {
        s->conn = std::make_unique<pqxx::connection>(
            session_dsn(cfg_.dsn, "outboxd", cfg_.session_timeout));
        // Server side of the bound: if this process vanishes mid-transaction,
        // the server ends the session (and its row locks) within it.
        watch_session(*s->conn, cfg_.session_timeout);
    } catch (const std::exception& e) {
        throw_connect_failure(e);
    }
    std::string type;
    try {
        pqxx::nontransaction tx(*s->conn);
        const std::string regclass = qualified_table(cfg_);
        auto r = tx.exec_params(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
            " WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
            regclass, cfg_.columns.payload);
        if (r.empty()) {
            auto t = tx.exec_params("SELECT to_regclass($1) IS NOT NULL", regclass);
            if (!t[0][0].as<bool>()) {
                throw StoreMisconfigured("table " + regclass
                                         + " does not exist (create it with `outboxd migrate`)");
            }
            throw StoreMisconfigured("table " + regclass + " has no column \""
                                     + cfg_.columns.payload + "\" (postgres.columns.payload)");
        }
        type = r[0][0].as<std::string>();
    } catch (const StoreMisconfigured&) {
        throw;
    } catch (const pqxx::broken_connection& e) {
        throw StoreUnavailable(std::string("connecting to PostgreSQL: ") + e.what());
    } catch (const pqxx::sql_error& e) {
        throw_session_failure("inspecting the outbox table", e);
    }
    s->sql = build_statements(cfg_, payload_type_of(type, cfg_.columns.payload));
    s->admin = build_admin_statements(cfg_);
    if (cfg_.confirming()) {
        s->confirm = build_confirm_statements(cfg_);
    }
    try {
        s->conn->prepare("fetch", s->sql.fetch);
        s->conn->prepare("mark_sent", cfg_.confirming() ? s->confirm.mark_sent : s->sql.mark_sent);
        s->conn->prepare("record_failures", s->sql.record_failures);
        // Preparing is lazy in libpqxx 6; run a harmless fetch so a missing
        // column is reported now, with its name, not on the first batch.
        {
            pqxx::nontransaction tx(*s->conn);
            tx.exec_prepared("fetch", std::int64_t{0}, 0, std::int64_t{1}, std::int64_t{0});
        }
        if (cfg_.confirming()) {
            check_confirm_columns(*s->conn, cfg_);
        }
        if (!cfg_.notify_channel.empty()) {
            s->receiver = std::make_unique<WakeupReceiver>(*s->conn, cfg_.notify_channel);
        }
    } catch (const StoreMisconfigured&) {
        throw;
    } catch (const pqxx::broken_connection& e) {
        throw StoreUnavailable(std::string("connecting to PostgreSQL: ") + e.what());
    } catch (const pqxx::sql_error& e) {
        throw_session_failure("checking the outbox table's columns", e);
    }
    session_ = std::move(s);
    return *session_;
}

void PgOutboxStore::verify() {
    // Before any statement that a pool could keep (the named statements of
    // session(), and later the lock): a transaction pooler is refused.
    PidRounds rounds;
    try {
        rounds = probe_backend_pids(cfg_.dsn, cfg_.session_timeout, kPoolingProbeRounds);
    } catch (const std::exception& e) {
        throw_connect_failure(e);
    }
    if (const auto seen = transaction_pooling_seen(rounds)) {
        throw StoreMisconfigured(transaction_pooling_refusal(*seen));
    }
    session();
}

std::vector<PendingRow> PgOutboxStore::fetch_pending(std::int64_t after_id,
                                                     std::size_t limit,
                                                     std::size_t max_bytes,
                                                     std::size_t max_row_bytes) {
    auto& s = session();
    std::vector<PendingRow> rows;
    try {
        if (!s.fetch) {
            s.fetch = std::make_unique<BinaryFetchSession>(cfg_.dsn, cfg_.session_timeout,
                                                           s.sql.fetch, 4);
        }
        const auto r = s.fetch->run(after_id, static_cast<std::int64_t>(limit),
                                    static_cast<std::int64_t>(max_bytes),
                                    static_cast<std::int64_t>(max_row_bytes));
        const int n = r.rows();
        rows.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            PendingRow row;
            row.id = r.int8(i, 0);
            row.topic = std::string(r.bytes(i, 1));
            if (!r.is_null(i, 2)) {
                row.key = std::string(r.bytes(i, 2));
            }
            if (!r.is_null(i, 3)) {
                row.payload = std::string(r.bytes(i, 3)); // bytea in binary: the bytes themselves
            }
            if (!r.is_null(i, 4)) {
                row.headers = std::string(r.bytes(i, 4));
            }
            row.attempts = static_cast<std::int32_t>(r.int8(i, 5));
            row.due = r.boolean(i, 6);
            row.created_at_us = r.is_null(i, 7) ? 0 : r.int8(i, 7);
            if (!r.is_null(i, 8)) {
                row.withheld_bytes = static_cast<std::size_t>(r.int8(i, 8));
            }
            rows.push_back(std::move(row));
        }
    } catch (const std::exception& e) {
        fail("fetching pending rows", e);
    }
    return rows;
}

namespace {

// The mark statement's text parameters: the ids, and with confirmation on
// their partitions and offsets.
std::vector<std::string> mark_params(const std::vector<SentMark>& rows, bool confirming) {
    std::vector<std::int64_t> ids;
    ids.reserve(rows.size());
    for (const auto& r : rows) {
        ids.push_back(r.id);
    }
    std::vector<std::string> params{int_array_literal(ids)};
    if (confirming) {
        auto [parts, offsets] = placement_literals(rows);
        params.push_back(std::move(parts));
        params.push_back(std::move(offsets));
    }
    return params;
}

} // namespace

void PgOutboxStore::mark_sent(const std::vector<SentMark>& rows) {
    if (rows.empty()) {
        return;
    }
    auto& s = session();
    const auto p = mark_params(rows, cfg_.confirming());
    try {
        pqxx::nontransaction tx(*s.conn);
        if (p.size() == 3) {
            tx.exec_prepared("mark_sent", p[0], p[1], p[2]);
        } else {
            tx.exec_prepared("mark_sent", p[0]);
        }
    } catch (const std::exception& e) {
        fail("marking rows sent", e);
    }
}

void PgOutboxStore::begin_mark_sent(const std::vector<SentMark>& rows) {
    if (mark_outstanding_) {
        throw std::logic_error("begin_mark_sent while the previous write runs");
    }
    if (rows.empty()) {
        return;
    }
    auto& s = session();
    try {
        if (!s.mark) {
            const auto& sql = cfg_.confirming() ? s.confirm.mark_sent : s.sql.mark_sent;
            s.mark = std::make_unique<MarkWriteSession>(cfg_.dsn, cfg_.session_timeout, sql,
                                                        cfg_.confirming() ? 3 : 1);
        }
        s.mark->begin(mark_params(rows, cfg_.confirming()));
        mark_outstanding_ = true;
    } catch (const std::exception& e) {
        fail("marking rows sent", e);
    }
}

bool PgOutboxStore::mark_sent_finished(std::chrono::milliseconds wait) {
    if (!mark_outstanding_) {
        return true;
    }
    if (!session_ || !session_->mark || !session_->mark->busy()) {
        // Another call's error closed the sessions while the write ran.
        mark_outstanding_ = false;
        throw StoreUnavailable("marking rows sent: the session closed before the commit was "
                               "confirmed (the write is in doubt)");
    }
    try {
        if (!session_->mark->finished(wait)) {
            return false;
        }
    } catch (const std::exception& e) {
        mark_outstanding_ = false;
        fail("marking rows sent", e);
    }
    mark_outstanding_ = false;
    return true;
}

void PgOutboxStore::record_failures(const std::vector<FailureUpdate>& updates) {
    if (updates.empty()) {
        return;
    }
    std::vector<std::int64_t> ids;
    std::vector<std::int64_t> attempts;
    std::vector<std::int64_t> delays;
    std::vector<std::string> errors;
    std::vector<std::string> parks;
    for (const auto& u : updates) {
        ids.push_back(u.id);
        attempts.push_back(u.attempts);
        errors.push_back(sanitize_error(u.error));
        parks.emplace_back(u.park ? "t" : "f");
        delays.push_back(u.retry_after.count());
    }
    auto& s = session();
    try {
        pqxx::nontransaction tx(*s.conn);
        tx.exec_prepared("record_failures", int_array_literal(ids), int_array_literal(attempts),
                         text_array_literal(errors), text_array_literal(parks),
                         int_array_literal(delays));
    } catch (const std::exception& e) {
        fail("recording failed attempts", e);
    }
}

bool PgOutboxStore::wait_for_wakeup(std::chrono::milliseconds timeout) {
    auto& s = session();
    if (!s.receiver) {
        std::this_thread::sleep_for(timeout);
        return false;
    }
    try {
        if (s.receiver->fired) {
            s.receiver->fired = false;
            return true;
        }
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
        s.conn->await_notification(static_cast<long>(us / 1000000),
                                   static_cast<long>(us % 1000000));
        const bool fired = s.receiver->fired;
        s.receiver->fired = false;
        return fired;
    } catch (const std::exception& e) {
        fail("waiting for notifications", e);
    }
}

bool PgOutboxStore::take_wakeup() {
    if (!session_ || !session_->receiver) {
        return false;
    }
    try {
        session_->conn->get_notifs();
        const bool fired = session_->receiver->fired;
        session_->receiver->fired = false;
        return fired;
    } catch (const std::exception& e) {
        fail("reading notifications", e);
    }
}

bool PgOutboxStore::wait_for_activity(std::chrono::milliseconds timeout, int fd) {
    if (!session_ || !session_->conn) {
        return false;
    }
    auto& s = *session_;
    if (s.receiver && s.receiver->fired) {
        return true; // a notification read with another result is waiting
    }
    std::array<pollfd, 3> fds{};
    nfds_t n = 0;
    const auto add = [&](int f) {
        if (f >= 0) {
            fds[n++] = pollfd{f, POLLIN, 0};
        }
    };
    add(fd);
    if (s.receiver) {
        add(s.conn->sock());
    }
    if (s.mark && s.mark->busy()) {
        add(s.mark->socket());
    }
    // An error (EINTR) only ends the wait early; the caller looks anyway.
    (void)::poll(fds.data(), n, static_cast<int>(timeout.count()));
    return true;
}

std::vector<std::string> PgOutboxStore::pending_topics() {
    auto& s = session();
    std::vector<std::string> out;
    try {
        pqxx::nontransaction tx(*s.conn);
        for (const auto& f : tx.exec(s.sql.pending_topics)) {
            out.emplace_back(f[0].c_str());
        }
    } catch (const std::exception& e) {
        fail("listing pending topics", e);
    }
    return out;
}

std::string PgOutboxStore::source_id() {
    auto& s = session();
    try {
        pqxx::nontransaction tx(*s.conn);
        const std::string db = tx.exec("SELECT current_database()")[0][0].c_str();
        return db + "/" + cfg_.schema + "." + cfg_.table;
    } catch (const std::exception& e) {
        fail("reading the database name", e);
    }
}

std::optional<std::int64_t> PgOutboxStore::oldest_pending_created_ms() {
    auto& s = session();
    const auto& c = cfg_.columns;
    try {
        pqxx::nontransaction tx(*s.conn);
        // A row can reach Kafka no earlier than its last produce, which is
        // at or after next_attempt_at when set (a retry, or a requeue), else
        // at or after created_at.
        auto r = tx.exec("SELECT (extract(epoch FROM min(coalesce(" + quote_ident(c.next_attempt_at)
                         + ", " + quote_ident(c.created_at) + "))) * 1000)::bigint FROM "
                         + s.sql.qualified_table + " WHERE " + quote_ident(c.status) + " = 0");
        if (r.empty() || r[0][0].is_null()) {
            return std::nullopt;
        }
        return r[0][0].as<std::int64_t>();
    } catch (const std::exception& e) {
        fail("reading the oldest pending row", e);
    }
}

std::size_t PgOutboxStore::mark_found(const std::string& topic,
                                      const std::vector<std::int64_t>& ids,
                                      const std::vector<std::optional<std::string>>& keys,
                                      const std::vector<SentMark>& marks) {
    if (ids.empty()) {
        return 0;
    }
    auto& s = session();
    const auto& c = cfg_.columns;
    std::vector<std::string> key_text;
    std::vector<std::string> key_null;
    for (const auto& k : keys) {
        key_text.push_back(k.value_or(""));
        key_null.emplace_back(k ? "f" : "t");
    }
    try {
        pqxx::nontransaction tx(*s.conn);
        // Same id, same topic, same key: the message is this row, already
        // acknowledged by Kafka. Only then is the row marked sent (G1, G6).
        const std::string match = " WHERE t." + quote_ident(c.id) + " = f.id AND t."
                                  + quote_ident(c.status) + " = 0 AND t." + quote_ident(c.topic)
                                  + "::text = $4 AND ((f.k_null AND t." + quote_ident(c.key)
                                  + " IS NULL) OR (NOT f.k_null AND t." + quote_ident(c.key)
                                  + "::text = f.k))";
        if (cfg_.confirming() && marks.size() == ids.size()) {
            // Where the message is, for the consumers' committed offsets.
            const auto [parts, offsets] = placement_literals(marks);
            auto r = tx.exec_params(
                "UPDATE " + s.sql.qualified_table + " AS t SET " + quote_ident(c.status) + " = 1, "
                    + quote_ident(c.sent_at) + " = now(), " + quote_ident(c.kafka_partition)
                    + " = f.p, " + quote_ident(c.kafka_offset)
                    + " = f.o FROM unnest($1::bigint[], $2::text[], $3::bool[], $5::int[], "
                      "$6::bigint[]) AS f(id, k, k_null, p, o)"
                    + match,
                int_array_literal(ids), text_array_literal(key_text), text_array_literal(key_null),
                topic, parts, offsets);
            return r.affected_rows();
        }
        auto r = tx.exec_params("UPDATE " + s.sql.qualified_table + " AS t SET "
                                    + quote_ident(c.status) + " = 1, " + quote_ident(c.sent_at)
                                    + " = now() FROM unnest($1::bigint[], $2::text[], "
                                    + "$3::bool[]) AS f(id, k, k_null)" + match,
                                int_array_literal(ids), text_array_literal(key_text),
                                text_array_literal(key_null), topic);
        return r.affected_rows();
    } catch (const std::exception& e) {
        fail("marking rows found in Kafka", e);
    }
}

StatusSummary PgOutboxStore::status_summary() {
    auto& s = session();
    StatusSummary out;
    try {
        pqxx::nontransaction tx(*s.conn);
        const auto r = tx.exec(s.admin.status_summary);
        const auto& f = r[0];
        out.pending = f[0].as<std::int64_t>();
        out.sent = f[1].as<std::int64_t>();
        out.failed = f[2].as<std::int64_t>();
        out.consumed = f[5].as<std::int64_t>();
        out.consumer_failed = f[6].as<std::int64_t>();
        out.other = f[3].as<std::int64_t>() - out.pending - out.sent - out.failed - out.consumed
                    - out.consumer_failed;
        if (out.pending > 0 && !f[4].is_null()) {
            out.oldest_pending_age_s = f[4].as<double>();
        }
    } catch (const std::exception& e) {
        fail("counting rows by status", e);
    }
    return out;
}

HealthSummary PgOutboxStore::health_summary() {
    auto& s = session();
    HealthSummary out;
    try {
        pqxx::nontransaction tx(*s.conn);
        const auto r = tx.exec_params(s.admin.health_summary, kHealthCountCap);
        const auto& f = r[0];
        out.pending = f[0].as<std::int64_t>();
        out.pending_capped = out.pending >= kHealthCountCap;
        out.parked = f[1].as<std::int64_t>();
        out.parked_capped = out.parked >= kHealthCountCap;
        out.oldest_pending_age_s = f[2].is_null() ? 0.0 : f[2].as<double>();
    } catch (const std::exception& e) {
        fail("reading the health counts", e);
    }
    return out;
}

std::vector<FailedRow> PgOutboxStore::failed_rows(const std::optional<std::string>& topic,
                                                  std::size_t limit) {
    auto& s = session();
    std::vector<FailedRow> out;
    try {
        pqxx::nontransaction tx(*s.conn);
        const auto r = tx.exec_params(s.admin.failed_rows, topic.has_value(), topic.value_or(""),
                                      static_cast<std::int64_t>(limit));
        out.reserve(r.size());
        for (const auto& f : r) {
            FailedRow row;
            row.id = f[0].as<std::int64_t>();
            row.topic = std::string(f[1].c_str(), f[1].size());
            if (!f[2].is_null()) {
                row.key = std::string(f[2].c_str(), f[2].size());
            }
            row.attempts = f[3].as<std::int32_t>();
            if (!f[4].is_null()) {
                row.last_error = std::string(f[4].c_str(), f[4].size());
            }
            row.created_at_ms = f[5].is_null() ? 0 : f[5].as<std::int64_t>();
            if (!f[6].is_null()) {
                row.next_attempt_at_ms = f[6].as<std::int64_t>();
            }
            row.status = f[7].as<int>();
            out.push_back(std::move(row));
        }
    } catch (const std::exception& e) {
        fail("listing failed rows", e);
    }
    return out;
}

std::size_t PgOutboxStore::requeue_ids(const std::vector<std::int64_t>& ids,
                                       bool include_sent,
                                       RequeueSkipped* skipped) {
    if (ids.empty()) {
        return 0;
    }
    auto& s = session();
    std::size_t changed = 0;
    RequeueSkipped left;
    try {
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
        changed = tx.exec_params(s.admin.requeue_ids, int_array_literal(ids), include_sent)
                      .affected_rows();
        if (changed > 0) {
            notify_relay(tx, cfg_.notify_channel);
        }
        tx.commit();
    } catch (const std::exception& e) {
        fail("requeuing rows", e);
    }
    if (skipped != nullptr) {
        *skipped = std::move(left);
    }
    return changed;
}

std::size_t PgOutboxStore::requeue_failed(const std::optional<std::string>& topic) {
    auto& s = session();
    std::size_t changed = 0;
    try {
        pqxx::work tx(*s.conn);
        changed = tx.exec_params(s.admin.requeue_failed, topic.has_value(), topic.value_or(""))
                      .affected_rows();
        if (changed > 0) {
            notify_relay(tx, cfg_.notify_channel);
        }
        tx.commit();
    } catch (const std::exception& e) {
        fail("requeuing failed rows", e);
    }
    return changed;
}

std::size_t PgOutboxStore::delete_sent_older_than(std::chrono::milliseconds age,
                                                  std::size_t limit) {
    if (limit == 0) {
        return 0;
    }
    auto& s = session();
    try {
        // One statement is one transaction: the row locks last only as long
        // as deleting `limit` rows takes.
        pqxx::nontransaction tx(*s.conn);
        return tx
            .exec_params(s.admin.delete_sent, static_cast<std::int64_t>(age.count()),
                         static_cast<std::int64_t>(limit))
            .affected_rows();
    } catch (const std::exception& e) {
        fail("deleting old sent rows", e);
    }
}

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

// ---- consumer confirmation ------------------------------------------------

std::vector<SentPartition> PgOutboxStore::waiting_partitions() {
    auto& s = session();
    std::vector<SentPartition> out;
    try {
        pqxx::nontransaction tx(*s.conn);
        for (const auto& f : tx.exec(s.confirm.waiting_partitions)) {
            out.push_back(
                SentPartition{std::string(f[0].c_str(), f[0].size()), f[1].as<std::int32_t>()});
        }
    } catch (const std::exception& e) {
        fail("listing partitions with unconfirmed rows", e);
    }
    return out;
}

namespace {

// The statuses an UPDATE ... RETURNING status gave: rows changed, and of
// them those now at 3.
ConfirmCount count_statuses(const pqxx::result& r) {
    ConfirmCount out;
    out.confirmed = r.size();
    for (const auto& f : r) {
        out.consumed += f[0].as<int>() == 3 ? 1 : 0;
    }
    return out;
}

} // namespace

ConfirmCount PgOutboxStore::confirm_offsets(const std::string& group,
                                            const SentPartition& p,
                                            std::int64_t below,
                                            std::size_t limit) {
    auto& s = session();
    try {
        pqxx::nontransaction tx(*s.conn);
        return count_statuses(tx.exec_params(s.confirm.confirm_offsets, group, p.topic, p.partition,
                                             below, static_cast<std::int64_t>(limit)));
    } catch (const std::exception& e) {
        fail("confirming rows by committed offsets", e);
    }
}

ConfirmCount PgOutboxStore::report_consumed(std::int64_t id, const std::string& consumer) {
    auto& s = session();
    try {
        pqxx::nontransaction tx(*s.conn);
        return count_statuses(tx.exec_params(s.confirm.report_consumed, id, consumer));
    } catch (const std::exception& e) {
        fail("applying a consumer's report", e);
    }
}

bool PgOutboxStore::report_failed(std::int64_t id, const std::string& last_error) {
    auto& s = session();
    try {
        pqxx::nontransaction tx(*s.conn);
        return tx.exec_params(s.confirm.report_failed, id, sanitize_error(last_error))
                   .affected_rows()
               > 0;
    } catch (const std::exception& e) {
        fail("applying a consumer's failure report", e);
    }
}

std::vector<OverdueRow> PgOutboxStore::overdue(Millis deadline, std::size_t limit) {
    auto& s = session();
    std::vector<OverdueRow> out;
    try {
        pqxx::nontransaction tx(*s.conn);
        for (const auto& f :
             tx.exec_params(s.confirm.overdue, static_cast<std::int64_t>(deadline.count()),
                            static_cast<std::int64_t>(limit))) {
            out.push_back(OverdueRow{f[0].as<std::int64_t>(), split_names(f[1]), f[2].as<int>()});
        }
    } catch (const std::exception& e) {
        fail("listing unconfirmed rows", e);
    }
    return out;
}

std::size_t PgOutboxStore::resend(const std::vector<std::int64_t>& ids) {
    if (ids.empty()) {
        return 0;
    }
    auto& s = session();
    try {
        pqxx::work tx(*s.conn);
        const auto n = tx.exec_params(s.confirm.resend, int_array_literal(ids)).affected_rows();
        notify_relay(tx, cfg_.notify_channel);
        tx.commit();
        return n;
    } catch (const std::exception& e) {
        fail("sending unconfirmed rows again", e);
    }
}

std::size_t PgOutboxStore::park(const std::vector<std::int64_t>& ids,
                                const std::vector<std::string>& errors) {
    if (ids.empty()) {
        return 0;
    }
    auto& s = session();
    std::vector<std::string> clean;
    clean.reserve(errors.size());
    for (const auto& e : errors) {
        clean.push_back(sanitize_error(e));
    }
    try {
        pqxx::nontransaction tx(*s.conn);
        return tx.exec_params(s.confirm.park, int_array_literal(ids), text_array_literal(clean))
            .affected_rows();
    } catch (const std::exception& e) {
        fail("parking unconfirmed rows", e);
    }
}

std::int64_t PgOutboxStore::unconfirmed_count(Millis deadline, std::int64_t cap) {
    auto& s = session();
    try {
        pqxx::nontransaction tx(*s.conn);
        return tx
            .exec_params(s.confirm.unconfirmed_count, static_cast<std::int64_t>(deadline.count()),
                         cap)[0][0]
            .as<std::int64_t>();
    } catch (const std::exception& e) {
        fail("counting unconfirmed rows", e);
    }
}

std::int64_t PgOutboxStore::not_confirmed_by(const std::string& consumer, std::int64_t cap) {
    auto& s = session();
    try {
        pqxx::nontransaction tx(*s.conn);
        return tx.exec_params(s.confirm.not_confirmed_by, consumer, cap)[0][0].as<std::int64_t>();
    } catch (const std::exception& e) {
        fail("counting rows a consumer has not confirmed", e);
    }
}

std::vector<UnconfirmedRow> PgOutboxStore::unconfirmed_rows(Millis deadline, std::size_t limit) {
    auto& s = session();
    std::vector<UnconfirmedRow> out;
    try {
        pqxx::nontransaction tx(*s.conn);
        for (const auto& f :
             tx.exec_params(s.confirm.unconfirmed_rows, static_cast<std::int64_t>(deadline.count()),
                            static_cast<std::int64_t>(limit))) {
            UnconfirmedRow row;
            row.id = f[0].as<std::int64_t>();
            row.topic = std::string(f[1].c_str(), f[1].size());
            if (!f[2].is_null()) {
                row.key = std::string(f[2].c_str(), f[2].size());
            }
            row.sent_at_ms = f[3].is_null() ? 0 : f[3].as<std::int64_t>();
            row.confirmed_by = split_names(f[4]);
            row.resends = f[5].as<int>();
            out.push_back(std::move(row));
        }
    } catch (const std::exception& e) {
        fail("listing unconfirmed rows", e);
    }
    return out;
}

} // namespace outboxd::store
