#include "store/review_sql.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace outboxd::store {
namespace {

// The outbox table's alias in every statement here: configured column
// names are always written o."name", so none can be taken for a select
// list's alias.
constexpr const char* kAlias = "o";

std::string col(const std::string& name) {
    return std::string(kAlias) + "." + quote_ident(name);
}

std::string ms_of(const std::string& column) {
    return "(extract(epoch FROM " + col(column) + ") * 1000)::bigint";
}

// $1..$5: the filter, each NULL for "any" (review_sql.h).
std::string filter_condition(const config::Postgres& pg) {
    const auto& c = pg.columns;
    const std::string err = col(c.last_error) + "::text";
    return "($1::text IS NULL OR " + col(c.topic) + "::text = $1::text) AND ($2::text IS NULL OR "
           + col(c.key) + "::text = $2::text) AND ($3::text IS NULL OR strpos(lower(" + err
           + "), lower($3::text)) > 0) AND ($4::text IS NULL OR starts_with(" + err
           + ", $4::text || ': ')) AND ($5::bigint IS NULL OR " + col(c.created_at)
           + " < now() - $5::bigint * interval '1 millisecond')";
}

// "(o.status = 2 OR o.status = 4)": an OR of equalities, not IN (...), so
// the planner matches each arm to its partial index (a BitmapOr); `status
// IN (2, 4)` implies neither index's predicate and would read the table.
std::string status_arms(const config::Postgres& pg, const std::vector<int>& statuses) {
    std::string out = "(";
    for (std::size_t i = 0; i < statuses.size(); ++i) {
        out +=
            (i == 0 ? "" : " OR ") + col(pg.columns.status) + " = " + std::to_string(statuses[i]);
    }
    return out + ")";
}

std::string statuses_allowed(const config::Postgres& pg) {
    return status_arms(pg, pg.confirming() ? std::vector<int>{2, 4} : std::vector<int>{2});
}

// The list's columns (ReviewRow), from alias o.
std::string row_columns(const config::Postgres& pg) {
    const auto& c = pg.columns;
    return col(c.id) + "::bigint AS r_id, " + col(c.status) + "::int, " + col(c.topic) + "::text, "
           + col(c.key) + "::text, " + col(c.attempts) + "::int, " + col(c.last_error) + "::text, "
           + ms_of(c.created_at) + ", " + ms_of(c.sent_at) + ", " + ms_of(c.next_attempt_at);
}

// What `outboxd requeue` has always done to a row (sql.cc,
// build_admin_statements: reset and forget): status 0, attempts 0,
// last_error NULL, next_attempt_at = now() (due at once, and the read-back
// does not start at the row's old created_at), and with confirmation its
// confirmations cleared. tests/unit/review_sql_test.cc pins it to the admin
// statement.
std::string requeue_assignments(const config::Postgres& pg) {
    const auto& c = pg.columns;
    std::string out = quote_ident(c.status) + " = 0, " + quote_ident(c.attempts) + " = 0, "
                      + quote_ident(c.last_error) + " = NULL, " + quote_ident(c.next_attempt_at)
                      + " = now()";
    if (pg.confirming()) {
        out += ", " + quote_ident(c.confirmed_by) + " = '{}', " + quote_ident(c.resends) + " = 0";
    }
    return out;
}

// The columns of an action record, as `actions` and `row_actions` return them.
std::string action_columns() {
    return "a.id, (extract(epoch FROM a.at) * 1000)::bigint, a.who, a.action, a.note, "
           "a.row_count, array_to_string(a.row_ids[1:"
           + std::to_string(kActionIdsShown) + "], ','), a.filter::text";
}

bool known_status(int s) {
    return s == 2 || s == 4 || s == kStatusClosed;
}

} // namespace

