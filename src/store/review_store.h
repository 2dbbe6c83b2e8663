// The person's review of rows at 2 (parked), 4 (a consumer failed) and 5
// (closed by a person): list, count, read one row, requeue, close, and the
// action log (docs/console.md). The console's API (src/console) and the
// `failed` / `requeue` / `close` / `actions` commands use it; PgReviewStore
// is the PostgreSQL implementation, fakes stand in for it in unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace outboxd::store {

// Status 5: a person decided the row is not to be sent. The row is kept
// (retention deletes only rows at 1, or 3 with confirmation), the relay
// never reads it, and the action log says who closed it and why.
inline constexpr int kStatusClosed = 5;

// Which rows: every field set narrows the set. Empty statuses: 2 and 4.
struct ReviewFilter {
    std::vector<int> statuses;                 // each of 2, 4, 5
    std::optional<std::string> topic;          // exact
    std::optional<std::string> key;            // exact
    std::optional<std::string> reason;         // in last_error, ignoring case
    std::optional<std::string> consumer;       // last_error starts with "<consumer>: " (rows at 4)
    std::optional<std::int64_t> older_than_ms; // created_at at least this long ago
};

struct ReviewRow {
    std::int64_t id = 0;
    int status = 2;
    std::string topic;
    std::optional<std::string> key;
    std::int32_t attempts = 0;
    std::optional<std::string> last_error;
    std::int64_t created_at_ms = 0; // Unix milliseconds
    std::optional<std::int64_t> sent_at_ms;
    std::optional<std::int64_t> next_attempt_at_ms;
};

// A recorded action (`<table>_actions`).
struct ActionRecord {
    std::int64_t id = 0;
    std::int64_t at_ms = 0;
    std::string who;    // the token's name, or "cli:<user>"
    std::string action; // "requeue" or "close"
    std::string note;
    std::int64_t rows = 0;         // rows the action changed
    std::vector<std::int64_t> ids; // the rows it changed (at most kActionIdsShown in listings)
    std::optional<std::string> filter_json; // the filter, for an action by filter
};

// Ids an action record lists; `rows` still counts them all.
inline constexpr std::size_t kActionIdsShown = 100;

// Most ids one action by ids may name (docs/console.md); more is an
// std::invalid_argument from requeue() and close().
inline constexpr std::size_t kMaxActionIds = 10000;

// One row in full, for the row's page.
struct ReviewDetail {
    ReviewRow row;
    bool payload_null = true;
    std::string payload;            // at most the requested preview bytes
    std::int64_t payload_bytes = 0; // the whole payload's length
    // How the payload column stores it: "bytea", "text" (text, varchar) or
    // "json" (json, jsonb); text and json payloads come as their UTF-8 text,
    // which a preview may cut inside a character.
    std::string payload_type;
    std::optional<std::string> headers_json;
    // With consumer confirmation (else empty / nullopt).
    std::optional<std::int32_t> kafka_partition;
    std::optional<std::int64_t> kafka_offset;
    std::vector<std::string> confirmed_by;
    std::optional<std::int32_t> resends;
    // Actions that changed this row, newest first (at most 50).
    std::vector<ActionRecord> actions;
};

// An action by ids or by filter (exactly one of the two).
struct ActionRequest {
    std::string who;
    std::string note;
    std::optional<std::vector<std::int64_t>> ids;
    std::optional<ReviewFilter> filter;
    std::optional<std::string> filter_json; // recorded with a filter action
    // At most this many rows per action by filter (oldest first); the
    // result says when more matched.
    std::size_t max_rows = 100000;
};

struct ActionResult {
    std::size_t changed = 0;
    std::vector<std::int64_t> ids; // changed, ascending
    // The action's record; nullopt when nothing changed (nothing recorded).
    std::optional<std::int64_t> action_id;
    bool more = false; // a filter action stopped at max_rows
};

// Errors: StoreUnavailable (PostgreSQL unreachable), StoreMisconfigured (a
// missing table or column: `outboxd migrate`), StoreFailure, as
// store/outbox_store.h describes. A bad request (store/review_sql.h:
// review_filter_problem, action_request_problem; a status other than 2, 4,
// 5, more than kMaxActionIds ids, a close without a note...) is an
// std::invalid_argument with the problem as its text, thrown before
// anything is read.
class ReviewStore {
public:
    virtual ~ReviewStore() = default;

    // Newest first (id descending): rows with id < before_id when given.
    virtual std::vector<ReviewRow> review_rows(const ReviewFilter& filter,
                                               std::optional<std::int64_t> before_id,
                                               std::size_t limit) = 0;
    // How many rows the filter matches, counting at most `cap`.
    virtual std::int64_t review_count(const ReviewFilter& filter, std::int64_t cap) = 0;
    // Any status; nullopt when no row has that id.
    virtual std::optional<ReviewDetail> review_row(std::int64_t id, std::size_t payload_limit) = 0;

    // Rows at 2 (and 4 with confirmation on) back to 0, as `outboxd
    // requeue` does, and the action recorded, in one transaction. Rows at
    // any other status are left alone. Wakes the relay.
    virtual ActionResult requeue(const ActionRequest& request) = 0;
    // Rows at 2 (and 4 with confirmation on, as requeue) to 5, last_error
    // kept, the action (with its note) recorded, in one transaction.
    virtual ActionResult close(const ActionRequest& request) = 0;

    // Newest first: records with id < before_id when given.
    virtual std::vector<ActionRecord> actions(std::optional<std::int64_t> before_id,
                                              std::size_t limit) = 0;
};

} // namespace outboxd::store
