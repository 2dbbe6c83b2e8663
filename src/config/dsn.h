// libpq connection strings (keyword=value or postgresql:// URI), parsed the
// way libpq parses them (PQconninfoParse), so that what outboxd adds to an
// operator's DSN never depends on how it happens to be spelled. Pure
// functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace outboxd::config {

using DsnParams = std::vector<std::pair<std::string, std::string>>;

// The keywords the DSN sets, with their values (URI parts and percent
// escapes decoded), in libpq's keyword order. nullopt when libpq cannot
// parse it (config loading reports that, without quoting the DSN).
std::optional<DsnParams> parse_dsn(const std::string& dsn);

// The value the DSN gives `keyword` ("keepalives_idle"), if it sets one.
std::optional<std::string> dsn_value(const std::string& dsn, const std::string& keyword);

// The DSN as keyword=value text with each of `defaults` added that the DSN
// does not set itself: the operator's own value always wins. A DSN libpq
// cannot parse is returned unchanged (loading already refused it).
std::string dsn_with_defaults(const std::string& dsn, const DsnParams& defaults);

// One keyword=value pair as libpq reads it back: the value in single quotes,
// with backslash and quote escaped.
std::string dsn_pair(const std::string& keyword, const std::string& value);

} // namespace outboxd::config
