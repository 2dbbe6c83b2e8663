#include "store/sql.h"

#include "common/parse_int.h"

#include <algorithm>

namespace outboxd::store {

namespace {

// The outbox table's storage parameters (docs/operations.md). fillfactor
// is set where outboxd creates a table or partition; the autovacuum ones
// by every `outboxd migrate`.
constexpr const char* kFillfactor = "fillfactor = 50";
constexpr const char* kAutovacuum =
    "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000, "
    "autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 5000, "
    "autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 1";

} // namespace

std::string quote_ident(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') {
            out += '"';
        }
        out += c;
    }
    out += '"';
    return out;
}

std::string qualified_table(const config::Postgres& pg) {
    return quote_ident(pg.schema) + "." + quote_ident(pg.table);
}

std::string actions_table(const config::Postgres& pg) {
    return quote_ident(pg.schema) + "." + quote_ident(pg.table + "_actions");
}

std::string quote_literal(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'') {
            out += '\'';
        }
        out += c;
    }
    out += '\'';
    return out;
}

std::string int_array_literal(const std::vector<std::int64_t>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        out += std::to_string(values[i]);
    }
    out += '}';
    return out;
}

std::string text_array_literal(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i != 0) {
            out += ',';
        }
        out += '"';
        for (char c : values[i]) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

