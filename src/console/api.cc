#include "console/api.h"

#include "common/iso_time.h"
#include "common/text.h"
#include "store/outbox_store.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace outboxd::console {
namespace {

using Json = nlohmann::json;

const char* const kJson = "application/json";

// A refusal with its reason; thrown inside a call, answered by handle().
struct ApiError {
    int status;
    std::string message;
    std::string allow = {}; // the Allow field of a 405
};

std::string dump(const Json& j) {
    // Text from the table need not be valid UTF-8 (a text payload cast from
    // bytes): replace what is not, rather than fail the whole answer.
    return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

http::Response json_response(int status, const Json& body) {
    return {status, kJson, dump(body), {}};
}

http::Response error_response(int status, const std::string& message) {
    http::Response r = json_response(status, Json{{"error", message}});
    if (status == 401) {
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"outboxd\"");
    }
    return r;
}

Json time_or_null(const std::optional<std::int64_t>& ms) {
    return ms ? Json(iso8601_utc(*ms)) : Json(nullptr);
}

Json opt(const std::optional<std::string>& s) {
    return s ? Json(*s) : Json(nullptr);
}

Json row_json(const store::ReviewRow& r) {
    return Json{{"id", r.id},
                {"status", r.status},
                {"topic", r.topic},
                {"key", opt(r.key)},
                {"attempts", r.attempts},
                {"last_error", opt(r.last_error)},
                {"created_at", iso8601_utc(r.created_at_ms)},
                {"sent_at", time_or_null(r.sent_at_ms)},
                {"next_attempt_at", time_or_null(r.next_attempt_at_ms)}};
}

Json action_json(const store::ActionRecord& a) {
    Json filter = nullptr;
    if (a.filter_json) {
        filter = Json::parse(*a.filter_json, nullptr, false);
        if (filter.is_discarded()) {
            filter = *a.filter_json;
        }
    }
    return Json{{"id", a.id},     {"at", iso8601_utc(a.at_ms)},
                {"who", a.who},   {"action", a.action},
                {"note", a.note}, {"rows", a.rows},
                {"ids", a.ids},   {"filter", filter}};
}

// Valid UTF-8 with no control characters but tab, newline and carriage
// return: shown as text. `cut`: the text may end inside a sequence that the
// preview limit cut, which does not make it binary.
bool is_text(const std::string& s, bool cut) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = 1;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
                return false;
            }
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
        } else {
            return false;
        }
        if (i + len > s.size()) {
            return cut;
        }
        for (std::size_t k = 1; k < len; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
                return false;
            }
        }
        i += len;
    }
    return true;
}

std::string hex(const std::string& s) {
    static const char* const kDigits = "0123456789abcdef";
    std::string out;
    out.reserve(s.size() * 2);
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        out += kDigits[c >> 4];
        out += kDigits[c & 15];
    }
    return out;
}

Json payload_json(const store::ReviewDetail& d) {
    if (d.payload_null) {
        return nullptr;
    }
    const bool truncated = static_cast<std::int64_t>(d.payload.size()) < d.payload_bytes;
    std::string encoding = "hex";
    std::string data;
    if (is_text(d.payload, truncated)) {
        data = d.payload;
        // Drop a sequence the preview cut in two.
        while (truncated && !data.empty()
               && (static_cast<unsigned char>(data.back()) & 0x80) != 0) {
            const auto c = static_cast<unsigned char>(data.back());
            data.pop_back();
            if ((c & 0xc0) == 0xc0) {
                break;
            }
        }
        encoding = !truncated && Json::accept(data) ? "json" : "text";
    } else {
        data = hex(d.payload);
    }
    return Json{{"encoding", encoding},
                {"data", data},
                {"bytes", d.payload_bytes},
                {"truncated", truncated}};
}

