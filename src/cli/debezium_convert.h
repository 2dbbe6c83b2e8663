// `outboxd convert-debezium`: a Debezium PostgreSQL connector's configuration
// that uses the outbox EventRouter (Debezium 3.6.1) turned into an outboxd
// configuration for postgres.layout: debezium, with every key that could not
// be carried over and why (docs/admin.md, "outboxd convert-debezium"). Pure:
// text in, text and lists out, no I/O; any thread.
#pragma once

#include "common/status.h"

#include <string>
#include <vector>

namespace outboxd::cli::debezium {

// One configuration key and its value, escapes resolved.
struct Entry {
    std::string key;
    std::string value;
};

// A connector's configuration: each key once (the last value wins, as in
// Kafka Connect), in the order the file first gives them.
struct Connector {
    std::string name; // "name" of the REST API's wrapper or of the keys; "" when absent
    std::vector<Entry> entries;

    // The value of `key`, or nullptr when the configuration does not set it.
    const std::string* find(const std::string& key) const;
};

struct ParsedConnector {
    Status status; // why the text is not a configuration; ok otherwise
    Connector connector;
    std::vector<std::string> notes; // things worth knowing about the file itself
};

// Java Properties text (java.util.Properties.load): `key=value`,
// `key: value` or `key value`; `#` and `!` comment lines; a line ending in
// an odd number of backslashes continues on the next, whose leading blanks
// are dropped; \t \n \r \f \uXXXX and \<any other> escapes in keys and
// values. Text that is not UTF-8 is read as Latin-1, as Java reads it.
ParsedConnector parse_properties(const std::string& text);

// JSON: {"name": ..., "config": {...}} as POSTed to (or returned by) the
// Connect REST API, or a flat object of keys as PUT to .../config. Numbers
// and booleans are taken as their text.
ParsedConnector parse_json(const std::string& text);

// JSON when the text starts with '{' (after blanks and a byte-order mark),
// Java Properties otherwise; a file whose name ends in ".json" must be JSON.
ParsedConnector parse_connector(const std::string& text, const std::string& file_name);

// A key the conversion could not carry over exactly, and why.
struct Unmapped {
    std::string key;
    std::string reason;
};

struct ConvertOptions {
    std::string source_name;       // the file's name, for the YAML's first comment
    std::string bootstrap_servers; // "" : from producer.override.bootstrap.servers or a placeholder
};

struct Conversion {
    // Not ok when there is nothing to convert: no EventRouter in the
    // transform chain, or not a PostgreSQL connector.
    Status status;
    std::string yaml;               // a complete, commented outboxd configuration
    std::vector<Unmapped> unmapped; // in the configuration's key order
    std::vector<std::string> notes; // what to check or do besides (placeholders, clean-up)
};

// Never copies a password or another secret into any of the results.
Conversion convert(const Connector& connector, const ConvertOptions& options);

} // namespace outboxd::cli::debezium