Statements build_statements(const config::Postgres& pg, PayloadType payload_type) {
    const auto& c = pg.columns;
    const std::string t = qualified_table(pg);
    const std::string id = quote_ident(c.id);
    const std::string status = quote_ident(c.status);
    // The payload as bytea (every supported type becomes the exact bytes
    // Kafka should get), and its length in bytes for the byte budget.
    // octet_length of a bytea or text column reads the length from the
    // TOAST pointer without fetching the value; json(b) has to be rendered.
    // A json(b) payload is rendered as text once, in the candidates' select
    // list (payload_column): the weight and the bytes both use that text.
    const std::string payload =
        payload_type == PayloadType::kBytea ? "f_payload" : "convert_to(f_payload, 'UTF8')";
    const std::string payload_column = payload_type == PayloadType::kJson
                                           ? quote_ident(c.payload) + "::text"
                                           : quote_ident(c.payload);
    Statements s;
    s.qualified_table = t;
    // Levels: the LIMITed candidates in id order (the pending index); each
    // with its weight (payload + key + headers, as the relay counts them);
    // a running sum over them; then only rows whose predecessors weigh less
    // than $3, so the first row always comes however large it is. Payloads
    // of rows cut there are never read: the inner levels pass them on as
    // TOAST pointers, and only the outer select list decodes (a json(b)
    // payload is rendered as text once, in the candidates).
    // f_* are this statement's own names, apart from any configured column.
    // f_pk (payload + key) and f_bytes (plus headers) are ints (capped at
    // 1 GiB, the most a bytea can hold) so the
    // running sum is a bigint sum: over numeric (bigint's sum) the fetch of
    // 500 rows of 1 KB took 25 % longer in the server.
    const std::string key_text = quote_ident(c.key) + "::text";
    const std::string headers_text =
        c.headers.empty() ? std::string("NULL::text") : quote_ident(c.headers) + "::text";
    // The topic, or the value the route makes it from (relay/mapping.h).
    const std::string topic_column = pg.route.by_column.empty() ? c.topic : pg.route.by_column;
    const auto text_or_null = [](const std::string& column) {
        return column.empty() ? std::string("NULL::text") : quote_ident(column) + "::text";
    };
    // Mapped columns (docs/debezium.md): read as text beside the row, and
    // not counted in the byte budget (ids, types, trace contexts are small).
    std::string mapped =
        ", " + text_or_null(c.event_id) + " AS f_eid, " + text_or_null(c.event_type)
        + " AS f_etype, "
        + (c.event_timestamp.empty()
               ? std::string("NULL::bigint")
               : "(extract(epoch FROM " + quote_ident(c.event_timestamp) + ") * 1000000)::bigint")
        + " AS f_ets, " + text_or_null(c.tracing) + " AS f_trace";
    std::string mapped_out = ", f_eid, f_etype, f_ets, f_trace";
    for (std::size_t i = 0; i < pg.additional_fields.size(); ++i) {
        const auto& f = pg.additional_fields[i];
        const std::string name = "f_x" + std::to_string(i);
        mapped += ", "
                  + (f.placement == config::Placement::kEnvelope
                         ? "to_jsonb(" + quote_ident(f.column) + ")::text"
                         : quote_ident(f.column) + "::text")
                  + " AS " + name;
        mapped_out += ", " + name;
    }
    const std::string candidates =
        "SELECT " + id + " AS f_id, " + quote_ident(topic_column) + "::text AS f_topic, " + key_text
        + " AS f_key, " + payload_column + " AS f_payload, " + headers_text + " AS f_headers, "
        + quote_ident(c.attempts) + " AS f_attempts, " + quote_ident(c.next_attempt_at)
        + " AS f_next, " + quote_ident(c.created_at) + " AS f_created" + mapped + " FROM " + t
        + " WHERE " + status + " = 0 AND " + id + " > $1 ORDER BY " + id + " LIMIT $2";
    // octet_length of a bytea or text value still in TOAST reads its length
    // from the pointer.
    const std::string sized =
        "SELECT *, least(coalesce(octet_length(f_payload), 0)::bigint + coalesce(octet_length("
        "f_key), 0), 1073741824)::int AS f_pk FROM ("
        + candidates + ") k";
    const std::string weighed =
        "SELECT *, least(f_pk::bigint + coalesce(octet_length(f_headers), 0), 1073741824)::int AS "
        "f_bytes FROM ("
        + sized + ") c";
    const std::string summed = "SELECT *, sum(f_bytes) OVER (ORDER BY f_id ROWS BETWEEN UNBOUNDED "
                               "PRECEDING AND CURRENT ROW) - f_bytes AS f_before FROM ("
                               + weighed + ") p";
    // $4 > 0: rows whose payload + key alone pass it (the producer's
    // message.max.bytes) come without their payload and with their weight.
    const std::string withheld = "($4::bigint > 0 AND f_pk > $4::bigint)";
    // Read in binary result format (libpq_session.h): every column has a
    // fixed type here (bigint id and created_at, int attempts and weight,
    // text, bytea, bool), whatever integer types the table uses.
    s.fetch =
        "SELECT f_id::bigint, f_topic, f_key, CASE WHEN " + withheld + " THEN NULL ELSE " + payload
        + " END, f_headers, f_attempts::int, (f_next IS NULL OR f_next <= now()), (extract(epoch "
          "FROM f_created) * 1000000)::bigint, CASE WHEN "
        + withheld + " THEN f_pk END" + mapped_out + " FROM (" + summed
        + ") w WHERE f_before < $3 ORDER BY f_id";
    // `AND status = 0`: a row is moved to 1 only from 0, never back from 2.
    s.mark_sent = "UPDATE " + t + " SET " + status + " = 1, " + quote_ident(c.sent_at)
                  + " = now() WHERE " + id + " = ANY($1::bigint[]) AND " + status + " = 0";
    // The attempts guard makes a repeated write (after an in-doubt commit) a no-op.
    s.record_failures =
        "UPDATE " + t + " AS t SET " + quote_ident(c.attempts) + " = f.attempts, "
        + quote_ident(c.last_error) + " = f.err, " + status + " = CASE WHEN f.park THEN 2 ELSE t."
        + status + " END, " + quote_ident(c.next_attempt_at)
        + " = CASE WHEN f.park THEN NULL ELSE now() + f.delay_ms * interval '1 millisecond' END"
        + " FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bool[], $5::bigint[])"
        + " AS f(id, attempts, err, park, delay_ms) WHERE t." + id + " = f.id AND t." + status
        + " = 0 AND t." + quote_ident(c.attempts) + " = f.attempts - 1";
    s.pending_topics = "SELECT DISTINCT " + quote_ident(topic_column) + "::text FROM (SELECT "
                       + quote_ident(topic_column) + " FROM " + t + " WHERE " + status
                       + " = 0 ORDER BY " + id + " LIMIT 100000) p LIMIT 1000";
    return s;
}

