#include "cli/review.h"

#include "cli/commands.h"
#include "cli/output.h"
#include "common/duration.h"
#include "common/iso_time.h"
#include "common/parse_int.h"
#include "store/pg_review_store.h"
#include "store/review_sql.h"

#include <iostream>
#include <map>
#include <set>

#include <pwd.h>
#include <unistd.h>

namespace outboxd::cli {
namespace {

// Ids a requeue or close by filter prints; the rest are in the action log.
constexpr std::size_t kIdsShown = 20;

// The review session's name in pg_stat_activity, as the other admin
// commands' sessions.
constexpr const char* kApplication = "outboxd";

// What `failed` lists without --status: the rows a person has to decide
// on, as before the console: 2, and 4 while consumers can fail rows.
std::vector<int> default_statuses(const config::Config& cfg) {
    return cfg.confirm.enabled() ? std::vector<int>{2, 4} : std::vector<int>{2};
}

store::ReviewFilter filter_of(const config::Config& cfg, const ReviewArgs& a) {
    store::ReviewFilter f;
    f.statuses = a.statuses.empty() ? default_statuses(cfg) : a.statuses;
    f.topic = a.topic;
    f.key = a.key;
    f.reason = a.reason;
    f.consumer = a.consumer;
    if (a.older_than) {
        f.older_than_ms = parse_duration_ms(*a.older_than); // checked at parse time
    }
    return f;
}

// "status 2", "status 2 or 4", "status 2, 4 or 5".
std::string statuses_text(const std::vector<int>& statuses) {
    std::string out = "status ";
    for (std::size_t i = 0; i < statuses.size(); ++i) {
        if (i > 0) {
            out += i + 1 == statuses.size() ? " or " : ", ";
        }
        out += std::to_string(statuses[i]);
    }
    return out;
}

// "\"public\".\"outbox\" for topic t, key k, ...": the table and what
// narrowed the rows.
std::string scope_text(const config::Config& cfg, const ReviewArgs& a) {
    std::vector<std::string> parts;
    if (a.topic) {
        parts.push_back("topic " + *a.topic);
    }
    if (a.key) {
        parts.push_back("key " + *a.key);
    }
    if (a.reason) {
        parts.push_back("last_error containing \"" + *a.reason + "\"");
    }
    if (a.consumer) {
        parts.push_back("consumer " + *a.consumer);
    }
    if (a.older_than) {
        parts.push_back("created more than " + *a.older_than + " ago");
    }
    std::string out = table_name(cfg);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        out += (i == 0 ? " for " : ", ") + parts[i];
    }
    return out;
}

std::string status_label(int status) {
    switch (status) {
    case 2:
        return "2 failed";
    case 4:
        return "4 consumer failed";
    case store::kStatusClosed:
        return "5 closed";
    default:
        return std::to_string(status);
    }
}

Json opt_json(const std::optional<std::string>& v) {
    return v ? Json(*v) : Json(nullptr);
}

Json time_json(const std::optional<std::int64_t>& ms) {
    return ms ? Json(iso8601_utc(*ms)) : Json(nullptr);
}

std::string plural(std::size_t n, const std::string& what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

void print_ids(const std::string& verb,
               const std::string& what,
               const std::vector<std::int64_t>& ids) {
    if (ids.empty()) {
        return;
    }
    std::cout << "not " << verb << ", " << what << ":";
    for (const auto id : ids) {
        std::cout << " " << id;
    }
    std::cout << "\n";
}

void print_recorded(const std::vector<std::int64_t>& action_ids, const std::string& who) {
    if (action_ids.empty()) {
        return;
    }
    std::cout << "recorded as action" << (action_ids.size() == 1 ? " " : "s ");
    for (std::size_t i = 0; i < action_ids.size(); ++i) {
        std::cout << (i == 0 ? "" : ", ") << action_ids[i];
    }
    std::cout << " by " << who << " (list with `outboxd actions`)\n";
}

// Requeue or close by filter: batches of at most ActionRequest::max_rows
// rows (oldest first), each its own transaction and action record, until
// no row matches. A batch that starts at or below the last one's ids (rows
// parked again meanwhile) is the last, so the command always ends.
int act_by_filter(const config::Config& cfg, const ReviewArgs& a, bool close) {
    const char* command = close ? "close" : "requeue";
    const auto filter = filter_of(cfg, a);
    const auto actionable = store::actionable_statuses(cfg.postgres, filter);
    const std::string past = close ? "closed" : "requeued";
    if (actionable.empty()) {
        std::cout << past << " 0 rows: rows at " << statuses_text(filter.statuses) << " are not "
                  << past << " (only 2, and 4 while confirm.consumers is set)\n";
        return kExitOk;
    }
    store::PgReviewStore st(cfg.postgres, kApplication);
    store::ActionRequest req;
    req.who = cli_who();
    req.note = a.note;
    req.filter = filter;
    std::vector<std::int64_t> ids;
    std::vector<std::int64_t> actions;
    int rc = kExitOk;
    try {
        for (;;) {
            const auto res = close ? st.close(req) : st.requeue(req);
            const bool onward = ids.empty() || (!res.ids.empty() && res.ids.front() > ids.back());
            ids.insert(ids.end(), res.ids.begin(), res.ids.end());
            if (res.action_id) {
                actions.push_back(*res.action_id);
            }
            if (!res.more || !onward) {
                break;
            }
        }
    } catch (const std::exception& e) {
        rc = store_error(command, e); // the batches before it are done and recorded
    }
    std::cout << past << " " << plural(ids.size(), "row") << " from " << statuses_text(actionable)
              << " to " << (close ? "5 (last_error kept)" : "0 (attempts reset)") << " in "
              << scope_text(cfg, a) << "\n";
    if (!ids.empty()) {
        std::cout << "ids: " << id_list(ids, kIdsShown) << "\n";
    }
    print_recorded(actions, req.who);
    return rc;
}

// The named rows left alone, by the status they had (requeue_ids, close_ids).
struct LeftAlone {
    std::vector<std::int64_t> not_found;
    std::map<int, std::vector<std::int64_t>> by_status;
};

LeftAlone left_alone(const std::vector<std::int64_t>& asked,
                     const std::vector<std::int64_t>& changed,
                     const std::map<std::int64_t, int>& found) {
    const std::set<std::int64_t> done(changed.begin(), changed.end());
    LeftAlone out;
    for (const auto id : asked) {
        if (done.count(id) > 0) {
            continue;
        }
        const auto it = found.find(id);
        if (it == found.end()) {
            out.not_found.push_back(id);
        } else {
            out.by_status[it->second].push_back(id);
        }
    }
    return out;
}

std::vector<std::int64_t> take(LeftAlone& left, int status) {
    auto it = left.by_status.find(status);
    if (it == left.by_status.end()) {
        return {};
    }
    auto ids = std::move(it->second);
    left.by_status.erase(it);
    return ids;
}

std::vector<std::int64_t> rest(const LeftAlone& left) {
    std::vector<std::int64_t> out;
    for (const auto& [status, ids] : left.by_status) {
        out.insert(out.end(), ids.begin(), ids.end());
    }
    return out;
}

int requeue_by_ids(const config::Config& cfg, const ReviewArgs& a) {
    store::PgReviewStore st(cfg.postgres, kApplication);
    store::ActionRequest req;
    req.who = cli_who();
    req.note = a.note;
    req.ids = a.ids;
    std::map<std::int64_t, int> found;
    store::ActionResult res;
    try {
        res = st.requeue_ids(req, a.include_sent, &found);
    } catch (const std::exception& e) {
        return store_error("requeue", e);
    }
    auto left = left_alone(a.ids, res.ids, found);
    std::cout << "requeued " << res.changed << " of " << plural(a.ids.size(), "row")
              << " to status 0 (attempts reset) in " << table_name(cfg) << "\n";
    const auto pending = take(left, 0);
    const auto sent = take(left, 1);
    const auto closed = take(left, store::kStatusClosed);
    const auto other = rest(left);
    print_ids("requeued", "not found", left.not_found);
    print_ids("requeued", "already pending (status 0)", pending);
    print_ids("requeued", "already sent (status 1; add --include-sent to send them again)", sent);
    print_ids("requeued", "closed by a person (status 5; see `outboxd actions`)", closed);
    print_ids("requeued",
              cfg.confirm.enabled() ? "consumed (status 3) or a status outboxd never writes"
                                    : "status other than 0, 1, 2, 5",
              other);
    print_recorded(res.action_id ? std::vector<std::int64_t>{*res.action_id}
                                 : std::vector<std::int64_t>{},
                   req.who);
    // Success means: every requested row is now pending.
    const bool all_pending =
        left.not_found.empty() && sent.empty() && closed.empty() && other.empty();
    return all_pending ? kExitOk : kExitFailure;
}

int close_by_ids(const config::Config& cfg, const ReviewArgs& a) {
    store::PgReviewStore st(cfg.postgres, kApplication);
    store::ActionRequest req;
    req.who = cli_who();
    req.note = a.note;
    req.ids = a.ids;
    std::map<std::int64_t, int> found;
    store::ActionResult res;
    try {
        res = st.close_ids(req, &found);
    } catch (const std::exception& e) {
        return store_error("close", e);
    }
    auto left = left_alone(a.ids, res.ids, found);
    std::cout << "closed " << res.changed << " of " << plural(a.ids.size(), "row")
              << " to status 5 (last_error kept) in " << table_name(cfg) << "\n";
    const auto closed = take(left, store::kStatusClosed);
    const auto pending = take(left, 0);
    const auto sent = take(left, 1);
    const auto other = rest(left);
    print_ids("closed", "not found", left.not_found);
    print_ids("closed", "already closed (status 5)", closed);
    print_ids("closed", "pending (status 0: the relay's)", pending);
    print_ids("closed", "sent (status 1)", sent);
    print_ids("closed",
              cfg.confirm.enabled()
                  ? "consumed (status 3) or a status outboxd never writes"
                  : "status 3, 4 (closed only while confirm.consumers is set) or one outboxd "
                    "never writes",
              other);
    print_recorded(res.action_id ? std::vector<std::int64_t>{*res.action_id}
                                 : std::vector<std::int64_t>{},
                   req.who);
    // Success means: every requested row is now closed.
    const bool all_closed =
        left.not_found.empty() && pending.empty() && sent.empty() && other.empty();
    return all_closed ? kExitOk : kExitFailure;
}

std::string
check_status(const std::string& text, const std::vector<int>& allowed, const std::string& what) {
    const auto v = to_int64(text);
    for (const int s : allowed) {
        if (v && *v == s) {
            return "";
        }
    }
    if (v && *v == store::kStatusClosed) {
        return "rows at 5 (closed by a person) are never requeued or closed again";
    }
    return "\"" + text + "\" is not " + what;
}

} // namespace

bool ReviewArgs::filtered() const {
    return !statuses.empty() || topic || key || reason || consumer || older_than;
}

std::string cli_who() {
    const uid_t uid = ::geteuid();
    const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr
        && found->pw_name != nullptr && *found->pw_name != '\0') {
        return std::string("cli:") + found->pw_name;
    }
    return "cli:uid-" + std::to_string(uid);
}

