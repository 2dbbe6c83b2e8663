#include "config/redact.h"

#include "config/options.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>

namespace outboxd::config {
namespace {

// libpq parameters whose values are secrets: the login password and the
// passphrase of the client's TLS key.
bool is_dsn_secret_keyword(const std::string& keyword) {
    return keyword == "password" || keyword == "sslpassword";
}

// URI query keys may be percent-encoded ("pass%77ord"); libpq decodes them.
std::string percent_decoded(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()
            && std::isxdigit(static_cast<unsigned char>(text[i + 1])) != 0
            && std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// Replaces the value of `password=` (and `sslpassword=`) in a libpq keyword/value string, keeping
// the rest verbatim. Follows libpq's conninfo_parse: optional spaces around
// '=', values bare or in single quotes with backslash escapes.
std::string redact_keyword_dsn(const std::string& dsn) {
    std::string out;
    std::size_t i = 0;
    const std::size_t n = dsn.size();
    const auto is_space = [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) != 0;
    };
    while (i < n) {
        while (i < n && is_space(dsn[i])) {
            out += dsn[i++];
        }
        if (i == n) {
            break;
        }
        const std::size_t key_start = i;
        while (i < n && dsn[i] != '=' && !is_space(dsn[i])) {
            ++i;
        }
        const std::string keyword = dsn.substr(key_start, i - key_start);
        out += keyword;
        while (i < n && is_space(dsn[i])) {
            out += dsn[i++];
        }
        if (i == n || dsn[i] != '=') {
            // Not something libpq accepts; hide the rest rather than guess.
            if (i < n) {
                out += kRedacted;
            }
            return out;
        }
        out += dsn[i++];
        while (i < n && is_space(dsn[i])) {
            out += dsn[i++];
        }
        const std::size_t value_start = i;
        if (i < n && dsn[i] == '\'') {
            ++i;
            while (i < n && dsn[i] != '\'') {
                i += (dsn[i] == '\\' && i + 1 < n) ? 2 : 1;
            }
            if (i < n) {
                ++i; // closing quote
            }
        } else {
            while (i < n && !is_space(dsn[i])) {
                i += (dsn[i] == '\\' && i + 1 < n) ? 2 : 1;
            }
        }
        if (is_dsn_secret_keyword(keyword)) {
            out += kRedacted;
        } else {
            out += dsn.substr(value_start, i - value_start);
        }
    }
    return out;
}

// postgresql://user:secret@host/db?password=secret -> both secrets hidden.
std::string redact_uri_dsn(const std::string& dsn) {
    std::string out = dsn;
    const std::size_t scheme_end = out.find("://") + 3;
    // libpq takes the credentials up to the first '@' before any '/'.
    const std::size_t at = out.find_first_of("@/", scheme_end);
    std::size_t rest = scheme_end;
    if (at != std::string::npos && out[at] == '@') {
        const std::size_t colon = out.find(':', scheme_end);
        if (colon != std::string::npos && colon < at) {
            out.replace(colon + 1, at - colon - 1, kRedacted);
            rest = colon + 1 + kRedacted.size() + 1;
        } else {
            rest = at + 1;
        }
    }
    const std::size_t query = out.find('?', rest);
    if (query == std::string::npos) {
        return out;
    }
    std::size_t p = query + 1;
    while (p < out.size()) {
        std::size_t end = out.find('&', p);
        if (end == std::string::npos) {
            end = out.size();
        }
        const std::size_t eq = out.find('=', p);
        if (eq != std::string::npos && eq < end
            && is_dsn_secret_keyword(percent_decoded(out.substr(p, eq - p)))) {
            out.replace(eq + 1, end - eq - 1, kRedacted);
            end = eq + 1 + kRedacted.size();
        }
        p = end + 1;
    }
    return out;
}

} // namespace

bool is_secret_property(const std::string& key) {
    constexpr const char* kSecretParts[] = {
        "password",    "secret",  "token", "credential", "sasl.oauthbearer.config",
        "ssl.key.pem", "ssl_key",
    };
    const std::string k = lower(key);
    return std::any_of(std::begin(kSecretParts), std::end(kSecretParts),
                       [&k](const char* part) { return k.find(part) != std::string::npos; });
}

std::string redact_url(const std::string& url) {
    const std::size_t scheme = url.find("://");
    if (scheme == std::string::npos) {
        return url;
    }
    const std::size_t start = scheme + 3;
    // The credentials end at the last '@' before the path.
    const std::size_t slash = url.find('/', start);
    const std::size_t at = url.rfind('@', slash == std::string::npos ? url.size() : slash);
    if (at == std::string::npos || at < start) {
        return url;
    }
    const std::size_t colon = url.find(':', start);
    if (colon == std::string::npos || colon > at) {
        return url; // a user name only
    }
    return url.substr(0, colon + 1) + std::string(kRedacted) + url.substr(at);
}

std::string redact_dsn(const std::string& dsn) {
    if (dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0) {
        return redact_uri_dsn(dsn);
    }
    return redact_keyword_dsn(dsn);
}

} // namespace outboxd::config
