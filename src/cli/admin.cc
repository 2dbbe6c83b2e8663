// The operator's subcommands: status, failed, requeue, close, actions,
// unconfirmed, print-config. Each reads the same configuration as `run`,
// opens its own short PostgreSQL session and never takes the publisher's
// lock, so it is safe beside a running daemon. The review commands (failed,
// requeue, close, actions) are in review.cc.
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/review.h"
#include "common/duration.h"
#include "common/iso_time.h"
#include "common/parse_int.h"
#include "config/options.h"
#include "daemon/confirm_worker.h"
#include "leader/pg_advisory_lease.h"
#include "store/pg_outbox_store.h"
#include "store/review_sql.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace outboxd::cli {

namespace {

// The review filter's options of one subcommand (failed, requeue, close).
struct FilterOptions {
    CLI::Option* status = nullptr;
    CLI::Option* topic = nullptr;
    CLI::Option* key = nullptr;
    CLI::Option* reason = nullptr;
    CLI::Option* consumer = nullptr;
    CLI::Option* older_than = nullptr;

    // An array, not a vector: GCC 12 at -O3 reports the vector's inlined
    // initializer-list code as -Wuse-after-free.
    std::array<CLI::Option*, 6> all() const {
        return {status, topic, key, reason, consumer, older_than};
    }
};

} // namespace

struct AdminCommands::Args {
    CLI::App* status = nullptr;
    CLI::App* failed = nullptr;
    CLI::App* requeue = nullptr;
    CLI::App* close = nullptr;
    CLI::App* actions = nullptr;
    CLI::App* print_config = nullptr;
    CLI::App* unconfirmed = nullptr;

    // Bound by CLI11; only one subcommand runs, so they share the fields.
    bool json = false;
    int limit = 100;
    std::vector<std::string> ids;
    bool all_failed = false;
    bool include_sent = false;
    bool redact = false;
    bool no_redact = false;
    std::vector<std::string> statuses;
    std::string topic;
    std::string key;
    std::string reason;
    std::string consumer;
    std::string older_than;
    std::string note;
    FilterOptions failed_filter;
    FilterOptions requeue_filter;
    FilterOptions close_filter;

    // The parsed options of the review command that runs.
    ReviewArgs review(const FilterOptions& f) const;
};

ReviewArgs AdminCommands::Args::review(const FilterOptions& f) const {
    ReviewArgs r;
    for (const auto& text : statuses) {
        r.statuses.push_back(static_cast<int>(to_int64(text).value_or(0))); // checked at parse time
    }
    const auto given = [](CLI::Option* o, const std::string& v) {
        return o != nullptr && o->count() > 0 ? std::optional<std::string>(v) : std::nullopt;
    };
    r.topic = given(f.topic, topic);
    r.key = given(f.key, key);
    r.reason = given(f.reason, reason);
    r.consumer = given(f.consumer, consumer);
    r.older_than = given(f.older_than, older_than);
    // Checked at parse time; duplicates are dropped, order kept.
    std::set<std::int64_t> seen;
    for (const auto& text : ids) {
        const std::int64_t id = to_int64(text).value_or(0);
        if (seen.insert(id).second) {
            r.ids.push_back(id);
        }
    }
    r.all_failed = all_failed;
    r.include_sent = include_sent;
    r.note = note;
    r.limit = limit;
    r.json = json;
    return r;
}