std::string check_listed_status(const std::string& text) {
    return check_status(text, {2, 4, store::kStatusClosed}, "a status to list (2, 4 or 5)");
}

std::string check_action_status(const std::string& text) {
    return check_status(text, {2, 4}, "a status requeue and close act on (2 or 4)");
}

int cmd_failed(const config::Config& cfg, const ReviewArgs& a) {
    store::PgReviewStore st(cfg.postgres, kApplication);
    const auto filter = filter_of(cfg, a);
    std::vector<store::ReviewRow> rows;
    try {
        rows = st.review_rows(filter, std::nullopt, static_cast<std::size_t>(a.limit));
    } catch (const std::exception& e) {
        return store_error("failed", e);
    }
    if (a.json) {
        Json arr = Json::array();
        for (const auto& r : rows) {
            Json j;
            j["id"] = r.id;
            j["status"] = r.status;
            j["topic"] = r.topic;
            j["key"] = opt_json(r.key);
            j["attempts"] = r.attempts;
            j["last_error"] = opt_json(r.last_error);
            j["created_at"] = iso8601_utc(r.created_at_ms);
            j["sent_at"] = time_json(r.sent_at_ms);
            j["next_attempt_at"] = time_json(r.next_attempt_at_ms);
            arr.push_back(std::move(j));
        }
        std::cout << dump(arr) << "\n";
        return kExitOk;
    }
    const std::string statuses = statuses_text(filter.statuses);
    const std::string scope = scope_text(cfg, a);
    if (rows.empty()) {
        std::cout << "no rows at " << statuses << " in " << scope << "\n";
        return kExitOk;
    }
    std::vector<std::vector<std::string>> lines;
    lines.reserve(rows.size());
    for (const auto& r : rows) {
        lines.push_back({std::to_string(r.id), status_label(r.status), cell(r.topic, 40),
                         r.key ? cell(*r.key, 24) : "(none)", std::to_string(r.attempts),
                         r.last_error ? cell(*r.last_error, 100) : "(none)"});
    }
    print_table({"ID", "STATUS", "TOPIC", "KEY", "ATTEMPTS", "LAST_ERROR"}, lines);
    std::cout << plural(rows.size(), "row") << " at " << statuses << " in " << scope
              << ", newest first";
    if (rows.size() == static_cast<std::size_t>(a.limit)) {
        std::cout << " (the newest " << a.limit << "; there may be more: raise --limit)";
    }
    std::cout << "; full errors with --json; back to pending with `outboxd requeue --id N...` "
                 "or `outboxd requeue --all-failed`; set aside with `outboxd close --id N... "
                 "--note TEXT`\n";
    return kExitOk;
}

