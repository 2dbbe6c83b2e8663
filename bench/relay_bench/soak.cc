#include "soak.h"

#include "common.h"
#include "daemon_run.h"
#include "inserter.h"
#include "proc.h"
#include "services.h"
#include "store/sql.h"
#include "tables.h"

#include <librdkafka/rdkafka.h>
#include <pqxx/pqxx>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace outboxd::bench {
namespace {

constexpr std::chrono::seconds kMinute{60};
// The soak's topic keeps 5 minutes in segments of 64 MiB, so 30 minutes of
// 1 KB rows do not pile up gigabytes in the broker; it is deleted at the end.
constexpr const char* kTopicRetentionMs = "300000";
constexpr const char* kTopicSegmentBytes = "67108864";
// The matcher polls the topic this long, then looks the batch's rows up.
constexpr std::chrono::milliseconds kMatchCycle{250};
// A minute's line waits until the matcher has looked up every message the
// broker appended until this long after the minute's end.
constexpr double kMatchGraceS = 1.0;
constexpr std::chrono::seconds kMatchWaitMax{30};
constexpr std::chrono::seconds kDrainWaitMax{120};
constexpr const char* kDeletedSeries = "outboxd_retention_deleted_rows_total";

std::string lit(const std::string& s) {
    return store::quote_literal(s);
}

// ---- the config -----------------------------------------------------------

// `over`'s keys replace `base`'s, maps merged key by key.
void merge_yaml(YAML::Node base, const YAML::Node& over) {
    for (const auto& kv : over) {
        const auto key = kv.first.as<std::string>();
        if (kv.second.IsMap() && base[key] && base[key].IsMap()) {
            merge_yaml(base[key], kv.second);
        } else {
            base[key] = kv.second;
        }
    }
}

// The soak's own keys: retention on (retention.mode only when it is not
// the default, so the soak runs on a daemon that does not know the key).
std::string soak_yaml(const Options& opt) {
    std::string y =
        "retention:\n  sent_max_age_ms: " + std::to_string(opt.soak_retention_ms) + "\n";
    if (opt.soak_retention_mode != "delete") {
        y += "  mode: " + opt.soak_retention_mode + "\n";
    }
    return y;
}

// The harness's config for `t` (as DaemonRun writes it), with the soak's
// keys and --soak-extra-yaml merged over it. outboxd refuses a key given
// twice, so the extra YAML cannot simply be appended.
std::string write_soak_config(const Options& opt, const config::Postgres& t) {
    ot::DaemonConfig dc;
    dc.table = t;
    dc.pg_dsn = g_relay_dsn.empty() ? ot::services().pg_dsn : g_relay_dsn;
    dc.bootstrap = ot::services().kafka_bootstrap;
    dc.relay["batch_size"] = std::to_string(opt.batch_size);
    const std::string path = ot::write_config(dc);
    YAML::Node root = YAML::LoadFile(path);
    merge_yaml(root, YAML::Load(soak_yaml(opt)));
    if (!opt.soak_extra_yaml.empty()) {
        const YAML::Node extra = YAML::Load(opt.soak_extra_yaml);
        if (!extra.IsNull() && !extra.IsMap()) {
            throw std::runtime_error("--soak-extra-yaml is not a YAML mapping: "
                                     + opt.soak_extra_yaml);
        }
        if (extra.IsMap()) {
            merge_yaml(root, extra);
        }
    }
    YAML::Emitter out;
    out << root;
    std::ofstream f(path, std::ios::trunc);
    f << out.c_str() << "\n";
    f.close();
    if (!f) {
        throw std::runtime_error("cannot write " + path);
    }
    return path;
}

// ---- Kafka ----------------------------------------------------------------

void delete_topic(const std::string& topic) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", ot::services().kafka_bootstrap.c_str(), err,
                      sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == nullptr) {
        throw std::runtime_error(std::string("delete topic: ") + err);
    }
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteTopic_t* del = rd_kafka_DeleteTopic_new(topic.c_str());
    rd_kafka_DeleteTopics(rk, &del, 1, nullptr, q);
    rd_kafka_DeleteTopic_destroy(del);
    std::string error = "no answer within 30 s";
    if (rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000); ev != nullptr) {
        error.clear();
        if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            error = rd_kafka_event_error_string(ev);
        } else if (const auto* res = rd_kafka_event_DeleteTopics_result(ev); res != nullptr) {
            std::size_t n = 0;
            const rd_kafka_topic_result_t** topics = rd_kafka_DeleteTopics_result_topics(res, &n);
            for (std::size_t i = 0; i < n; ++i) {
                if (rd_kafka_topic_result_error(topics[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                    error = rd_kafka_topic_result_error_string(topics[i]);
                }
            }
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    if (!error.empty()) {
        throw std::runtime_error("delete topic " + topic + ": " + error);
    }
}

// Reads the topic as it fills and gives every message its latency: the
// broker's LogAppendTime minus the row's created_at (looked up by the
// message's outbox-id header, in batches, before retention deletes the
// row), filed under the minute of the append. From a thread of its own.
class LatencyMatcher {
public:
    struct Counts {
        std::int64_t matched = 0;
        std::int64_t not_found = 0; // the row was gone when looked up (retention)
        std::int64_t late = 0;      // matched after its minute was reported
        std::int64_t after_end = 0; // appended after the last minute (a backlog's rest)
        std::string error;          // the last failed lookup, if any
    };

    LatencyMatcher(const config::Postgres& t, const std::string& topic, int minutes)
        : minutes_(minutes) {
        const auto& c = t.columns;
        lookup_sql_ = "SELECT " + store::quote_ident(c.id) + ", extract(epoch FROM "
                      + store::quote_ident(c.created_at) + ") * 1000 FROM " + qualified(t)
                      + " WHERE " + store::quote_ident(c.id) + " = ANY($1::bigint[])";
        char err[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        auto set = [&](const char* k, const std::string& v) {
            if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(conf);
                throw std::runtime_error(std::string("soak consumer: ") + err);
            }
        };
        set("bootstrap.servers", ot::services().kafka_bootstrap);
        set("group.id", ot::unique_name("bench-soak-reader"));
        set("enable.auto.commit", "false");
        set("fetch.wait.max.ms", "50");
        rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
        if (rk_ == nullptr) {
            throw std::runtime_error(std::string("soak consumer: ") + err);
        }
        rd_kafka_poll_set_consumer(rk_);
        rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(kTopicPartitions);
        for (int p = 0; p < kTopicPartitions; ++p) {
            rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        }
        rd_kafka_assign(rk_, list);
        rd_kafka_topic_partition_list_destroy(list);
        thread_ = std::thread([this] { run(); });
    }

    ~LatencyMatcher() {
        stop();
        rd_kafka_consumer_close(rk_);
        rd_kafka_destroy(rk_);
    }
    LatencyMatcher(const LatencyMatcher&) = delete;
    LatencyMatcher& operator=(const LatencyMatcher&) = delete;

    // Minute 0 starts at `wall_s` (epoch seconds); messages appended before
    // it (the warm-up) are not counted.
    void set_start(double wall_s) {
        std::lock_guard<std::mutex> lk(mu_);
        start_wall_s_ = wall_s;
    }

    // Until every message appended before `wall_s` has been looked up;
    // false after `timeout`.
    bool wait_through(double wall_s, std::chrono::seconds timeout) {
        std::unique_lock<std::mutex> lk(mu_);
        return cv_.wait_for(lk, timeout, [&] { return done_through_s_ >= wall_s; });
    }

    // Minute `m`'s latencies in ms, sorted; later matches for it count as late.
    std::vector<double> take(int m) {
        std::lock_guard<std::mutex> lk(mu_);
        taken_through_ = std::max(taken_through_, m);
        auto it = per_minute_.find(m);
        if (it == per_minute_.end()) {
            return {};
        }
        std::vector<double> v = std::move(it->second);
        per_minute_.erase(it);
        std::sort(v.begin(), v.end());
        return v;
    }

    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    Counts counts() const {
        std::lock_guard<std::mutex> lk(mu_);
        return counts_;
    }

private:
    void run() {
        std::unique_ptr<pqxx::connection> conn;
        std::vector<std::pair<std::int64_t, std::int64_t>> got; // outbox-id, append ms
        while (!stop_) {
            const double cycle_start = wall_now_s();
            const auto until = Clock::now() + kMatchCycle;
            while (Clock::now() < until && !stop_) {
                rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 50);
                if (m == nullptr) {
                    continue;
                }
                if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                    add_message(m, got);
                }
                rd_kafka_message_destroy(m);
            }
            if (!got.empty()) {
                try {
                    if (!conn) {
                        conn = std::make_unique<pqxx::connection>(ot::services().pg_dsn);
                    }
                    match(*conn, got);
                    got.clear();
                } catch (const std::exception& e) {
                    conn.reset(); // tried again next cycle, with the same ids
                    std::lock_guard<std::mutex> lk(mu_);
                    counts_.error = e.what();
                    continue;
                }
            }
            {
                std::lock_guard<std::mutex> lk(mu_);
                done_through_s_ = cycle_start;
            }
            cv_.notify_all();
        }
    }

    static void add_message(rd_kafka_message_t* m,
                            std::vector<std::pair<std::int64_t, std::int64_t>>& got) {
        rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        const std::int64_t ts = rd_kafka_message_timestamp(m, &type);
        if (type != RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME) {
            return;
        }
        rd_kafka_headers_t* hdrs = nullptr;
        if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return;
        }
        const void* val = nullptr;
        std::size_t size = 0;
        if (rd_kafka_header_get_last(hdrs, "outbox-id", &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR
            || val == nullptr) {
            return;
        }
        try {
            got.emplace_back(std::stoll(std::string(static_cast<const char*>(val), size)), ts);
        } catch (const std::exception&) {
            // not a row id
        }
    }

    void match(pqxx::connection& conn,
               const std::vector<std::pair<std::int64_t, std::int64_t>>& got) {
        std::string ids = "{";
        for (const auto& [id, ts] : got) {
            ids += (ids.size() > 1 ? "," : "") + std::to_string(id);
        }
        ids += "}";
        std::map<std::int64_t, double> created_ms;
        {
            pqxx::nontransaction tx(conn);
            for (const auto& row : tx.exec_params(lookup_sql_, ids)) {
                created_ms[row[0].as<std::int64_t>()] = row[1].as<double>();
            }
        }
        std::lock_guard<std::mutex> lk(mu_);
        for (const auto& [id, ts] : got) {
            const auto it = created_ms.find(id);
            if (it == created_ms.end()) {
                ++counts_.not_found;
                continue;
            }
            if (!start_wall_s_) {
                continue; // the warm-up
            }
            const double since = static_cast<double>(ts) / 1000.0 - *start_wall_s_;
            if (since < 0) {
                continue;
            }
            const int minute = static_cast<int>(since / 60.0);
            if (minute >= minutes_) {
                ++counts_.after_end;
                continue;
            }
            if (minute <= taken_through_) {
                ++counts_.late;
                continue;
            }
            ++counts_.matched;
            per_minute_[minute].push_back(static_cast<double>(ts) - it->second);
        }
    }

    int minutes_;
    std::string lookup_sql_;
    rd_kafka_t* rk_ = nullptr;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::optional<double> start_wall_s_;
    double done_through_s_ = 0;
    int taken_through_ = -1;
    std::map<int, std::vector<double>> per_minute_;
    Counts counts_;
    std::thread thread_;
};

