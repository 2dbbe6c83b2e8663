// The review commands (docs/admin.md): `failed`, `requeue`, `close` and
// `actions`, through store::PgReviewStore, so that the command line and the
// console (docs/console.md) list, change and record rows the same way. Every
// requeue and close is recorded in the action log `<table>_actions` with
// who = "cli:<OS user>". Main thread only.
#pragma once

#include "config/config.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace outboxd::cli {

// The parsed options of one review command (AdminCommands fills them in).
struct ReviewArgs {
    std::vector<int> statuses; // --status; empty: the command's default
    std::optional<std::string> topic;
    std::optional<std::string> key;
    std::optional<std::string> reason;
    std::optional<std::string> consumer;
    std::optional<std::string> older_than; // as typed ("15m"), checked at parse time
    std::vector<std::int64_t> ids;         // --id, duplicates dropped, order kept
    bool all_failed = false;
    bool include_sent = false;
    std::string note;
    int limit = 100;
    bool json = false;

    // Whether any filter option was given (--status ... --older-than).
    bool filtered() const;
};

int cmd_failed(const config::Config& cfg, const ReviewArgs& a);
int cmd_requeue(const config::Config& cfg, const ReviewArgs& a);
int cmd_close(const config::Config& cfg, const ReviewArgs& a);
int cmd_actions(const config::Config& cfg, const ReviewArgs& a);

// "cli:<name of the effective user>" ("cli:uid-1000" without a passwd entry):
// the action log's "who" for the command line.
std::string cli_who();

// CLI11 validators ("" for a good value): a status `failed` lists (2, 4,
// 5), a status `requeue` and `close` act on (2, 4).
std::string check_listed_status(const std::string& text);
std::string check_action_status(const std::string& text);

} // namespace outboxd::cli