AdminStatements build_admin_statements(const config::Postgres& pg) {
    const auto& c = pg.columns;
    const std::string t = qualified_table(pg);
    const std::string id = quote_ident(c.id);
    const std::string status = quote_ident(c.status);
    const std::string topic = quote_ident(c.topic);
    const std::string created = quote_ident(c.created_at);
    // next_attempt_at = now(), not NULL: the row is due at once either way,
    // and the read-back (G6) starts at the earliest time a pending row can
    // have been produced, min(coalesce(next_attempt_at, created_at)). With
    // NULL a requeued row would drag that back to its old created_at, days
    // of partition tail to read before anything is published again.
    const std::string reset = quote_ident(c.attempts) + " = 0, " + quote_ident(c.last_error)
                              + " = NULL, " + quote_ident(c.next_attempt_at) + " = now()";
    AdminStatements s;
    const bool confirming = pg.confirming();
    // Statuses an operator reviews: 2, and 4 (a consumer failed) when
    // confirmation is on.
    const std::string review = confirming ? status + " IN (2, 4)" : status + " = 2";
    // One statement, so the counts and the age come from one snapshot.
    // greatest(0, ..): a created_at set ahead of the database clock is not
    // a negative age.
    s.status_summary = "SELECT count(*) FILTER (WHERE " + status + " = 0), count(*) FILTER (WHERE "
                       + status + " = 1), count(*) FILTER (WHERE " + status
                       + " = 2), count(*), greatest(0, extract(epoch FROM now() - min(" + created
                       + ") FILTER (WHERE " + status + " = 0)))::float8, count(*) FILTER (WHERE "
                       + status + " = 3), count(*) FILTER (WHERE " + status
                       + " = 4), count(*) FILTER (WHERE " + status + " = 5) FROM " + t;
    // `ORDER BY id` over `WHERE status = N` matches the partial indexes
    // exactly (id, predicate), so each count walks its own small index and
    // stops at $1 entries; the lowest pending id stands in for the oldest
    // pending row (ids follow insertion order up to the commit gap).
    s.health_summary =
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM " + t + " WHERE " + status + " = 0 ORDER BY "
        + id + " LIMIT $1) p), (SELECT count(*) FROM (SELECT 1 FROM " + t + " WHERE " + status
        + " = 2 ORDER BY " + id + " LIMIT $1) f), (SELECT greatest(0, extract(epoch FROM now() - "
        + created + "))::float8 FROM " + t + " WHERE " + status + " = 0 ORDER BY " + id
        + " LIMIT 1)";
    s.failed_rows = "SELECT " + id + ", " + topic + "::text, " + quote_ident(c.key) + "::text, "
                    + quote_ident(c.attempts) + ", " + quote_ident(c.last_error)
                    + "::text, (extract(epoch FROM " + created
                    + ") * 1000)::bigint, (extract(epoch FROM " + quote_ident(c.next_attempt_at)
                    + ") * 1000)::bigint, " + status + "::int FROM " + t + " WHERE " + review
                    + " AND (NOT $1::bool OR " + topic + "::text = $2) ORDER BY " + id
                    + " LIMIT $3";
    // FOR UPDATE: the statuses read here stay true until the UPDATE below in
    // the same transaction (the relay may be marking these rows meanwhile).
    s.lock_ids = "SELECT " + id + ", " + status + "::int FROM " + t + " WHERE " + id
                 + " = ANY($1::bigint[]) ORDER BY " + id + " FOR UPDATE";
    // A requeued row starts its consumers' confirmation over: a row a
    // consumer failed on is sent again to be processed again.
    const std::string forget = confirming ? ", " + quote_ident(c.confirmed_by) + " = '{}', "
                                                + quote_ident(c.resends) + " = 0"
                                          : std::string();
    // Rows at 0 are never touched: the relay may have them in flight.
    s.requeue_ids = "UPDATE " + t + " SET " + status + " = 0, " + reset + forget + ", "
                    + quote_ident(c.sent_at) + " = CASE WHEN " + status + " = 1 THEN NULL ELSE "
                    + quote_ident(c.sent_at) + " END WHERE " + id + " = ANY($1::bigint[]) AND ("
                    + review + " OR ($2::bool AND " + status + " = 1)) RETURNING " + id;
    s.requeue_failed = "UPDATE " + t + " SET " + status + " = 0, " + reset + forget + " WHERE "
                       + review + " AND (NOT $1::bool OR " + topic + "::text = $2)";
    // The sub-select picks and locks at most $2 rows (SKIP LOCKED: a row an
    // operator is requeuing right now waits for the next round), the DELETE
    // finds them by ctid; the outer conditions are re-checked so only rows
    // still at 1 and still old enough go.
    // With confirmation on a row is done at 3 (consumed); at 1 it still
    // waits for its consumers and is never deleted.
    const std::string old_sent = status + (confirming ? " = 3" : " = 1") + " AND "
                                 + quote_ident(c.sent_at)
                                 + " < now() - $1::bigint * interval '1 millisecond'";
    // No FOR UPDATE in the sub-select: a row lock is a WAL record per row
    // (it doubled the DELETE's WAL); a row an operator is changing right
    // now makes the DELETE wait for that short transaction, and its new
    // version has another ctid, so it is not deleted. ctids are unique
    // within one table only: with retention.mode partition the DELETE
    // runs on the default partition (old partitions are dropped whole).
    const std::string from =
        pg.retention_mode == config::RetentionMode::kPartition ? default_partition(pg) : t;
    s.delete_sent = "DELETE FROM " + from + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + from
                    + " WHERE " + old_sent + " LIMIT $2)) AND " + old_sent;
    return s;
}

