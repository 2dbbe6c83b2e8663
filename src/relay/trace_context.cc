#include "relay/trace_context.h"

#include "common/java_properties.h"
#include "common/text.h"

#include <algorithm>
#include <cstddef>
#include <set>

namespace outboxd::relay {

namespace {

constexpr std::size_t kTraceparentSize = 55; // "00-" + 32 + "-" + 16 + "-" + 2
constexpr std::size_t kMaxTracestateMembers = 32;
constexpr std::size_t kMaxTracestateValue = 256;
constexpr std::size_t kQuoteLimit = 80; // bytes of row text a problem message repeats

bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_ows(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

bool is_blank_char(char c) {
    return c == ' ' || c == '\t' || c == '\f' || c == '\r' || c == '\n';
}

bool is_blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), is_blank_char);
}

std::string_view trim_blank(std::string_view s) {
    while (!s.empty() && is_blank_char(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_blank_char(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool is_any_hex(char c) {
    return hex_digit_value(c) >= 0;
}

// The row's text as a log line may show it: printable ASCII as it is, any
// other byte as \xNN, cut after kQuoteLimit bytes.
std::string quoted(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    const std::size_t n = s.size() < kQuoteLimit ? s.size() : kQuoteLimit;
    for (std::size_t i = 0; i < n; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\') {
            out += static_cast<char>(b);
        } else {
            out += "\\x";
            out += kHex[b >> 4U];
            out += kHex[b & 0xfU];
        }
    }
    out += '"';
    if (n < s.size()) {
        out += "...";
    }
    return out;
}

// "" or what makes `field` (exactly `size` characters of `s` from `at`) not
// a lowercase-hex id; `nonzero` when all zeroes are forbidden.
std::string hex_field_problem(
    std::string_view s, std::size_t at, std::size_t size, const char* field, bool nonzero) {
    bool all_zero = true;
    for (std::size_t i = at; i < at + size; ++i) {
        if (!is_lower_hex(s[i])) {
            return std::string(field) + " must be " + std::to_string(size)
                   + " lowercase hex digits";
        }
        all_zero = all_zero && s[i] == '0';
    }
    if (nonzero && all_zero) {
        return std::string(field) + " must not be all zeroes";
    }
    return "";
}

// Checks a traceparent (Trace Context level 1, "traceparent Header Field
// Values" and "Versioning of traceparent"); on success `out` is its
// version-00 form.
std::string traceparent_problem(std::string_view value, std::string& out) {
    const std::string_view s = trim_ows(value);
    if (s.size() < 3 || !is_lower_hex(s[0]) || !is_lower_hex(s[1]) || s[2] != '-') {
        return "the version must be 2 lowercase hex digits followed by '-'";
    }
    const std::string_view version = s.substr(0, 2);
    if (version == "ff") {
        return "version ff is forbidden";
    }
    if (s.size() < kTraceparentSize) {
        return "must be 55 characters (version-traceid-parentid-flags), got "
               + std::to_string(s.size());
    }
    if (version == "00" && s.size() != kTraceparentSize) {
        return "version 00 must be exactly 55 characters, got " + std::to_string(s.size());
    }
    // A higher version may carry more fields after the flags, behind a dash.
    if (s.size() > kTraceparentSize && s[kTraceparentSize] != '-') {
        return "the flags must end the value or be followed by '-'";
    }
    if (s[35] != '-' || s[52] != '-') {
        return "the fields must be separated by '-' (version-traceid-parentid-flags)";
    }
    if (auto p = hex_field_problem(s, 3, 32, "trace-id", true); !p.empty()) {
        return p;
    }
    if (auto p = hex_field_problem(s, 36, 16, "parent-id", true); !p.empty()) {
        return p;
    }
    if (auto p = hex_field_problem(s, 53, 2, "trace-flags", false); !p.empty()) {
        return p;
    }
    out = "00";
    out.append(s.substr(2, kTraceparentSize - 2));
    return "";
}

bool is_lcalpha(char c) {
    return c >= 'a' && c <= 'z';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_key_char(char c) {
    return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

// Trace Context level 1 key: simple-key = lcalpha 0*255(keychar), or
// multi-tenant-key = (lcalpha / DIGIT) 0*240(keychar) "@" lcalpha 0*13(keychar).
bool is_tracestate_key(std::string_view key) {
    const auto rest_ok = [](std::string_view s) {
        return std::all_of(s.begin(), s.end(), is_key_char);
    };
    const std::size_t at = key.find('@');
    if (at == std::string_view::npos) {
        return !key.empty() && key.size() <= 256 && is_lcalpha(key[0]) && rest_ok(key.substr(1));
    }
    const std::string_view tenant = key.substr(0, at);
    const std::string_view system = key.substr(at + 1);
    return !tenant.empty() && tenant.size() <= 241 && (is_lcalpha(tenant[0]) || is_digit(tenant[0]))
           && rest_ok(tenant.substr(1)) && !system.empty() && system.size() <= 14
           && is_lcalpha(system[0]) && rest_ok(system.substr(1));
}

// 1 to 256 printable ASCII characters but ',' and '=', not ending in a space.
bool is_tracestate_value(std::string_view v) {
    if (v.empty() || v.size() > kMaxTracestateValue || v.back() == ' ') {
        return false;
    }
    return std::all_of(v.begin(), v.end(),
                       [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

// Checks a tracestate (Trace Context level 1, "tracestate Header Field
// Values"); on success `out` is its normal form.
std::string tracestate_problem(std::string_view value, std::string& out) {
    std::set<std::string_view> keys;
    std::string normal;
    std::size_t members = 0;
    std::size_t start = 0;
    while (start <= value.size()) {
        std::size_t comma = value.find(',', start);
        if (comma == std::string_view::npos) {
            comma = value.size();
        }
        const std::string_view member = trim_ows(value.substr(start, comma - start));
        start = comma + 1;
        if (member.empty()) {
            continue; // empty members are allowed and dropped
        }
        const std::size_t eq = member.find('=');
        if (eq == std::string_view::npos) {
            return "list-member " + quoted(member) + " has no '='";
        }
        const std::string_view key = member.substr(0, eq);
        if (!is_tracestate_key(key)) {
            return "list-member key " + quoted(key)
                   + " must be lowercase letters, digits, '_', '-', '*', '/' (and one '@' "
                     "for a tenant), starting with a letter";
        }
        if (!is_tracestate_value(member.substr(eq + 1))) {
            return "the value of list-member " + quoted(key)
                   + " must be 1 to 256 printable ASCII characters other than ',' and '='";
        }
        if (!keys.insert(key).second) {
            return "list-member key " + quoted(key) + " appears twice";
        }
        if (++members > kMaxTracestateMembers) {
            return "more than 32 list-members";
        }
        if (!normal.empty()) {
            normal += ',';
        }
        normal.append(member);
    }
    out = std::move(normal);
    return "";
}

TraceParse from_values(std::string_view traceparent, std::optional<std::string_view> tracestate) {
    TraceParse r;
    TraceContext ctx;
    if (auto p = traceparent_problem(traceparent, ctx.traceparent); !p.empty()) {
        r.problem = TraceProblem{TraceProblemKind::kInvalidTraceparent,
                                 "invalid traceparent " + quoted(traceparent) + ": " + p
                                     + "; sent without trace context"};
        return r;
    }
    if (tracestate) {
        std::string normal;
        if (auto p = tracestate_problem(*tracestate, normal); !p.empty()) {
            r.problem = TraceProblem{TraceProblemKind::kInvalidTracestate,
                                     "invalid tracestate: " + p + "; sent without tracestate"};
        } else {
            ctx.tracestate = std::move(normal);
        }
    }
    r.context = std::move(ctx);
    return r;
}

TraceParse no_traceparent(std::string message) {
    TraceParse r;
    r.problem = TraceProblem{TraceProblemKind::kNoTraceparent, std::move(message)};
    return r;
}

} // namespace

const char* to_label(TraceProblemKind kind) {
    switch (kind) {
    case TraceProblemKind::kNoTraceparent:
        return "no_traceparent";
    case TraceProblemKind::kInvalidTraceparent:
        return "invalid_traceparent";
    case TraceProblemKind::kInvalidTracestate:
        return "invalid_tracestate";
    }
    return "invalid_traceparent";
}

TraceParse parse_trace_headers(std::string_view traceparent, std::string_view tracestate) {
    if (is_blank(traceparent)) {
        if (!is_blank(tracestate)) {
            return no_traceparent("a tracestate without a traceparent: ignored");
        }
        return {};
    }
    return from_values(traceparent, tracestate);
}

TraceParse parse_trace_column(std::string_view text) {
    if (is_blank(text)) {
        return {};
    }
    const std::string_view bare = trim_blank(text);
    // A bare traceparent: text starting with two hex digits and a dash (no
    // key outboxd reads starts that way), or one word with no Properties
    // separator ('=', ':', a blank) and no line break in it.
    const bool one_word = bare.find_first_of("=: \t\f\r\n") == std::string_view::npos;
    if (one_word
        || (bare.size() >= 3 && is_any_hex(bare[0]) && is_any_hex(bare[1]) && bare[2] == '-')) {
        return from_values(bare, std::nullopt);
    }
    std::optional<std::string> traceparent;
    std::optional<std::string> tracestate;
    bool traceparent_malformed = false;
    bool tracestate_malformed = false;
    // A key with a malformed escape is never one of these two (its key is
    // ""); a malformed escape in the value makes that value unusable.
    for (const JavaProperty& p : parse_java_properties(text)) {
        if (p.key == "traceparent") {
            traceparent = p.value;
            traceparent_malformed = !p.problem.empty();
        } else if (p.key == "tracestate") {
            tracestate = p.value;
            tracestate_malformed = !p.problem.empty();
        }
    }
    if (!traceparent) {
        return no_traceparent("no traceparent in the tracing column's Properties text "
                              + quoted(text) + ": sent without trace context");
    }
    if (traceparent_malformed) {
        TraceParse r;
        r.problem = TraceProblem{TraceProblemKind::kInvalidTraceparent,
                                 "invalid traceparent: a malformed \\uXXXX escape in the "
                                 "Properties text; sent without trace context"};
        return r;
    }
    std::optional<std::string_view> state;
    if (tracestate && !tracestate_malformed) {
        state = *tracestate;
    }
    TraceParse r = from_values(*traceparent, state);
    if (r.context && tracestate_malformed) {
        r.problem = TraceProblem{TraceProblemKind::kInvalidTracestate,
                                 "invalid tracestate: a malformed \\uXXXX escape in the "
                                 "Properties text; sent without tracestate"};
    }
    return r;
}

} // namespace outboxd::relay
