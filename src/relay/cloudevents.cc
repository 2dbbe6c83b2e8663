#include "relay/cloudevents.h"

#include "common/text.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

namespace outboxd::relay::cloudevents {

namespace {

// --- UTF-8 and the CloudEvents String type ---

// Decodes one UTF-8 character at s[i] into `cp` and advances `i`; false for
// anything RFC 3629 refuses (overlong forms, surrogates, past U+10FFFF,
// truncated sequences).
bool next_code_point(std::string_view s, std::size_t& i, std::uint32_t& cp) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
        cp = b0;
        ++i;
        return true;
    }
    std::size_t len = 0;
    std::uint32_t min = 0;
    if ((b0 & 0xe0U) == 0xc0U) {
        len = 2;
        cp = b0 & 0x1fU;
        min = 0x80;
    } else if ((b0 & 0xf0U) == 0xe0U) {
        len = 3;
        cp = b0 & 0x0fU;
        min = 0x800;
    } else if ((b0 & 0xf8U) == 0xf0U) {
        len = 4;
        cp = b0 & 0x07U;
        min = 0x10000;
    } else {
        return false;
    }
    if (s.size() - i < len) {
        return false;
    }
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xc0U) != 0x80U) {
            return false;
        }
        cp = (cp << 6U) | (b & 0x3fU);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return false;
    }
    i += len;
    return true;
}

bool is_utf8(std::string_view s) {
    std::size_t i = 0;
    std::uint32_t cp = 0;
    while (i < s.size()) {
        if (!next_code_point(s, i, cp)) {
            return false;
        }
    }
    return true;
}

std::string hex_code_point(std::uint32_t cp) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out = "U+";
    const int digits = cp > 0xffff ? 6 : 4;
    for (int d = digits - 1; d >= 0; --d) {
        out += kHex[(cp >> (4U * static_cast<unsigned>(d))) & 0xfU];
    }
    return out;
}

// The CloudEvents 1.0 String type (spec.md "Type System"): valid Unicode
// without the control characters U+0000-U+001F and U+007F-U+009F and
// without noncharacters. "" when `s` is one.
std::string string_problem(std::string_view s) {
    std::size_t i = 0;
    std::uint32_t cp = 0;
    while (i < s.size()) {
        const std::size_t at = i;
        if (!next_code_point(s, i, cp)) {
            return "is not valid UTF-8 (byte " + std::to_string(at) + ")";
        }
        if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f)) {
            return "contains the control character " + hex_code_point(cp) + " (byte "
                   + std::to_string(at) + ")";
        }
        if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffeU) == 0xfffeU) {
            return "contains the noncharacter " + hex_code_point(cp) + " (byte "
                   + std::to_string(at) + ")";
        }
    }
    return "";
}