std::vector<std::string> migration_statements(const config::Postgres& pg) {
    const auto& c = pg.columns;
    const std::string t = qualified_table(pg);
    const std::string fn = quote_ident(pg.schema) + "." + quote_ident(pg.table + "_notify");
    const std::string trig = quote_ident(pg.table + "_notify");
    const std::string idx = quote_ident(pg.table + "_pending");
    std::vector<std::string> out;
    out.push_back("CREATE SCHEMA IF NOT EXISTS " + quote_ident(pg.schema));
    // fillfactor 50 (docs/operations.md, "What outboxd costs the
    // database"): a row's page keeps room for the version its mark writes,
    // and PostgreSQL then logs only the changed middle of the row instead
    // of the whole row with its payload (about 1,300 bytes of WAL per mark
    // of a 1 KB row at fillfactor 100, 180 at 50). A partitioned table holds
    // no storage parameters: each partition gets them.
    const bool partitioned = pg.retention_mode == config::RetentionMode::kPartition;
    out.push_back("CREATE TABLE IF NOT EXISTS " + t + " (\n  " + quote_ident(c.id)
                  + " bigserial PRIMARY KEY,\n  " + quote_ident(c.topic) + " text NOT NULL,\n  "
                  + quote_ident(c.key) + " text,\n  " + quote_ident(c.payload) + " bytea,\n  "
                  + quote_ident(c.headers) + " jsonb,\n  " + quote_ident(c.status)
                  + " smallint NOT NULL DEFAULT 0,\n  " + quote_ident(c.attempts)
                  + " integer NOT NULL DEFAULT 0,\n  " + quote_ident(c.last_error) + " text,\n  "
                  + quote_ident(c.next_attempt_at) + " timestamptz,\n  " + quote_ident(c.created_at)
                  + " timestamptz NOT NULL DEFAULT now(),\n  " + quote_ident(c.sent_at)
                  + " timestamptz\n)"
                  + (partitioned ? " PARTITION BY RANGE (" + quote_ident(c.id) + ")"
                                 : std::string(" WITH (") + kFillfactor + ")"));
    if (partitioned) {
        // Ids past every partition land here; retention empties it by DELETE.
        out.push_back("CREATE TABLE IF NOT EXISTS " + default_partition(pg) + " PARTITION OF " + t
                      + " DEFAULT WITH (" + kFillfactor + ", " + kAutovacuum + ")");
    }
    out.push_back("CREATE INDEX IF NOT EXISTS " + idx + " ON " + t + " (" + quote_ident(c.id)
                  + ") WHERE " + quote_ident(c.status) + " = 0");
    // Rows at 2 are few; this index lets the health refresh count them and
    // `outboxd failed` list them without reading the table. On a large
    // existing table the build blocks writes while it scans (see docs/admin.md
    // for creating it CONCURRENTLY first; IF NOT EXISTS then skips it).
    out.push_back("CREATE INDEX IF NOT EXISTS " + quote_ident(pg.table + "_failed") + " ON " + t
                  + " (" + quote_ident(c.id) + ") WHERE " + quote_ident(c.status) + " = 2");
    // Every status change is a non-HOT update (status is in the index
    // predicate), so dead tuples pile up at the rate rows are sent: vacuum by
    // row count, not by a fraction of a table that may be huge.
    if (!partitioned) {
        out.push_back("ALTER TABLE " + t + " SET (" + kAutovacuum + ")");
    }
    if (pg.confirming()) {
        // Adding a column with a constant default rewrites nothing
        // (PostgreSQL 11+): quick on a large table too.
        out.push_back("ALTER TABLE " + t + " ADD COLUMN IF NOT EXISTS "
                      + quote_ident(c.kafka_partition) + " integer, ADD COLUMN IF NOT EXISTS "
                      + quote_ident(c.kafka_offset) + " bigint, ADD COLUMN IF NOT EXISTS "
                      + quote_ident(c.confirmed_by)
                      + " text[] NOT NULL DEFAULT '{}', ADD COLUMN IF NOT EXISTS "
                      + quote_ident(c.resends) + " integer NOT NULL DEFAULT 0");
        const std::string sent = quote_ident(c.status) + " = 1";
        out.push_back("CREATE INDEX IF NOT EXISTS " + quote_ident(pg.table + "_sent") + " ON " + t
                      + " (" + quote_ident(c.topic) + ", " + quote_ident(c.kafka_partition) + ", "
                      + quote_ident(c.kafka_offset) + ") WHERE " + sent);
        out.push_back("CREATE INDEX IF NOT EXISTS " + quote_ident(pg.table + "_unconfirmed")
                      + " ON " + t + " (" + quote_ident(c.sent_at) + ") WHERE " + sent);
    }
    // The review's partial indexes (docs/console.md): each list branch
    // `WHERE status = N ORDER BY id DESC LIMIT n` walks one of them
    // backwards. <table>_consumer_failed is made without confirmation too:
    // it is empty then and costs nothing, and without it a list of rows at 4
    // would walk the primary key through the whole table.
    out.push_back("CREATE INDEX IF NOT EXISTS " + quote_ident(pg.table + "_consumer_failed")
                  + " ON " + t + " (" + quote_ident(c.id) + ") WHERE " + quote_ident(c.status)
                  + " = 4");
    out.push_back("CREATE INDEX IF NOT EXISTS " + quote_ident(pg.table + "_closed") + " ON " + t
                  + " (" + quote_ident(c.id) + ") WHERE " + quote_ident(c.status) + " = 5");
    // The action log: who requeued or closed which rows, and why. No GIN
    // index on row_ids: a row's history (row_ids @> ARRAY[id]) reads the
    // whole log, which stays small (one record per action a person took),
    // and every action's INSERT would pay for the index.
    out.push_back("CREATE TABLE IF NOT EXISTS " + actions_table(pg)
                  + " (\n  id bigserial PRIMARY KEY,\n  at timestamptz NOT NULL DEFAULT now(),\n"
                    "  who text NOT NULL,\n  action text NOT NULL,\n"
                    "  note text NOT NULL DEFAULT '',\n  row_count integer NOT NULL,\n"
                    "  row_ids bigint[] NOT NULL,\n  filter jsonb\n)");
    if (pg.notify_channel.empty()) {
        out.push_back("DROP TRIGGER IF EXISTS " + trig + " ON " + t);
    } else {
        // One notification per statement, with an empty payload: PostgreSQL
        // folds identical notifications of one transaction into one.
        out.push_back("CREATE OR REPLACE FUNCTION " + fn
                      + "() RETURNS trigger LANGUAGE plpgsql AS $outboxd$ BEGIN PERFORM "
                        "pg_notify("
                      + quote_literal(pg.notify_channel) + ", ''); RETURN NULL; END $outboxd$");
        out.push_back("DROP TRIGGER IF EXISTS " + trig + " ON " + t);
        out.push_back("CREATE TRIGGER " + trig + " AFTER INSERT ON " + t
                      + " FOR EACH STATEMENT EXECUTE FUNCTION " + fn + "()");
    }
    return out;
}