// ---- what the database and the daemon say at one moment --------------------

struct Snapshot {
    double wall_s = 0;
    std::int64_t wal_bytes = 0; // pg_current_wal_lsn() as a byte position
    std::int64_t max_id = 0;
    std::int64_t at1 = 0;
    std::int64_t at0 = 0;
    std::int64_t table_bytes = 0;
    std::int64_t index_bytes = 0;
    std::int64_t live = 0;
    std::int64_t dead = 0;
    std::int64_t autovacuums = 0;
    bool partitioned = false;
    std::int64_t partitions = 0;
    std::optional<double> deleted; // the daemon's counter; none if it did not answer
    double daemon_cpu_s = 0;
    double pg_cpu_s = -1;
};

class Probe {
public:
    Probe(const config::Postgres& t, ot::Daemon& daemon)
        : conn_(ot::services().pg_dsn)
        , daemon_(daemon) {
        const std::string name = lit(qualified(t));
        // The table itself and, when partitioned, every partition.
        const std::string rels = "(SELECT " + name
                                 + "::regclass AS relid UNION SELECT relid FROM "
                                   "pg_partition_tree("
                                 + name + "::regclass))";
        const auto& c = t.columns;
        wal_sql_ = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, (SELECT "
                   "coalesce(max("
                   + store::quote_ident(c.id) + "), 0) FROM " + qualified(t) + ")";
        size_sql_ = "SELECT coalesce(sum(pg_table_size(relid)), 0)::bigint, "
                    "coalesce(sum(pg_indexes_size(relid)), 0)::bigint FROM "
                    + rels + " r";
        stats_sql_ = "SELECT coalesce(sum(n_live_tup), 0)::bigint, coalesce(sum(n_dead_tup), "
                     "0)::bigint, coalesce(sum(autovacuum_count), 0)::bigint FROM "
                     "pg_stat_user_tables WHERE relid IN "
                     + rels;
        parts_sql_ = "SELECT c.relkind = 'p', (SELECT count(*) FROM pg_inherits WHERE inhparent "
                     "= c.oid) FROM pg_class c WHERE c.oid = "
                     + name + "::regclass";
        const std::string status = store::quote_ident(c.status);
        count_sql_ = "SELECT count(*) FILTER (WHERE " + status + " = 1), count(*) FILTER (WHERE "
                     + status + " = 0) FROM " + qualified(t);
    }

    Snapshot take() {
        Snapshot s;
        s.wall_s = wall_now_s();
        s.daemon_cpu_s = cpu_seconds(daemon_.pid(), false);
        try {
            s.pg_cpu_s = postgres_cpu_seconds();
        } catch (const std::exception&) {
            s.pg_cpu_s = -1; // services not started by services.sh here
        }
        s.deleted = deleted_rows();
        pqxx::nontransaction tx(conn_);
        auto r = tx.exec(wal_sql_)[0];
        s.wal_bytes = r[0].as<std::int64_t>();
        s.max_id = r[1].as<std::int64_t>();
        r = tx.exec(size_sql_)[0];
        s.table_bytes = r[0].as<std::int64_t>();
        s.index_bytes = r[1].as<std::int64_t>();
        r = tx.exec(stats_sql_)[0];
        s.live = r[0].as<std::int64_t>();
        s.dead = r[1].as<std::int64_t>();
        s.autovacuums = r[2].as<std::int64_t>();
        r = tx.exec(parts_sql_)[0];
        s.partitioned = r[0].as<bool>();
        s.partitions = r[1].as<std::int64_t>();
        // The one scan of the whole table, last: its snapshot holds back
        // vacuum only while it runs.
        r = tx.exec(count_sql_)[0];
        s.at1 = r[0].as<std::int64_t>();
        s.at0 = r[1].as<std::int64_t>();
        return s;
    }

    std::int64_t pending() {
        pqxx::nontransaction tx(conn_);
        return tx.exec(count_sql_)[0][1].as<std::int64_t>();
    }

private:
    std::optional<double> deleted_rows() {
        if (!port_) {
            port_ = daemon_.http_port(std::chrono::milliseconds(2000));
            if (!port_) {
                return std::nullopt;
            }
        }
        try {
            const auto [status, body] = ot::http_get(*port_, "/metrics");
            if (status != 200) {
                return std::nullopt;
            }
            // Absent until retention deleted a first row, by some daemons.
            return ot::metric_sample(body, kDeletedSeries).value_or(0.0);
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }

    pqxx::connection conn_;
    ot::Daemon& daemon_;
    std::optional<int> port_;
    std::string wal_sql_, size_sql_, stats_sql_, parts_sql_, count_sql_;
};

// ---- one minute's line ----------------------------------------------------

struct Minute {
    int minute = 0; // 1-based
    Snapshot at;    // at the minute's end
    std::int64_t inserted = 0;
    std::optional<double> deleted; // in this minute
    std::int64_t latency_rows = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
    std::int64_t wal_bytes = 0;
    double wal_per_row = 0;
    double daemon_cores = 0;
    double pg_cores = -1;
    std::int64_t autovacuums = 0; // finished in this minute
};

Minute
make_minute(int m, const Snapshot& prev, const Snapshot& now, const std::vector<double>& lat) {
    Minute r;
    r.minute = m;
    r.at = now;
    r.inserted = now.max_id - prev.max_id;
    if (now.deleted && prev.deleted) {
        r.deleted = *now.deleted - *prev.deleted;
    }
    r.latency_rows = static_cast<std::int64_t>(lat.size());
    r.p50_ms = quantile(lat, 0.5);
    r.p99_ms = quantile(lat, 0.99);
    r.max_ms = lat.empty() ? 0 : lat.back();
    r.wal_bytes = now.wal_bytes - prev.wal_bytes;
    r.wal_per_row =
        r.inserted > 0 ? static_cast<double>(r.wal_bytes) / static_cast<double>(r.inserted) : 0;
    const double secs = std::max(1e-9, now.wall_s - prev.wall_s);
    r.daemon_cores = (now.daemon_cpu_s - prev.daemon_cpu_s) / secs;
    if (now.pg_cpu_s >= 0 && prev.pg_cpu_s >= 0) {
        r.pg_cores = (now.pg_cpu_s - prev.pg_cpu_s) / secs;
    }
    r.autovacuums = now.autovacuums - prev.autovacuums;
    return r;
}

double mb(std::int64_t bytes) {
    return static_cast<double>(bytes) / 1e6;
}

std::string header(bool partitioned) {
    char buf[512];
    (void)std::snprintf(buf, sizeof buf,
                        "%4s %9s %9s %7s %9s %9s %9s %9s %9s %3s %9s %7s %7s %8s %9s %6s %6s%s",
                        "min", "inserted", "at 1", "at 0", "table MB", "index MB", "total MB",
                        "live", "dead", "av", "deleted", "p50 ms", "p99 ms", "WAL MB", "WAL B/row",
                        "cpu d", "cpu pg", partitioned ? " parts" : "");
    return buf;
}

std::string line(const Minute& r, bool partitioned) {
    char buf[512];
    const std::string deleted = r.deleted ? grouped(*r.deleted) : "-";
    const std::string p50 = r.latency_rows > 0 ? fixed(r.p50_ms, 1) : "-";
    const std::string p99 = r.latency_rows > 0 ? fixed(r.p99_ms, 1) : "-";
    const std::string pg = r.pg_cores >= 0 ? fixed(r.pg_cores, 2) : "-";
    const std::string parts = partitioned ? " " + std::to_string(r.at.partitions) : "";
    (void)std::snprintf(
        buf, sizeof buf,
        "%4d %9s %9s %7s %9.1f %9.1f %9.1f %9s %9s %3lld %9s %7s %7s %8.1f %9s %6.2f %6s%s",
        r.minute, grouped(static_cast<double>(r.inserted)).c_str(),
        grouped(static_cast<double>(r.at.at1)).c_str(),
        grouped(static_cast<double>(r.at.at0)).c_str(), mb(r.at.table_bytes), mb(r.at.index_bytes),
        mb(r.at.table_bytes + r.at.index_bytes), grouped(static_cast<double>(r.at.live)).c_str(),
        grouped(static_cast<double>(r.at.dead)).c_str(), static_cast<long long>(r.autovacuums),
        deleted.c_str(), p50.c_str(), p99.c_str(), mb(r.wal_bytes), grouped(r.wal_per_row).c_str(),
        r.daemon_cores, pg.c_str(), parts.c_str());
    return buf;
}

nlohmann::json to_json(const Minute& r) {
    nlohmann::json j = {{"minute", r.minute},
                        {"inserted", r.inserted},
                        {"at1", r.at.at1},
                        {"at0", r.at.at0},
                        {"table_bytes", r.at.table_bytes},
                        {"index_bytes", r.at.index_bytes},
                        {"total_bytes", r.at.table_bytes + r.at.index_bytes},
                        {"n_live_tup", r.at.live},
                        {"n_dead_tup", r.at.dead},
                        {"autovacuums", r.autovacuums},
                        {"latency_rows", r.latency_rows},
                        {"p50_ms", r.p50_ms},
                        {"p99_ms", r.p99_ms},
                        {"max_ms", r.max_ms},
                        {"wal_bytes", r.wal_bytes},
                        {"wal_bytes_per_row", r.wal_per_row},
                        {"daemon_cores", r.daemon_cores}};
    j["retention_deleted"] = r.deleted ? nlohmann::json(*r.deleted) : nlohmann::json(nullptr);
    j["retention_deleted_total"] =
        r.at.deleted ? nlohmann::json(*r.at.deleted) : nlohmann::json(nullptr);
    j["postgres_cores"] = r.pg_cores >= 0 ? nlohmann::json(r.pg_cores) : nlohmann::json(nullptr);
    if (r.at.partitioned) {
        j["partitions"] = r.at.partitions;
    }
    return j;
}

std::string flatness_text(const char* what, const Flatness& f) {
    if (!f.judged) {
        return std::string(what) + ": not judged (needs at least 9 minutes)";
    }
    const std::string verdict =
        f.flat ? "flat" : (f.growth_pct_per_10 > 0 ? "GROWING" : "shrinking");
    return std::string(what) + ": " + verdict + ", " + (f.growth_pct_per_10 >= 0 ? "+" : "")
           + fixed(f.growth_pct_per_10, 2) + " % per 10 min (minutes "
           + std::to_string(f.base_first) + "-" + std::to_string(f.base_last) + ": "
           + fixed(f.base_mean, 1) + ", minutes " + std::to_string(f.last_first) + "-"
           + std::to_string(f.last_last) + ": " + fixed(f.last_mean, 1) + ")";
}

nlohmann::json to_json(const Flatness& f) {
    if (!f.judged) {
        return {{"judged", false}};
    }
    return {{"judged", true},
            {"baseline_minutes", {f.base_first, f.base_last}},
            {"last_minutes", {f.last_first, f.last_last}},
            {"baseline_mean", f.base_mean},
            {"last_mean", f.last_mean},
            {"growth_pct", f.growth_pct},
            {"growth_pct_per_10_min", f.growth_pct_per_10},
            {"flat", f.flat}};
}

// ---- the run --------------------------------------------------------------

// Waits for the "relaying" log line, as DaemonRun::wait_until_relaying.
void wait_until_relaying(ot::Daemon& d) {
    const bool ok = ot::eventually(
        [&] { return !d.running() || d.log().find("relaying (") != std::string::npos; },
        std::chrono::seconds(60));
    if (!d.running() || !ok) {
        throw std::runtime_error("soak: outboxd did not start relaying; its log:\n"
                                 + ot::tail_of(d.log()));
    }
}

// --soak-insert-threads, or one connection per 300 rows/s: one connection
// commits a row in 1-2 ms on the shared 2-core machine (fsync on), so two
// cannot keep 1,500 rows/s and would fall minutes behind their schedule.
int insert_threads(const Options& opt) {
    if (opt.soak_insert_threads > 0) {
        return opt.soak_insert_threads;
    }
    return std::clamp((opt.soak_rate + 299) / 300, 2, 32);
}

bool wait_drained(Probe& probe, ot::Daemon& d, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (!d.running()) {
            return false;
        }
        if (probe.pending() == 0) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return false;
}

class Soak {
public:
    explicit Soak(const Options& opt)
        : opt_(opt) {}
    ~Soak() { cleanup(); }
    Soak(const Soak&) = delete;
    Soak& operator=(const Soak&) = delete;

    int run();

private:
    void start();
    void load_and_report();
    void finish();
    void stop_inserters();
    void end_inserts();
    void cleanup();
    void check_running();

    Options opt_;
    config::Postgres t_;
    std::string config_path_;
    bool table_made_ = false;
    std::string topic_;
    std::unique_ptr<ot::Daemon> daemon_;
    std::unique_ptr<LatencyMatcher> matcher_;
    std::unique_ptr<Probe> probe_;
    std::vector<std::unique_ptr<Inserter>> inserters_;
    std::vector<std::thread> threads_;
    std::vector<std::string> insert_errors_;
    std::atomic<std::size_t> inserters_done_{0};
    bool ending_inserts_ = false; // under insert_mu_: their errors are ours
    int cut_sessions_ = 0;        // inserting sessions ended at the last minute's end
    std::mutex insert_mu_;
    std::vector<Minute> minutes_;
    Snapshot first_; // just before the load
    std::vector<double> all_latencies_;
    double peak_rss_mib_ = 0;
    double daemon_cpu_s_ = 0;
    double daemon_wall_s_ = 0;
    double start_wall_s_ = 0;
};

int Soak::run() {
    start();
    load_and_report();
    finish();
    return 0;
}

void Soak::start() {
    const std::string name = ot::unique_name("bench_soak");
    t_.dsn = ot::services().pg_dsn;
    t_.schema = "public";
    t_.table = name;
    t_.notify_channel = name;
    config_path_ = write_soak_config(opt_, t_);
    const std::string& config_path = config_path_;
    // The table as `outboxd migrate` makes it from the soak's own config,
    // so a retention.mode that changes the table's shape is honoured.
    table_made_ = true;
    const auto [rc, out] = ot::run_outboxd({"migrate", "--config", config_path});
    if (rc != 0) {
        std::ifstream f(config_path);
        const std::string text((std::istreambuf_iterator<char>(f)),
                               std::istreambuf_iterator<char>());
        throw std::runtime_error("soak: outboxd migrate exited with " + std::to_string(rc) + ":\n"
                                 + out + "\nits config:\n" + text);
    }
    topic_ = ot::unique_name("bench-soak");
    ot::create_topic(ot::services().kafka_bootstrap, topic_, kTopicPartitions, kTopicReplication,
                     {{"message.timestamp.type", "LogAppendTime"},
                      {"retention.ms", kTopicRetentionMs},
                      {"segment.bytes", kTopicSegmentBytes}});
    progress("soak: table " + qualified(t_) + ", topic " + topic_ + ", config " + config_path);
    start_wall_s_ = wall_now_s();
    daemon_ =
        std::make_unique<ot::Daemon>(std::vector<std::string>{"run", "--config", config_path});
    wait_until_relaying(*daemon_);
    matcher_ = std::make_unique<LatencyMatcher>(t_, topic_, opt_.soak_minutes);
    probe_ = std::make_unique<Probe>(t_, *daemon_);
    // Warm-up rows, not counted: the first produce waits for metadata.
    std::vector<ot::NewRow> warm;
    for (int i = 0; i < kWarmupRows; ++i) {
        warm.push_back(ot::NewRow{topic_, "warm-" + std::to_string(i), std::string(16, 'w'), {}});
    }
    ot::insert_rows(ot::services().pg_dsn, t_, warm);
    if (!wait_drained(*probe_, *daemon_, std::chrono::seconds(60))) {
        throw std::runtime_error("soak: warm-up rows not sent within 60 s; the daemon's log:\n"
                                 + ot::tail_of(daemon_->log()));
    }
}

void Soak::check_running() {
    if (!daemon_->running()) {
        throw std::runtime_error("soak: outboxd exited; its log:\n" + ot::tail_of(daemon_->log()));
    }
    std::lock_guard<std::mutex> lk(insert_mu_);
    for (const auto& e : insert_errors_) {
        if (!e.empty()) {
            throw std::runtime_error("soak: an inserter failed: " + e);
        }
    }
}

void Soak::load_and_report() {
    Options o = opt_;
    o.rate = opt_.soak_rate;
    o.insert_threads = insert_threads(opt_);
    const auto start = Clock::now() + std::chrono::milliseconds(500);
    const auto end = start + kMinute * opt_.soak_minutes;
    inserters_ = make_inserters(t_, topic_, o, start, end);
    std::this_thread::sleep_until(start - std::chrono::milliseconds(300));
    Snapshot prev = probe_->take();
    first_ = prev;
    std::this_thread::sleep_until(start);
    const double start_wall = wall_now_s();
    matcher_->set_start(start_wall);
    insert_errors_.assign(inserters_.size(), {});
    for (std::size_t i = 0; i < inserters_.size(); ++i) {
        threads_.emplace_back([this, i] {
            try {
                inserters_[i]->run();
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lk(insert_mu_);
                if (!ending_inserts_) {
                    insert_errors_[i] = e.what();
                }
            }
            ++inserters_done_;
        });
    }
    progress("soak: " + std::to_string(opt_.soak_rate) + " rows/s of "
             + std::to_string(opt_.payload_bytes) + " B from " + std::to_string(o.insert_threads)
             + " connections for " + std::to_string(opt_.soak_minutes) + " min, retention "
             + std::to_string(opt_.soak_retention_ms) + " ms, mode " + opt_.soak_retention_mode);
    bool partitioned = prev.partitioned;
    std::cout << header(partitioned) << std::endl;
    for (int m = 0; m < opt_.soak_minutes; ++m) {
        const auto boundary = start + kMinute * (m + 1);
        while (Clock::now() < boundary) {
            std::this_thread::sleep_until(
                std::min(boundary, Clock::now() + std::chrono::seconds(1)));
            check_running();
        }
        if (m + 1 == opt_.soak_minutes) {
            end_inserts();
        }
        Snapshot now = probe_->take();
        if (!matcher_->wait_through(start_wall + 60.0 * (m + 1) + kMatchGraceS, kMatchWaitMax)) {
            progress("soak: the latency reader is behind; minute " + std::to_string(m + 1)
                     + " shows what it has");
        }
        const auto lat = matcher_->take(m);
        all_latencies_.insert(all_latencies_.end(), lat.begin(), lat.end());
        minutes_.push_back(make_minute(m + 1, prev, now, lat));
        if (now.partitioned != partitioned) {
            partitioned = now.partitioned;
            std::cout << header(partitioned) << std::endl;
        }
        std::cout << line(minutes_.back(), partitioned) << std::endl;
        prev = now;
    }
}

// At the last minute's end. An inserter behind its schedule would go on
// catching up for as long as it is behind, after the minutes the figures
// cover; Inserter has no stop, so its session is ended instead (found by
// its statement's text, which names this run's table).
void Soak::end_inserts() {
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    while (inserters_done_ < threads_.size() && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (inserters_done_ < threads_.size()) {
        {
            std::lock_guard<std::mutex> lk(insert_mu_);
            ending_inserts_ = true;
        }
        cut_sessions_ = std::stoi(ot::sql_value(
            ot::services().pg_dsn,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> "
            "pg_backend_pid() AND starts_with(query, "
                + lit("INSERT INTO " + qualified(t_) + " (") + ")"));
    }
    stop_inserters();
}

void Soak::stop_inserters() {
    for (auto& th : threads_) {
        th.join();
    }
    threads_.clear();
}

void Soak::finish() {
    check_running();
    const bool drained = wait_drained(*probe_, *daemon_, kDrainWaitMax);
    peak_rss_mib_ = peak_rss_of(daemon_->pid());
    daemon_cpu_s_ = cpu_seconds(daemon_->pid(), false);
    daemon_wall_s_ = wall_now_s() - start_wall_s_;
    const auto counts = matcher_->counts();
    const std::int64_t pending_end = probe_->pending();

    std::int64_t inserted = 0;
    double worst_lag_ms = 0;
    std::vector<double> statements;
    for (const auto& ins : inserters_) {
        inserted += ins->inserted();
        worst_lag_ms = std::max(worst_lag_ms,
                                std::chrono::duration<double, std::milli>(ins->max_lag()).count());
        statements.insert(statements.end(), ins->statement_ms().begin(), ins->statement_ms().end());
    }
    std::sort(statements.begin(), statements.end());
    std::sort(all_latencies_.begin(), all_latencies_.end());

    std::vector<double> total;
    std::vector<double> table;
    std::vector<double> index;
    std::vector<double> dead;
    for (const auto& m : minutes_) {
        total.push_back(mb(m.at.table_bytes + m.at.index_bytes));
        table.push_back(mb(m.at.table_bytes));
        index.push_back(mb(m.at.index_bytes));
        dead.push_back(static_cast<double>(m.at.dead));
    }
    const Flatness f_total = judge_flatness(total);
    const Flatness f_table = judge_flatness(table);
    const Flatness f_index = judge_flatness(index);
    const Flatness f_dead = judge_flatness(dead);
    // What went in while the minutes ran; an inserter that fell behind its
    // schedule catches up after the last minute, outside the figures.
    const Snapshot& last = minutes_.empty() ? first_ : minutes_.back().at;
    const std::int64_t in_window = last.max_id - first_.max_id;
    const double window_rate =
        static_cast<double>(in_window) / std::max(1e-9, last.wall_s - first_.wall_s);

    std::cout << "\nsoak: " << fixed(window_rate, 1) << " rows/s inserted during the "
              << opt_.soak_minutes << " min (" << opt_.soak_rate << " asked, "
              << insert_threads(opt_) << " connections), " << grouped(static_cast<double>(inserted))
              << " rows in all; worst insert lag behind schedule " << fixed(worst_lag_ms, 1)
              << " ms; INSERT + commit p50 " << fixed(quantile(statements, 0.5), 2) << " / p99 "
              << fixed(quantile(statements, 0.99), 2) << " ms\n";
    std::cout << "soak: " << (drained ? "every row sent" : "rows still pending")
              << " after the load (" << pending_end << " at 0); latency over the run p50 "
              << fixed(quantile(all_latencies_, 0.5), 1) << " / p99 "
              << fixed(quantile(all_latencies_, 0.99), 1) << " / max "
              << fixed(all_latencies_.empty() ? 0 : all_latencies_.back(), 1) << " ms ("
              << grouped(static_cast<double>(counts.matched)) << " messages matched, "
              << counts.not_found << " rows already gone, " << counts.late
              << " matched after their minute's line, " << counts.after_end
              << " appended after the last minute)\n";
    std::cout << "soak: outboxd " << fixed(daemon_cpu_s_ / daemon_wall_s_, 3) << " core over "
              << fixed(daemon_wall_s_, 0) << " s, peak RSS " << fixed(peak_rss_mib_, 1) << " MiB\n";
    if (cut_sessions_ > 0) {
        std::cout << "soak: the inserters were behind their schedule at the end: their "
                  << cut_sessions_ << " sessions were ended there\n";
    }
    if (window_rate < 0.95 * opt_.soak_rate) {
        std::cout << "soak: WARNING: the inserts fell behind their schedule ("
                  << fixed(window_rate, 0) << " of " << opt_.soak_rate
                  << " rows/s): the minutes show the rate the machine reached, not the one asked "
                     "(more --soak-insert-threads, or a less busy machine)\n";
    }
    if (!counts.error.empty()) {
        std::cout << "soak: latency lookups failed at times, the last: " << counts.error << "\n";
    }
    std::cout << "soak: " << flatness_text("size (table + indexes, MB)", f_total) << "\n";
    std::cout << "soak: " << flatness_text("table MB", f_table) << "; "
              << flatness_text("index MB", f_index) << "\n";
    std::cout << "soak: " << flatness_text("dead tuples", f_dead) << std::endl;

    nlohmann::json j;
    auto& s = j["soak"];
    s["config"] = {
        {"minutes", opt_.soak_minutes},           {"rate", opt_.soak_rate},
        {"retention_ms", opt_.soak_retention_ms}, {"retention_mode", opt_.soak_retention_mode},
        {"extra_yaml", opt_.soak_extra_yaml},     {"payload_bytes", opt_.payload_bytes},
        {"insert_threads", insert_threads(opt_)}, {"batch_size", opt_.batch_size}};
    s["minutes"] = nlohmann::json::array();
    for (const auto& m : minutes_) {
        s["minutes"].push_back(to_json(m));
    }
    s["summary"] = {{"inserted", inserted},
                    {"inserted_during_minutes", in_window},
                    {"achieved_rate", window_rate},
                    {"worst_insert_lag_ms", worst_lag_ms},
                    {"inserting_sessions_ended", cut_sessions_},
                    {"insert_p50_ms", quantile(statements, 0.5)},
                    {"insert_p99_ms", quantile(statements, 0.99)},
                    {"drained", drained},
                    {"pending_at_end", pending_end},
                    {"p50_ms", quantile(all_latencies_, 0.5)},
                    {"p99_ms", quantile(all_latencies_, 0.99)},
                    {"max_ms", all_latencies_.empty() ? 0.0 : all_latencies_.back()},
                    {"latency_rows", counts.matched},
                    {"latency_rows_gone", counts.not_found},
                    {"latency_rows_late", counts.late},
                    {"latency_rows_after_end", counts.after_end},
                    {"daemon_cpu_s", daemon_cpu_s_},
                    {"daemon_wall_s", daemon_wall_s_},
                    {"peak_rss_mib", peak_rss_mib_},
                    {"flat_pct_per_10_min", kFlatPctPer10Minutes},
                    {"size", to_json(f_total)},
                    {"table", to_json(f_table)},
                    {"indexes", to_json(f_index)},
                    {"dead_tuples", to_json(f_dead)}};
    std::cout << j.dump() << std::endl;

    daemon_->signal(SIGTERM);
    const auto rc = daemon_->wait(std::chrono::seconds(20));
    if (!rc || *rc != 0) {
        progress("warning: outboxd did not exit cleanly after SIGTERM; its log:\n"
                 + ot::tail_of(daemon_->log()));
    }
}

// Leaves nothing behind: the (large) table and its action log, and the
// topic. An inserter still running fails once its table is gone.
void Soak::cleanup() {
    try {
        if (matcher_) {
            matcher_->stop();
        }
        if (daemon_ && daemon_->running()) {
            daemon_->signal(SIGTERM);
            (void)daemon_->wait(std::chrono::seconds(20));
        }
        daemon_.reset();
        probe_.reset();
        if (table_made_ && !opt_.keep_tables) {
            ot::sql(ot::services().pg_dsn,
                    "DROP TABLE IF EXISTS " + qualified(t_) + ", " + store::actions_table(t_));
        }
        stop_inserters();
        matcher_.reset();
        if (!topic_.empty() && !opt_.keep_tables) {
            delete_topic(topic_);
        }
        // write_config made a directory for the file; the daemon's log
        // stays in the scratch directory, as DaemonRun leaves it.
        if (!config_path_.empty()) {
            std::error_code ignored;
            std::filesystem::remove_all(std::filesystem::path(config_path_).parent_path(), ignored);
        }
    } catch (const std::exception& e) {
        progress(std::string("soak: clean-up: ") + e.what());
    }
}

} // namespace

Flatness judge_flatness(const std::vector<double>& per_minute) {
    Flatness f;
    const int n = static_cast<int>(per_minute.size());
    const int third = n / 3;
    if (third < 3) {
        return f;
    }
    f.judged = true;
    f.base_first = 3;
    f.base_last = third;
    f.last_first = n - third + 1;
    f.last_last = n;
    auto mean = [&](int first, int last) {
        double sum = 0;
        for (int m = first; m <= last; ++m) {
            sum += per_minute[static_cast<std::size_t>(m - 1)];
        }
        return sum / (last - first + 1);
    };
    f.base_mean = mean(f.base_first, f.base_last);
    f.last_mean = mean(f.last_first, f.last_last);
    f.growth_pct = f.base_mean > 0 ? (f.last_mean - f.base_mean) / f.base_mean * 100.0 : 0.0;
    const double span = (f.last_first + f.last_last) / 2.0 - (f.base_first + f.base_last) / 2.0;
    f.growth_pct_per_10 = f.growth_pct * 10.0 / span;
    f.flat = std::fabs(f.growth_pct_per_10) <= kFlatPctPer10Minutes;
    return f;
}

int run_soak(const Options& opt) {
    if (opt.brokers != std::vector<std::string>{"kafka"}) {
        throw std::runtime_error("--soak measures with Kafka's LogAppendTime: --broker kafka only");
    }
    Soak soak(opt);
    return soak.run();
}

} // namespace outboxd::bench