// --- JSON ---

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (const char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                out += "\\u00";
                out += kHex[static_cast<unsigned char>(c) >> 4U];
                out += kHex[static_cast<unsigned char>(c) & 0xfU];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

// Whether a text is exactly one JSON text (RFC 8259: one value with
// optional whitespace around it; strings of valid UTF-8). Iterative, so a
// deeply nested payload cannot exhaust the stack; no value is converted,
// so no number is ever out of range.
class JsonScanner {
public:
    explicit JsonScanner(std::string_view s)
        : s_(s) {}

    bool valid() {
        skip_ws();
        bool need_value = true;
        for (;;) {
            if (need_value) {
                if (i_ >= s_.size()) {
                    return false;
                }
                const char c = s_[i_];
                if (c == '{' || c == '[') {
                    ++i_;
                    skip_ws();
                    const char close = c == '{' ? '}' : ']';
                    if (i_ < s_.size() && s_[i_] == close) {
                        ++i_;
                    } else {
                        nesting_.push_back(c);
                        if (c == '{' && !member_name()) {
                            return false;
                        }
                        continue;
                    }
                } else if (!scalar()) {
                    return false;
                }
                need_value = false;
            }
            skip_ws();
            if (nesting_.empty()) {
                return i_ == s_.size();
            }
            if (i_ >= s_.size()) {
                return false;
            }
            const char open = nesting_.back();
            if (s_[i_] == ',') {
                ++i_;
                skip_ws();
                if (open == '{' && !member_name()) {
                    return false;
                }
                need_value = true;
            } else if (s_[i_] == (open == '{' ? '}' : ']')) {
                ++i_;
                nesting_.pop_back();
            } else {
                return false;
            }
        }
    }

private:
    void skip_ws() {
        while (i_ < s_.size()
               && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
            ++i_;
        }
    }

    // `"name"` then ':' and whitespace, the value to follow.
    bool member_name() {
        if (i_ >= s_.size() || s_[i_] != '"' || !string()) {
            return false;
        }
        skip_ws();
        if (i_ >= s_.size() || s_[i_] != ':') {
            return false;
        }
        ++i_;
        skip_ws();
        return true;
    }

    bool scalar() {
        const char c = s_[i_];
        if (c == '"') {
            return string();
        }
        if (c == 't') {
            return literal("true");
        }
        if (c == 'f') {
            return literal("false");
        }
        if (c == 'n') {
            return literal("null");
        }
        return number();
    }

    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) {
            return false;
        }
        i_ += word.size();
        return true;
    }

    bool digits() {
        const std::size_t start = i_;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
            ++i_;
        }
        return i_ > start;
    }

    // -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    bool number() {
        if (s_[i_] == '-') {
            ++i_;
        }
        if (i_ >= s_.size()) {
            return false;
        }
        if (s_[i_] == '0') {
            ++i_;
        } else if (!digits()) {
            return false;
        }
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (!digits()) {
                return false;
            }
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
                ++i_;
            }
            if (!digits()) {
                return false;
            }
        }
        return true;
    }

    // At the opening quote.
    bool string() {
        ++i_;
        std::uint32_t cp = 0;
        while (i_ < s_.size()) {
            const auto c = static_cast<unsigned char>(s_[i_]);
            if (c == '"') {
                ++i_;
                return true;
            }
            if (c < 0x20) {
                return false;
            }
            if (c == '\\') {
                if (++i_ >= s_.size()) {
                    return false;
                }
                const char e = s_[i_];
                if (e == 'u') {
                    for (int k = 0; k < 4; ++k) {
                        if (++i_ >= s_.size() || !is_hex(s_[i_])) {
                            return false;
                        }
                    }
                } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    return false;
                }
                ++i_;
            } else if (!next_code_point(s_, i_, cp)) {
                return false;
            }
        }
        return false;
    }

    static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    std::string_view s_;
    std::size_t i_ = 0;
    std::vector<char> nesting_; // '{' or '[' per open container
};

bool is_json_text(std::string_view s) {
    return JsonScanner(s).valid();
}

// --- media types ---

bool is_tchar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = lower(c);
    }
    return out;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

enum class DataKind { kJson, kText, kBinary };

// How the JSON event format carries data of this content type (media types
// compare case-insensitively, RFC 2045).
DataKind data_kind(std::string_view content_type) {
    if (trim_ows(content_type).empty()) {
        return DataKind::kJson; // json-format.md 3.1.1: unspecified reads as application/json
    }
    const std::size_t semi = content_type.find(';');
    const std::string base = lowercase(trim_ows(content_type.substr(0, semi)));
    const std::size_t slash = base.find('/');
    if (slash == std::string::npos) {
        return DataKind::kBinary;
    }
    const std::string_view type = std::string_view(base).substr(0, slash);
    const std::string_view subtype = std::string_view(base).substr(slash + 1);
    if (subtype == "json" || ends_with(subtype, "+json")) {
        return DataKind::kJson;
    }
    if (type == "text" || subtype == "xml" || ends_with(subtype, "+xml")) {
        return DataKind::kText;
    }
    if (semi != std::string_view::npos) {
        const std::string params = lowercase(content_type.substr(semi));
        std::size_t p = 0;
        while ((p = params.find(';', p)) != std::string::npos) {
            ++p;
            if (trim_ows(std::string_view(params).substr(p)).substr(0, 8) == "charset=") {
                return DataKind::kText;
            }
        }
    }
    return DataKind::kBinary;
}

// --- time ---

void append_digits(std::string& out, std::int64_t v, int width) {
    std::array<char, 20> buf{};
    int n = 0;
    do {
        buf.at(static_cast<std::size_t>(n++)) = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v > 0);
    for (int k = n; k < width; ++k) {
        out += '0';
    }
    while (n > 0) {
        out += buf.at(static_cast<std::size_t>(--n));
    }
}

