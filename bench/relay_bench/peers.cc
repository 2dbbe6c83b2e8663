#include "peers.h"

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
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace outboxd::bench {
namespace {

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
    std::int64_t steady_rows = 0;
    double p50_ms = 0; // commit (created_at) -> LogAppendTime, steady phase
    double p99_ms = 0;
    double peak_rss_mib = 0;
    double relay_cpu_s = 0;
    double postgres_cpu_s = 0;
    double wall_s = 0;
};

// The steady phase: one connection inserting at `rate`, autocommit, for
// --latency-seconds. Counts r.steady_rows; returns the first row's id.
std::int64_t insert_steady(const Options& opt,
                           const config::Postgres& t,
                           const std::string& topic,
                           PeerResult& r) {
    pqxx::connection conn(ot::services().pg_dsn);
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

// Where each message is: the id from outboxd's outbox-id header, or from
// the EventRouter's `id` header, to its first LogAppendTime. Fills r's
// drain figures from the backlog's (ids below first_steady_id).
std::map<std::int64_t, std::int64_t> appended_by_id(const std::vector<ot::Consumed>& messages,
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
            throw std::runtime_error("peer " + r.relay + ": a message without an id header");
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
                    const std::map<std::int64_t, std::int64_t>& appended_ms,
                    PeerResult& r) {
    const auto& c = t.columns;
    std::vector<double> lat;
    for (const auto& row :
         ot::sql(ot::services().pg_dsn,
                 "SELECT " + store::quote_ident(c.id) + ", (extract(epoch FROM "
                     + store::quote_ident(c.created_at) + ") * 1000)::bigint FROM " + qualified(t)
                     + " WHERE " + store::quote_ident(c.id)
                     + " >= " + std::to_string(first_steady_id))) {
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

PeerResult run_peer(const Options& opt, const std::string& relay, const std::string& libs) {
    PeerResult r;
    r.relay = relay;
    auto t = fresh_table("peer_" + relay);
    const std::string topic =
        make_destination(opt, "peer-" + relay, {{"message.timestamp.type", "LogAppendTime"}});
    std::unique_ptr<PeerRelay> p;
    if (relay == "debezium") {
        p = std::make_unique<DebeziumPeer>(t, libs, t.table, opt.peer_debezium_properties);
    } else {
        p = std::make_unique<OutboxdPeer>(t, opt);
    }
    progress("peer " + relay + ": backlog of " + std::to_string(opt.rows) + " rows");
    prefill(opt, t, topic);
    r.backlog = opt.rows;
    const double pg_cpu0 = postgres_cpu_seconds();
    const double start_s = wall_now_s();
    p->start();
    Watermarks marks;
    // High watermarks, not a read: cheap enough to poll.
    const auto count_in_topic = [&] {
        return marks.sum(topic);
    };
    if (!ot::eventually([&] { return count_in_topic() >= opt.rows; }, std::chrono::seconds(600))) {
        throw std::runtime_error("peer " + relay + ": backlog not in Kafka after 600 s; log:\n"
                                 + ot::tail_of(p->log()));
    }
    progress("peer " + relay + ": backlog in Kafka; " + std::to_string(opt.rate) + " rows/s for "
             + std::to_string(opt.latency_seconds) + " s");
    const std::int64_t first_steady_id = insert_steady(opt, t, topic, r);
    const std::int64_t total = r.backlog + r.steady_rows;
    if (!ot::eventually([&] { return count_in_topic() >= total; }, std::chrono::seconds(120))) {
        throw std::runtime_error("peer " + relay + ": steady rows not in Kafka after 120 s");
    }
    r.peak_rss_mib = peak_rss_of(p->pid());
    r.relay_cpu_s = cpu_seconds(p->pid(), true);
    r.postgres_cpu_s = postgres_cpu_seconds() - pg_cpu0;
    r.wall_s = wall_now_s() - start_s;
    p->stop();

    const auto messages = ot::read_topic(ot::services().kafka_bootstrap, topic);
    const auto appended_ms = appended_by_id(messages, first_steady_id, start_s, r);
    steady_latency(t, first_steady_id, appended_ms, r);
    progress("peer " + relay + ": " + grouped(r.drain_rows_per_s) + " rows/s, p50 "
             + fixed(r.p50_ms, 1) + " ms, p99 " + fixed(r.p99_ms, 1) + " ms, "
             + std::to_string(messages.size()) + " messages for " + std::to_string(total)
             + " rows");
    drop_table(opt, t);
    return r;
}

void print_peers(const Options& opt, const std::vector<PeerResult>& results) {
    std::printf("\nSide by side: %s rows of %d B backlog, then %d rows/s for %d s; Kafka topic %d "
                "partitions, acks=all, idempotent, LogAppendTime\n",
                grouped(static_cast<double>(opt.rows)).c_str(), opt.payload_bytes, opt.rate,
                opt.latency_seconds, kTopicPartitions);
    std::printf("%-10s %12s %14s %11s %8s %8s %12s %11s %9s\n", "relay", "drain rows/s",
                "first-to-last", "first msg s", "p50 ms", "p99 ms", "peak RSS", "relay CPU s",
                "PG CPU s");
    nlohmann::json out;
    for (const auto& r : results) {
        std::printf("%-10s %12s %14s %11.2f %8.1f %8.1f %8.1f MiB %11.1f %9.1f\n", r.relay.c_str(),
                    grouped(r.drain_rows_per_s).c_str(), grouped(r.steady_drain_rows_per_s).c_str(),
                    r.first_message_s, r.p50_ms, r.p99_ms, r.peak_rss_mib, r.relay_cpu_s,
                    r.postgres_cpu_s);
        out["peers"][r.relay] = {{"drain_rows_per_s", r.drain_rows_per_s},
                                 {"steady_drain_rows_per_s", r.steady_drain_rows_per_s},
                                 {"first_message_s", r.first_message_s},
                                 {"p50_ms", r.p50_ms},
                                 {"p99_ms", r.p99_ms},
                                 {"peak_rss_mib", r.peak_rss_mib},
                                 {"relay_cpu_s", r.relay_cpu_s},
                                 {"postgres_cpu_s", r.postgres_cpu_s},
                                 {"wall_s", r.wall_s},
                                 {"backlog", r.backlog},
                                 {"steady_rows", r.steady_rows}};
    }
    out["config"] = {{"rows", opt.rows},
                     {"payload_bytes", opt.payload_bytes},
                     {"rate", opt.rate},
                     {"seconds", opt.latency_seconds},
                     {"debezium_properties", opt.peer_debezium_properties}};
    std::printf("%s\n", out.dump().c_str());
}

} // namespace

int run_peers(const Options& opt) {
    if (ot::sql_value(ot::services().pg_dsn, "SHOW wal_level") != "logical") {
        throw std::runtime_error("the PostgreSQL in " + ot::services().dir
                                 + " has wal_level != logical, which Debezium needs: start the "
                                   "services with OUTBOXD_TEST_PG_WAL_LEVEL=logical "
                                   "(bench/peers/debezium.sh does)");
    }
    std::vector<PeerResult> results;
    for (const std::string relay : {"debezium", "outboxd"}) {
        results.push_back(run_peer(opt, relay, opt.peer_debezium_libs));
    }
    print_peers(opt, results);
    return 0;
}

} // namespace outboxd::bench
