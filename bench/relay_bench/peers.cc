#include "peers.h"

#include "capacity.h"
#include "common.h"
#include "destinations.h"
#include "peer_relays.h"
#include "proc.h"
#include "services.h"
#include "store/sql.h"
#include "tables.h"

#include <librdkafka/rdkafka.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace outboxd::bench {
namespace {

// The baseline's name: the same phases with no relay running.
constexpr const char* kNoRelay = "none";

// Messages in a topic, from its partitions' high watermarks (no reading).
class Watermarks {
public:
    Watermarks() {
        char err[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", ot::services().kafka_bootstrap.c_str(), err,
                          sizeof err);
        rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
        if (rk_ == nullptr) {
            throw std::runtime_error(std::string("watermarks: ") + err);
        }
    }
    ~Watermarks() { rd_kafka_destroy(rk_); }
    Watermarks(const Watermarks&) = delete;
    Watermarks& operator=(const Watermarks&) = delete;
    std::int64_t sum(const std::string& topic) {
        std::int64_t n = 0;
        for (int p = 0; p < kTopicPartitions; ++p) {
            std::int64_t low = 0;
            std::int64_t high = 0;
            if (rd_kafka_query_watermark_offsets(rk_, topic.c_str(), p, &low, &high, 5000)
                == RD_KAFKA_RESP_ERR_NO_ERROR) {
                n += high;
            }
        }
        return n;
    }

private:
    rd_kafka_t* rk_ = nullptr;
};

struct PeerResult {
    std::string relay;
    std::int64_t backlog = 0;
    double drain_rows_per_s = 0;        // backlog / (last LogAppendTime - relay start)
    double first_message_s = 0;         // first backlog message's LogAppendTime - relay start
    double steady_drain_rows_per_s = 0; // backlog / (last - first backlog message)
    // WAL from the relay's start until the backlog was relayed (in Kafka;
    // for outboxd also every row at status 1), after a CHECKPOINT.
    double drain_wal_bytes = 0;
    double drain_postgres_cpu_s = 0;
    std::int64_t steady_rows = 0;
    double p50_ms = 0; // commit (created_at) -> LogAppendTime, steady phase
    double p99_ms = 0;
    // The steady phase from its first INSERT until its rows are relayed
    // (after a CHECKPOINT): WAL, PostgreSQL's CPU, wall time.
    double steady_wal_bytes = 0;
    double steady_postgres_cpu_s = 0;
    double steady_wall_s = 0;
    double steady_insert_s = 0; // the inserts alone: rows / this is the rate achieved
    double peak_rss_mib = 0;    // at the end of the steady phase
    double relay_cpu_s = 0;     // from its start to the end of the steady phase
    double postgres_cpu_s = 0;  // drain + steady phase
    double wall_s = 0;
    std::optional<CapacityResult> capacity;
    Footprint footprint; // after the last phase, the relay stopped

