#include "store/pg_review_store.h"

#include "store/pg_internal.h"
#include "store/pg_session.h"
#include "store/review_sql.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace outboxd::store {

struct PgReviewStore::Session {
    std::unique_ptr<pqxx::connection> conn;
    ReviewStatements sql;
    PayloadType payload_type = PayloadType::kBytea;
};

namespace {

// A console query or action never runs (and holds its row locks) longer
// than this; past it PostgreSQL cancels it (57014: StoreUnavailable).
constexpr const char* kStatementTimeout = "SET statement_timeout = '5s'";

// Statement parameters that may be NULL, in order ($1, $2, ...).
class Params {
public:
    void add(std::optional<std::string> v) { values_.push_back(std::move(v)); }
    void add(std::int64_t v) { values_.emplace_back(std::to_string(v)); }
    void add(const std::optional<std::int64_t>& v) {
        values_.push_back(v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt);
    }
    // Pointers into this object (nullptr: NULL), for make_dynamic_params.
    std::vector<const char*> pointers() const {
        std::vector<const char*> out;
        out.reserve(values_.size());
        for (const auto& v : values_) {
            out.push_back(v ? v->c_str() : nullptr);
        }
        return out;
    }

private:
    std::vector<std::optional<std::string>> values_;
};

// $1..$5 of every filter statement (review_sql.h).
Params filter_params(const ReviewFilter& f) {
    Params p;
    p.add(f.topic);
    p.add(f.key);
    p.add(f.reason);
    p.add(f.consumer);
    p.add(f.older_than_ms);
    return p;
}

pqxx::result exec(pqxx::transaction_base& tx, const std::string& sql, const Params& p) {
    const auto ptrs = p.pointers();
    return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(ptrs));
}

std::string text_of(const pqxx::field& f) {
    return {f.c_str(), f.size()};
}

std::optional<std::string> opt_text(const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<std::string>(text_of(f));
}

template <typename T>
std::optional<T> opt(const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<T>(f.as<T>());
}

// The list's nine columns (review_sql.h), from column 0.
ReviewRow review_row_of(const pqxx::row& f) {
    ReviewRow r;
    r.id = f[0].as<std::int64_t>();
    r.status = f[1].as<int>();
    r.topic = text_of(f[2]);
    r.key = opt_text(f[3]);
    r.attempts = f[4].as<std::int32_t>();
    r.last_error = opt_text(f[5]);
    r.created_at_ms = f[6].is_null() ? 0 : f[6].as<std::int64_t>();
    r.sent_at_ms = opt<std::int64_t>(f[7]);
    r.next_attempt_at_ms = opt<std::int64_t>(f[8]);
    return r;
}

// "1,2,3" (array_to_string of bigints) as numbers.
std::vector<std::int64_t> ids_of(const pqxx::field& f) {
    std::vector<std::int64_t> out;
    for (const auto& part : comma_parts(f)) {
        out.push_back(std::stoll(part));
    }
    return out;
}

ActionRecord action_of(const pqxx::row& f) {
    ActionRecord a;
    a.id = f[0].as<std::int64_t>();
    a.at_ms = f[1].as<std::int64_t>();
    a.who = text_of(f[2]);
    a.action = text_of(f[3]);
    a.note = text_of(f[4]);
    a.rows = f[5].as<std::int64_t>();
    a.ids = ids_of(f[6]);
    a.filter_json = opt_text(f[7]);
    return a;
}

const char* payload_type_name(PayloadType t) {
    switch (t) {
    case PayloadType::kBytea:
        return "bytea";
    case PayloadType::kText:
        return "text";
    case PayloadType::kJson:
        return "json";
    }
    return "bytea";
}

std::int64_t clamp64(std::size_t n) {
    return static_cast<std::int64_t>(std::min<std::size_t>(n, INT64_MAX));
}

} // namespace

PgReviewStore::PgReviewStore(config::Postgres cfg, std::string application)
    : cfg_(std::move(cfg))
    , application_(std::move(application)) {}

PgReviewStore::~PgReviewStore() = default;

void PgReviewStore::disconnect() {
    session_.reset();
}