std::int64_t parse_positive(const std::string& name, const std::string& text, std::int64_t max) {
    if (text.empty() || text.size() > 19 || !std::all_of(text.begin(), text.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
        throw ApiError{400, name + " must be a whole number, not '" + text + "'"};
    }
    const std::int64_t v = std::stoll(text);
    if (v < 0 || v > max) {
        throw ApiError{400, name + " must be between 0 and " + std::to_string(max)};
    }
    return v;
}

int parse_status(const std::string& text) {
    if (text == "2" || text == "4" || text == "5") {
        return text[0] - '0';
    }
    throw ApiError{400, "status must be 2, 4 or 5 (or a comma list), not '" + text + "'"};
}

std::vector<int> parse_statuses(const std::string& text) {
    std::vector<int> out;
    std::size_t start = 0;
    while (true) {
        const auto comma = text.find(',', start);
        const auto part = text.substr(start, comma == std::string::npos ? comma : comma - start);
        const int s = parse_status(part);
        if (std::find(out.begin(), out.end(), s) == out.end()) {
            out.push_back(s);
        }
        if (comma == std::string::npos) {
            return out;
        }
        start = comma + 1;
    }
}

// Text filter values: bounded, so a filter cannot be a megabyte of text.
std::string filter_text(const std::string& name, const std::string& value) {
    if (value.empty()) {
        throw ApiError{400, name + " must not be empty"};
    }
    if (value.size() > 1000) {
        throw ApiError{400, name + " is longer than 1000 bytes"};
    }
    return value;
}

} // namespace

std::optional<std::vector<std::pair<std::string, std::string>>>
parse_query(const std::string& query) {
    const auto decode = [](const std::string& s) -> std::optional<std::string> {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '+') {
                out += ' ';
            } else if (s[i] == '%') {
                if (i + 2 >= s.size()) {
                    return std::nullopt;
                }
                const int hi = hex_digit_value(s[i + 1]);
                const int lo = hex_digit_value(s[i + 2]);
                if (hi < 0 || lo < 0) {
                    return std::nullopt;
                }
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
            } else {
                out += s[i];
            }
        }
        return out;
    };
    std::vector<std::pair<std::string, std::string>> out;
    std::size_t start = 0;
    while (start <= query.size() && !query.empty()) {
        const auto amp = query.find('&', start);
        const auto part = query.substr(start, amp == std::string::npos ? amp : amp - start);
        if (!part.empty()) {
            const auto eq = part.find('=');
            auto name = decode(part.substr(0, eq));
            auto value = decode(eq == std::string::npos ? std::string() : part.substr(eq + 1));
            if (!name || !value) {
                return std::nullopt;
            }
            out.emplace_back(std::move(*name), std::move(*value));
        }
        if (amp == std::string::npos) {
            break;
        }
        start = amp + 1;
    }
    return out;
}

struct Api::Call {
    const http::Request& req;
    Access access = Access::kNone;
    std::string who;
    bool tokens = false;
    std::int64_t now_ms = 0;
    std::map<std::string, std::string> params;