namespace {

// "abc", "0", "-3", "1.5" are refused at parse time (exit 2) with a message
// that names the bad value; CLI11 applies this to each --id element.
std::string check_row_id(const std::string& text) {
    const auto value = to_int64(text);
    if (!value || *value <= 0) {
        return "\"" + text + "\" is not a row id (a whole number >= 1)";
    }
    return "";
}

std::string check_duration(const std::string& text) {
    return duration_problem(text);
}

// --status, --topic, --key, --reason, --consumer, --older-than on `sub`;
// `listing`: --status takes 5 too (failed lists closed rows; requeue and
// close never touch them).
FilterOptions add_filters(CLI::App* sub, AdminCommands::Args& a, bool listing) {
    const CLI::Validator not_empty(config::check_not_empty, "TEXT");
    FilterOptions f;
    f.status =
        sub->add_option("--status", a.statuses,
                        listing ? "Only rows at these statuses: 2, 4, 5 (repeat, or "
                                  "separate with commas; default 2, and 4 with "
                                  "confirm.consumers)"
                                : "Only rows at these statuses: 2, 4 (4 only with "
                                  "confirm.consumers)")
            ->check(CLI::Validator(listing ? check_listed_status : check_action_status, "STATUS"))
            ->delimiter(',');
    f.topic = sub->add_option("--topic", a.topic, "Only rows of this topic")->check(not_empty);
    f.key = sub->add_option("--key", a.key, "Only rows with this key (exact)");
    f.reason = sub->add_option("--reason", a.reason,
                               "Only rows whose last_error contains this text (ignoring case)")
                   ->check(not_empty);
    f.consumer = sub->add_option("--consumer", a.consumer,
                                 "Only rows this consumer failed on (last_error starts with "
                                 "\"<consumer>: \")")
                     ->check(not_empty);
    f.older_than = sub->add_option("--older-than", a.older_than,
                                   "Only rows created longer ago than this (90s, 15m, 2h, 3d)")
                       ->check(CLI::Validator(check_duration, "DURATION"));
    return f;
}

bool any_given(const FilterOptions& f) {
    const auto all = f.all();
    return std::any_of(all.begin(), all.end(), [](CLI::Option* o) { return o->count() > 0; });
}

// requeue and close: --id N... or --all-failed and/or filters, never both
// ids and a filter; at most kMaxActionIds ids.
void add_selection(CLI::App* sub, AdminCommands::Args& a, FilterOptions& f, const char* verb) {
    const CLI::Validator row_id(check_row_id, "ID");
    auto* ids = sub->add_option("--id", a.ids, "Row ids (repeat, or separate with commas)")
                    ->check(row_id)
                    ->delimiter(',');
    auto* all = sub->add_flag("--all-failed", a.all_failed,
                              "Every row at status 2 (and 4 with confirm.consumers), narrowed "
                              "by the filters given");
    f = add_filters(sub, a, false);
    ids->excludes(all);
    for (auto* o : f.all()) {
        ids->excludes(o);
    }
    const std::string name = verb;
    sub->callback([&a, &f, name] {
        if (a.ids.empty() && !a.all_failed && !any_given(f)) {
            throw CLI::ValidationError(
                name, "give --id N... or --all-failed, or narrow by a filter (--status, --topic, "
                      "--key, --reason, --consumer, --older-than)");
        }
        if (a.ids.size() > store::kMaxActionIds) {
            throw CLI::ValidationError(name, std::to_string(a.ids.size()) + " ids: at most "
                                                 + std::to_string(store::kMaxActionIds) + " per "
                                                 + name);
        }
    });
}

int cmd_status(const config::Config& cfg, bool json) {
    store::PgOutboxStore st(cfg.postgres);
    store::StatusSummary sum;
    std::optional<std::int64_t> unconfirmed; // rows at 1 past confirm.deadline_ms
    try {
        sum = st.status_summary();
        if (cfg.confirm.enabled()) {
            unconfirmed = st.unconfirmed_count(cfg.confirm.deadline, INT64_MAX);
        }
    } catch (const std::exception& e) {
        return store_error("status", e);
    }
    // Leadership is asked on its own session, read-only, as `check` does.
    const auto key = effective_lock_key(cfg);
    std::optional<std::string> holder;
    std::string leader_error;
    if (cfg.leader.enabled) {
        try {
            holder = leader::describe_holder(cfg.postgres.dsn, key, cfg.postgres.session_timeout);
        } catch (const std::exception& e) {
            leader_error = e.what();
        }
    }
    if (json) {
        Json j;
        j["table"] = table_name(cfg);
        j["pending"] = sum.pending;
        j["sent"] = sum.sent;
        j["failed"] = sum.failed;
        if (cfg.confirm.enabled()) {
            j["consumed"] = sum.consumed;
            j["consumer_failed"] = sum.consumer_failed;
            j["unconfirmed"] = unconfirmed ? Json(*unconfirmed) : Json(nullptr);
            j["confirm_deadline_ms"] = cfg.confirm.deadline.count();
        }
        j["closed"] = sum.closed;
        j["other"] = sum.other;
        j["oldest_pending_age_seconds"] =
            sum.oldest_pending_age_s ? Json(*sum.oldest_pending_age_s) : Json(nullptr);
        Json l;
        l["enabled"] = cfg.leader.enabled;
        l["lock_key"] = key;
        l["holder"] = holder && !holder->empty() ? Json(*holder) : Json(nullptr);
        if (!leader_error.empty()) {
            l["error"] = leader_error;
        }
        j["leader"] = l;
        std::cout << dump(j) << "\n";
        return kExitOk;
    }
    std::cout << "table           " << table_name(cfg) << "\n";
    std::cout << "pending (0)     " << sum.pending << "\n";
    std::cout << "sent (1)        " << sum.sent << "\n";
    std::cout << "failed (2)      " << sum.failed
              << (sum.failed > 0 ? "  (list with `outboxd failed`)" : "") << "\n";
    if (cfg.confirm.enabled()) {
        std::cout << "consumed (3)    " << sum.consumed << "\n";
        std::cout << "consumer failed (4) " << sum.consumer_failed
                  << (sum.consumer_failed > 0 ? "  (list with `outboxd failed`)" : "") << "\n";
        std::cout << "unconfirmed     " << *unconfirmed << " of the sent rows, past "
                  << cfg.confirm.deadline.count() << " ms"
                  << (*unconfirmed > 0 ? "  (list with `outboxd unconfirmed`)" : "") << "\n";
    } else if (sum.consumed + sum.consumer_failed > 0) {
        std::cout << "at 3 or 4       " << sum.consumed + sum.consumer_failed
                  << "  (consumer confirmation is off: confirm.consumers is empty)\n";
    }
    std::cout << "closed (5)      " << sum.closed
              << (sum.closed > 0 ? "  (by a person; list with `outboxd failed --status 5`)" : "")
              << "\n";
    if (sum.other > 0) {
        std::cout << "other status    " << sum.other << "  (values outboxd never writes)\n";
    }
    std::cout << "oldest pending  "
              << (sum.oldest_pending_age_s ? human_age(*sum.oldest_pending_age_s) : "-") << "\n";
    std::cout << "leader          ";
    if (!cfg.leader.enabled) {
        std::cout << "not used (leader.enabled is false)\n";
    } else if (!leader_error.empty()) {
        std::cout << "unknown: " << leader_error << "\n";
    } else if (holder->empty()) {
        std::cout << "none (no outboxd is publishing from this table; lock key " << key << ")\n";
    } else {
        std::cout << *holder << " (lock key " << key << ")\n";
    }
    return kExitOk;
}

// Rows at 1 past confirm.deadline_ms, oldest first, with who has not
// confirmed them.
int cmd_unconfirmed(const config::Config& cfg, const AdminCommands::Args& a) {
    if (!cfg.confirm.enabled()) {
        std::cerr << "outboxd: unconfirmed: confirm.consumers is empty, so no row waits for a "
                     "consumer (docs/consumers.md)\n";
        return kExitFailure;
    }
    store::PgOutboxStore st(cfg.postgres);
    std::vector<store::UnconfirmedRow> rows;
    try {
        rows = st.unconfirmed_rows(cfg.confirm.deadline, static_cast<std::size_t>(a.limit));
    } catch (const std::exception& e) {
        return store_error("unconfirmed", e);
    }
    const auto opt = daemon::ConfirmWorkerOptions::from(cfg).rules;
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    auto names = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& s : v) {
            out += (out.empty() ? "" : ",") + s;
        }
        return out.empty() ? std::string("-") : out;
    };
    if (a.json) {
        Json arr = Json::array();
        for (const auto& r : rows) {
            Json j;
            j["id"] = r.id;
            j["topic"] = r.topic;
            j["key"] = r.key ? Json(*r.key) : Json(nullptr);
            j["sent_at"] = iso8601_utc(r.sent_at_ms);
            j["confirmed_by"] = r.confirmed_by;
            j["not_confirmed_by"] = confirm::missing_consumers(opt, r.confirmed_by);
            j["resends"] = r.resends;
            arr.push_back(std::move(j));
        }
        std::cout << dump(arr) << "\n";
        return kExitOk;
    }
    if (rows.empty()) {
        std::cout << "no unconfirmed rows in " << table_name(cfg) << " (every row at 1 is younger "
                  << "than confirm.deadline_ms " << cfg.confirm.deadline.count() << " ms)\n";
        return kExitOk;
    }
    std::vector<std::vector<std::string>> lines;
    lines.reserve(rows.size());
    for (const auto& r : rows) {
        lines.push_back({std::to_string(r.id), cell(r.topic, 40),
                         r.key ? cell(*r.key, 24) : "(none)",
                         human_age(static_cast<double>(now_ms - r.sent_at_ms) / 1000.0) + " ago",
                         cell(names(confirm::missing_consumers(opt, r.confirmed_by)), 60),
                         std::to_string(r.resends)});
    }
    print_table({"ID", "TOPIC", "KEY", "SENT", "NOT_CONFIRMED_BY", "RESENDS"}, lines);
    std::cout << rows.size() << " unconfirmed row" << (rows.size() == 1 ? "" : "s") << " in "
              << table_name(cfg) << " (at 1 longer than " << cfg.confirm.deadline.count() << " ms)";
    if (rows.size() == static_cast<std::size_t>(a.limit)) {
        std::cout << "; the first " << a.limit << ", there may be more: raise --limit";
    }
    std::cout << (cfg.confirm.resend_unconfirmed
                      ? "; outboxd sends them again (confirm.resend_unconfirmed)\n"
                      : "; confirm.resend_unconfirmed is off: they are only reported\n");
    return kExitOk;
}