// --- URI-reference (RFC 3986) ---

bool is_unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
           || c == '.' || c == '_' || c == '~';
}
bool is_gen_delim(char c) {
    return std::string_view(":/?#[]@").find(c) != std::string_view::npos;
}
bool is_sub_delim(char c) {
    return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
}
bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string describe_byte(char c) {
    const auto b = static_cast<unsigned char>(c);
    if (b == ' ') {
        return "the space";
    }
    if (b > 0x20 && b < 0x7f) {
        return std::string("the character '") + c + "'";
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    return std::string("the byte 0x") + kHex[b >> 4U] + kHex[b & 0xfU];
}

std::string uri_reference_problem(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size() || !is_hex_digit(s[i + 1]) || !is_hex_digit(s[i + 2])) {
                return "'%' at byte " + std::to_string(i)
                       + " must start a percent-encoding such as %20";
            }
            i += 2;
        } else if (!is_unreserved(c) && !is_gen_delim(c) && !is_sub_delim(c)) {
            return describe_byte(c) + " at byte " + std::to_string(i) + " must be percent-encoded";
        }
    }
    const std::size_t hash = s.find('#');
    if (hash != std::string_view::npos && s.find('#', hash + 1) != std::string_view::npos) {
        return "a second '#' must be percent-encoded as %23";
    }
    const std::string_view before_fragment = s.substr(0, hash);
    const std::size_t question = before_fragment.find('?');
    const std::size_t tail_start = std::min(question, hash);
    const std::string_view tail =
        tail_start == std::string_view::npos ? std::string_view() : s.substr(tail_start);
    if (tail.find_first_of("[]") != std::string_view::npos) {
        return "'[' and ']' may only enclose an IP literal host";
    }
    std::string_view hier = before_fragment.substr(0, question);
    const std::size_t colon = hier.find(':');
    if (colon != std::string_view::npos && colon < hier.find('/')) {
        const std::string_view scheme = hier.substr(0, colon);
        bool ok =
            !scheme.empty()
            && ((scheme[0] >= 'a' && scheme[0] <= 'z') || (scheme[0] >= 'A' && scheme[0] <= 'Z'));
        for (const char c : scheme) {
            ok = ok && (is_unreserved(c) || c == '+') && c != '_' && c != '~';
        }
        if (!ok) {
            return "\"" + std::string(scheme)
                   + "\" before the first ':' is not a scheme (a letter, then letters, digits, "
                     "'+', '-' or '.'), and a relative reference cannot have ':' in its first "
                     "segment (write ./ before it)";
        }
        hier.remove_prefix(colon + 1);
    }
    if (hier.substr(0, 2) == "//") {
        hier.remove_prefix(2);
        const std::size_t slash = hier.find('/');
        std::string_view authority = hier.substr(0, slash);
        hier = slash == std::string_view::npos ? std::string_view() : hier.substr(slash);
        const std::size_t at = authority.rfind('@');
        if (at != std::string_view::npos) {
            if (authority.substr(0, at).find_first_of("[]@") != std::string_view::npos) {
                return "the user information before '@' may not hold '[', ']' or '@'";
            }
            authority.remove_prefix(at + 1);
        }
        std::string_view port;
        if (!authority.empty() && authority.front() == '[') {
            const std::size_t close = authority.find(']');
            if (close == std::string_view::npos || close == 1
                || authority.substr(1, close - 1).find('[') != std::string_view::npos) {
                return "an IP literal host must be one [address]";
            }
            const std::string_view after = authority.substr(close + 1);
            if (!after.empty() && after.front() != ':') {
                return "only \":port\" may follow an IP literal host";
            }
            port = after.empty() ? after : after.substr(1);
        } else {
            if (authority.find_first_of("[]") != std::string_view::npos) {
                return "'[' and ']' may only enclose an IP literal host";
            }
            const std::size_t port_colon = authority.rfind(':');
            port = port_colon == std::string_view::npos ? std::string_view()
                                                        : authority.substr(port_colon + 1);
            if (port_colon != std::string_view::npos
                && authority.substr(0, port_colon).find(':') != std::string_view::npos) {
                return "a host name may not hold ':' (only one \":port\")";
            }
        }
        for (const char c : port) {
            if (c < '0' || c > '9') {
                return "the port must be digits";
            }
        }
    }
    if (hier.find_first_of("[]") != std::string_view::npos) {
        return "'[' and ']' may only enclose an IP literal host";
    }
    return "";
}

