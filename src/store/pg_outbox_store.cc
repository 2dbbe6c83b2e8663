// PgOutboxStore: opening the sessions, and the relay's path on them (fetch,
// mark sent, record failures, wake-ups) with the read-back's marks. The
// admin calls are in pg_admin.cc, the confirmation's in pg_confirm_store.cc,
// the error classes in pg_errors.cc.
#include "store/pg_outbox_store.h"

#include "common/topic_route.h"
#include "store/libpq_session.h"
#include "store/pg_internal.h"
#include "store/pg_session.h"

#include <pqxx/pqxx>

#include <array>
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

} // namespace

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

std::vector<std::string> comma_parts(const pqxx::field& f) {
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

PgOutboxStore::PgOutboxStore(config::Postgres cfg)
    : cfg_(std::move(cfg)) {}

PgOutboxStore::~PgOutboxStore() = default;

void PgOutboxStore::disconnect() {
    session_.reset();
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
    s->payload_type = payload_type_of(type, cfg_.columns.payload);
    config::Postgres effective = cfg_;
    if (cfg_.tracing_optional && !cfg_.columns.tracing.empty()) {
        // layout debezium names tracingspancontext by default; a table
        // without it simply has no trace context to pass on.
        try {
            pqxx::nontransaction tx(*s->conn);
            const auto r = tx.exec_params(
                "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 "
                "AND NOT attisdropped",
                qualified_table(cfg_), cfg_.columns.tracing);
            if (r.empty()) {
                effective.columns.tracing.clear();
            }
        } catch (const pqxx::broken_connection& e) {
            throw StoreUnavailable(std::string("connecting to PostgreSQL: ") + e.what());
        } catch (const pqxx::sql_error& e) {
            throw_session_failure("inspecting the outbox table", e);
        }
    }
    s->sql = build_statements(effective, s->payload_type);
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
    return guarded("fetching pending rows", [&](Session& s) {
        std::vector<PendingRow> rows;
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
            if (!r.is_null(i, 9)) {
                row.event_id = std::string(r.bytes(i, 9));
            }
            if (!r.is_null(i, 10)) {
                row.event_type = std::string(r.bytes(i, 10));
            }
            if (!r.is_null(i, 11)) {
                row.event_time_us = r.int8(i, 11);
            }
            if (!r.is_null(i, 12)) {
                row.tracing = std::string(r.bytes(i, 12));
            }
            row.fields.resize(cfg_.additional_fields.size());
            for (std::size_t f = 0; f < row.fields.size(); ++f) {
                const int col = 13 + static_cast<int>(f);
                if (!r.is_null(i, col)) {
                    row.fields[f] = std::string(r.bytes(i, col));
                }
            }
            row.payload_type = s.payload_type;
            rows.push_back(std::move(row));
        }
        return rows;
    });
}

void PgOutboxStore::mark_sent(const std::vector<SentMark>& rows) {
    if (rows.empty()) {
        return;
    }
    const auto p = mark_params(rows, cfg_.confirming());
    guarded("marking rows sent", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        if (p.size() == 3) {
            tx.exec_prepared("mark_sent", p[0], p[1], p[2]);
        } else {
            tx.exec_prepared("mark_sent", p[0]);
        }
    });
}

void PgOutboxStore::begin_mark_sent(const std::vector<SentMark>& rows) {
    if (mark_outstanding_) {
        throw std::logic_error("begin_mark_sent while the previous write runs");
    }
    if (rows.empty()) {
        return;
    }
    guarded("marking rows sent", [&](Session& s) {
        if (!s.mark) {
            const auto& sql = cfg_.confirming() ? s.confirm.mark_sent : s.sql.mark_sent;
            s.mark = std::make_unique<MarkWriteSession>(cfg_.dsn, cfg_.session_timeout, sql,
                                                        cfg_.confirming() ? 3 : 1);
        }
        s.mark->begin(mark_params(rows, cfg_.confirming()));
        mark_outstanding_ = true;
    });
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
    // Not guarded(): never opens a session, and the write is over either way.
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
    guarded("recording failed attempts", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        tx.exec_prepared("record_failures", int_array_literal(ids), int_array_literal(attempts),
                         text_array_literal(errors), text_array_literal(parks),
                         int_array_literal(delays));
    });
}

bool PgOutboxStore::wait_for_wakeup(std::chrono::milliseconds timeout) {
    if (!session().receiver) {
        std::this_thread::sleep_for(timeout);
        return false;
    }
    return guarded("waiting for notifications", [&](Session& s) {
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
    });
}