    bool relays() const { return relay != kNoRelay; }
    double drain_wal_per_row() const {
        return backlog > 0 ? drain_wal_bytes / static_cast<double>(backlog) : 0;
    }
    double steady_wal_per_row() const {
        return steady_rows > 0 ? steady_wal_bytes / static_cast<double>(steady_rows) : 0;
    }
    double steady_cores() const {
        return steady_wall_s > 0 ? steady_postgres_cpu_s / steady_wall_s : 0;
    }
};

// The steady phase: one connection inserting at `rate`, autocommit, for
// --latency-seconds. Counts r.steady_rows; returns the first row's id.
std::int64_t insert_steady(const Options& opt,
                           pqxx::connection& conn,
                           const config::Postgres& t,
                           const std::string& topic,
                           PeerResult& r) {
    const auto& c = t.columns;
    conn.prepare("ins", "INSERT INTO " + qualified(t) + " (" + store::quote_ident(c.topic) + ", "
                            + store::quote_ident(c.key) + ", " + store::quote_ident(c.payload)
                            + ") VALUES ($1, $2, $3) RETURNING " + store::quote_ident(c.id));
    std::string payload(static_cast<std::size_t>(opt.payload_bytes), 'x');
    const auto interval = std::chrono::duration_cast<Clock::duration>(Seconds(1.0 / opt.rate));
    const auto first = Clock::now();
    const auto end = first + std::chrono::seconds(opt.latency_seconds);
    std::int64_t first_steady_id = 0;
    for (std::int64_t k = 0;; ++k) {
        const auto slot = first + interval * k;
        if (slot >= end) {
            break;
        }
        std::this_thread::sleep_until(slot);
        for (std::size_t i = 0; i < payload.size(); ++i) {
            payload[i] = static_cast<char>((k * 31 + static_cast<std::int64_t>(i)) & 0xff);
        }
        pqxx::nontransaction tx(conn);
        const auto res = tx.exec_prepared("ins", topic, "key-" + std::to_string(k % opt.keys),
                                          pqxx::binarystring(payload.data(), payload.size()));
        if (k == 0) {
            first_steady_id = res[0][0].as<std::int64_t>();
        }
        ++r.steady_rows;
    }
    return first_steady_id;
}

// outboxx's message value is {"op": ..., "data": {<row>}, "meta": {...}}:
// the row's id is data.<id column>. -1 when it is not there.
std::int64_t id_in_value(const std::optional<std::string>& value, const std::string& id_column) {
    if (!value) {
        return -1;
    }
    const auto j = nlohmann::json::parse(*value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return -1;
    }
    const auto data = j.find("data");
    if (data == j.end() || !data->is_object()) {
        return -1;
    }
    const auto id = data->find(id_column);
    if (id == data->end()) {
        return -1;
    }
    if (id->is_number_integer()) {
        return id->get<std::int64_t>();
    }
    return id->is_string() ? std::stoll(id->get<std::string>()) : -1;
}

// Where each message is: the id from outboxd's outbox-id header, the
// EventRouter's `id` header, or outboxx's JSON value, to its first
// LogAppendTime. Fills r's drain figures from the backlog's (ids below
// first_steady_id).
std::map<std::int64_t, std::int64_t> appended_by_id(const std::vector<ot::Consumed>& messages,
                                                    const std::string& id_column,
                                                    std::int64_t first_steady_id,
                                                    double start_s,
                                                    PeerResult& r) {
    std::map<std::int64_t, std::int64_t> appended_ms; // id -> first LogAppendTime
    std::int64_t backlog_last_ms = 0;
    std::int64_t backlog_first_ms = std::numeric_limits<std::int64_t>::max();
    for (const auto& m : messages) {
        if (!m.log_append_time) {
            throw std::runtime_error("peer: the topic's timestamps are not LogAppendTime");
        }
        std::int64_t id = m.outbox_id;
        for (const auto& [k, v] : m.headers) {
            if (id < 0 && k == "id") {
                id = std::stoll(v);
            }
        }
        if (id < 0) {
            id = id_in_value(m.payload, id_column);
        }
        if (id < 0) {
            throw std::runtime_error("peer " + r.relay + ": a message without an id");
        }
        appended_ms.emplace(id, m.timestamp_ms);
        if (id < first_steady_id) {
            backlog_last_ms = std::max(backlog_last_ms, m.timestamp_ms);
            backlog_first_ms = std::min(backlog_first_ms, m.timestamp_ms);
        }
    }
    r.drain_rows_per_s =
        static_cast<double>(r.backlog) / (static_cast<double>(backlog_last_ms) / 1000.0 - start_s);
    r.first_message_s = static_cast<double>(backlog_first_ms) / 1000.0 - start_s;
    r.steady_drain_rows_per_s =
        static_cast<double>(r.backlog)
        / std::max(static_cast<double>(backlog_last_ms - backlog_first_ms) / 1000.0, 1e-3);
    return appended_ms;
}

// r's p50 and p99 of commit (created_at) -> LogAppendTime over the steady rows.
void steady_latency(const config::Postgres& t,
                    std::int64_t first_steady_id,
                    std::int64_t steady_rows,
                    const std::map<std::int64_t, std::int64_t>& appended_ms,
                    PeerResult& r) {
    const auto& c = t.columns;
    std::vector<double> lat;
    for (const auto& row :
         ot::sql(ot::services().pg_dsn,
                 "SELECT " + store::quote_ident(c.id) + ", (extract(epoch FROM "
                     + store::quote_ident(c.created_at) + ") * 1000)::bigint FROM " + qualified(t)
                     + " WHERE " + store::quote_ident(c.id)
                     + " >= " + std::to_string(first_steady_id) + " ORDER BY "
                     + store::quote_ident(c.id) + " LIMIT " + std::to_string(steady_rows))) {
        const auto it = appended_ms.find(std::stoll(row[0]));
        if (it == appended_ms.end()) {
            throw std::runtime_error("peer " + r.relay + ": row " + row[0] + " not in Kafka");
        }
        lat.push_back(static_cast<double>(it->second - std::stoll(row[1])));
    }
    std::sort(lat.begin(), lat.end());
    r.p50_ms = quantile(lat, 0.5);
    r.p99_ms = quantile(lat, 0.99);
}

std::unique_ptr<PeerRelay> make_peer(const Options& opt,
                                     const std::string& relay,
                                     const config::Postgres& t,
                                     const std::string& topic) {
    if (relay == "debezium") {
        return std::make_unique<DebeziumPeer>(t, opt.peer_debezium_libs, t.table,
                                              opt.peer_debezium_properties);
    }
    if (relay == "outboxx") {
        return std::make_unique<OutboxxPeer>(t, opt.peer_outboxx_bin, t.table, topic);
    }
    if (relay == "outboxd") {
        return std::make_unique<OutboxdPeer>(t, opt);
    }
    return nullptr;
}

// Waits until `relay` has relayed the table's first `rows` rows: that many
// messages in the topic (high watermarks: cheap enough to poll) and, for
// outboxd, which writes each row's status, no row left at 0.
class Relayed {
public:
    Relayed(const config::Postgres& t, std::string topic, PeerRelay& relay)
        : t_(t)
        , topic_(std::move(topic))
        , relay_(relay) {}

