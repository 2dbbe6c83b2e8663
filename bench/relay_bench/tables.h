// The benchmark's outbox tables: a fresh one per phase, pre-filled in one
// statement, counted, and dropped after.
#pragma once

#include "config/config.h"
#include "options.h"

#include <cstdint>
#include <string>

namespace outboxd::bench {

// schema.table, quoted.
std::string qualified(const config::Postgres& t);

// A fresh outbox table (migrate: index, trigger, autovacuum settings), so
// every phase starts without dead tuples from an earlier one.
config::Postgres fresh_table(const std::string& prefix);
// --fillfactor: set on every table fresh_table makes from now on (0: none).
void set_table_fillfactor(int fillfactor);

// --layout debezium: Debezium's documented table, adopted by migrate with
// postgres.layout: debezium; returns the loaded config's postgres section.
config::Postgres debezium_table(const std::string& prefix);

void drop_table(const Options& opt, const config::Postgres& t);

// Pre-fills `rows` rows in one server-side statement, then VACUUM ANALYZE and
// CHECKPOINT so the measured loop starts from the same state every time and
// does not pay for the fill's hint bits or dirty buffers. Returns rows/s.
// A Debezium-layout table gets aggregatetype = `topic` without its
// "outbox.event." and a jsonb payload {"data": "<hex>"} of payload_bytes.
double prefill(const Options& opt, const config::Postgres& t, const std::string& topic);

// `rows` rows at status 2 (parked after 5 attempts, with a last_error) for
// the review console's list, in one statement. Call before prefill(): their
// ids then come before the pending rows', and the last id is a pending row's.
void add_parked(const config::Postgres& t, const std::string& topic, int rows);

// Rows at status 0.
std::int64_t pending_count(const config::Postgres& t);

// The largest id in the table.
std::int64_t max_id(const config::Postgres& t);

// The columns and indexes confirm.consumers needs, on a fresh table.
void migrate_for_confirm(const config::Postgres& t, const std::string& group);

} // namespace outboxd::bench
