// SQL text of the person's review (store/review_store.h, docs/console.md):
// the list, count and detail of rows at 2, 4 and 5, requeue and close, and
// the action log `<table>_actions`. Built from configured (quoted)
// identifiers; every value is a $n parameter. Pure string building, so it is
// unit-tested without a database (tests/unit/review_sql_test.cc). Any thread.
#pragma once

#include "config/config.h"
#include "store/review_store.h"
#include "store/sql.h"

#include <cstdint>
#include <string>
#include <vector>

namespace outboxd::store {

// Ids an action record lists with each row's actions (review_row).
inline constexpr std::size_t kRowActionsShown = 50;

// The statuses a filter lists: its own, sorted, without duplicates; 2 and 4
// when it names none.
std::vector<int> listed_statuses(const ReviewFilter& filter);

// The statuses an action may change among those the filter names: 2, and 4
// with consumer confirmation on (as `outboxd requeue` always had it). Empty:
// the filter names only statuses no action touches (5, or 4 without
// confirmation).
std::vector<int> actionable_statuses(const config::Postgres& pg, const ReviewFilter& filter);

// What is wrong with a filter ("" for nothing): a status other than 2, 4,
// 5; a negative older_than_ms; an empty reason or consumer (which would
// match every row).
std::string review_filter_problem(const ReviewFilter& filter);

// What is wrong with an action request ("" for nothing): not exactly one of
// ids and filter; no ids, more than kMaxActionIds, an id below 1; the
// filter's problem; max_rows 0; no `who`; a close without a note.
std::string action_request_problem(const ActionRequest& request, bool close);

// The filter as a JSON object with the list's names (docs/console.md):
// {"status": [2, 4], "topic": "...", ...}, recorded with an action by filter
// when the caller gives no filter_json of its own.
std::string review_filter_json(const ReviewFilter& filter);

// Statements whose text depends on the statuses (each status its own branch
// or arm, so each walks its partial index `(id) WHERE status = N`). Every one
// takes the filter as its first five parameters, NULL for "any":
//   $1 topic (text, exact), $2 key (text, exact), $3 reason (text: in
//   last_error, ignoring case), $4 consumer (text: last_error starts with
//   "<consumer>: "), $5 older_than_ms (bigint: created_at before now() - $5).
struct ReviewFilterStatements {
    // $6 before_id (bigint, NULL: from the newest), $7 limit: newest first.
    // Columns: id, status, topic, key, attempts, last_error, created_at_ms,
    // sent_at_ms, next_attempt_at_ms. A UNION ALL of one branch per status,
    // each `ORDER BY id DESC LIMIT $7` (a backward walk of its partial index
    // that stops after $7 matches), merged and cut to $7.
    std::string list;
    // $6 cap: how many rows match, counting at most $6.
    std::string count;
    // $6 max_rows: the oldest $6 matching rows at an actionable status,
    // locked in id order, back to 0 as `outboxd requeue` does; RETURNING id.
    // Empty when no status is actionable.
    std::string requeue;
    // $6 max_rows: the same rows to 5, last_error kept; RETURNING id.
    std::string close;
    // Whether any row at an actionable status still matches (after an
    // action: more than max_rows matched).
    std::string more;
};

ReviewFilterStatements build_review_filter_statements(const config::Postgres& pg,
                                                      const ReviewFilter& filter);

// The statements that do not depend on the filter.
struct ReviewStatements {
    std::string actions_table; // "schema"."<table>_actions"
    // $1 ids: locks the named rows in id order and reads their status (the
    // admin statement `outboxd requeue --id` has always used).
    std::string lock_ids;
    // $1 ids, $2 include_sent: the named rows at an actionable status (and
    // at 1 when $2) back to 0; RETURNING id. The admin statement itself.
    std::string requeue_ids;
    // $1 ids: the named rows at an actionable status to 5; RETURNING id.
    std::string close_ids;
    // $1 id, $2 preview bytes: the row's columns as in the list, then
    // payload IS NULL, the first $2 bytes of the payload as bytea (bytea as
    // it is, text and json(b) as their UTF-8 text, as the relay sends it),
    // its length in bytes, headers::text; with confirmation on also
    // kafka_partition, kafka_offset, confirmed_by (joined by ','), resends.
    std::string row;
    // $1 who, $2 action, $3 note, $4 row_count, $5 row_ids (bigint[] as
    // text), $6 filter (jsonb as text, NULL for an action by ids); RETURNING id.
    std::string insert_action;
    // $1 before_id (NULL: from the newest), $2 limit: newest first. Columns:
    // id, at_ms, who, action, note, row_count, the first kActionIdsShown
    // row_ids (joined by ','), filter::text.
    std::string actions;
    // $1 row id: the actions whose row_ids hold it, newest first, at most
    // kRowActionsShown; the columns of `actions`.
    std::string row_actions;
    // Reads every column the statements above name (LIMIT 0), so a missing
    // one is reported when the session opens, not at the first action.
    std::string probe_table;
    std::string probe_actions;
};

ReviewStatements build_review_statements(const config::Postgres& pg, PayloadType payload_type);

} // namespace outboxd::store
