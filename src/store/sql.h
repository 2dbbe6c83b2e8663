// SQL text for the outbox table, built from configured (quoted) identifiers.
// Pure string building, so it is unit-tested without a database.
#pragma once

#include "config/config.h"

#include <cstdint>
#include <string>
#include <vector>

namespace outboxd::store {

// "identifier" with embedded quotes doubled; safe for any configured name.
std::string quote_ident(const std::string& name);
// 'literal' with embedded quotes doubled (standard_conforming_strings on).
std::string quote_literal(const std::string& value);

// PostgreSQL array literals, passed as text and cast in SQL (libpqxx 6.4 has
// no container parameters).
std::string int_array_literal(const std::vector<std::int64_t>& values);
std::string text_array_literal(const std::vector<std::string>& values);

// How the payload column is read: every supported type is turned into bytea
// in SQL, so the row carries the exact bytes Kafka should get.
enum class PayloadType { kBytea, kText, kJson };

struct Statements {
    std::string qualified_table; // "schema"."table"
    std::string fetch;           // $1 after_id, $2 limit
    std::string mark_sent;       // $1 ids
    std::string record_failures; // $1 ids, $2 attempts, $3 errors, $4 park, $5 delay_ms
    std::string pending_topics;  // distinct topics of pending rows, bounded
};

Statements build_statements(const config::Postgres& pg, PayloadType payload_type);

// DDL for `outboxd migrate`: table, partial index, NOTIFY trigger, autovacuum.
std::vector<std::string> migration_statements(const config::Postgres& pg);

// Error text fit for a text column: no NUL bytes, at most `max_bytes` bytes,
// not cut inside a UTF-8 sequence.
std::string sanitize_error(const std::string& error, std::size_t max_bytes = 1000);

} // namespace outboxd::store
