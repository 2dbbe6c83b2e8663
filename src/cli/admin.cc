// The operator's subcommands: status, failed, requeue, print-config. Each reads
// the same configuration as `run`, opens its own short PostgreSQL session and
// never takes the publisher's lock, so it is safe beside a running daemon.
#include "cli/commands.h"
#include "common/iso_time.h"
#include "common/parse_int.h"
#include "config/options.h"
#include "daemon/confirm_worker.h"
#include "leader/pg_advisory_lease.h"
#include "store/pg_outbox_store.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace outboxd::cli {

struct AdminCommands::Args {
    CLI::App* status = nullptr;
    CLI::App* failed = nullptr;
    CLI::App* requeue = nullptr;
    CLI::App* print_config = nullptr;
    CLI::App* unconfirmed = nullptr;

    bool json = false; // status and failed each set it; only one subcommand runs
    std::string topic_text;
    CLI::Option* failed_topic = nullptr;
    CLI::Option* requeue_topic = nullptr;
    std::optional<std::string> topic; // set from topic_text before running
    int limit = 100;
    std::vector<std::string> ids;
    bool all_failed = false;
    bool include_sent = false;
    bool redact = false;
    bool no_redact = false;
};

namespace {

using Json = nlohmann::json;

// "abc", "0", "-3", "1.5" are refused at parse time (exit 2) with a message
// that names the bad value; CLI11 applies this to each --id element.
std::string check_row_id(const std::string& text) {
    const auto value = to_int64(text);
    if (!value || *value <= 0) {
        return "\"" + text + "\" is not a row id (a whole number >= 1)";
    }
    return "";
}

// "4.2 s", "3725 s (1h 2m 5s)": seconds for scripts that grep, the split for
// the person on call.
std::string human_age(double seconds) {
    std::ostringstream out;
    if (seconds < 60) {
        out.setf(std::ios::fixed);
        out.precision(1);
        out << seconds << " s";
        return out.str();
    }
    const auto total = static_cast<std::int64_t>(std::floor(seconds));
    out << total << " s (";
    const std::int64_t d = total / 86400;
    const std::int64_t h = total % 86400 / 3600;
    const std::int64_t m = total % 3600 / 60;
    const std::int64_t s = total % 60;
    if (d > 0) {
        out << d << "d ";
    }
    if (d > 0 || h > 0) {
        out << h << "h ";
    }
    out << m << "m " << s << "s)";
    return out.str();
}

// Code points in UTF-8 text (continuation bytes do not count).
std::size_t width(const std::string& text) {
    std::size_t n = 0;
    for (const char c : text) {
        n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

// One table cell: control characters (newlines in error texts) become
// spaces, runs of spaces collapse, and text longer than `max` code points is
// cut at a character boundary and ends in "...".
std::string cell(const std::string& text, std::size_t max) {
    std::string flat;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        const bool space = u < 0x20 || u == 0x7F || c == ' ';
        if (space) {
            if (!flat.empty() && flat.back() != ' ') {
                flat += ' ';
            }
        } else {
            flat += c;
        }
    }
    while (!flat.empty() && flat.back() == ' ') {
        flat.pop_back();
    }
    if (width(flat) <= max) {
        return flat;
    }
    std::string out;
    std::size_t n = 0;
    for (const char c : flat) {
        const bool starts_char = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        if (starts_char && ++n > max - 3) {
            break;
        }
        out += c;
    }
    return out + "...";
}

std::string pad(const std::string& text, std::size_t to) {
    const std::size_t w = width(text);
    return w >= to ? text : text + std::string(to - w, ' ');
}

std::string dump(const Json& j) {
    // Replace, not throw, on bytes that are not UTF-8 (a key or error text
    // written by some other tool): the rest of the output still matters.
    return j.dump(2, ' ', false, Json::error_handler_t::replace);
}

void print_ids(const std::string& what, const std::vector<std::int64_t>& ids) {
    if (ids.empty()) {
        return;
    }
    std::cout << "not requeued, " << what << ":";
    for (const auto id : ids) {
        std::cout << " " << id;
    }
    std::cout << "\n";
}

int store_error(const std::string& command, const std::exception& e) {
    std::cerr << "outboxd: " << command << " failed: " << e.what() << "\n";
    return kExitFailure;
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

int cmd_failed(const config::Config& cfg, const AdminCommands::Args& a) {
    store::PgOutboxStore st(cfg.postgres);
    std::vector<store::FailedRow> rows;
    try {
        rows = st.failed_rows(a.topic, static_cast<std::size_t>(a.limit));
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
            j["key"] = r.key ? Json(*r.key) : Json(nullptr);
            j["attempts"] = r.attempts;
            j["last_error"] = r.last_error ? Json(*r.last_error) : Json(nullptr);
            j["created_at"] = iso8601_utc(r.created_at_ms);
            j["next_attempt_at"] =
                r.next_attempt_at_ms ? Json(iso8601_utc(*r.next_attempt_at_ms)) : Json(nullptr);
            arr.push_back(std::move(j));
        }
        std::cout << dump(arr) << "\n";
        return kExitOk;
    }
    const std::string scope = table_name(cfg) + (a.topic ? " for topic " + *a.topic : "");
    const std::string statuses = cfg.confirm.enabled() ? "status 2 or 4" : "status 2";
    if (rows.empty()) {
        std::cout << "no rows at " << statuses << " in " << scope << "\n";
        return kExitOk;
    }
    struct Line {
        std::string id, status, topic, key, attempts, error;
    };
    std::vector<Line> lines;
    Line head{"ID", "STATUS", "TOPIC", "KEY", "ATTEMPTS", "LAST_ERROR"};
    std::size_t wid = width(head.id);
    std::size_t wstatus = width(head.status);
    std::size_t wtopic = width(head.topic);
    std::size_t wkey = width(head.key);
    std::size_t watt = width(head.attempts);
    for (const auto& r : rows) {
        Line l{std::to_string(r.id),       r.status == 4 ? "4 consumer failed" : "2 failed",
               cell(r.topic, 40),          r.key ? cell(*r.key, 24) : "(none)",
               std::to_string(r.attempts), r.last_error ? cell(*r.last_error, 100) : "(none)"};
        wid = std::max(wid, width(l.id));
        wstatus = std::max(wstatus, width(l.status));
        wtopic = std::max(wtopic, width(l.topic));
        wkey = std::max(wkey, width(l.key));
        watt = std::max(watt, width(l.attempts));
        lines.push_back(std::move(l));
    }
    const auto print = [&](const Line& l) {
        std::cout << pad(l.id, wid) << "  " << pad(l.status, wstatus) << "  "
                  << pad(l.topic, wtopic) << "  " << pad(l.key, wkey) << "  "
                  << pad(l.attempts, watt) << "  " << l.error << "\n";
    };
    print(head);
    for (const auto& l : lines) {
        print(l);
    }
    std::cout << rows.size() << " row" << (rows.size() == 1 ? "" : "s") << " at " << statuses
              << " in " << scope;
    if (rows.size() == static_cast<std::size_t>(a.limit)) {
        std::cout << " (the first " << a.limit << "; there may be more: raise --limit)";
    }
    std::cout << "; full errors with --json; back to pending with `outboxd requeue --id N...` "
                 "or `outboxd requeue --all-failed`\n";
    return kExitOk;
}

int cmd_requeue(const config::Config& cfg, const AdminCommands::Args& a) {
    store::PgOutboxStore st(cfg.postgres);
    if (a.all_failed) {
        std::size_t n = 0;
        try {
            n = st.requeue_failed(a.topic);
        } catch (const std::exception& e) {
            return store_error("requeue", e);
        }
        std::cout << "requeued " << n << " row" << (n == 1 ? "" : "s") << " from status "
                  << (cfg.confirm.enabled() ? "2 or 4" : "2") << " to 0 (attempts reset) in "
                  << table_name(cfg) << (a.topic ? " for topic " + *a.topic : "") << "\n";
        return kExitOk;
    }
    // Checked at parse time; duplicates are dropped, order kept.
    std::vector<std::int64_t> ids;
    std::set<std::int64_t> seen;
    for (const auto& text : a.ids) {
        const std::int64_t id = to_int64(text).value_or(0); // checked at parse time
        if (seen.insert(id).second) {
            ids.push_back(id);
        }
    }
    store::RequeueSkipped skipped;
    std::size_t n = 0;
    try {
        n = st.requeue_ids(ids, a.include_sent, &skipped);
    } catch (const std::exception& e) {
        return store_error("requeue", e);
    }
    std::cout << "requeued " << n << " of " << ids.size() << " row" << (ids.size() == 1 ? "" : "s")
              << " to status 0 (attempts reset) in " << table_name(cfg) << "\n";
    print_ids("not found", skipped.not_found);
    print_ids("already pending (status 0)", skipped.already_pending);
    print_ids("already sent (status 1; add --include-sent to send them again)", skipped.sent);
    print_ids(cfg.confirm.enabled() ? "consumed (status 3) or a status outboxd never writes"
                                    : "status other than 0, 1, 2",
              skipped.other_status);
    // Success means: every requested row is now pending.
    const bool all_pending =
        skipped.not_found.empty() && skipped.sent.empty() && skipped.other_status.empty();
    return all_pending ? kExitOk : kExitFailure;
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
    struct Line {
        std::string id, topic, key, age, missing, resends;
    };
    std::vector<Line> lines;
    Line head{"ID", "TOPIC", "KEY", "SENT", "NOT_CONFIRMED_BY", "RESENDS"};
    std::vector<std::size_t> w{width(head.id), width(head.topic), width(head.key), width(head.age),
                               width(head.missing)};
    for (const auto& r : rows) {
        Line l{std::to_string(r.id),
               cell(r.topic, 40),
               r.key ? cell(*r.key, 24) : "(none)",
               human_age(static_cast<double>(now_ms - r.sent_at_ms) / 1000.0) + " ago",
               cell(names(confirm::missing_consumers(opt, r.confirmed_by)), 60),
               std::to_string(r.resends)};
        w[0] = std::max(w[0], width(l.id));
        w[1] = std::max(w[1], width(l.topic));
        w[2] = std::max(w[2], width(l.key));
        w[3] = std::max(w[3], width(l.age));
        w[4] = std::max(w[4], width(l.missing));
        lines.push_back(std::move(l));
    }
    const auto print = [&](const Line& l) {
        std::cout << pad(l.id, w[0]) << "  " << pad(l.topic, w[1]) << "  " << pad(l.key, w[2])
                  << "  " << pad(l.age, w[3]) << "  " << pad(l.missing, w[4]) << "  " << l.resends
                  << "\n";
    };
    print(head);
    for (const auto& l : lines) {
        print(l);
    }
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
    const CLI::Validator row_id(check_row_id, "ID");
    const CLI::Validator not_empty(config::check_not_empty, "TEXT");

    a.status = app.add_subcommand(
        "status", "Rows by status, age of the oldest pending row, the current publisher");
    add_config(a.status);
    a.status->add_flag("--json", a.json, "One JSON object instead of text");

    a.failed = app.add_subcommand(
        "failed", "List rows at status 2 (parked) and 4 (a consumer failed): they need a person");
    add_config(a.failed);
    a.failed_topic =
        a.failed->add_option("--topic", a.topic_text, "Only rows of this topic")->check(not_empty);
    a.failed->add_option("--limit", a.limit, "At most this many rows, in id order (1..100000)")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    a.failed->add_flag("--json", a.json, "A JSON array with the full last_error of each row");

    a.requeue = app.add_subcommand(
        "requeue", "Put rows back to status 0 with attempts reset, in one transaction");
    add_config(a.requeue);
    auto* ids = a.requeue->add_option("--id", a.ids, "Row ids (repeat, or separate with commas)")
                    ->check(row_id)
                    ->delimiter(',');
    auto* all = a.requeue->add_flag("--all-failed", a.all_failed,
                                    "Every row at status 2 (and 4 with confirm.consumers)");
    auto* topic =
        a.requeue->add_option("--topic", a.topic_text, "With --all-failed: only this topic")
            ->check(not_empty);
    a.requeue_topic = topic;
    auto* sent = a.requeue->add_flag("--include-sent", a.include_sent,
                                     "With --id: also rows at status 1 (they are sent again)");
    ids->excludes(all);
    topic->needs(all);
    // --all-failed only ever touches rows at 2; accepting the flag there
    // would suggest otherwise.
    sent->needs(ids);
    a.requeue->callback([&a] {
        if (a.ids.empty() && !a.all_failed) {
            throw CLI::ValidationError("requeue", "give --id N... or --all-failed");
        }
    });

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
    return a.status->parsed() || a.failed->parsed() || a.requeue->parsed()
           || a.print_config->parsed() || a.unconfirmed->parsed();
}

int AdminCommands::run(const config::Config& cfg) const {
    Args& a = *args_;
    if ((a.failed->parsed() && a.failed_topic->count() > 0)
        || (a.requeue->parsed() && a.requeue_topic->count() > 0)) {
        a.topic = a.topic_text;
    }
    if (a.status->parsed()) {
        return cmd_status(cfg, a.json);
    }
    if (a.failed->parsed()) {
        return cmd_failed(cfg, a);
    }
    if (a.requeue->parsed()) {
        return cmd_requeue(cfg, a);
    }
    if (a.unconfirmed->parsed()) {
        return cmd_unconfirmed(cfg, a);
    }
    return cmd_print_config(cfg, a);
}

} // namespace outboxd::cli