PgReviewStore::Session& PgReviewStore::session() {
    if (session_) {
        return *session_;
    }
    auto s = std::make_unique<Session>();
    try {
        s->conn = std::make_unique<pqxx::connection>(
            session_dsn(cfg_.dsn, application_, cfg_.session_timeout));
        watch_session(*s->conn, cfg_.session_timeout);
        pqxx::nontransaction tx(*s->conn);
        tx.exec(kStatementTimeout);
    } catch (const std::exception& e) {
        throw_connect_failure(e);
    }
    const std::string table = qualified_table(cfg_);
    const std::string log = actions_table(cfg_);
    try {
        pqxx::nontransaction tx(*s->conn);
        const auto r = tx.exec_params(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
            " WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped",
            table, cfg_.columns.payload);
        if (r.empty()) {
            if (!tx.exec_params("SELECT to_regclass($1) IS NOT NULL", table)[0][0].as<bool>()) {
                throw StoreMisconfigured("table " + table
                                         + " does not exist (create it with `outboxd migrate`)");
            }
            throw StoreMisconfigured("table " + table + " has no column \"" + cfg_.columns.payload
                                     + "\" (postgres.columns.payload)");
        }
        s->payload_type = payload_type_of(r[0][0].as<std::string>(), cfg_.columns.payload);
        if (!tx.exec_params("SELECT to_regclass($1) IS NOT NULL", log)[0][0].as<bool>()) {
            throw StoreMisconfigured(
                "the action log " + log + " of table " + table
                + " does not exist: run `outboxd migrate` with this config (as the table's "
                  "owner) to create it, and grant the role outboxd logs in as SELECT, INSERT on "
                  "it and USAGE on its id sequence (docs/security.md)");
        }
        s->sql = build_review_statements(cfg_, s->payload_type);
        // Every column the statements name, now: a missing one (or a
        // missing SELECT grant) is reported with its name when the session
        // opens, not at a person's first action.
        tx.exec(s->sql.probe_table);
        tx.exec(s->sql.probe_actions);
    } catch (const StoreMisconfigured&) {
        throw;
    } catch (const pqxx::broken_connection& e) {
        throw StoreUnavailable(std::string("connecting to PostgreSQL: ") + e.what());
    } catch (const pqxx::sql_error& e) {
        throw_session_failure("checking the outbox table and its action log", e);
    }
    session_ = std::move(s);
    return *session_;
}

void PgReviewStore::fail(const std::string& what, const std::exception& e) {
    // A fresh session is the only state to reason about after any error.
    session_.reset();
    if (const auto why = not_an_outage(e)) {
        throw StoreFailure(what + ": " + e.what() + " (" + *why + "): not an outage, not retried");
    }
    throw StoreUnavailable(what + ": " + e.what());
}

std::vector<ReviewRow> PgReviewStore::review_rows(const ReviewFilter& filter,
                                                  std::optional<std::int64_t> before_id,
                                                  std::size_t limit) {
    if (const auto p = review_filter_problem(filter); !p.empty()) {
        throw std::invalid_argument(p);
    }
    if (limit == 0) {
        return {};
    }
    const auto sql = build_review_filter_statements(cfg_, filter).list;
    auto params = filter_params(filter);
    params.add(before_id);
    params.add(clamp64(limit));
    return guarded("listing rows for review", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        const auto r = exec(tx, sql, params);
        std::vector<ReviewRow> out;
        out.reserve(r.size());
        for (const auto& row : r) {
            out.push_back(review_row_of(row));
        }
        return out;
    });
}

std::int64_t PgReviewStore::review_count(const ReviewFilter& filter, std::int64_t cap) {
    if (const auto p = review_filter_problem(filter); !p.empty()) {
        throw std::invalid_argument(p);
    }
    if (cap <= 0) {
        return 0;
    }
    const auto sql = build_review_filter_statements(cfg_, filter).count;
    auto params = filter_params(filter);
    params.add(cap);
    return guarded("counting rows for review", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        return exec(tx, sql, params)[0][0].as<std::int64_t>();
    });
}

std::optional<ReviewDetail> PgReviewStore::review_row(std::int64_t id, std::size_t payload_limit) {
    const auto preview = static_cast<std::int64_t>(std::min<std::size_t>(payload_limit, INT_MAX));
    return guarded("reading a row", [&](Session& s) -> std::optional<ReviewDetail> {
        pqxx::nontransaction tx(*s.conn);
        const auto r = tx.exec_params(s.sql.row, id, preview);
        if (r.empty()) {
            return std::nullopt;
        }
        const auto& f = r[0];
        ReviewDetail d;
        d.row = review_row_of(f);
        d.payload_null = f[9].as<bool>();
        if (!d.payload_null) {
            d.payload = pqxx::binarystring(f[10]).str();
            d.payload_bytes = f[11].as<std::int64_t>();
        }
        d.payload_type = payload_type_name(s.payload_type);
        d.headers_json = opt_text(f[12]);
        if (cfg_.confirming()) {
            d.kafka_partition = opt<std::int32_t>(f[13]);
            d.kafka_offset = opt<std::int64_t>(f[14]);
            d.confirmed_by = comma_parts(f[15]);
            d.resends = opt<std::int32_t>(f[16]);
        }
        for (const auto& a : tx.exec_params(s.sql.row_actions, id)) {
            d.actions.push_back(action_of(a));
        }
        return d;
    });
}