std::vector<int> listed_statuses(const ReviewFilter& filter) {
    std::vector<int> out = filter.statuses.empty() ? std::vector<int>{2, 4} : filter.statuses;
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<int> actionable_statuses(const config::Postgres& pg, const ReviewFilter& filter) {
    std::vector<int> out;
    for (const int s : listed_statuses(filter)) {
        if (s == 2 || (s == 4 && pg.confirming())) {
            out.push_back(s);
        }
    }
    return out;
}

std::string review_filter_problem(const ReviewFilter& filter) {
    for (const int s : filter.statuses) {
        if (!known_status(s)) {
            return "status " + std::to_string(s) + " is not one a person reviews (2, 4 or 5)";
        }
    }
    if (filter.older_than_ms && *filter.older_than_ms < 0) {
        return "older_than_ms must not be negative";
    }
    if (filter.reason && filter.reason->empty()) {
        return "reason must not be empty";
    }
    if (filter.consumer && filter.consumer->empty()) {
        return "consumer must not be empty";
    }
    return "";
}

std::string action_request_problem(const ActionRequest& request, bool close) {
    if (request.ids.has_value() == request.filter.has_value()) {
        return "give either ids or a filter";
    }
    if (request.ids) {
        if (request.ids->empty()) {
            return "no ids given";
        }
        if (request.ids->size() > kMaxActionIds) {
            return std::to_string(request.ids->size()) + " ids: at most "
                   + std::to_string(kMaxActionIds) + " per action";
        }
        for (const auto id : *request.ids) {
            if (id < 1) {
                return std::to_string(id) + " is not a row id (a whole number >= 1)";
            }
        }
    } else {
        if (auto p = review_filter_problem(*request.filter); !p.empty()) {
            return p;
        }
        if (request.max_rows == 0) {
            return "max_rows must be at least 1";
        }
    }
    if (request.who.empty()) {
        return "who must not be empty (the action log records it)";
    }
    if (close && request.note.empty()) {
        return "a close needs a note (the action log records why)";
    }
    return "";
}

std::string review_filter_json(const ReviewFilter& filter) {
    nlohmann::json j = nlohmann::json::object();
    j["status"] = listed_statuses(filter);
    if (filter.topic) {
        j["topic"] = *filter.topic;
    }
    if (filter.key) {
        j["key"] = *filter.key;
    }
    if (filter.reason) {
        j["reason"] = *filter.reason;
    }
    if (filter.consumer) {
        j["consumer"] = *filter.consumer;
    }
    if (filter.older_than_ms) {
        j["older_than_ms"] = *filter.older_than_ms;
    }
    // Bytes that are not UTF-8 (a key written by another tool) are replaced,
    // not thrown on: the record still says what was asked.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ReviewFilterStatements build_review_filter_statements(const config::Postgres& pg,
                                                      const ReviewFilter& filter) {
    const auto& c = pg.columns;
    const std::string t = qualified_table(pg) + " AS " + kAlias;
    const std::string id = col(c.id);
    const std::string where = filter_condition(pg);
    ReviewFilterStatements s;
    // One branch per status: `WHERE status = N ... ORDER BY id DESC LIMIT
    // $7` is a backward walk of <table>_failed / _consumer_failed / _closed
    // (their key is id, their predicate the branch's), which stops after $7
    // matches and starts below the cursor (`id < $6` becomes the scan's
    // bound once the parameters are known: statements here are planned with
    // their values, never as generic plans).
    std::string branches;
    std::string count_branches;
    for (const int st : listed_statuses(filter)) {
        const std::string cond = col(c.status) + " = " + std::to_string(st) + " AND " + where;
        branches += std::string(branches.empty() ? "" : " UNION ALL ") + "(SELECT "
                    + row_columns(pg) + " FROM " + t + " WHERE " + cond
                    + " AND ($6::bigint IS NULL OR " + id + " < $6::bigint) ORDER BY " + id
                    + " DESC LIMIT $7)";
        count_branches += std::string(count_branches.empty() ? "" : " UNION ALL ")
                          + "(SELECT 1 FROM " + t + " WHERE " + cond + " LIMIT $6)";
    }
    s.list = "SELECT * FROM (" + branches + ") r ORDER BY r_id DESC LIMIT $7";
    s.count = "SELECT count(*) FROM (SELECT 1 FROM (" + count_branches + ") u LIMIT $6) c";
    const auto actionable = actionable_statuses(pg, filter);
    if (actionable.empty()) {
        return s;
    }
    // The sub-select picks the oldest $6 matching rows and locks them in id
    // order (two actions never wait on each other in a cycle); a row another
    // action changed meanwhile is re-read and dropped when it no longer
    // matches, and the outer condition is checked again on the locked row,
    // so two concurrent actions change each row once in total. `id =
    // ANY(ARRAY(...))`, not `id IN (...)`: the picked ids become one index
    // probe each, however many rows wait at that status, where the planner
    // may turn IN into a hash join over the whole partial index (measured:
    // 100,000 of 500,000 parked rows closed in 0.77 s against 1.1 s).
    const std::string pick_cond = status_arms(pg, actionable) + " AND " + where;
    const std::string picked = " WHERE " + id + " = ANY(ARRAY(SELECT " + id + " FROM " + t
                               + " WHERE " + pick_cond + " ORDER BY " + id
                               + " LIMIT $6 FOR UPDATE)) AND ";
    const std::string recheck = status_arms(pg, actionable) + " AND " + where;
    s.requeue = "UPDATE " + t + " SET " + requeue_assignments(pg) + picked + recheck + " RETURNING "
                + id + "::bigint";
    s.close = "UPDATE " + t + " SET " + quote_ident(c.status) + " = "
              + std::to_string(kStatusClosed) + picked + recheck + " RETURNING " + id + "::bigint";
    s.more = "SELECT EXISTS (SELECT 1 FROM " + t + " WHERE " + pick_cond + ")";
    return s;
}

ReviewStatements build_review_statements(const config::Postgres& pg, PayloadType payload_type) {
    const auto& c = pg.columns;
    const std::string t = qualified_table(pg) + " AS " + kAlias;
    const std::string id = col(c.id);
    const std::string payload = col(c.payload);
    const auto admin = build_admin_statements(pg);
    ReviewStatements s;
    s.actions_table = actions_table(pg);
    s.lock_ids = admin.lock_ids;
    s.requeue_ids = admin.requeue_ids;
    s.close_ids = "UPDATE " + t + " SET " + quote_ident(c.status) + " = "
                  + std::to_string(kStatusClosed) + " WHERE " + id + " = ANY($1::bigint[]) AND "
                  + statuses_allowed(pg) + " RETURNING " + id + "::bigint";
    // The payload as the bytes the relay sends (sql.cc, build_statements).
    std::string bytes;
    switch (payload_type) {
    case PayloadType::kBytea:
        bytes = payload;
        break;
    case PayloadType::kText:
        bytes = "convert_to(" + payload + ", 'UTF8')";
        break;
    case PayloadType::kJson:
        bytes = "convert_to(" + payload + "::text, 'UTF8')";
        break;
    }
    // substring of a bytea column reads only the first slices of a value
    // stored out of line uncompressed; octet_length reads its length from
    // the TOAST pointer.
    s.row = "SELECT " + row_columns(pg) + ", " + payload + " IS NULL, substring(" + bytes
            + " FROM 1 FOR $2::int), octet_length(" + bytes + ")::bigint, " + col(c.headers)
            + "::text";
    if (pg.confirming()) {
        s.row += ", " + col(c.kafka_partition) + "::int, " + col(c.kafka_offset)
                 + "::bigint, array_to_string(" + col(c.confirmed_by) + ", ','), " + col(c.resends)
                 + "::int";
    }
    s.row += " FROM " + t + " WHERE " + id + " = $1::bigint";
    s.insert_action = "INSERT INTO " + s.actions_table
                      + " (who, action, note, row_count, row_ids, filter) VALUES ($1::text, "
                        "$2::text, $3::text, $4::int, $5::bigint[], $6::jsonb) RETURNING id";
    s.actions = "SELECT " + action_columns() + " FROM " + s.actions_table
                + " AS a WHERE ($1::bigint IS NULL OR a.id < $1::bigint) ORDER BY a.id DESC "
                  "LIMIT $2";
    // No GIN index on row_ids: the action log is small (one record per
    // person's action), so this reads it; see migration_statements.
    s.row_actions = "SELECT " + action_columns() + " FROM " + s.actions_table
                    + " AS a WHERE a.row_ids @> ARRAY[$1::bigint] ORDER BY a.id DESC LIMIT "
                    + std::to_string(kRowActionsShown);
    s.probe_table = "SELECT " + row_columns(pg) + ", " + payload + " IS NULL, " + col(c.headers)
                    + "::text"
                    + (pg.confirming() ? ", " + col(c.kafka_partition) + ", " + col(c.kafka_offset)
                                             + ", " + col(c.confirmed_by) + ", " + col(c.resends)
                                       : std::string())
                    + " FROM " + t + " LIMIT 0";
    s.probe_actions = "SELECT id, at, who, action, note, row_count, row_ids, filter FROM "
                      + s.actions_table + " LIMIT 0";
    return s;
}

} // namespace outboxd::store
