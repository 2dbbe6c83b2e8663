// The console's JSON API (docs/console.md): /api/v1/summary, rows, one row,
// requeue, close, the action log. Pure: the database is a store::ReviewStore,
// the daemon's state an Overview read by a function, the time a parameter;
// unit-tested with a fake store. Runs on the console worker's thread only.
#pragma once

#include "console/history.h"
#include "console/tokens.h"
#include "http/server.h"
#include "store/review_store.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace outboxd::console {

// What the daemon knows without a query: its metrics and health.
struct Overview {
    std::string version;
    std::string role; // "publisher", "standby", "starting", "stopping"
    std::string broker;
    bool broker_up = false;
    bool postgres_up = false;
    double pending = 0;
    std::optional<double> oldest_pending_age_s;
    double parked = 0;
    std::optional<double> unconfirmed; // with confirmation only
    std::uint64_t sent_total = 0;
};

struct ApiOptions {
    bool confirmation = false; // confirm.consumers set: rows at 4 exist and are requeued
    std::size_t page_default = 50;
    std::size_t page_max = 500;
    std::size_t payload_preview = std::size_t{64} * 1024;
    std::size_t max_ids = 10000;
    std::size_t max_filter_rows = 100000;
    std::int64_t count_cap = 1000000;
    // Counts of the summary (consumer-failed, closed) are kept this long, so
    // many open pages cost one query per period.
    std::int64_t summary_cache_ms = 5000;
};

// The largest request body the API takes (a list of ids, a filter, a note).
inline constexpr std::uint64_t kMaxBody = std::uint64_t{1024} * 1024;

// Tokens in force: null when no tokens file is configured (everyone reads,
// nobody changes).
using TokenList = std::shared_ptr<const std::vector<Token>>;

class Api {
public:
    Api(store::ReviewStore& store, std::function<Overview()> overview, ApiOptions options);

    http::Response handle(const http::Request& req, const TokenList& tokens, std::int64_t now_ms);

    // Samples the history (every kHistoryStep); call it now and then.
    void tick(std::int64_t now_ms);

private:
    struct Call;
    http::Response route(Call& call);
    http::Response summary(Call& call);
    http::Response rows(Call& call);
    http::Response count(Call& call);
    http::Response row(Call& call, const std::string& id_text);
    http::Response act(Call& call, const std::string& action);
    http::Response actions(Call& call);
    // A page's `limit` (default page_default, at most page_max) and
    // `cursor` (rows or records below that id).
    struct Page {
        std::size_t limit = 0;
        std::optional<std::int64_t> before;
    };
    Page page_of(const Call& call) const;

    store::ReviewStore& store_;
    std::function<Overview()> overview_;
    ApiOptions options_;
    History history_;
    struct Counts {
        std::int64_t at_ms = 0;
        std::int64_t consumer_failed = 0;
        std::int64_t closed = 0;
    };
    std::optional<Counts> counts_;
};

// ---- the parts of a request, exposed for the unit tests

// "a=1&b=x%20y" -> pairs, percent- and '+'-decoded; nullopt for a malformed
// escape.
std::optional<std::vector<std::pair<std::string, std::string>>>
parse_query(const std::string& query);

} // namespace outboxd::console