ActionResult PgReviewStore::requeue(const ActionRequest& request) {
    return act(request, false, false, nullptr);
}

ActionResult PgReviewStore::close(const ActionRequest& request) {
    return act(request, true, false, nullptr);
}

ActionResult PgReviewStore::requeue_ids(const ActionRequest& request,
                                        bool include_sent,
                                        std::map<std::int64_t, int>* found) {
    if (!request.ids) {
        throw std::invalid_argument("requeue_ids needs ids");
    }
    return act(request, false, include_sent, found);
}

ActionResult PgReviewStore::close_ids(const ActionRequest& request,
                                      std::map<std::int64_t, int>* found) {
    if (!request.ids) {
        throw std::invalid_argument("close_ids needs ids");
    }
    return act(request, true, false, found);
}

ActionResult PgReviewStore::act(const ActionRequest& request,
                                bool close,
                                bool include_sent,
                                std::map<std::int64_t, int>* found) {
    if (const auto p = action_request_problem(request, close); !p.empty()) {
        throw std::invalid_argument(p);
    }
    const char* verb = close ? "close" : "requeue";
    std::string statement;
    Params params;
    std::string more_sql;
    Params more_params;
    std::optional<std::string> filter_json;
    if (request.filter) {
        auto fs = build_review_filter_statements(cfg_, *request.filter);
        statement = close ? fs.close : fs.requeue;
        if (statement.empty()) {
            return {}; // the filter names no status an action changes
        }
        params = filter_params(*request.filter);
        more_params = params;
        params.add(clamp64(request.max_rows));
        more_sql = std::move(fs.more);
        filter_json =
            request.filter_json ? *request.filter_json : review_filter_json(*request.filter);
    }
    return guarded(close ? "closing rows" : "requeuing rows", [&](Session& s) {
        ActionResult res;
        pqxx::work tx(*s.conn);
        pqxx::result changed;
        if (request.ids) {
            const std::string ids = int_array_literal(*request.ids);
            // In id order, as every action locks: the statuses read here stay
            // true until the UPDATE below (the relay may mark rows meanwhile).
            const auto locked = tx.exec_params(s.sql.lock_ids, ids);
            if (found != nullptr) {
                found->clear();
                for (const auto& f : locked) {
                    (*found)[f[0].as<std::int64_t>()] = f[1].as<int>();
                }
            }
            changed = close ? tx.exec_params(s.sql.close_ids, ids)
                            : tx.exec_params(s.sql.requeue_ids, ids, include_sent);
        } else {
            changed = exec(tx, statement, params);
            // Fewer than max_rows changed: the pick took every matching row.
            res.more = changed.size() >= request.max_rows
                       && exec(tx, more_sql, more_params)[0][0].as<bool>();
        }
        res.ids.reserve(changed.size());
        for (const auto& f : changed) {
            res.ids.push_back(f[0].as<std::int64_t>());
        }
        std::sort(res.ids.begin(), res.ids.end());
        res.changed = res.ids.size();
        if (res.changed > 0) {
            Params rec;
            rec.add(request.who);
            rec.add(std::string(verb));
            rec.add(request.note);
            rec.add(static_cast<std::int64_t>(res.changed));
            rec.add(int_array_literal(res.ids));
            rec.add(filter_json);
            res.action_id = exec(tx, s.sql.insert_action, rec)[0][0].as<std::int64_t>();
            if (!close) {
                notify_relay(tx, cfg_.notify_channel);
            }
        }
        tx.commit();
        return res;
    });
}

std::vector<ActionRecord> PgReviewStore::actions(std::optional<std::int64_t> before_id,
                                                 std::size_t limit) {
    if (limit == 0) {
        return {};
    }
    Params params;
    params.add(before_id);
    params.add(clamp64(limit));
    return guarded("listing the action log", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        const auto r = exec(tx, s.sql.actions, params);
        std::vector<ActionRecord> out;
        out.reserve(r.size());
        for (const auto& f : r) {
            out.push_back(action_of(f));
        }
        return out;
    });
}

} // namespace outboxd::store