bool PgOutboxStore::take_wakeup() {
    if (!session_ || !session_->receiver) {
        return false;
    }
    // Not guarded(): reads only a session already open, never opens one.
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
    return guarded("listing pending topics", [&](Session& s) {
        std::vector<std::string> out;
        pqxx::nontransaction tx(*s.conn);
        for (const auto& f : tx.exec(s.sql.pending_topics)) {
            out.emplace_back(f[0].c_str());
        }
        if (!cfg_.route.by_column.empty()) {
            // The values the topics are made from (postgres.route.*).
            auto route = TopicRoute::compile(cfg_.route.topic_regex, cfg_.route.topic_replacement);
            if (const auto* r = std::get_if<TopicRoute>(&route)) {
                // Kept for mark_found: the values each topic is made from.
                routed_values_.clear();
                for (const auto& value : out) {
                    routed_values_[r->apply(value)].push_back(value);
                }
                out.clear();
                for (const auto& entry : routed_values_) {
                    out.push_back(entry.first);
                }
            }
        }
        return out;
    });
}

std::string PgOutboxStore::source_id() {
    return guarded("reading the database name", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        const std::string db = tx.exec("SELECT current_database()")[0][0].c_str();
        return db + "/" + cfg_.schema + "." + cfg_.table;
    });
}

std::optional<std::int64_t> PgOutboxStore::oldest_pending_created_ms() {
    const auto& c = cfg_.columns;
    return guarded(
        "reading the oldest pending row", [&](Session& s) -> std::optional<std::int64_t> {
            pqxx::nontransaction tx(*s.conn);
            // A row can reach Kafka no earlier than its last produce, which is
            // at or after next_attempt_at when set (a retry, or a requeue), else
            // at or after created_at.
            auto r =
                tx.exec("SELECT (extract(epoch FROM min(coalesce(" + quote_ident(c.next_attempt_at)
                        + ", " + quote_ident(c.created_at) + "))) * 1000)::bigint FROM "
                        + s.sql.qualified_table + " WHERE " + quote_ident(c.status) + " = 0");
            if (r.empty() || r[0][0].is_null()) {
                return std::nullopt;
            }
            return r[0][0].as<std::int64_t>();
        });
}

std::size_t PgOutboxStore::mark_found(const std::string& topic,
                                      const std::vector<std::int64_t>& ids,
                                      const std::vector<std::optional<std::string>>& keys,
                                      const std::vector<SentMark>& marks) {
    if (ids.empty()) {
        return 0;
    }
    const auto& c = cfg_.columns;
    std::vector<std::string> key_text;
    std::vector<std::string> key_null;
    for (const auto& k : keys) {
        key_text.push_back(k.value_or(""));
        key_null.emplace_back(k ? "f" : "t");
    }
    return guarded("marking rows found in Kafka", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        // Same id, same topic, same key: the message is this row, already
        // acknowledged by Kafka. Only then is the row marked sent (G1, G6).
        // With a route (postgres.route.by_column) the table holds the
        // values the topic was made from: those pending_topics() found for it.
        const std::string topic_match =
            cfg_.route.by_column.empty()
                ? "t." + quote_ident(c.topic) + "::text = $4"
                : "t." + quote_ident(cfg_.route.by_column) + "::text = ANY($4::text[])";
        const auto routed = routed_values_.find(topic);
        const std::string topic_param =
            cfg_.route.by_column.empty()
                ? topic
                : text_array_literal(routed != routed_values_.end() ? routed->second
                                                                    : std::vector<std::string>());
        const std::string match =
            " WHERE t." + quote_ident(c.id) + " = f.id AND t." + quote_ident(c.status) + " = 0 AND "
            + topic_match + " AND ((f.k_null AND t." + quote_ident(c.key)
            + " IS NULL) OR (NOT f.k_null AND t." + quote_ident(c.key) + "::text = f.k))";
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
                topic_param, parts, offsets);
            return r.affected_rows();
        }
        auto r = tx.exec_params("UPDATE " + s.sql.qualified_table + " AS t SET "
                                    + quote_ident(c.status) + " = 1, " + quote_ident(c.sent_at)
                                    + " = now() FROM unnest($1::bigint[], $2::text[], "
                                    + "$3::bool[]) AS f(id, k, k_null)" + match,
                                int_array_literal(ids), text_array_literal(key_text),
                                text_array_literal(key_null), topic_param);
        return r.affected_rows();
    });
}

} // namespace outboxd::store