    void need_read() const {
        if (access == Access::kNone) {
            throw ApiError{401, "a token is needed: send Authorization: Bearer <secret>"};
        }
    }
    void need_write() const {
        if (!tokens) {
            throw ApiError{403, "no http.tokens_file is configured: the console is read-only"};
        }
        if (access == Access::kNone) {
            throw ApiError{401, "a token with write rights is needed: send Authorization: "
                                "Bearer <secret>"};
        }
        if (access != Access::kWrite) {
            throw ApiError{403, "the token " + who + " may only read"};
        }
    }
    void allow_params(std::initializer_list<const char*> names) const {
        for (const auto& param : params) {
            const std::string& name = param.first;
            if (std::none_of(names.begin(), names.end(),
                             [&name](const char* n) { return name == n; })) {
                throw ApiError{400, "unknown parameter '" + name + "'"};
            }
        }
    }
    std::optional<std::string> param(const std::string& name) const {
        const auto it = params.find(name);
        return it == params.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
};

Api::Api(store::ReviewStore& store, std::function<Overview()> overview, ApiOptions options)
    : store_(store)
    , overview_(std::move(overview))
    , options_(options) {}

void Api::tick(std::int64_t now_ms) {
    const Overview o = overview_();
    history_.sample(now_ms, o.pending, o.sent_total);
}

http::Response Api::handle(const http::Request& req, const TokenList& tokens, std::int64_t now_ms) {
    Call call{req, Access::kRead, {}, tokens != nullptr, now_ms, {}};
    try {
        if (tokens) {
            const auto t = authenticate(*tokens, req.authorization);
            call.access = t ? t->access : Access::kNone;
            call.who = t ? t->name : std::string();
        }
        const auto params = parse_query(req.query);
        if (!params) {
            throw ApiError{400, "malformed query string"};
        }
        for (const auto& [name, value] : *params) {
            if (!call.params.emplace(name, value).second) {
                throw ApiError{400, "parameter '" + name + "' given twice"};
            }
        }
        return route(call);
    } catch (const ApiError& e) {
        auto r = error_response(e.status, e.message);
        if (!e.allow.empty()) {
            r.headers.emplace_back("Allow", e.allow);
        }
        return r;
    } catch (const store::StoreUnavailable& e) {
        return error_response(503, std::string("PostgreSQL is unavailable: ") + e.what());
    } catch (const store::StoreMisconfigured& e) {
        return error_response(500, e.what());
    } catch (const store::StoreFailure& e) {
        return error_response(500, e.what());
    } catch (const std::invalid_argument& e) {
        return error_response(400, e.what());
    }
}

http::Response Api::route(Call& call) {
    const std::string& path = call.req.path;
    const std::string& method = call.req.method;
    const auto only = [&](const char* allowed) {
        if (method != allowed) {
            throw ApiError{405, "use " + std::string(allowed), allowed};
        }
    };
    static const std::string kRows = "/api/v1/rows/";
    if (path == "/api/v1/summary") {
        only("GET");
        return summary(call);
    }
    if (path == "/api/v1/rows") {
        only("GET");
        return rows(call);
    }
    if (path == "/api/v1/rows/count") {
        only("GET");
        return count(call);
    }
    if (path == "/api/v1/rows/requeue" || path == "/api/v1/rows/close") {
        only("POST");
        return act(call, path.substr(kRows.size()));
    }
    if (path == "/api/v1/actions") {
        only("GET");
        return actions(call);
    }
    if (path.compare(0, kRows.size(), kRows) == 0) {
        only("GET");
        return row(call, path.substr(kRows.size()));
    }
    return error_response(404, "no such API path: " + path);
}

http::Response Api::summary(Call& call) {
    call.need_read();
    call.allow_params({});
    const Overview o = overview_();
    history_.sample(call.now_ms, o.pending, o.sent_total);
    if (!counts_ || call.now_ms - counts_->at_ms >= options_.summary_cache_ms
        || call.now_ms < counts_->at_ms) {
        Counts c;
        c.at_ms = call.now_ms;
        store::ReviewFilter f;
        f.statuses = {store::kStatusClosed};
        c.closed = store_.review_count(f, options_.count_cap);
        if (options_.confirmation) {
            f.statuses = {4};
            c.consumer_failed = store_.review_count(f, options_.count_cap);
        }
        counts_ = c;
    }
    Json history = Json::array();
    for (const auto& p : history_.points()) {
        history.push_back(Json{{"at", iso8601_utc(p.at_ms)},
                               {"pending", p.pending},
                               {"sent_per_minute", p.sent_per_minute}});
    }
    const auto rate = history_.sent_per_minute();
    return json_response(
        200, Json{{"version", o.version},
                  {"role", o.role},
                  {"broker", o.broker},
                  {"broker_up", o.broker_up},
                  {"postgres_up", o.postgres_up},
                  {"pending", o.pending},
                  {"oldest_pending_age_s",
                   o.oldest_pending_age_s ? Json(*o.oldest_pending_age_s) : Json(nullptr)},
                  {"sent_per_minute", rate ? Json(*rate) : Json(nullptr)},
                  {"parked", o.parked},
                  {"consumer_failed",
                   options_.confirmation ? Json(counts_->consumer_failed) : Json(nullptr)},
                  {"closed", counts_->closed},
                  {"unconfirmed", o.unconfirmed ? Json(*o.unconfirmed) : Json(nullptr)},
                  {"confirmation", options_.confirmation},
                  {"access", to_string(call.access)},
                  {"tokens", call.tokens},
                  {"history", history}});
}

namespace {

// The list's filter from query parameters (or a JSON filter's members,
// passed as the same text).
store::ReviewFilter filter_from(const std::map<std::string, std::string>& p) {
    store::ReviewFilter f;
    for (const auto& [name, value] : p) {
        if (name == "status") {
            f.statuses = parse_statuses(value);
        } else if (name == "topic") {
            f.topic = filter_text(name, value);
        } else if (name == "key") {
            f.key = filter_text(name, value);
        } else if (name == "reason") {
            f.reason = filter_text(name, value);
        } else if (name == "consumer") {
            f.consumer = filter_text(name, value);
        } else if (name == "older_than_ms") {
            f.older_than_ms =
                parse_positive(name, value, std::int64_t{100} * 365 * 24 * 3600 * 1000);
        }
    }
    if (f.statuses.empty()) {
        f.statuses = {2, 4};
    }
    return f;
}

std::map<std::string, std::string> without(std::map<std::string, std::string> p,
                                           std::initializer_list<const char*> names) {
    for (const char* n : names) {
        p.erase(n);
    }
    return p;
}

} // namespace

Api::Page Api::page_of(const Call& call) const {
    Page page{options_.page_default, std::nullopt};
    if (const auto l = call.param("limit")) {
        page.limit = static_cast<std::size_t>(
            parse_positive("limit", *l, static_cast<std::int64_t>(options_.page_max)));
        if (page.limit == 0) {
            throw ApiError{400, "limit must be at least 1"};
        }
    }
    if (const auto c = call.param("cursor")) {
        page.before = parse_positive("cursor", *c, std::numeric_limits<std::int64_t>::max());
    }
    return page;
}

http::Response Api::rows(Call& call) {
    call.need_read();
    call.allow_params(
        {"status", "topic", "key", "reason", "consumer", "older_than_ms", "limit", "cursor"});
    const auto f = filter_from(without(call.params, {"limit", "cursor"}));
    const auto [limit, before] = page_of(call);
    // One more than the page: whether a next page exists, without a count.
    auto found = store_.review_rows(f, before, limit + 1);
    Json next = nullptr;
    if (found.size() > limit) {
        found.resize(limit);
        next = std::to_string(found.back().id);
    }
    Json list = Json::array();
    for (const auto& r : found) {
        list.push_back(row_json(r));
    }
    return json_response(200, Json{{"rows", list}, {"next", next}});
}

http::Response Api::count(Call& call) {
    call.need_read();
    call.allow_params({"status", "topic", "key", "reason", "consumer", "older_than_ms"});
    const auto n = store_.review_count(filter_from(call.params), options_.count_cap);
    return json_response(200, Json{{"count", n}, {"capped", n >= options_.count_cap}});
}

http::Response Api::row(Call& call, const std::string& id_text) {
    call.need_read();
    call.allow_params({});
    const auto id = parse_positive("the row id", id_text, std::numeric_limits<std::int64_t>::max());
    const auto d = store_.review_row(id, options_.payload_preview);
    if (!d) {
        return error_response(404, "no row " + id_text);
    }
    Json j = row_json(d->row);
    j["payload"] = payload_json(*d);
    Json headers = nullptr;
    if (d->headers_json) {
        headers = Json::parse(*d->headers_json, nullptr, false);
        if (headers.is_discarded()) {
            headers = *d->headers_json;
        }
    }
    j["headers"] = headers;
    if (options_.confirmation) {
        j["kafka_partition"] = d->kafka_partition ? Json(*d->kafka_partition) : Json(nullptr);
        j["kafka_offset"] = d->kafka_offset ? Json(*d->kafka_offset) : Json(nullptr);
        j["confirmed_by"] = d->confirmed_by;
        j["resends"] = d->resends ? Json(*d->resends) : Json(nullptr);
    }
    Json acts = Json::array();
    for (const auto& a : d->actions) {
        acts.push_back(action_json(a));
    }
    j["actions"] = acts;
    return json_response(200, j);
}

http::Response Api::act(Call& call, const std::string& action) {
    call.need_write();
    call.allow_params({});
    const auto& ct = call.req.content_type;
    if (ct.compare(0, 16, "application/json") != 0) {
        throw ApiError{415, "send the body as application/json"};
    }
    const Json body = Json::parse(call.req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
        throw ApiError{400, "the body must be a JSON object"};
    }
    store::ActionRequest r;
    r.who = call.who;
    r.max_rows = options_.max_filter_rows;
    for (const auto& [name, value] : body.items()) {
        if (name == "ids") {
            if (!value.is_array() || value.empty()) {
                throw ApiError{400, "ids must be a non-empty list of row ids"};
            }
            if (value.size() > options_.max_ids) {
                throw ApiError{400, "at most " + std::to_string(options_.max_ids)
                                        + " ids per request; use a filter for more"};
            }
            std::vector<std::int64_t> ids;
            std::set<std::int64_t> seen;
            for (const auto& v : value) {
                if (!v.is_number_integer() || v.get<std::int64_t>() <= 0) {
                    throw ApiError{400, "ids must be positive whole numbers, not " + v.dump()};
                }
                if (seen.insert(v.get<std::int64_t>()).second) {
                    ids.push_back(v.get<std::int64_t>());
                }
            }
            r.ids = std::move(ids);
        } else if (name == "filter") {
            if (!value.is_object()) {
                throw ApiError{400, "filter must be an object"};
            }
            std::map<std::string, std::string> p;
            for (const auto& [fname, fvalue] : value.items()) {
                static const std::set<std::string> kNames = {"status", "topic",    "key",
                                                             "reason", "consumer", "older_than_ms"};
                if (kNames.count(fname) == 0) {
                    throw ApiError{400, "unknown filter '" + fname + "'"};
                }
                if (fname == "status") {
                    if (!fvalue.is_array() || fvalue.empty()) {
                        throw ApiError{400, "filter.status must be a list such as [2, 4]"};
                    }
                    std::string s;
                    for (const auto& v : fvalue) {
                        if (!v.is_number_integer()) {
                            throw ApiError{400, "filter.status must hold 2 or 4"};
                        }
                        s += (s.empty() ? "" : ",") + std::to_string(v.get<std::int64_t>());
                    }
                    p[fname] = s;
                } else if (fname == "older_than_ms") {
                    if (!fvalue.is_number_integer()) {
                        throw ApiError{400, "filter.older_than_ms must be a whole number"};
                    }
                    p[fname] = std::to_string(fvalue.get<std::int64_t>());
                } else {
                    if (!fvalue.is_string()) {
                        throw ApiError{400, "filter." + fname + " must be a string"};
                    }
                    p[fname] = fvalue.get<std::string>();
                }
            }
            auto f = filter_from(p);
            if (std::find(f.statuses.begin(), f.statuses.end(), store::kStatusClosed)
                != f.statuses.end()) {
                throw ApiError{400, "closed rows (5) are not requeued or closed again"};
            }
            r.filter = std::move(f);
            r.filter_json = value.dump(-1, ' ', false, Json::error_handler_t::replace);
        } else if (name == "note") {
            if (!value.is_string()) {
                throw ApiError{400, "note must be a string"};
            }
            r.note = value.get<std::string>();
            if (r.note.size() > 2000) {
                throw ApiError{400, "note is longer than 2000 bytes"};
            }
        } else {
            throw ApiError{400, "unknown field '" + name + "' (ids, filter, note)"};
        }
    }
    if (r.ids.has_value() == r.filter.has_value()) {
        throw ApiError{400, "give either ids or filter"};
    }
    const bool closing = action == "close";
    if (closing && r.note.find_first_not_of(" \t\r\n") == std::string::npos) {
        throw ApiError{400, "a close needs a note saying why"};
    }
    const auto result = closing ? store_.close(r) : store_.requeue(r);
    return json_response(
        200, Json{{closing ? "closed" : "requeued", result.changed},
                  {"ids", result.ids},
                  {"action", result.action_id ? Json(*result.action_id) : Json(nullptr)},
                  {"more", result.more}});
}

http::Response Api::actions(Call& call) {
    call.need_read();
    call.allow_params({"limit", "cursor"});
    const auto [limit, before] = page_of(call);
    auto found = store_.actions(before, limit + 1);
    Json next = nullptr;
    if (found.size() > limit) {
        found.resize(limit);
        next = std::to_string(found.back().id);
    }
    Json list = Json::array();
    for (const auto& a : found) {
        list.push_back(action_json(a));
    }
    return json_response(200, Json{{"actions", list}, {"next", next}});
}

} // namespace outboxd::console