// --- attributes ---

std::string attribute_problem(std::string_view name, std::string_view value, bool required) {
    if (required && value.empty()) {
        return "CloudEvents attribute " + std::string(name) + " is empty";
    }
    if (auto p = string_problem(value); !p.empty()) {
        return "CloudEvents attribute " + std::string(name) + " " + p;
    }
    return "";
}

// Every attribute's text in the order it is sent, or the first problem.
struct Attribute {
    std::string_view name;
    std::string value;
};

std::variant<std::vector<Attribute>, std::string> attributes(const Event& e) {
    std::vector<Attribute> out;
    out.push_back({"specversion", std::string(kSpecVersion)});
    for (const auto& [name, value] : {std::pair<std::string_view, std::string_view>{"id", e.id},
                                      {"source", e.source},
                                      {"type", e.type}}) {
        if (auto p = attribute_problem(name, value, true); !p.empty()) {
            return p;
        }
        out.push_back({name, std::string(value)});
    }
    if (auto p = uri_reference_problem(e.source); !p.empty()) {
        return "CloudEvents attribute source is not a URI-reference: " + p;
    }
    if (e.time_us) {
        auto t = rfc3339_utc_micros(*e.time_us);
        if (!t) {
            return "CloudEvents attribute time: " + std::to_string(*e.time_us)
                   + " microseconds since the epoch is outside the years 0000 to 9999";
        }
        out.push_back({"time", std::move(*t)});
    }
    if (e.data && !e.datacontenttype.empty()) {
        if (auto p = attribute_problem("datacontenttype", e.datacontenttype, true); !p.empty()) {
            return p;
        }
        out.push_back({"datacontenttype", std::string(e.datacontenttype)});
    }
    if (e.trace != nullptr && !e.trace->traceparent.empty()) {
        if (auto p = attribute_problem("traceparent", e.trace->traceparent, true); !p.empty()) {
            return p;
        }
        out.push_back({"traceparent", e.trace->traceparent});
        if (!e.trace->tracestate.empty()) {
            if (auto p = attribute_problem("tracestate", e.trace->tracestate, true); !p.empty()) {
                return p;
            }
            out.push_back({"tracestate", e.trace->tracestate});
        }
    }
    return out;
}

} // namespace

std::optional<std::string> rfc3339_utc_micros(std::int64_t unix_us) {
    constexpr std::int64_t kMicrosPerDay = 86'400'000'000;
    constexpr std::int64_t kMin = -62'167'219'200'000'000; // 0000-01-01T00:00:00Z
    constexpr std::int64_t kMax = 253'402'300'799'999'999; // 9999-12-31T23:59:59.999999Z
    if (unix_us < kMin || unix_us > kMax) {
        return std::nullopt;
    }
    std::int64_t days = unix_us / kMicrosPerDay;
    std::int64_t of_day = unix_us % kMicrosPerDay;
    if (of_day < 0) {
        days -= 1;
        of_day += kMicrosPerDay;
    }
    // Civil date from days since 1970-01-01 (proleptic Gregorian calendar,
    // eras of 400 years).
    const std::int64_t z = days + 719'468;
    const std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
    const std::int64_t doe = z - era * 146'097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
    const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

    std::string out;
    out.reserve(27);
    append_digits(out, year, 4);
    out += '-';
    append_digits(out, month, 2);
    out += '-';
    append_digits(out, day, 2);
    out += 'T';
    append_digits(out, of_day / 3'600'000'000, 2);
    out += ':';
    append_digits(out, of_day / 60'000'000 % 60, 2);
    out += ':';
    append_digits(out, of_day / 1'000'000 % 60, 2);
    out += '.';
    append_digits(out, of_day % 1'000'000, 6);
    out += 'Z';
    return out;
}

std::variant<BinaryEvent, std::string> to_binary(const Event& e, std::string_view prefix) {
    auto attrs = attributes(e);
    if (auto* err = std::get_if<std::string>(&attrs)) {
        return std::move(*err);
    }
    BinaryEvent out;
    for (Attribute& a : std::get<std::vector<Attribute>>(attrs)) {
        if (a.name == "datacontenttype") {
            out.content_type = std::move(a.value);
        } else {
            out.headers.push_back({std::string(prefix) + std::string(a.name), std::move(a.value)});
        }
    }
    return out;
}

std::variant<std::vector<publish::Header>, std::string> to_kafka_binary_headers(const Event& e) {
    auto b = to_binary(e, kKafkaPrefix);
    if (auto* err = std::get_if<std::string>(&b)) {
        return std::move(*err);
    }
    auto& event = std::get<BinaryEvent>(b);
    if (event.content_type) {
        event.headers.push_back({std::string(kKafkaContentTypeHeader), *event.content_type});
    }
    return std::move(event.headers);
}

std::variant<StructuredEvent, std::string> to_structured(const Event& e) {
    auto attrs = attributes(e);
    if (auto* err = std::get_if<std::string>(&attrs)) {
        return std::move(*err);
    }
    StructuredEvent out;
    std::string& body = out.body;
    body.reserve(256 + (e.data ? e.data->size() * 4 / 3 : 0));
    body += '{';
    bool first = true;
    for (const Attribute& a : std::get<std::vector<Attribute>>(attrs)) {
        if (!first) {
            body += ',';
        }
        first = false;
        append_json_string(body, a.name);
        body += ':';
        append_json_string(body, a.value);
    }
    if (e.data) {
        const std::string_view data = *e.data;
        const DataKind kind = data_kind(e.datacontenttype);
        if (kind == DataKind::kJson && is_json_text(data)) {
            body += R"(,"data":)";
            body.append(data);
        } else if (kind == DataKind::kText && is_utf8(data)) {
            body += R"(,"data":)";
            append_json_string(body, data);
        } else {
            body += R"(,"data_base64":")";
            append_base64(body, data);
            body += '"';
        }
    }
    body += '}';
    return out;
}

