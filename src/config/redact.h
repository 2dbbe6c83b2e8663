// Secrets hidden for output and logs: the password of a postgres DSN or of a
// URL, and secret librdkafka properties. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

namespace outboxd::config {

// What a hidden secret is shown as.
inline constexpr std::string_view kRedacted = "*****";

// Librdkafka keys whose values are secrets; used to redact logs and output.
bool is_secret_property(const std::string& key);

// The DSN as keyword=value text, in libpq's keyword order, with the values
// of password and sslpassword shown as "*****"; "*****" alone when libpq
// cannot parse it.
std::string redact_dsn(const std::string& dsn);

// A URL (amqp://, amqps://, http://) with the password of its user info
// replaced by "*****"; text without one is returned as is.
std::string redact_url(const std::string& url);

} // namespace outboxd::config
