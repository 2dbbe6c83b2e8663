#include "tables.h"

#include "common.h"
#include "services.h"
#include "store/pg_outbox_store.h"
#include "store/sql.h"

#include <algorithm>
#include <stdexcept>

namespace outboxd::bench {

std::string qualified(const config::Postgres& t) {
    return store::quote_ident(t.schema) + "." + store::quote_ident(t.table);
}

namespace {
int g_fillfactor = 0;
} // namespace

void set_table_fillfactor(int fillfactor) {
    g_fillfactor = fillfactor;
}

config::Postgres fresh_table(const std::string& prefix) {
    auto t = ot::make_table(ot::services().pg_dsn, ot::unique_name(prefix));
    if (g_fillfactor > 0) {
        // The table is empty: every page it gets is filled to this.
        ot::sql(ot::services().pg_dsn, "ALTER TABLE " + qualified(t) + " SET (fillfactor = "
                                           + std::to_string(g_fillfactor) + ")");
    }
    return t;
}

config::Postgres debezium_table(const std::string& prefix) {
    const std::string name = ot::unique_name(prefix);
    ot::sql(ot::services().pg_dsn,
            "CREATE TABLE " + name
                + " (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL, aggregateid "
                  "varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb)");
    auto loaded = config::load_config_text(
        "postgres:\n  dsn: \"" + ot::services().pg_dsn + "\"\n  table: " + name
            + "\n  notify_channel: " + name
            + "\n  layout: debezium\nkafka:\n  bootstrap_servers: \"127.0.0.1:9092\"\n",
        "bench", {});
    if (!loaded.config) {
        throw std::runtime_error("debezium table: " + config::format_problem(loaded.problems[0]));
    }
    store::PgOutboxStore(loaded.config->postgres).migrate();
    return loaded.config->postgres;
}

namespace {

// Debezium's columns; the JSON text {"data": "<hex>"} is payload_bytes long.
std::string
debezium_insert(const Options& opt, const config::Postgres& t, const std::string& topic) {
    return "INSERT INTO " + qualified(t)
           + " (id, aggregatetype, aggregateid, type, payload) SELECT gen_random_uuid(), "
           + store::quote_literal(topic.substr(std::string("outbox.event.").size()))
           + ", 'key-' || (i % " + std::to_string(opt.keys)
           + "), 'BenchEvent', jsonb_build_object('data', substring(repeat(md5(i::text), "
           + std::to_string((opt.payload_bytes + 15) / 16) + ") FROM 1 FOR "
           + std::to_string(std::max(0, opt.payload_bytes - 12)) + ")) FROM generate_series(1, "
           + std::to_string(opt.rows) + ") AS i";
}

} // namespace

void drop_table(const Options& opt, const config::Postgres& t) {
    if (opt.keep_tables) {
        return;
    }
    // Each pre-filled table holds ~250 MB; the services may be shared. The
    // action log migrate made beside it goes too.
    ot::sql(ot::services().pg_dsn,
            "DROP TABLE IF EXISTS " + qualified(t) + ", " + store::actions_table(t));
}

double prefill(const Options& opt, const config::Postgres& t, const std::string& topic) {
    const auto& c = t.columns;
    const int md5_repeats = (opt.payload_bytes + 15) / 16;
    // Distinct, incompressible-ish bytes per row (md5 of the row number);
    // keys cycle through `keys` values as an order system's aggregates would.
    const std::string insert =
        "INSERT INTO " + qualified(t) + " (" + store::quote_ident(c.topic) + ", "
        + store::quote_ident(c.key) + ", " + store::quote_ident(c.payload) + ") SELECT "
        + store::quote_literal(topic) + ", 'key-' || (i % " + std::to_string(opt.keys)
        + "), substring(decode(repeat(md5(i::text), " + std::to_string(md5_repeats)
        + "), 'hex') FROM 1 FOR " + std::to_string(opt.payload_bytes) + ") FROM generate_series(1, "
        + std::to_string(opt.rows) + ") AS i";
    const auto start = Clock::now();
    ot::sql(ot::services().pg_dsn,
            t.layout == config::Layout::kDebezium ? debezium_insert(opt, t, topic) : insert);
    const double secs = Seconds(Clock::now() - start).count();
    ot::sql(ot::services().pg_dsn, "VACUUM (ANALYZE) " + qualified(t));
    ot::sql(ot::services().pg_dsn, "CHECKPOINT");
    return static_cast<double>(opt.rows) / secs;
}

void add_parked(const config::Postgres& t, const std::string& topic, int rows) {
    const auto& c = t.columns;
    ot::sql(ot::services().pg_dsn,
            "INSERT INTO " + qualified(t) + " (" + store::quote_ident(c.topic) + ", "
                + store::quote_ident(c.key) + ", " + store::quote_ident(c.payload) + ", "
                + store::quote_ident(c.status) + ", " + store::quote_ident(c.attempts) + ", "
                + store::quote_ident(c.last_error) + ") SELECT " + store::quote_literal(topic)
                + ", 'parked-' || i, convert_to('{\"order\": ' || i || '}', 'UTF8'), 2, 5, "
                  "'Broker: Message size too large (bench: parked on purpose)' FROM "
                  "generate_series(1, "
                + std::to_string(rows) + ") AS i");
}

std::int64_t pending_count(const config::Postgres& t) {
    return std::stoll(
        ot::sql_value(ot::services().pg_dsn, "SELECT count(*) FROM " + qualified(t) + " WHERE "
                                                 + store::quote_ident(t.columns.status) + " = 0"));
}

std::int64_t max_id(const config::Postgres& t) {
    return std::stoll(
        ot::sql_value(ot::services().pg_dsn,
                      "SELECT max(" + store::quote_ident(t.columns.id) + ") FROM " + qualified(t)));
}

void migrate_for_confirm(const config::Postgres& t, const std::string& group) {
    auto pg = t;
    pg.confirm_consumers = {group};
    store::PgOutboxStore(pg).migrate();
}

} // namespace outboxd::bench