std::string source_problem(std::string_view source) {
    if (source.empty()) {
        return "must not be empty: a URI-reference such as /outboxd/shop/public.outbox";
    }
    if (auto p = uri_reference_problem(source); !p.empty()) {
        return "must be a URI-reference (RFC 3986 section 4.1): " + p;
    }
    return "";
}

std::string type_problem(std::string_view type) {
    if (type.empty()) {
        return "must not be empty";
    }
    if (auto p = string_problem(type); !p.empty()) {
        return "must be a CloudEvents string: it " + p;
    }
    return "";
}

std::string datacontenttype_problem(std::string_view media_type) {
    static const std::string kExpected =
        "must be a media type such as application/json or text/plain; charset=utf-8";
    const auto token = [](std::string_view s, std::size_t& i) {
        const std::size_t start = i;
        while (i < s.size() && is_tchar(s[i])) {
            ++i;
        }
        return i > start;
    };
    const auto skip_ows = [](std::string_view s, std::size_t& i) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
            ++i;
        }
    };
    std::size_t i = 0;
    if (!token(media_type, i) || i >= media_type.size() || media_type[i] != '/') {
        return kExpected + " (no \"type/subtype\" at the start)";
    }
    ++i;
    if (!token(media_type, i)) {
        return kExpected + " (no subtype after '/')";
    }
    for (;;) {
        skip_ows(media_type, i);
        if (i == media_type.size()) {
            return "";
        }
        if (media_type[i] != ';') {
            return kExpected + " (unexpected " + describe_byte(media_type[i]) + " at byte "
                   + std::to_string(i) + ")";
        }
        ++i;
        skip_ows(media_type, i);
        if (!token(media_type, i) || i >= media_type.size() || media_type[i] != '=') {
            return kExpected + " (a parameter must be name=value)";
        }
        ++i;
        if (i < media_type.size() && media_type[i] == '"') {
            ++i;
            while (i < media_type.size() && media_type[i] != '"') {
                const auto b = static_cast<unsigned char>(media_type[i]);
                if (b < 0x20 || b == 0x7f) {
                    return kExpected + " (a control character in a quoted parameter value)";
                }
                i += media_type[i] == '\\' ? 2 : 1;
            }
            if (i >= media_type.size()) {
                return kExpected + " (an unterminated quoted parameter value)";
            }
            ++i;
        } else if (!token(media_type, i)) {
            return kExpected + " (a parameter must be name=value)";
        }
    }
}

} // namespace outboxd::relay::cloudevents
