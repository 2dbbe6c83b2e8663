#include "config/redact.h"

#include "config/dsn.h"
#include "config/options.h"

#include <algorithm>
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
    if (dsn.empty()) {
        return dsn;
    }
    // Parsed by libpq itself (config/dsn.h), so whatever libpq would read as
    // a password is hidden, however the DSN spells it (URI user info, query
    // parameter, percent escapes, quotes). What libpq cannot parse is not
    // shown at all: loading refuses it anyway, and a guess could leak.
    const auto params = parse_dsn(dsn);
    if (!params) {
        return std::string(kRedacted);
    }
    std::string out;
    for (const auto& [keyword, value] : *params) {
        if (!out.empty()) {
            out += ' ';
        }
        out += is_dsn_secret_keyword(keyword) ? keyword + "=" + std::string(kRedacted)
                                              : dsn_pair(keyword, value);
    }
    return out;
}

} // namespace outboxd::config
