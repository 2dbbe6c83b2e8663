// The person's review on PostgreSQL (store/review_store.h, docs/console.md):
// list, count and read rows at 2, 4 and 5, requeue and close them, and the
// action log `<table>_actions` (store/review_sql.h builds every statement).
//
// One libpqxx session of its own, opened on the first call with the link
// bound of store/pg_session.h and `statement_timeout = 5s`, so that no
// console query or action holds row locks for long. Errors as
// PgOutboxStore's: StoreUnavailable for an outage (a statement_timeout
// included), StoreMisconfigured for a missing table, column or action log
// (with what to run: `outboxd migrate`), StoreFailure for anything else
// (a missing INSERT grant on the action log among them); any error closes
// the session, and the next call opens it again. A bad request
// (action_request_problem, review_filter_problem) throws
// std::invalid_argument with the problem, before anything is read.
// Each action is one transaction: the rows' UPDATE ... RETURNING, the
// action record when a row changed, the relay's wake-up for a requeue.
// One thread only.
#pragma once

#include "config/config.h"
#include "store/review_store.h"

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace outboxd::store {

class PgReviewStore final : public ReviewStore {
public:
    // `application` names the session in pg_stat_activity.
    explicit PgReviewStore(config::Postgres cfg, std::string application = "outboxd-console");
    ~PgReviewStore() override;
    PgReviewStore(const PgReviewStore&) = delete;
    PgReviewStore& operator=(const PgReviewStore&) = delete;

    std::vector<ReviewRow> review_rows(const ReviewFilter& filter,
                                       std::optional<std::int64_t> before_id,
                                       std::size_t limit) override;
    std::int64_t review_count(const ReviewFilter& filter, std::int64_t cap) override;
    std::optional<ReviewDetail> review_row(std::int64_t id, std::size_t payload_limit) override;
    ActionResult requeue(const ActionRequest& request) override;
    ActionResult close(const ActionRequest& request) override;
    std::vector<ActionRecord> actions(std::optional<std::int64_t> before_id,
                                      std::size_t limit) override;

    // `outboxd requeue --id` and `outboxd close --id`: requeue() / close()
    // of request.ids (an action by ids), and in `found` the status each
    // named row had once locked, before the change (a row that does not
    // exist is not in it), for the command's report. With include_sent a
    // requeue also takes the named rows at 1 (their sent_at cleared: they
    // are sent again), as `outboxd requeue --include-sent` always did.
    ActionResult requeue_ids(const ActionRequest& request,
                             bool include_sent,
                             std::map<std::int64_t, int>* found);
    ActionResult close_ids(const ActionRequest& request, std::map<std::int64_t, int>* found);

    // Closes the session (the next call opens it again).
    void disconnect();

private:
    struct Session;
    Session& session();
    [[noreturn]] void fail(const std::string& what, const std::exception& e);
    ActionResult act(const ActionRequest& request,
                     bool close,
                     bool include_sent,
                     std::map<std::int64_t, int>* found);

    // The one error path, as PgOutboxStore::guarded: session() (its own
    // errors pass through), then body(session); whatever body throws goes
    // to fail(what, e).
    template <typename F>
    auto guarded(const char* what, F&& body) {
        auto& s = session();
        try {
            return std::forward<F>(body)(s);
        } catch (const std::exception& e) {
            fail(what, e);
        }
    }

    config::Postgres cfg_;
    std::string application_;
    std::unique_ptr<Session> session_;
};

} // namespace outboxd::store