int cmd_requeue(const config::Config& cfg, const ReviewArgs& a) {
    return a.ids.empty() ? act_by_filter(cfg, a, false) : requeue_by_ids(cfg, a);
}

int cmd_close(const config::Config& cfg, const ReviewArgs& a) {
    return a.ids.empty() ? act_by_filter(cfg, a, true) : close_by_ids(cfg, a);
}

int cmd_actions(const config::Config& cfg, const ReviewArgs& a) {
    store::PgReviewStore st(cfg.postgres, kApplication);
    std::vector<store::ActionRecord> records;
    try {
        records = st.actions(std::nullopt, static_cast<std::size_t>(a.limit));
    } catch (const std::exception& e) {
        return store_error("actions", e);
    }
    if (a.json) {
        Json arr = Json::array();
        for (const auto& r : records) {
            Json j;
            j["id"] = r.id;
            j["at"] = iso8601_utc(r.at_ms);
            j["who"] = r.who;
            j["action"] = r.action;
            j["note"] = r.note;
            j["rows"] = r.rows;
            j["ids"] = r.ids;
            j["filter"] = r.filter_json ? Json::parse(*r.filter_json, nullptr, false) : Json();
            arr.push_back(std::move(j));
        }
        std::cout << dump(arr) << "\n";
        return kExitOk;
    }
    if (records.empty()) {
        std::cout << "no actions recorded for " << table_name(cfg) << "\n";
        return kExitOk;
    }
    std::vector<std::vector<std::string>> lines;
    lines.reserve(records.size());
    for (const auto& r : records) {
        std::string ids = id_list(r.ids, 5);
        if (r.ids.size() <= 5 && static_cast<std::size_t>(r.rows) > r.ids.size()) {
            ids += " ...";
        }
        lines.push_back({std::to_string(r.id), iso8601_utc(r.at_ms), cell(r.who, 32), r.action,
                         std::to_string(r.rows), r.filter_json ? "filter" : "ids", cell(ids, 48),
                         r.note.empty() ? "-" : cell(r.note, 80)});
    }
    print_table({"ID", "AT", "WHO", "ACTION", "ROWS", "BY", "IDS", "NOTE"}, lines);
    std::cout << plural(records.size(), "action") << " in the log of " << table_name(cfg)
              << ", newest first";
    if (records.size() == static_cast<std::size_t>(a.limit)) {
        std::cout << " (the newest " << a.limit << "; there may be more: raise --limit)";
    }
    std::cout << "; every id and the filter with --json\n";
    return kExitOk;
}

} // namespace outboxd::cli