int cmd_print_config(const config::Config& cfg, const AdminCommands::Args& a) {
    if (a.no_redact) {
        std::cerr << "outboxd: print-config --no-redact: the output below contains secrets "
                     "(postgres.dsn password, secret kafka.properties)\n";
    }
    std::cout << config::to_yaml(cfg, !a.no_redact);
    return kExitOk;
}

} // namespace

AdminCommands::AdminCommands(CLI::App& app, const std::function<void(CLI::App*)>& add_config)
    : args_(std::make_unique<Args>()) {
    Args& a = *args_;
    const CLI::Validator not_empty(config::check_not_empty, "TEXT");

    a.status = app.add_subcommand(
        "status", "Rows by status, age of the oldest pending row, the current publisher");
    add_config(a.status);
    a.status->add_flag("--json", a.json, "One JSON object instead of text");

    a.failed =
        app.add_subcommand("failed", "List rows at status 2 (parked) and 4 (a consumer failed), "
                                     "newest first: they need a person; 5 (closed) on request");
    add_config(a.failed);
    a.failed_filter = add_filters(a.failed, a, true);
    a.failed->add_option("--limit", a.limit, "At most this many rows, newest first (1..100000)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    a.failed->add_flag("--json", a.json, "A JSON array with the full last_error of each row");

    a.requeue =
        app.add_subcommand("requeue", "Put rows back to status 0 with attempts reset, in one "
                                      "transaction, recorded in the action log");
    add_config(a.requeue);
    add_selection(a.requeue, a, a.requeue_filter, "requeue");
    auto* sent = a.requeue->add_flag("--include-sent", a.include_sent,
                                     "With --id: also rows at status 1 (they are sent again)");
    // A filter only ever takes rows at 2 and 4; accepting the flag there
    // would suggest otherwise.
    sent->needs(a.requeue->get_option("--id"));
    a.requeue->add_option("--note", a.note, "Why, for the action log")->check(not_empty);

    a.close = app.add_subcommand("close",
                                 "Set rows at status 2 or 4 aside for good (status 5: kept, never "
                                 "sent), recorded in the action log with a note");
    add_config(a.close);
    add_selection(a.close, a, a.close_filter, "close");
    a.close->add_option("--note", a.note, "Why (required), for the action log")
        ->required()
        ->check(not_empty);

    a.actions = app.add_subcommand(
        "actions", "List the action log: who requeued or closed which rows, and why");
    add_config(a.actions);
    a.actions->add_option("--limit", a.limit, "At most this many actions, newest first (1..100000)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    a.actions->add_flag("--json", a.json, "A JSON array with each action's ids and filter");

    a.unconfirmed = app.add_subcommand(
        "unconfirmed", "List sent rows no consumer confirmed within confirm.deadline_ms");
    add_config(a.unconfirmed);
    a.unconfirmed
        ->add_option("--limit", a.limit, "At most this many rows, oldest first (1..100000)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    a.unconfirmed->add_flag("--json", a.json, "A JSON array, with confirmed_by per row");

    a.print_config = app.add_subcommand(
        "print-config", "Print the effective configuration (file + environment) as YAML");
    add_config(a.print_config);
    auto* redact = a.print_config->add_flag(
        "--redact", a.redact, "Hide the DSN password and secret kafka.properties (the default)");
    auto* no_redact = a.print_config->add_flag("--no-redact", a.no_redact,
                                               "Print secrets as they are (says so on stderr)");
    redact->excludes(no_redact);
}

AdminCommands::~AdminCommands() = default;

bool AdminCommands::selected() const {
    const Args& a = *args_;
    return a.status->parsed() || a.failed->parsed() || a.requeue->parsed() || a.close->parsed()
           || a.actions->parsed() || a.print_config->parsed() || a.unconfirmed->parsed();
}

int AdminCommands::run(const config::Config& cfg) const {
    const Args& a = *args_;
    if (a.status->parsed()) {
        return cmd_status(cfg, a.json);
    }
    if (a.failed->parsed()) {
        return cmd_failed(cfg, a.review(a.failed_filter));
    }
    if (a.requeue->parsed()) {
        return cmd_requeue(cfg, a.review(a.requeue_filter));
    }
    if (a.close->parsed()) {
        return cmd_close(cfg, a.review(a.close_filter));
    }
    if (a.actions->parsed()) {
        return cmd_actions(cfg, a.review({}));
    }
    if (a.unconfirmed->parsed()) {
        return cmd_unconfirmed(cfg, a);
    }
    return cmd_print_config(cfg, a);
}

} // namespace outboxd::cli
