// SQL text for the outbox table, built from configured (quoted) identifiers.
// Pure string building, so it is unit-tested without a database.
#pragma once

#include "config/config.h"
#include "store/outbox_store.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace outboxd::store {

// "identifier" with embedded quotes doubled; safe for any configured name.
std::string quote_ident(const std::string& name);
// "schema"."table" of the outbox, each part quoted: the one way a statement
// names the table.
std::string qualified_table(const config::Postgres& pg);
// "schema"."<table>_actions": the action log of the review (who requeued or
// closed which rows, and why; store/review_store.h), beside the outbox table.
std::string actions_table(const config::Postgres& pg);
// 'literal' with embedded quotes doubled (standard_conforming_strings on).
std::string quote_literal(const std::string& value);

// PostgreSQL array literals, passed as text and cast in SQL (libpqxx 6.4 has
// no container parameters).
std::string int_array_literal(const std::vector<std::int64_t>& values);
std::string text_array_literal(const std::vector<std::string>& values);

struct Statements {
    std::string qualified_table; // "schema"."table"
    std::string fetch;           // $1 after_id, $2 limit, $3 max_bytes, $4 max_row_bytes
    std::string mark_sent;       // $1 ids
    std::string record_failures; // $1 ids, $2 attempts, $3 errors, $4 park, $5 delay_ms
    std::string pending_topics;  // distinct topics of pending rows, bounded
};

Statements build_statements(const config::Postgres& pg, PayloadType payload_type);

// Most rows the cheap health counts look at (HealthSummary): a backlog larger
// than this is reported as "at least" this many, so a refresh every few
// seconds stays bounded however large the backlog grows.
inline constexpr std::int64_t kHealthCountCap = 1000000;

// The admin and maintenance queries (`outboxd status/failed/requeue`,
// health refresh, retention). Parameters are listed per statement.
struct AdminStatements {
    // Exact counts by status and the oldest pending age in seconds (NULL when
    // nothing is pending), from one snapshot; scans the whole table. Columns:
    // at 0, at 1, at 2, all, age, at 3, at 4, at 5.
    std::string status_summary;
    // $1 cap: pending count, parked count (each at most $1, walking only the
    // partial indexes), age in seconds of the lowest pending id (NULL: none).
    std::string health_summary;
    // $1 has_topic, $2 topic, $3 limit: rows at 2 in id order.
    std::string failed_rows;
    // $1 ids: locks the requested rows and reads their status.
    std::string lock_ids;
    // $1 ids, $2 include_sent: the requested rows at 2 (and at 1 when
    // $2) back to 0; returns their ids.
    std::string requeue_ids;
    // $1 has_topic, $2 topic: every row at 2 (of that topic) back to 0.
    std::string requeue_failed;
    // $1 age_ms, $2 limit: deletes up to $2 rows at 1 sent more than $1 ms ago.
    std::string delete_sent;
};

AdminStatements build_admin_statements(const config::Postgres& pg);

// Consumer confirmation (pg.confirming() only; docs/consumers.md). Every
// statement walks rows at 1 through the partial indexes migrate adds
// (<table>_sent on topic, partition, offset; <table>_unconfirmed on sent_at).
struct ConfirmStatements {
    // $1 ids, $2 partitions, $3 offsets (NULL for RabbitMQ): status 0 -> 1
    // (3 when the row's confirmed_by already holds every consumer).
    std::string mark_sent;
    // The distinct (topic, partition) of rows at 1, one index probe each.
    std::string waiting_partitions;
    // $1 group, $2 topic, $3 partition, $4 below, $5 limit: up to $5 rows of
    // that partition below the offset, at 1, not yet confirmed by $1 get it;
    // those confirmed by every consumer go to 3.
    std::string confirm_offsets;
    // $1 id, $2 consumer: an explicit `consumed` report (rows at 0 or 1).
    std::string report_consumed;
    // $1 id, $2 last_error: an explicit `failed` report (rows at 0, 1 or 3 -> 4).
    std::string report_failed;
    // $1 deadline_ms, $2 limit: rows at 1 sent longer ago than the deadline,
    // oldest first: id, confirmed_by joined by ',', resends.
    std::string overdue;
    // $1 ids: back to 0 to be sent again, resends + 1.
    std::string resend;
    // $1 ids, $2 errors: rows still at 1 parked at 2.
    std::string park;
    // $1 deadline_ms, $2 cap: how many rows are unconfirmed (at most $2).
    std::string unconfirmed_count;
    // $1 consumer, $2 cap: rows at 1 that consumer has not confirmed (at most $2).
    std::string not_confirmed_by;
    // $1 deadline_ms, $2 limit: the unconfirmed rows for `outboxd
    // unconfirmed`: id, topic, key, sent_at (ms), confirmed_by, resends.
    std::string unconfirmed_rows;
};

ConfirmStatements build_confirm_statements(const config::Postgres& pg);

// DDL for `outboxd migrate`: table, partial indexes (pending, failed,
// consumer failed, closed), the action log `<table>_actions`, NOTIFY
// trigger, autovacuum. Every statement is idempotent (IF NOT EXISTS).
std::vector<std::string> migration_statements(const config::Postgres& pg);

// One step of adopting an existing table in another layout (postgres.layout
// debezium, docs/debezium.md): `sql`, and what it changes in words.
// `concurrently` steps (index builds) run alone, outside a transaction,
// so the application's inserts go on meanwhile; the others run together
// in one short transaction with a lock timeout.
struct AdoptionStep {
    std::string sql;
    std::string what;
    bool concurrently = false;
};

// The steps that bring the table to what outboxd needs, given what it has
// (column and index names); nothing for what is there already. Columns are
// added without rewriting the table: rows already in it count as sent
// (Debezium relayed them), rows inserted afterwards are pending.
std::vector<AdoptionStep> adoption_steps(const config::Postgres& pg,
                                         bool table_exists,
                                         const std::vector<std::string>& columns,
                                         const std::vector<std::string>& indexes);

// retention.mode partition (docs/operations.md). Every partition gets
// kTableStorage; a partitioned table holds no storage parameters itself.
// The default partition is <table>_default; the others <table>_p<lo>
// (the table's name cut so the whole fits in 63 bytes).
std::string default_partition(const config::Postgres& pg);               // schema-qualified, quoted
std::string partition_name(const config::Postgres& pg, std::int64_t lo); // bare
// Creates the partition [lo, hi) as a table of its own, then attaches it:
// attaching takes no lock the application's inserts wait for.
std::vector<std::string>
create_partition_statements(const config::Postgres& pg, std::int64_t lo, std::int64_t hi);
// $1 age_ms: true when partition `name` (bare) holds a row that is not
// sent (consumed with confirmation) more than $1 ms ago. Stops at the first.
std::string partition_not_done(const config::Postgres& pg, const std::string& name);
// The rows at 0, 2, 4, 5 (and at 1 with confirmation) in partition `name`,
// each counted through its partial index.
std::string partition_held_counts(const config::Postgres& pg, const std::string& name);
// "FOR VALUES FROM ('1') TO ('10001')" (pg_get_expr of a range bound over
// one bigint) -> {1, 10001}; nullopt for anything else (DEFAULT, MINVALUE).
std::optional<std::pair<std::int64_t, std::int64_t>> parse_range_bound(const std::string& text);

// Error text fit for a text column: no NUL bytes, at most `max_bytes` bytes,
// not cut inside a UTF-8 sequence.
std::string sanitize_error(const std::string& error, std::size_t max_bytes = 1000);

} // namespace outboxd::store