    void wait(std::int64_t rows, std::chrono::seconds timeout, const std::string& what) {
        if (!ot::eventually([&] { return marks_.sum(topic_) >= rows; }, timeout)) {
            throw std::runtime_error("peer: " + what + " not in Kafka after "
                                     + std::to_string(timeout.count()) + " s; relay log:\n"
                                     + ot::tail_of(relay_.log()));
        }
        if (!relay_.reads_wal()
            && !ot::eventually([&] { return pending_count(t_) == 0; }, timeout)) {
            throw std::runtime_error("peer: " + what
                                     + " in Kafka, but rows still at status 0 after "
                                     + std::to_string(timeout.count()) + " s");
        }
    }

private:
    const config::Postgres& t_;
    std::string topic_;
    PeerRelay& relay_;
    Watermarks marks_;
};

// The drain: the relay starts on the backlog; WAL and PostgreSQL CPU until
// it is relayed. Returns the relay's start (epoch seconds).
double drain(const Options& opt, PeerRelay& p, Relayed& relayed, PeerResult& r) {
    const double wal0 = wal_position_bytes();
    const double cpu0 = postgres_cpu_seconds();
    const double start_s = wall_now_s();
    p.start();
    relayed.wait(opt.rows, std::chrono::seconds(600), "backlog");
    r.drain_wal_bytes = wal_position_bytes() - wal0;
    r.drain_postgres_cpu_s = postgres_cpu_seconds() - cpu0;
    return start_s;
}

// The steady phase, after a CHECKPOINT: WAL, PostgreSQL CPU and wall time
// from the first INSERT until the rows are relayed. Returns the first id.
std::int64_t steady(const Options& opt,
                    const config::Postgres& t,
                    const std::string& topic,
                    Relayed* relayed,
                    PeerResult& r) {
    progress("peer " + r.relay + ": " + std::to_string(opt.rate) + " rows/s for "
             + std::to_string(opt.latency_seconds) + " s");
    // Open across both CPU readings: the time of a backend that has exited
    // counts only once the postmaster has reaped it.
    pqxx::connection conn(ot::services().pg_dsn);
    checkpoint();
    const double wal0 = wal_position_bytes();
    const double cpu0 = postgres_cpu_seconds();
    const auto t0 = Clock::now();
    const std::int64_t first_steady_id = insert_steady(opt, conn, t, topic, r);
    r.steady_insert_s = Seconds(Clock::now() - t0).count();
    if (relayed != nullptr) {
        relayed->wait(r.backlog + r.steady_rows, std::chrono::seconds(120), "steady rows");
    }
    r.steady_wall_s = Seconds(Clock::now() - t0).count();
    r.steady_postgres_cpu_s = postgres_cpu_seconds() - cpu0;
    r.steady_wal_bytes = wal_position_bytes() - wal0;
    return first_steady_id;
}

PeerResult run_peer(const Options& opt, const std::string& relay) {
    PeerResult r;
    r.relay = relay;
    auto t = fresh_table("peer_" + relay);
    const std::string topic =
        r.relays()
            ? make_destination(opt, "peer-" + relay, {{"message.timestamp.type", "LogAppendTime"}})
            : ot::unique_name("peer-none"); // never relayed: no topic made
    const auto p = make_peer(opt, relay, t, topic);
    std::optional<Relayed> relayed;
    if (p) {
        relayed.emplace(t, topic, *p);
    }
    progress("peer " + relay + ": backlog of " + std::to_string(opt.rows) + " rows");
    prefill(opt, t, topic); // ends with a CHECKPOINT
    r.backlog = opt.rows;
    double start_s = wall_now_s();
    if (p) {
        start_s = drain(opt, *p, *relayed, r);
        progress("peer " + relay + ": backlog in Kafka");
    }
    const std::int64_t first_steady_id = steady(opt, t, topic, p ? &*relayed : nullptr, r);
    r.postgres_cpu_s = r.drain_postgres_cpu_s + r.steady_postgres_cpu_s;
    r.wall_s = wall_now_s() - start_s;
    if (p) {
        r.peak_rss_mib = peak_rss_of(p->pid());
        r.relay_cpu_s = cpu_seconds(p->pid(), true);
        // Read now, while the topic holds only the backlog and the steady rows.
        const auto messages = ot::read_topic(ot::services().kafka_bootstrap, topic);
        const auto appended_ms =
            appended_by_id(messages, t.columns.id, first_steady_id, start_s, r);
        steady_latency(t, first_steady_id, r.steady_rows, appended_ms, r);
        progress("peer " + relay + ": " + grouped(r.drain_rows_per_s) + " rows/s, p50 "
                 + fixed(r.p50_ms, 1) + " ms, p99 " + fixed(r.p99_ms, 1) + " ms, "
                 + std::to_string(messages.size()) + " messages for "
                 + std::to_string(r.backlog + r.steady_rows) + " rows");
    }
    if (opt.capacity_seconds > 0) {
        progress("peer " + relay + ": " + std::to_string(kCapacityClients)
                 + " connections inserting unthrottled for " + std::to_string(opt.capacity_seconds)
                 + " s");
        checkpoint();
        const std::int64_t before = r.backlog + r.steady_rows;
        r.capacity = run_capacity(opt, t, topic, [&](std::int64_t rows) {
            if (relayed) {
                relayed->wait(before + rows, std::chrono::seconds(600), "capacity rows");
            }
        });
        progress("peer " + relay + ": " + grouped(r.capacity->inserts_per_s) + " inserts/s");
    }
    if (p) {
        p->stop();
    }
    r.footprint = table_footprint(t);
    drop_table(opt, t);
    return r;
}

// The table's columns: the baseline, then outboxd, Debezium, outboxx.
std::vector<const PeerResult*> in_column_order(const std::vector<PeerResult>& results) {
    std::vector<const PeerResult*> cols;
    for (const char* name : {kNoRelay, "outboxd", "debezium", "outboxx"}) {
        for (const auto& r : results) {
            if (r.relay == name) {
                cols.push_back(&r);
            }
        }
    }
    return cols;
}

std::string column_title(const std::string& relay) {
    if (relay == kNoRelay) {
        return "no relay";
    }
    return relay == "debezium" ? "Debezium" : relay;
}

constexpr int kLabelWidth = 46;
constexpr int kColumnWidth = 12;

// One line of the table: a label, then `cell(r)` for each column.
template <typename F>
void line(const std::vector<const PeerResult*>& cols, const std::string& label, F cell) {
    std::printf("  %-*s", kLabelWidth - 2, label.c_str());
    for (const auto* r : cols) {
        std::printf(" %*s", kColumnWidth, cell(*r).c_str());
    }
    std::printf("\n");
}

void heading(const std::vector<const PeerResult*>& cols, const std::string& text) {
    std::printf("%-*s", kLabelWidth, text.c_str());
    for (const auto* r : cols) {
        std::printf(" %*s", kColumnWidth, column_title(r->relay).c_str());
    }
    std::printf("\n");
}

std::string mib(double bytes) {
    return fixed(bytes / (1024.0 * 1024.0), 1);
}

void print_table(const Options& opt,
                 const std::vector<const PeerResult*>& cols,
                 const PeerResult* base) {
    const auto relayed = [](const PeerResult& r, const std::string& text) {
        return r.relays() ? text : std::string("-");
    };
    heading(cols, "backlog drain (" + grouped(static_cast<double>(opt.rows)) + " rows)");
    line(cols, "rows/s, relay start to last message",
         [&](const PeerResult& r) { return relayed(r, grouped(r.drain_rows_per_s)); });
    line(cols, "rows/s, first to last message",
         [&](const PeerResult& r) { return relayed(r, grouped(r.steady_drain_rows_per_s)); });
    line(cols, "first message after, s",
         [&](const PeerResult& r) { return relayed(r, fixed(r.first_message_s, 2)); });
    line(cols, "WAL written while draining, B/row",
         [&](const PeerResult& r) { return relayed(r, grouped(r.drain_wal_per_row())); });
    heading(cols, "steady " + grouped(opt.rate) + " rows/s for "
                      + std::to_string(opt.latency_seconds) + " s");
    line(cols, "insert rate achieved, rows/s", [&](const PeerResult& r) {
        return grouped(static_cast<double>(r.steady_rows) / std::max(r.steady_insert_s, 1e-3));
    });
    line(cols, "commit to LogAppendTime p50, ms",
         [&](const PeerResult& r) { return relayed(r, fixed(r.p50_ms, 1)); });
    line(cols, "commit to LogAppendTime p99, ms",
         [&](const PeerResult& r) { return relayed(r, fixed(r.p99_ms, 1)); });
    line(cols, "WAL per row, insert + relay, B",
         [&](const PeerResult& r) { return grouped(r.steady_wal_per_row()); });
    line(cols, "WAL per row, relay alone, B", [&](const PeerResult& r) {
        return relayed(r, grouped(r.steady_wal_per_row() - base->steady_wal_per_row()));
    });
    line(cols, "PostgreSQL cores busy",
         [&](const PeerResult& r) { return fixed(r.steady_cores(), 2); });
    if (opt.capacity_seconds > 0) {
        heading(cols, "insert capacity (" + std::to_string(kCapacityClients) + " connections, "
                          + std::to_string(opt.capacity_seconds) + " s)");
        line(cols, "inserts/s",
             [&](const PeerResult& r) { return grouped(r.capacity->inserts_per_s); });
        line(cols, "of no relay, %", [&](const PeerResult& r) {
            return fixed(100.0 * r.capacity->inserts_per_s / base->capacity->inserts_per_s, 0);
        });
        line(cols, "WAL per row, insert + relay, B",
             [&](const PeerResult& r) { return grouped(r.capacity->wal_bytes_per_row()); });
        line(cols, "WAL per row, relay alone, B", [&](const PeerResult& r) {
            return relayed(
                r, grouped(r.capacity->wal_bytes_per_row() - base->capacity->wal_bytes_per_row()));
        });
        line(cols, "PostgreSQL cores busy",
             [&](const PeerResult& r) { return fixed(r.capacity->postgres_cores(), 2); });
        line(cols, "relay caught up after the inserts, s",
             [&](const PeerResult& r) { return relayed(r, fixed(r.capacity->caught_up_s, 1)); });
    }
    heading(cols, "drain + steady phase");
    line(cols, "relay peak RSS, MiB",
         [&](const PeerResult& r) { return relayed(r, fixed(r.peak_rss_mib, 1)); });
    line(cols, "relay CPU, s",
         [&](const PeerResult& r) { return relayed(r, fixed(r.relay_cpu_s, 1)); });
    line(cols, "PostgreSQL CPU, s",
         [&](const PeerResult& r) { return fixed(r.postgres_cpu_s, 1); });
    heading(cols, "outbox table at the end");
    line(cols, "heap (pg_table_size), MiB",
         [&](const PeerResult& r) { return mib(r.footprint.heap_bytes); });
    line(cols, "indexes (pg_indexes_size), MiB",
         [&](const PeerResult& r) { return mib(r.footprint.index_bytes); });
    line(cols, "dead tuples (n_dead_tup)", [&](const PeerResult& r) {
        return grouped(static_cast<double>(r.footprint.dead_tuples));
    });
    line(cols, "rows",
         [&](const PeerResult& r) { return grouped(static_cast<double>(r.footprint.rows)); });
}

nlohmann::json result_json(const PeerResult& r, const PeerResult& base) {
    nlohmann::json j = {{"steady_wal_bytes_per_row", r.steady_wal_per_row()},
                        {"steady_postgres_cpu_s", r.steady_postgres_cpu_s},
                        {"steady_wall_s", r.steady_wall_s},
                        {"steady_insert_s", r.steady_insert_s},
                        {"steady_postgres_cores", r.steady_cores()},
                        {"postgres_cpu_s", r.postgres_cpu_s},
                        {"backlog", r.backlog},
                        {"steady_rows", r.steady_rows},
                        {"table",
                         {{"heap_bytes", r.footprint.heap_bytes},
                          {"index_bytes", r.footprint.index_bytes},
                          {"n_dead_tup", r.footprint.dead_tuples},
                          {"n_live_tup", r.footprint.live_tuples},
                          {"rows", r.footprint.rows}}}};
    if (r.relays()) {
        j.update(
            {{"drain_rows_per_s", r.drain_rows_per_s},
             {"steady_drain_rows_per_s", r.steady_drain_rows_per_s},
             {"first_message_s", r.first_message_s},
             {"drain_wal_bytes_per_row", r.drain_wal_per_row()},
             {"drain_postgres_cpu_s", r.drain_postgres_cpu_s},
             {"p50_ms", r.p50_ms},
             {"p99_ms", r.p99_ms},
             {"steady_relay_wal_bytes_per_row", r.steady_wal_per_row() - base.steady_wal_per_row()},
             {"peak_rss_mib", r.peak_rss_mib},
             {"relay_cpu_s", r.relay_cpu_s},
             {"wall_s", r.wall_s}});
    }
    if (r.capacity) {
        const auto& c = *r.capacity;
        nlohmann::json cj = {{"clients", c.clients},
                             {"rows", c.rows},
                             {"seconds", c.seconds},
                             {"inserts_per_s", c.inserts_per_s},
                             {"of_no_relay", c.inserts_per_s / base.capacity->inserts_per_s},
                             {"wal_bytes_per_row", c.wal_bytes_per_row()},
                             {"postgres_cpu_s", c.postgres_cpu_s},
                             {"postgres_cores", c.postgres_cores()}};
        if (r.relays()) {
            cj["relay_wal_bytes_per_row"] =
                c.wal_bytes_per_row() - base.capacity->wal_bytes_per_row();
            cj["caught_up_s"] = c.caught_up_s;
        }
        j["capacity"] = cj;
    }
    return j;
}

void print_peers(const Options& opt,
                 const std::string& wal_level,
                 const std::vector<PeerResult>& results,
                 const std::vector<std::pair<std::string, std::string>>& skipped) {
    const auto cols = in_column_order(results);
    const PeerResult* base = cols.front(); // the no-relay run comes first
    std::printf("\nSide by side: %s rows of %d B backlog, then %d rows/s for %d s",
                grouped(static_cast<double>(opt.rows)).c_str(), opt.payload_bytes, opt.rate,
                opt.latency_seconds);
    if (opt.capacity_seconds > 0) {
        std::printf(", then %d connections inserting unthrottled for %d s", kCapacityClients,
                    opt.capacity_seconds);
    }
    std::printf("; wal_level=%s; Kafka topic %d partitions, acks=all, idempotent, "
                "LogAppendTime\n",
                wal_level.c_str(), kTopicPartitions);
    print_table(opt, cols, base);
    nlohmann::json out;
    for (const auto* r : cols) {
        out["peers"][r->relay] = result_json(*r, *base);
    }
    for (const auto& [name, reason] : skipped) {
        std::printf("%s: not run: %s\n", column_title(name).c_str(), reason.c_str());
        out["skipped"][name] = reason;
    }
    if (wal_level != "logical") {
        std::printf("wal_level=%s: the peers (Debezium, outboxx) cannot run here, they need "
                    "wal_level=logical; without WAL_LEVEL bench/peers/all.sh runs all three\n",
                    wal_level.c_str());
    }
    out["config"] = {{"rows", opt.rows},
                     {"payload_bytes", opt.payload_bytes},
                     {"rate", opt.rate},
                     {"seconds", opt.latency_seconds},
                     {"capacity_seconds", opt.capacity_seconds},
                     {"capacity_clients", kCapacityClients},
                     {"warmup_rows", opt.warmup_rows},
                     {"wal_level", wal_level},
                     {"debezium_properties", opt.peer_debezium_properties}};
    std::printf("%s\n", out.dump().c_str());
    (void)std::fflush(stdout);
}

// Services started moments ago are still settling (Kafka's and RabbitMQ's
// start-up, PostgreSQL making its first WAL segments): on fresh services the
// no-relay run, which comes first, inserted at a third of the rate the runs
// after it reached. An unreported one first takes that out: --warmup-rows
// rows pre-filled into a scratch table, then kCapacityClients connections
// inserting unthrottled for kWarmupSeconds; no relay, no Kafka.
constexpr int kWarmupSeconds = 10;

void warm_up(const Options& opt) {
    if (opt.warmup_rows == 0) {
        return;
    }
    progress("warm-up: " + std::to_string(opt.warmup_rows) + " rows, then "
             + std::to_string(kCapacityClients) + " connections inserting for "
             + std::to_string(kWarmupSeconds) + " s (not reported)");
    Options w = opt;
    w.rows = opt.warmup_rows;
    w.capacity_seconds = kWarmupSeconds;
    const auto t = fresh_table("peer_warmup");
    const std::string topic = ot::unique_name("peer-warmup");
    prefill(w, t, topic);
    (void)run_capacity(w, t, topic, [](std::int64_t) {});
    drop_table(opt, t);
}

} // namespace