std::vector<AdoptionStep> adoption_steps(const config::Postgres& pg,
                                         bool table_exists,
                                         const std::vector<std::string>& columns,
                                         const std::vector<std::string>& indexes) {
    const auto& c = pg.columns;
    const std::string t = qualified_table(pg);
    const auto has = [](const std::vector<std::string>& names, const std::string& name) {
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    std::vector<AdoptionStep> out;
    if (!table_exists) {
        // Debezium's documented outbox table, with the configured names.
        std::string cols;
        const auto col = [&cols](const std::string& name, const std::string& type) {
            if (!name.empty()) {
                cols += (cols.empty() ? "\n  " : ",\n  ") + quote_ident(name) + " " + type;
            }
        };
        col(c.event_id, "uuid PRIMARY KEY");
        col(pg.route.by_column, "varchar(255) NOT NULL");
        col(c.key, "varchar(255) NOT NULL");
        col(c.event_type, "varchar(255) NOT NULL");
        col(c.payload, "jsonb");
        out.push_back(
            {"CREATE TABLE IF NOT EXISTS " + t + " (" + cols + "\n) WITH (" + kFillfactor + ")",
             "created table " + t + " in Debezium's outbox layout", false});
    }
    // Without a default, or with a constant one, ADD COLUMN rewrites
    // nothing (PostgreSQL 11+); the defaults for new rows are set apart.
    struct Added {
        const std::string* name;
        const char* type;
        const char* note;
    };
    std::vector<Added> wanted = {
        {&c.id, "bigint", "outboxd's order of rows; new rows number themselves from a sequence"},
        {&c.status, "smallint NOT NULL DEFAULT 1",
         "rows already in the table count as sent (1), new rows are pending (0)"},
        {&c.attempts, "integer NOT NULL DEFAULT 0", ""},
        {&c.last_error, "text", ""},
        {&c.next_attempt_at, "timestamptz", ""},
        {&c.created_at, "timestamptz NOT NULL DEFAULT now()", ""},
        {&c.sent_at, "timestamptz", ""},
    };
    if (pg.confirming()) {
        wanted.push_back({&c.kafka_partition, "integer", ""});
        wanted.push_back({&c.kafka_offset, "bigint", ""});
        wanted.push_back({&c.confirmed_by, "text[] NOT NULL DEFAULT '{}'", ""});
        wanted.push_back({&c.resends, "integer NOT NULL DEFAULT 0", ""});
    }
    for (const Added& a : wanted) {
        if (!has(columns, *a.name)) {
            out.push_back({"ALTER TABLE " + t + " ADD COLUMN IF NOT EXISTS " + quote_ident(*a.name)
                               + " " + a.type,
                           "added column " + quote_ident(*a.name) + " " + a.type
                               + (*a.note != '\0' ? std::string(": ") + a.note : ""),
                           false});
        }
    }
    const std::string seq =
        quote_ident(pg.schema) + "." + quote_ident(pg.table + "_outboxd_id_seq");
    out.push_back(
        {"CREATE SEQUENCE IF NOT EXISTS " + seq + " OWNED BY " + t + "." + quote_ident(c.id), "",
         false});
    out.push_back({"ALTER TABLE " + t + " ALTER COLUMN " + quote_ident(c.id)
                       + " SET DEFAULT nextval(" + quote_literal(seq) + "::regclass), ALTER COLUMN "
                       + quote_ident(c.status) + " SET DEFAULT 0",
                   "", false});
    // The NOTIFY trigger of the outboxd layout, as migration_statements makes it.
    for (const auto& sql : migration_statements(pg)) {
        const auto starts = [&sql](const std::string& prefix) {
            return sql.rfind(prefix, 0) == 0;
        };
        if (starts("CREATE TABLE IF NOT EXISTS " + actions_table(pg))
            || starts("CREATE OR REPLACE FUNCTION ") || starts("DROP TRIGGER ")
            || starts("CREATE TRIGGER ") || starts("ALTER TABLE " + t + " SET (")) {
            out.push_back({sql, "", false});
        }
    }
    const std::string id = quote_ident(c.id);
    const std::string status = quote_ident(c.status);
    struct Index {
        std::string name;
        std::string body;
    };
    std::vector<Index> wanted_indexes = {
        {pg.table + "_outboxd_id",
         "UNIQUE INDEX CONCURRENTLY IF NOT EXISTS %s ON " + t + " (" + id + ")"},
        {pg.table + "_pending",
         "INDEX CONCURRENTLY IF NOT EXISTS %s ON " + t + " (" + id + ") WHERE " + status + " = 0"},
        {pg.table + "_failed",
         "INDEX CONCURRENTLY IF NOT EXISTS %s ON " + t + " (" + id + ") WHERE " + status + " = 2"},
        {pg.table + "_consumer_failed",
         "INDEX CONCURRENTLY IF NOT EXISTS %s ON " + t + " (" + id + ") WHERE " + status + " = 4"},
        {pg.table + "_closed",
         "INDEX CONCURRENTLY IF NOT EXISTS %s ON " + t + " (" + id + ") WHERE " + status + " = 5"},
    };
    if (pg.confirming()) {
        wanted_indexes.push_back(
            {pg.table + "_sent",
             "INDEX CONCURRENTLY IF NOT EXISTS %s ON " + t + " ("
                 + quote_ident(pg.route.by_column.empty() ? c.topic : pg.route.by_column) + ", "
                 + quote_ident(c.kafka_partition) + ", " + quote_ident(c.kafka_offset) + ") WHERE "
                 + status + " = 1"});
        wanted_indexes.push_back({pg.table + "_unconfirmed",
                                  "INDEX CONCURRENTLY IF NOT EXISTS %s ON " + t + " ("
                                      + quote_ident(c.sent_at) + ") WHERE " + status + " = 1"});
    }
    for (const Index& i : wanted_indexes) {
        if (has(indexes, i.name)) {
            continue;
        }
        std::string body = i.body;
        body.replace(body.find("%s"), 2, quote_ident(i.name));
        out.push_back(
            {"CREATE " + body, "built index " + quote_ident(i.name) + " concurrently", true});
    }
    return out;
}

ConfirmStatements build_confirm_statements(const config::Postgres& pg) {
    const auto& c = pg.columns;
    const std::string t = qualified_table(pg);
    const std::string id = quote_ident(c.id);
    const std::string status = quote_ident(c.status);
    const std::string topic = quote_ident(c.topic) + "::text";
    const std::string part = quote_ident(c.kafka_partition);
    const std::string offset = quote_ident(c.kafka_offset);
    const std::string by = quote_ident(c.confirmed_by);
    const std::string sent_at = quote_ident(c.sent_at);
    const std::string everyone =
        quote_literal(text_array_literal(pg.confirm_consumers)) + "::text[]";
    const std::string overdue_cond =
        status + " = 1 AND " + sent_at + " < now() - $1::bigint * interval '1 millisecond'";
    ConfirmStatements s;
    s.mark_sent = "UPDATE " + t + " AS t SET " + status + " = CASE WHEN t." + by + " @> " + everyone
                  + " THEN 3 ELSE 1 END, " + sent_at + " = now(), " + part + " = f.p, " + offset
                  + " = f.o FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS f(id, "
                  + "p, o) WHERE t." + id + " = f.id AND t." + status + " = 0";
    // A loose index scan: each step is one probe of <table>_sent for the
    // next (topic, partition) after the last, however many rows wait.
    const std::string next = "SELECT " + topic + " AS topic, " + part + " AS part FROM " + t
                             + " WHERE " + status + " = 1 AND " + part + " IS NOT NULL";
    s.waiting_partitions = "WITH RECURSIVE w(topic, part) AS ((" + next + " ORDER BY "
                           + quote_ident(c.topic) + ", " + part + " LIMIT 1) UNION ALL SELECT n.* "
                           + "FROM w, LATERAL (" + next + " AND (" + quote_ident(c.topic) + ", "
                           + part + ") > (w.topic, w.part) ORDER BY " + quote_ident(c.topic) + ", "
                           + part + " LIMIT 1) n) SELECT topic, part FROM w";
    const std::string newly = "array_append(" + by + ", $1::text)";
    const std::string pick = "SELECT ctid FROM " + t + " WHERE " + status + " = 1 AND " + topic
                             + " = $2 AND " + part + " = $3 AND " + offset
                             + " < $4 AND NOT ($1 = ANY(" + by + ")) LIMIT $5";
    s.confirm_offsets = "UPDATE " + t + " SET " + by + " = " + newly + ", " + status
                        + " = CASE WHEN " + newly + " @> " + everyone
                        + " THEN 3 ELSE 1 END WHERE ctid = ANY(ARRAY(" + pick + ")) AND " + status
                        + " = 1 AND NOT ($1 = ANY(" + by + ")) RETURNING " + status;
    const std::string with = "CASE WHEN $2 = ANY(" + by + ") THEN " + by + " ELSE array_append("
                             + by + ", $2::text) END";
    s.report_consumed = "UPDATE " + t + " SET " + by + " = " + with + ", " + status
                        + " = CASE WHEN " + status + " = 1 AND " + with + " @> " + everyone
                        + " THEN 3 ELSE " + status + " END WHERE " + id + " = $1 AND " + status
                        + " IN (0, 1) RETURNING " + status;
    s.report_failed = "UPDATE " + t + " SET " + status + " = 4, " + quote_ident(c.last_error)
                      + " = $2 WHERE " + id + " = $1 AND " + status + " IN (0, 1, 3)";
    s.overdue = "SELECT " + id + ", array_to_string(" + by + ", ','), " + quote_ident(c.resends)
                + " FROM " + t + " WHERE " + overdue_cond + " ORDER BY " + sent_at + " LIMIT $2";
    // next_attempt_at = now(): due at once, and the read-back after a crash
    // starts from the resend, not from the row's creation.
    s.resend = "UPDATE " + t + " SET " + status + " = 0, " + quote_ident(c.resends) + " = "
               + quote_ident(c.resends) + " + 1, " + quote_ident(c.next_attempt_at) + " = now(), "
               + part + " = NULL, " + offset + " = NULL WHERE " + id + " = ANY($1::bigint[]) AND "
               + status + " = 1";
    s.park = "UPDATE " + t + " AS t SET " + status + " = 2, " + quote_ident(c.last_error)
             + " = f.err FROM unnest($1::bigint[], $2::text[]) AS f(id, err) WHERE t." + id
             + " = f.id AND t." + status + " = 1";
    s.unconfirmed_count =
        "SELECT count(*) FROM (SELECT 1 FROM " + t + " WHERE " + overdue_cond + " LIMIT $2) u";
    s.not_confirmed_by = "SELECT count(*) FROM (SELECT 1 FROM " + t + " WHERE " + status
                         + " = 1 AND NOT ($1 = ANY(" + by + ")) LIMIT $2) u";
    s.unconfirmed_rows = "SELECT " + id + ", " + topic + ", " + quote_ident(c.key)
                         + "::text, (extract(epoch FROM " + sent_at + ") * 1000)::bigint, "
                         + "array_to_string(" + by + ", ','), " + quote_ident(c.resends) + " FROM "
                         + t + " WHERE " + overdue_cond + " ORDER BY " + sent_at + " LIMIT $2";
    return s;
}

std::string default_partition(const config::Postgres& pg) {
    return quote_ident(pg.schema) + "." + quote_ident(pg.table + "_default");
}

std::string partition_name(const config::Postgres& pg, std::int64_t lo) {
    const std::string suffix = "_p" + std::to_string(lo);
    return pg.table.substr(0, 63 - suffix.size()) + suffix;
}

std::vector<std::string>
create_partition_statements(const config::Postgres& pg, std::int64_t lo, std::int64_t hi) {
    const std::string t = qualified_table(pg);
    const std::string p = quote_ident(pg.schema) + "." + quote_ident(partition_name(pg, lo));
    return {"CREATE TABLE " + p + " (LIKE " + t
                + " INCLUDING DEFAULTS INCLUDING CONSTRAINTS) WITH (" + kFillfactor + ", "
                + kAutovacuum + ")",
            "ALTER TABLE " + t + " ATTACH PARTITION " + p + " FOR VALUES FROM ("
                + std::to_string(lo) + ") TO (" + std::to_string(hi) + ")"};
}

std::string partition_not_done(const config::Postgres& pg, const std::string& name) {
    const auto& c = pg.columns;
    const std::string status = quote_ident(c.status);
    // coalesce: a row without sent_at is not done either.
    return "SELECT EXISTS (SELECT 1 FROM " + quote_ident(pg.schema) + "." + quote_ident(name)
           + " WHERE NOT coalesce(" + status + (pg.confirming() ? " = 3" : " = 1") + " AND "
           + quote_ident(c.sent_at) + " < now() - $1::bigint * interval '1 millisecond', false))";
}

std::string partition_held_counts(const config::Postgres& pg, const std::string& name) {
    const std::string p = quote_ident(pg.schema) + "." + quote_ident(name);
    const std::string status = quote_ident(pg.columns.status);
    std::string out = "SELECT";
    const char* sep = " ";
    // 1 only with confirmation: rows waiting for their consumers.
    for (int s : pg.confirming() ? std::vector<int>{0, 1, 2, 4, 5} : std::vector<int>{0, 2, 4, 5}) {
        out += sep;
        out += "(SELECT count(*) FROM " + p + " WHERE " + status + " = " + std::to_string(s) + ")";
        sep = ", ";
    }
    return out;
}

std::optional<std::pair<std::int64_t, std::int64_t>> parse_range_bound(const std::string& text) {
    static const std::string kFrom = "FOR VALUES FROM ('";
    static const std::string kTo = "') TO ('";
    if (text.rfind(kFrom, 0) != 0 || text.size() < kFrom.size() + 2
        || text.compare(text.size() - 2, 2, "')") != 0) {
        return std::nullopt;
    }
    const auto to = text.find(kTo, kFrom.size());
    if (to == std::string::npos || to + kTo.size() > text.size() - 2) {
        return std::nullopt;
    }
    const std::string_view all(text);
    const auto lo = to_int64(all.substr(kFrom.size(), to - kFrom.size()));
    const auto hi = to_int64(all.substr(to + kTo.size(), text.size() - 2 - to - kTo.size()));
    if (!lo || !hi || *lo >= *hi) {
        return std::nullopt;
    }
    return std::make_pair(*lo, *hi);
}

std::string sanitize_error(const std::string& error, std::size_t max_bytes) {
    std::string out;
    out.reserve(std::min(error.size(), max_bytes));
    for (char c : error) {
        if (c != '\0') {
            out += c;
        }
    }
    if (out.size() > max_bytes) {
        std::size_t cut = max_bytes;
        // Step back over UTF-8 continuation bytes (10xxxxxx).
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) {
            --cut;
        }
        out.resize(cut);
    }
    return out;
}

} // namespace outboxd::store