int run_peers(const Options& opt) {
    const std::string wal_level = ot::sql_value(ot::services().pg_dsn, "SHOW wal_level");
    std::vector<std::pair<std::string, std::string>> skipped;
    for (const auto& kv : opt.peer_skipped) {
        const auto eq = kv.find('=');
        skipped.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    // The peers read the WAL through a logical slot; outboxd reads the table.
    std::vector<std::string> relays{kNoRelay};
    const auto peer = [&](const std::string& name, bool given) {
        if (!given) {
            return;
        }
        if (wal_level != "logical") {
            skipped.emplace_back(name, "it decodes the WAL through a logical replication slot, "
                                       "which needs wal_level=logical (this server: "
                                           + wal_level + ")");
        } else {
            relays.push_back(name);
        }
    };
    peer("debezium", !opt.peer_debezium_libs.empty());
    peer("outboxx", !opt.peer_outboxx_bin.empty());
    relays.emplace_back("outboxd");
    if (wal_level != "logical") {
        progress("wal_level=" + wal_level
                 + ": the no-relay baseline and outboxd only (Debezium and outboxx need "
                   "wal_level=logical)");
    }
    warm_up(opt);
    std::vector<PeerResult> results;
    for (const auto& relay : relays) {
        results.push_back(run_peer(opt, relay));
    }
    print_peers(opt, wal_level, results, skipped);
    return 0;
}

} // namespace outboxd::bench
