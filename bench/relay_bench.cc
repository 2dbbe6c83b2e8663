// outboxd_bench: throughput, latency and memory of the relay against the same
// local PostgreSQL and Kafka the integration tests use (tests/scripts/
// services.sh), next to PostgreSQL's bare ceiling for the same SQL work.
// It prints numbers, never a verdict: targets are judged in docs/benchmarks.md.
//
// Phases (each on a fresh table, and a fresh topic where Kafka is involved):
//  1. ceiling    PgOutboxStore alone: keyset fetch_pending + mark_sent loop.
//  2. throughput the real outboxd binary drains N pre-filled rows.
//  3. latency    outboxd idle with LISTEN, rows inserted at a steady rate,
//                (sent_at - created_at) percentiles computed in SQL.
//  4. memory     VmHWM of every daemon run, read just before SIGTERM.
//  5. publish ceiling  the broker's publisher class alone (no PostgreSQL):
//                N messages of the same size and keys, at most
//                relay.max_in_flight unconfirmed, until every one is confirmed.
//                What the broker and its client take, with nothing else.
// With --broker rabbitmq phases 2-5 relay to the local RabbitMQ node instead:
// a durable fanout exchange per run bound to a durable quorum queue, every
// message confirmed; the queue's depth is checked against the rows after a
// drain and the queue deleted after the run. --broker kafka,rabbitmq runs
// phases 2-5 for both, alternating within each round, on the same services.
//
// Progress goes to stderr; stdout gets the table and one final JSON line.
#include "amqp_client.h"
#include "kafka/kafka_publisher.h"
#include "rabbitmq/rabbit_publisher.h"
#include "services.h"
#include "store/pg_outbox_store.h"
#include "store/sql.h"

#include <librdkafka/rdkafka.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

namespace outboxd::bench {
namespace {

namespace ot = outboxd::testing;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr int kTopicPartitions = 3;
constexpr int kTopicReplication = 1;
constexpr int kWarmupRows = 20;
constexpr std::size_t kExtraCeilingBatch = 1000;
// The daemon's default relay.max_batch_bytes, so the ceiling loop fetches
// what the relay fetches.
constexpr std::size_t kMaxBatchBytes = 4 * 1024 * 1024;

// --relay-dsn: what the benchmarked daemons connect with (DaemonRun).
std::string g_relay_dsn; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

struct Options {
    std::int64_t rows = 200000;
    int batch_size = 500;
    int repeat = 5;
    std::int64_t warmup_rows = 100000;
    int latency_seconds = 20;
    int rate = 1000;
    int insert_threads = 2;
    int payload_bytes = 1024;
    int keys = 1000;
    // > 0: the topic's max.message.bytes and the producer's message.max.bytes
    // (rows near or above 1 MB); 0: the broker's and librdkafka's defaults.
    int max_message_bytes = 0;
    bool skip_ceiling = false;
    bool skip_throughput = false;
    bool skip_latency = false;
    bool keep_tables = false;
    bool skip_publish_ceiling = false;
    // The daemon's connection (e.g. a PgBouncer pool); empty: the services' DSN.
    std::string relay_dsn;
    // --confirm (Kafka): each round also drains with confirm.consumers on
    // while a consumer group keeps up, and a confirmation-lag phase runs.
    bool confirm = false;
    // Set per run: this daemon confirms rows for this consumer group.
    std::string confirm_group;
    std::vector<std::string> brokers{"kafka"}; // --broker: phases 2-5 for each
    // --peer-debezium-libs DIR: only the side-by-side run (bench/peers/debezium.sh).
    std::string peer_debezium_libs;
    std::vector<std::string> peer_debezium_properties; // key=value, after the defaults
    std::string broker = "kafka";                      // the one the current phase uses
};

bool rabbit(const Options& opt) {
    return opt.broker == "rabbitmq";
}

// A Kafka topic, or a RabbitMQ fanout exchange bound to a quorum queue of
// the same name; returns the name the rows' topic column carries.
std::string make_destination(const Options& opt,
                             const std::string& prefix,
                             const std::map<std::string, std::string>& topic_configs = {}) {
    const std::string name = ot::unique_name(prefix);
    if (rabbit(opt)) {
        ot::AmqpClient amqp;
        amqp.exchange(name, "fanout");
        amqp.quorum_queue(name);
        amqp.bind(name, name, "");
    } else {
        ot::create_topic(ot::services().kafka_bootstrap, name, kTopicPartitions, kTopicReplication,
                         topic_configs);
    }
    return name;
}

// RabbitMQ: every row confirmed is in the queue (the count is checked
// when `expect` >= 0), then the queue and exchange go: 200 MB per run.
void drop_destination(const Options& opt, const std::string& name, std::int64_t expect) {
    if (!rabbit(opt)) {
        return;
    }
    ot::AmqpClient amqp;
    const auto depth = amqp.count(name);
    if (expect >= 0 && depth != expect) {
        throw std::runtime_error("rabbitmq queue " + name + " holds " + std::to_string(depth)
                                 + " messages, " + std::to_string(expect) + " rows were sent");
    }
    if (!opt.keep_tables) {
        amqp.delete_queue(name);
        amqp.delete_exchange(name);
    }
}

void progress(const std::string& text) {
    std::cerr << "[bench] " << text << std::endl;
}

std::string qualified(const config::Postgres& t) {
    return store::quote_ident(t.schema) + "." + store::quote_ident(t.table);
}

double wall_now_s() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// "12345.6" -> "12,346": the table is read by people.
std::string grouped(double v) {
    const auto n = static_cast<long long>(std::llround(v));
    std::string digits = std::to_string(n < 0 ? -n : n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// A fresh outbox table (migrate: index, trigger, autovacuum settings), so
// every phase starts without dead tuples from an earlier one.
config::Postgres fresh_table(const std::string& prefix) {
    return ot::make_table(ot::services().pg_dsn, ot::unique_name(prefix));
}

void drop_table(const Options& opt, const config::Postgres& t) {
    if (opt.keep_tables) {
        return;
    }
    // Each pre-filled table holds ~250 MB; the services may be shared.
    ot::sql(ot::services().pg_dsn, "DROP TABLE IF EXISTS " + qualified(t));
}

// Pre-fills `rows` rows in one server-side statement, then VACUUM ANALYZE and
// CHECKPOINT so the measured loop starts from the same state every time and
// does not pay for the fill's hint bits or dirty buffers. Returns rows/s.
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
    ot::sql(ot::services().pg_dsn, insert);
    const double secs = Seconds(Clock::now() - start).count();
    ot::sql(ot::services().pg_dsn, "VACUUM (ANALYZE) " + qualified(t));
    ot::sql(ot::services().pg_dsn, "CHECKPOINT");
    return static_cast<double>(opt.rows) / secs;
}

std::int64_t pending_count(const config::Postgres& t) {
    return std::stoll(
        ot::sql_value(ot::services().pg_dsn, "SELECT count(*) FROM " + qualified(t) + " WHERE "
                                                 + store::quote_ident(t.columns.status) + " = 0"));
}

// ---- 1. ceiling ----------------------------------------------------------

struct CeilingResult {
    std::size_t batch = 0;
    double rows_per_s = 0;
    double fetch_ms_avg = 0; // per batch
    double mark_ms_avg = 0;  // per batch
    std::int64_t batches = 0;
};

CeilingResult run_ceiling(const Options& opt, std::size_t batch) {
    progress("ceiling: pre-filling " + std::to_string(opt.rows) + " rows (batch "
             + std::to_string(batch) + ")");
    auto t = fresh_table("bench_ceiling");
    const double fill_rate = prefill(opt, t, "bench-ceiling");
    progress("ceiling: pre-filled at " + grouped(fill_rate) + " rows/s; draining");
    auto cfg = t;
    cfg.notify_channel.clear(); // the loop never waits, so no LISTEN
    store::PgOutboxStore st(cfg);
    st.verify(); // connect and prepare outside the timed loop

    CeilingResult r;
    r.batch = batch;
    std::int64_t cursor = 0;
    std::int64_t done = 0;
    Clock::duration fetch_time{}, mark_time{};
    const auto start = Clock::now();
    for (;;) {
        const auto f0 = Clock::now();
        auto rows = st.fetch_pending(cursor, batch, kMaxBatchBytes, 0);
        const auto f1 = Clock::now();
        fetch_time += f1 - f0;
        if (rows.empty()) {
            break;
        }
        std::vector<store::SentMark> marks;
        marks.reserve(rows.size());
        for (const auto& row : rows) {
            marks.push_back(store::SentMark{row.id});
        }
        cursor = marks.back().id;
        st.mark_sent(marks);
        mark_time += Clock::now() - f1;
        done += static_cast<std::int64_t>(marks.size());
        ++r.batches;
    }
    const double secs = Seconds(Clock::now() - start).count();
    const auto left = pending_count(t);
    if (left != 0 || done != opt.rows) {
        throw std::runtime_error("ceiling loop left " + std::to_string(left)
                                 + " rows pending after marking " + std::to_string(done));
    }
    r.rows_per_s = static_cast<double>(done) / secs;
    r.fetch_ms_avg = std::chrono::duration<double, std::milli>(fetch_time).count()
                     / static_cast<double>(std::max<std::int64_t>(r.batches, 1));
    r.mark_ms_avg = std::chrono::duration<double, std::milli>(mark_time).count()
                    / static_cast<double>(std::max<std::int64_t>(r.batches, 1));
    progress("ceiling: batch " + std::to_string(batch) + ": " + grouped(r.rows_per_s)
             + " rows/s in " + fixed(secs, 2) + " s");
    drop_table(opt, t);
    return r;
}

// ---- the daemon ------------------------------------------------------------

// One outboxd process on one table, with what /proc says about it.
class DaemonRun {
public:
    DaemonRun(const config::Postgres& table,
              int batch_size,
              int max_message_bytes,
              const std::string& broker = "kafka",
              const std::string& confirm_group = {}) {
        ot::DaemonConfig dc;
        dc.table = table;
        dc.pg_dsn = g_relay_dsn.empty() ? ot::services().pg_dsn : g_relay_dsn;
        dc.bootstrap = ot::services().kafka_bootstrap;
        if (broker == "rabbitmq") {
            dc.extra_yaml =
                "broker: rabbitmq\nrabbitmq:\n  url: \"" + ot::services().rabbitmq_url + "\"\n";
        }
        if (!confirm_group.empty()) {
            dc.extra_yaml += "confirm:\n  consumers: [\"" + confirm_group + "\"]\n";
        }
        dc.relay["batch_size"] = std::to_string(batch_size);
        if (max_message_bytes > 0) {
            dc.kafka_props["message.max.bytes"] = std::to_string(max_message_bytes);
        }
        config_path_ = ot::write_config(dc);
        start_wall_s_ = wall_now_s();
        daemon_ =
            std::make_unique<ot::Daemon>(std::vector<std::string>{"run", "--config", config_path_});
        // VmHWM has no anonymous-only twin: sample RssAnon every 20 ms.
        sampler_ = std::thread([this, pid = daemon_->pid()] {
            while (!sampling_done_) {
                const auto m = read_memory(pid);
                peak_anon_mib_ = std::max(peak_anon_mib_.load(), m.anon_mib);
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
    }

    ~DaemonRun() {
        stop_sampling();
        daemon_.reset(); // kills the process if still running
        // write_config made a private directory for the file; the daemon's
        // log stays in the test scratch directory for a look after a failed run.
        std::error_code ignored;
        std::filesystem::remove_all(std::filesystem::path(config_path_).parent_path(), ignored);
    }
    DaemonRun(const DaemonRun&) = delete;
    DaemonRun& operator=(const DaemonRun&) = delete;

    double start_wall_s() const { return start_wall_s_; }

    void check_alive() {
        if (!daemon_->running()) {
            throw std::runtime_error("outboxd exited early; its log:\n" + daemon_->log());
        }
    }

    // Waits for the "relaying" log line: the producer exists and the relay
    // loop is about to start, so a row inserted now is on the hot path.
    void wait_until_relaying(std::chrono::seconds timeout) {
        const bool ok = ot::eventually(
            [&] {
                return !daemon_->running()
                       || daemon_->log().find("relaying (") != std::string::npos;
            },
            timeout);
        check_alive();
        if (!ok) {
            throw std::runtime_error("outboxd did not start relaying; its log:\n" + daemon_->log());
        }
    }

    struct Memory {
        double rss_mib = 0;  // VmRSS
        double anon_mib = 0; // RssAnon: heap, stacks, buffers
        double file_mib = 0; // RssFile: mapped library pages (shared, reclaimable)
    };
    static Memory read_memory(int pid) {
        Memory m;
        std::ifstream status("/proc/" + std::to_string(pid) + "/status");
        std::string line;
        while (std::getline(status, line)) {
            const auto kb = [&](const char* tag) {
                return line.rfind(tag, 0) == 0 ? std::stod(line.substr(std::strlen(tag))) / 1024.0
                                               : -1.0;
            };
            if (const double v = kb("VmRSS:"); v >= 0) {
                m.rss_mib = v;
            } else if (const double a = kb("RssAnon:"); a >= 0) {
                m.anon_mib = a;
            } else if (const double f = kb("RssFile:"); f >= 0) {
                m.file_mib = f;
            }
        }
        return m;
    }
    // Now, for the idle figures.
    Memory memory_now() const { return read_memory(daemon_->pid()); }
    double peak_anon_mib() const { return peak_anon_mib_; }

    // Peak RSS (VmHWM) in MiB and CPU seconds used, read from /proc, then
    // SIGTERM and a clean exit. Call once, while the daemon still runs.
    void stop() {
        check_alive();
        stop_sampling();
        const std::string proc = "/proc/" + std::to_string(daemon_->pid());
        std::ifstream status(proc + "/status");
        std::string line;
        while (std::getline(status, line)) {
            if (line.rfind("VmHWM:", 0) == 0) {
                peak_rss_mib_ = std::stod(line.substr(6)) / 1024.0; // value is in kB
            }
        }
        std::ifstream stat(proc + "/stat");
        std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        // Fields after the parenthesised command name; utime and stime are
        // fields 14 and 15 of the whole line.
        std::istringstream rest(all.substr(all.rfind(')') + 2));
        std::vector<std::string> f;
        for (std::string x; rest >> x;) {
            f.push_back(x);
        }
        if (f.size() > 12) {
            cpu_s_ =
                (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
        }
        stopped_wall_s_ = wall_now_s();
        daemon_->signal(SIGTERM);
        const auto rc = daemon_->wait(std::chrono::seconds(20));
        if (!rc || *rc != 0) {
            progress("warning: outboxd did not exit cleanly after SIGTERM; its log:\n"
                     + daemon_->log());
        }
    }

    double peak_rss_mib() const { return peak_rss_mib_; }
    double cpu_s() const { return cpu_s_; }
    int pid() const { return daemon_->pid(); }
    std::string log() const { return daemon_->log(); }
    double stopped_wall_s() const { return stopped_wall_s_; }

private:
    void stop_sampling() {
        sampling_done_ = true;
        if (sampler_.joinable()) {
            sampler_.join();
        }
    }

    std::string config_path_;
    double start_wall_s_ = 0;
    std::unique_ptr<ot::Daemon> daemon_;
    std::atomic<bool> sampling_done_{false};
    std::atomic<double> peak_anon_mib_{0};
    std::thread sampler_;
    double peak_rss_mib_ = 0;
    double cpu_s_ = 0;
    double stopped_wall_s_ = 0;
};

// Until no row is at status 0 (true) or `timeout` (false). Polls the last
// row by primary key first: a count over the table would compete with the
// relay for the same two cores.
bool wait_all_sent(DaemonRun& run,
                   const config::Postgres& t,
                   std::int64_t last_id,
                   std::chrono::seconds timeout) {
    const auto& dsn = ot::services().pg_dsn;
    const std::string status = store::quote_ident(t.columns.status);
    const std::string last_row = "SELECT " + status + " FROM " + qualified(t) + " WHERE "
                                 + store::quote_ident(t.columns.id) + " = "
                                 + std::to_string(last_id);
    const std::string none_pending =
        "SELECT NOT EXISTS (SELECT 1 FROM " + qualified(t) + " WHERE " + status + " = 0)";
    pqxx::connection conn(dsn);
    const auto deadline = Clock::now() + timeout;
    bool last_done = false;
    while (Clock::now() < deadline) {
        run.check_alive();
        {
            pqxx::nontransaction tx(conn);
            if (!last_done) {
                last_done = tx.exec(last_row)[0][0].as<int>() != 0;
            }
            if (last_done && tx.exec(none_pending)[0][0].as<bool>()) {
                return true;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(last_done ? 100 : 50));
    }
    return false;
}

struct SentTimes {
    double first_s = 0; // epoch seconds of min(sent_at)
    double last_s = 0;  // epoch seconds of max(sent_at)
    std::int64_t sent = 0;
};

SentTimes sent_times(const config::Postgres& t) {
    const auto& c = t.columns;
    const std::string s = store::quote_ident(c.sent_at);
    auto r = ot::sql(ot::services().pg_dsn,
                     "SELECT extract(epoch FROM min(" + s + ")), extract(epoch FROM max(" + s
                         + ")), count(*) FILTER (WHERE " + store::quote_ident(c.status)
                         + " IN (1, 3)) FROM " + qualified(t));
    return SentTimes{std::stod(r[0][0]), std::stod(r[0][1]), std::stoll(r[0][2])};
}

// ---- consumer confirmation (--confirm) ---------------------------------------

// The columns and indexes confirm.consumers needs, on a fresh table.
void migrate_for_confirm(const config::Postgres& t, const std::string& group) {
    auto pg = t;
    pg.confirm_consumers = {group};
    store::PgOutboxStore(pg).migrate();
}

// A consumer group that keeps up: every `every` it commits the high
// watermark of each partition of `topic` (everything produced so far counts
// as processed), from a thread of its own. on_commit is called after each
// commit with the committed offsets, on that thread.
class KeepingUpGroup {
public:
    using Offsets = std::map<int, std::int64_t>;
    KeepingUpGroup(std::string topic,
                   std::string group,
                   std::chrono::milliseconds every,
                   std::function<void(const Offsets&)> on_commit = {})
        : topic_(std::move(topic))
        , group_(std::move(group))
        , every_(every)
        , on_commit_(std::move(on_commit)) {
        char err[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", ot::services().kafka_bootstrap.c_str(), err,
                          sizeof err);
        rd_kafka_conf_set(conf, "group.id", group_.c_str(), err, sizeof err);
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
        rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
        if (rk_ == nullptr) {
            throw std::runtime_error(std::string("bench consumer: ") + err);
        }
        thread_ = std::thread([this] { run(); });
    }
    ~KeepingUpGroup() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
        rd_kafka_destroy(rk_);
    }
    KeepingUpGroup(const KeepingUpGroup&) = delete;
    KeepingUpGroup& operator=(const KeepingUpGroup&) = delete;
    std::string error() const {
        std::lock_guard<std::mutex> lk(mu_);
        return error_;
    }

private:
    void run() {
        while (!stop_) {
            const auto next = Clock::now() + every_;
            Offsets offsets;
            for (int p = 0; p < kTopicPartitions; ++p) {
                std::int64_t low = 0;
                std::int64_t high = 0;
                if (rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), p, &low, &high, 5000)
                        == RD_KAFKA_RESP_ERR_NO_ERROR
                    && high > 0) {
                    offsets[p] = high;
                }
            }
            if (!offsets.empty()) {
                rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(3);
                for (const auto& [p, o] : offsets) {
                    rd_kafka_topic_partition_list_add(list, topic_.c_str(), p)->offset = o;
                }
                const auto rc = rd_kafka_commit(rk_, list, /*async=*/0);
                rd_kafka_topic_partition_list_destroy(list);
                if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
                    std::lock_guard<std::mutex> lk(mu_);
                    error_ = rd_kafka_err2str(rc);
                } else if (on_commit_) {
                    on_commit_(offsets);
                }
            }
            if (on_commit_) {
                // A measuring caller blocks until its rows are confirmed, which
                // lines the next commit up with the confirmer's round: start
                // it at a random point of the round instead.
                std::this_thread::sleep_for(std::chrono::milliseconds(rng_() % 1000));
            } else {
                std::this_thread::sleep_until(next);
            }
        }
    }

    std::mt19937 rng_{42};
    std::string topic_;
    std::string group_;
    std::chrono::milliseconds every_;
    std::function<void(const Offsets&)> on_commit_;
    rd_kafka_t* rk_ = nullptr;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::string error_;
    std::thread thread_;
};

// ---- 2. throughput ---------------------------------------------------------

struct ThroughputResult {
    double rows_per_s = 0;        // rows / (last sent_at - daemon start)
    double steady_rows_per_s = 0; // rows / (last sent_at - first sent_at)
    double first_row_s = 0;       // first sent_at - daemon start
    double total_s = 0;
    double daemon_cpu_s = 0;
    double peak_rss_mib = 0;
    double peak_anon_mib = 0;
    // The relay's fetch from the start of the pending index (what a rescan
    // does) on the drained table: every entry it walks is a drained row's
    // dead one until VACUUM removes them.
    double rescan_first_ms = 0;  // right after the drain
    double rescan_again_ms = 0;  // the next one (index entries hinted dead by the first)
    double rescan_vacuum_ms = 0; // after VACUUM
    double vacuum_s = 0;
};

// Times fetch_pending from id 0 on a table whose rows are all sent.
double time_rescan(store::PgOutboxStore& st) {
    const auto t0 = Clock::now();
    const auto rows = st.fetch_pending(0, 500, kMaxBatchBytes, 0);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!rows.empty()) {
        throw std::runtime_error("rescan probe: " + std::to_string(rows.size())
                                 + " rows still pending");
    }
    return ms;
}

// `name` labels the progress lines ("throughput", "warm-up").
ThroughputResult run_throughput(const Options& opt, const std::string& name) {
    progress(name + ": pre-filling " + std::to_string(opt.rows) + " rows");
    auto t = fresh_table("bench_tput");
    std::map<std::string, std::string> topic_configs;
    if (opt.max_message_bytes > 0) {
        topic_configs["max.message.bytes"] = std::to_string(opt.max_message_bytes);
    }
    const std::string topic = make_destination(opt, "bench-tput", topic_configs);
    prefill(opt, t, topic);
    std::unique_ptr<KeepingUpGroup> group;
    if (!opt.confirm_group.empty()) {
        migrate_for_confirm(t, opt.confirm_group);
        group = std::make_unique<KeepingUpGroup>(topic, opt.confirm_group,
                                                 std::chrono::milliseconds(100));
    }
    const auto last_id = std::stoll(
        ot::sql_value(ot::services().pg_dsn,
                      "SELECT max(" + store::quote_ident(t.columns.id) + ") FROM " + qualified(t)));
    progress(name + ": starting outboxd (batch_size " + std::to_string(opt.batch_size) + ")");
    DaemonRun run(t, opt.batch_size, opt.max_message_bytes, opt.broker, opt.confirm_group);
    const auto timeout = std::chrono::seconds(std::max<std::int64_t>(120, opt.rows / 500));
    if (!wait_all_sent(run, t, last_id, timeout)) {
        run.stop();
        throw std::runtime_error(name + ": rows still pending after "
                                 + std::to_string(timeout.count()) + " s");
    }
    run.stop();
    const auto times = sent_times(t);
    ThroughputResult r;
    r.total_s = times.last_s - run.start_wall_s();
    r.first_row_s = times.first_s - run.start_wall_s();
    r.rows_per_s = static_cast<double>(times.sent) / r.total_s;
    r.steady_rows_per_s =
        static_cast<double>(times.sent) / std::max(times.last_s - times.first_s, 1e-6);
    r.daemon_cpu_s = run.cpu_s();
    r.peak_rss_mib = run.peak_rss_mib();
    r.peak_anon_mib = run.peak_anon_mib();
    progress(name + ": " + grouped(r.rows_per_s) + " rows/s (" + fixed(r.total_s, 2)
             + " s, first row after " + fixed(r.first_row_s * 1000, 0) + " ms)");
    {
        auto cfg = t;
        cfg.notify_channel.clear();
        store::PgOutboxStore st(cfg);
        st.verify();
        r.rescan_first_ms = time_rescan(st);
        r.rescan_again_ms = time_rescan(st);
        const auto v0 = Clock::now();
        ot::sql(ot::services().pg_dsn, "VACUUM " + qualified(t));
        r.vacuum_s = Seconds(Clock::now() - v0).count();
        r.rescan_vacuum_ms = time_rescan(st);
        progress(name + ": rescan of the drained table " + fixed(r.rescan_first_ms, 1)
                 + " ms, then " + fixed(r.rescan_again_ms, 1) + " ms; after VACUUM ("
                 + fixed(r.vacuum_s, 1) + " s) " + fixed(r.rescan_vacuum_ms, 1) + " ms");
    }
    drop_destination(opt, topic, times.sent);
    drop_table(opt, t);
    return r;
}

// ---- 5. publish ceiling ---------------------------------------------------

struct PublishCeilingResult {
    double rows_per_s = 0;
    double total_s = 0;
};

std::unique_ptr<publish::Publisher> make_publisher(const Options& opt) {
    if (rabbit(opt)) {
        config::RabbitMq cfg;
        cfg.url = ot::services().rabbitmq_url;
        return std::make_unique<rabbitmq::RabbitPublisher>(cfg, "bench");
    }
    config::Kafka cfg;
    cfg.bootstrap_servers = ot::services().kafka_bootstrap;
    if (opt.max_message_bytes > 0) {
        cfg.properties["message.max.bytes"] = std::to_string(opt.max_message_bytes);
    }
    return std::make_unique<kafka::KafkaPublisher>(cfg, "bench");
}

// The publisher outboxd uses, with its defaults, fed from memory: the rate
// the broker and its client reach on this machine without PostgreSQL.
PublishCeilingResult run_publish_ceiling(const Options& opt) {
    std::map<std::string, std::string> topic_configs;
    if (opt.max_message_bytes > 0) {
        topic_configs["max.message.bytes"] = std::to_string(opt.max_message_bytes);
    }
    const std::string topic = make_destination(opt, "bench-pub", topic_configs);
    auto publisher = make_publisher(opt);
    const std::size_t max_in_flight = static_cast<std::size_t>(config::Relay{}.max_in_flight);
    std::vector<std::string> keys;
    keys.reserve(static_cast<std::size_t>(opt.keys));
    for (int k = 0; k < opt.keys; ++k) {
        keys.push_back("key-" + std::to_string(k));
    }
    std::string payload(static_cast<std::size_t>(opt.payload_bytes), '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<char>((i * 131 + 7) & 0xff);
    }
    // One message first, outside the clock: metadata and connections.
    auto deliver = [&](std::int64_t id) {
        publish::Message m;
        m.id = id;
        m.topic = topic;
        m.key = std::string_view(keys[static_cast<std::size_t>(id) % keys.size()]);
        m.payload = std::string_view(payload);
        for (int attempt = 0;; ++attempt) {
            const auto res = publisher->produce(m);
            if (res.accepted) {
                return;
            }
            if (res.error_class != publish::ErrorClass::kTransient || attempt > 100) {
                throw std::runtime_error("publish ceiling: produce failed: " + res.error);
            }
            publisher->poll(std::chrono::milliseconds(10));
        }
    };
    auto count_ok = [](const std::vector<publish::DeliveryReport>& reports) {
        std::int64_t ok = 0;
        for (const auto& r : reports) {
            if (!r.ok) {
                throw std::runtime_error("publish ceiling: row " + std::to_string(r.id)
                                         + " not confirmed: " + r.error);
            }
            ++ok;
        }
        return ok;
    };
    deliver(0);
    for (std::int64_t got = 0; got < 1;) {
        got += count_ok(publisher->poll(std::chrono::milliseconds(100)));
    }
    progress("publish ceiling (" + opt.broker + "): " + std::to_string(opt.rows) + " messages");
    const auto start = Clock::now();
    std::int64_t sent = 0;
    std::int64_t confirmed = 0;
    const auto deadline = start + std::chrono::seconds(std::max<std::int64_t>(120, opt.rows / 500));
    while (confirmed < opt.rows) {
        if (Clock::now() > deadline) {
            throw std::runtime_error("publish ceiling: " + std::to_string(opt.rows - confirmed)
                                     + " messages unconfirmed at the deadline");
        }
        while (sent < opt.rows && static_cast<std::size_t>(sent - confirmed) < max_in_flight) {
            deliver(++sent);
        }
        const bool full =
            sent == opt.rows || static_cast<std::size_t>(sent - confirmed) >= max_in_flight;
        confirmed += count_ok(publisher->poll(std::chrono::milliseconds(full ? 100 : 0)));
    }
    PublishCeilingResult r;
    r.total_s = Seconds(Clock::now() - start).count();
    r.rows_per_s = static_cast<double>(opt.rows) / r.total_s;
    progress("publish ceiling (" + opt.broker + "): " + grouped(r.rows_per_s) + " messages/s");
    publisher.reset();
    drop_destination(opt, topic, opt.rows + 1);
    return r;
}

// ---- 3. latency ------------------------------------------------------------

struct LatencyResult {
    std::int64_t rows = 0;
    double achieved_rate = 0;
    double max_schedule_lag_ms = 0; // worst delay of an insert against its slot
    double p50_ms = 0;
    double p90_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
    // The inserting statement's own time (INSERT and its commit, the WAL
    // flush included), measured by the inserter: created_at is taken at its
    // start, so every row's latency contains it. The part outboxd cannot
    // shorten.
    double insert_p50_ms = 0;
    double insert_p99_ms = 0;
    // Kafka only (the topic stamps LogAppendTime, in ms): each row's time
    // split at the broker's append, created_at -> append (notice, fetch,
    // produce, linger, the request) and append -> sent_at (the
    // acknowledgement, the report, the wait for the marking write).
    bool split = false;
    double to_broker_p50_ms = 0;
    double to_broker_p99_ms = 0;
    double from_broker_p50_ms = 0;
    double from_broker_p99_ms = 0;
    double daemon_cpu_s = 0;
    double daemon_wall_s = 0;
    double peak_rss_mib = 0;
    double peak_anon_mib = 0;
    // Idle, after the warm-up rows and before the load: nothing to relay.
    double idle_rss_mib = 0;
    double idle_anon_mib = 0;
    double idle_file_mib = 0;
};

// Inserts single-row autocommit transactions on its own connection at a
// fixed pace; slots are absolute (start + k * interval), so a slow commit is
// followed by a catch-up rather than drifting the rate down.
class Inserter {
public:
    Inserter(const config::Postgres& t,
             const std::string& topic,
             const Options& opt,
             int index,
             Clock::time_point start,
             Clock::time_point end)
        : conn_(ot::services().pg_dsn) {
        const auto& c = t.columns;
        conn_.prepare("ins", "INSERT INTO " + qualified(t) + " (" + store::quote_ident(c.topic)
                                 + ", " + store::quote_ident(c.key) + ", "
                                 + store::quote_ident(c.payload) + ") VALUES ($1, $2, $3)");
        const double per_thread = static_cast<double>(opt.rate) / opt.insert_threads;
        interval_ = std::chrono::duration_cast<Clock::duration>(Seconds(1.0 / per_thread));
        // Threads interleave their slots so the combined stream is even.
        first_ = start + interval_ * index / opt.insert_threads;
        end_ = end;
        topic_ = topic;
        keys_ = opt.keys;
        stride_ = opt.insert_threads;
        index_ = index;
        payload_.resize(static_cast<std::size_t>(opt.payload_bytes));
    }

    void run() {
        for (std::int64_t k = 0;; ++k) {
            const auto slot = first_ + interval_ * k;
            if (slot >= end_) {
                break;
            }
            std::this_thread::sleep_until(slot);
            max_lag_ = std::max(max_lag_, Clock::now() - slot);
            const std::int64_t n = k * stride_ + index_;
            for (std::size_t i = 0; i < payload_.size(); ++i) {
                payload_[i] = static_cast<char>((n * 31 + static_cast<std::int64_t>(i)) & 0xff);
            }
            pqxx::binarystring bytes(payload_.data(), payload_.size());
            pqxx::nontransaction tx(conn_);
            const auto t0 = Clock::now();
            tx.exec_prepared("ins", topic_, "key-" + std::to_string(n % keys_), bytes);
            statement_ms_.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
            ++inserted_;
        }
    }

    std::int64_t inserted() const { return inserted_; }
    Clock::duration max_lag() const { return max_lag_; }
    const std::vector<double>& statement_ms() const { return statement_ms_; }

private:
    pqxx::connection conn_;
    Clock::duration interval_{};
    Clock::time_point first_, end_;
    std::string topic_;
    int keys_ = 1;
    int stride_ = 1;
    int index_ = 0;
    std::string payload_;
    std::int64_t inserted_ = 0;
    Clock::duration max_lag_{};
    std::vector<double> statement_ms_;
};

// Fills r's split from the topic's LogAppendTime of each row's first copy.
void split_at_broker(const config::Postgres& t,
                     const std::string& topic,
                     std::int64_t after_id,
                     LatencyResult& r) {
    std::map<std::int64_t, std::int64_t> appended_ms;
    for (const auto& m : ot::read_topic(ot::services().kafka_bootstrap, topic)) {
        if (!m.log_append_time) {
            throw std::runtime_error("latency: the topic's timestamps are not LogAppendTime");
        }
        appended_ms.emplace(m.outbox_id, m.timestamp_ms);
    }
    const auto& c = t.columns;
    std::vector<double> to;
    std::vector<double> from;
    for (const auto& row :
         ot::sql(ot::services().pg_dsn,
                 "SELECT " + store::quote_ident(c.id) + ", extract(epoch FROM "
                     + store::quote_ident(c.created_at) + ") * 1000, extract(epoch FROM "
                     + store::quote_ident(c.sent_at) + ") * 1000 FROM " + qualified(t) + " WHERE "
                     + store::quote_ident(c.id) + " > " + std::to_string(after_id))) {
        const auto it = appended_ms.find(std::stoll(row[0]));
        if (it == appended_ms.end()) {
            throw std::runtime_error("latency: row " + row[0] + " not in Kafka");
        }
        const auto appended = static_cast<double>(it->second);
        to.push_back(appended - std::stod(row[1]));
        from.push_back(std::stod(row[2]) - appended);
    }
    const auto at = [](std::vector<double>& v, double q) {
        std::sort(v.begin(), v.end());
        return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))];
    };
    r.split = true;
    r.to_broker_p50_ms = at(to, 0.5);
    r.to_broker_p99_ms = at(to, 0.99);
    r.from_broker_p50_ms = at(from, 0.5);
    r.from_broker_p99_ms = at(from, 0.99);
}

LatencyResult run_latency(const Options& opt) {
    auto t = fresh_table("bench_lat");
    const std::string topic =
        make_destination(opt, "bench-lat", {{"message.timestamp.type", "LogAppendTime"}});
    progress("latency: starting outboxd (LISTEN on channel " + t.notify_channel + ")");
    DaemonRun run(t, opt.batch_size, opt.max_message_bytes, opt.broker);
    run.wait_until_relaying(std::chrono::seconds(60));

    // Warm-up rows, excluded from the figures: the first produce to a topic
    // waits for metadata and broker connections, which is start-up, not
    // steady-state latency.
    std::vector<ot::NewRow> warm;
    for (int i = 0; i < kWarmupRows; ++i) {
        warm.push_back(ot::NewRow{topic, "warm-" + std::to_string(i), std::string(16, 'w'), {}});
    }
    const auto warm_ids = ot::insert_rows(ot::services().pg_dsn, t, warm);
    const std::int64_t warm_max = warm_ids.back();
    if (!wait_all_sent(run, t, warm_max, std::chrono::seconds(60))) {
        run.stop();
        throw std::runtime_error("latency: warm-up rows not sent within 60 s");
    }
    // Idle: connected, caught up, nothing to relay.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const auto idle = run.memory_now();

    progress("latency: inserting " + std::to_string(opt.rate) + " rows/s for "
             + std::to_string(opt.latency_seconds) + " s from " + std::to_string(opt.insert_threads)
             + " connections");
    const auto start = Clock::now() + std::chrono::milliseconds(200);
    const auto end = start + std::chrono::seconds(opt.latency_seconds);
    std::vector<std::unique_ptr<Inserter>> inserters;
    for (int i = 0; i < opt.insert_threads; ++i) {
        inserters.push_back(std::make_unique<Inserter>(t, topic, opt, i, start, end));
    }
    std::vector<std::thread> threads;
    std::vector<std::string> errors(inserters.size());
    for (std::size_t i = 0; i < inserters.size(); ++i) {
        threads.emplace_back([&, i] {
            try {
                inserters[i]->run();
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (const auto& e : errors) {
        if (!e.empty()) {
            run.stop();
            throw std::runtime_error("latency: inserter failed: " + e);
        }
    }
    const double insert_secs = Seconds(Clock::now() - start).count();
    const auto last_id = std::stoll(
        ot::sql_value(ot::services().pg_dsn,
                      "SELECT max(" + store::quote_ident(t.columns.id) + ") FROM " + qualified(t)));
    if (!wait_all_sent(run, t, last_id, std::chrono::seconds(60))) {
        run.stop();
        throw std::runtime_error("latency: rows still pending 60 s after the last insert");
    }
    run.stop();

    LatencyResult r;
    std::vector<double> statements;
    for (const auto& ins : inserters) {
        r.rows += ins->inserted();
        r.max_schedule_lag_ms =
            std::max(r.max_schedule_lag_ms,
                     std::chrono::duration<double, std::milli>(ins->max_lag()).count());
        statements.insert(statements.end(), ins->statement_ms().begin(), ins->statement_ms().end());
    }
    std::sort(statements.begin(), statements.end());
    if (!statements.empty()) {
        const auto at = [&](double q) {
            return statements[std::min(statements.size() - 1,
                                       static_cast<std::size_t>(q * statements.size()))];
        };
        r.insert_p50_ms = at(0.5);
        r.insert_p99_ms = at(0.99);
    }
    r.achieved_rate = static_cast<double>(r.rows) / insert_secs;
    const auto& c = t.columns;
    // created_at is now() of the inserting transaction, sent_at is now() of
    // the marking one: both from the database clock, so no skew.
    const auto q =
        ot::sql(ot::services().pg_dsn,
                "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),"
                " percentile_cont(0.9) WITHIN GROUP (ORDER BY ms),"
                " percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms) FROM (SELECT "
                "extract(epoch FROM "
                    + store::quote_ident(c.sent_at) + " - " + store::quote_ident(c.created_at)
                    + ") * 1000 AS ms FROM " + qualified(t) + " WHERE " + store::quote_ident(c.id)
                    + " > " + std::to_string(warm_max) + ") s");
    if (std::stoll(q[0][0]) != r.rows) {
        throw std::runtime_error("latency: " + q[0][0] + " rows measured, " + std::to_string(r.rows)
                                 + " inserted");
    }
    r.idle_rss_mib = idle.rss_mib;
    r.idle_anon_mib = idle.anon_mib;
    r.idle_file_mib = idle.file_mib;
    r.p50_ms = std::stod(q[0][1]);
    r.p90_ms = std::stod(q[0][2]);
    r.p99_ms = std::stod(q[0][3]);
    r.max_ms = std::stod(q[0][4]);
    if (!rabbit(opt)) {
        split_at_broker(t, topic, warm_max, r);
    }
    r.daemon_cpu_s = run.cpu_s();
    r.daemon_wall_s = run.stopped_wall_s() - run.start_wall_s();
    r.peak_rss_mib = run.peak_rss_mib();
    r.peak_anon_mib = run.peak_anon_mib();
    progress("latency: p50 " + fixed(r.p50_ms, 1) + " ms, p99 " + fixed(r.p99_ms, 1) + " ms");
    drop_destination(opt, topic, r.rows + kWarmupRows);
    drop_table(opt, t);
    return r;
}

// ---- 6. confirmation lag (--confirm) ------------------------------------------

struct ConfirmLagResult {
    std::int64_t samples = 0;
    double p50_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
    std::int64_t rows = 0;
    std::int64_t consumed = 0; // rows at 3 at the end
};

// Rows inserted at --rate while a consumer group commits the high
// watermarks at random moments (0-1 s apart); each sample is the time from
// one commit until no row below the committed offsets is still at 1 (the
// confirmer's round is confirm.interval_ms, 1 s by default, so the lag is
// up to one round plus the round's own work).
ConfirmLagResult run_confirm_lag(const Options& opt) {
    auto t = fresh_table("bench_clag");
    const std::string topic = make_destination(opt, "bench-clag");
    const std::string group = ot::unique_name("bench-consumer");
    migrate_for_confirm(t, group);
    progress("confirmation lag: starting outboxd (confirm.consumers [" + group + "])");
    DaemonRun run(t, opt.batch_size, opt.max_message_bytes, opt.broker, group);
    run.wait_until_relaying(std::chrono::seconds(60));
    const auto& c = t.columns;
    std::vector<double> lags;
    std::mutex lags_mu;
    {
        pqxx::connection poll_conn(ot::services().pg_dsn);
        KeepingUpGroup keeping_up(
            topic, group, std::chrono::milliseconds(200),
            [&](const KeepingUpGroup::Offsets& committed) {
                const auto at = Clock::now();
                std::string below;
                for (const auto& [p, o] : committed) {
                    below += std::string(below.empty() ? "" : " OR ") + "("
                             + store::quote_ident(c.kafka_partition) + " = " + std::to_string(p)
                             + " AND " + store::quote_ident(c.kafka_offset) + " < "
                             + std::to_string(o) + ")";
                }
                const std::string q = "SELECT count(*) FROM " + qualified(t) + " WHERE "
                                      + store::quote_ident(c.status) + " = 1 AND (" + below + ")";
                while (Clock::now() - at < std::chrono::seconds(10)) {
                    pqxx::nontransaction tx(poll_conn);
                    if (tx.exec(q)[0][0].as<std::int64_t>() == 0) {
                        std::lock_guard<std::mutex> lk(lags_mu);
                        lags.push_back(
                            std::chrono::duration<double, std::milli>(Clock::now() - at).count());
                        return;
                    }
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
                }
            });
        progress("confirmation lag: inserting " + std::to_string(opt.rate) + " rows/s for "
                 + std::to_string(opt.latency_seconds) + " s");
        const auto start = Clock::now() + std::chrono::milliseconds(200);
        const auto end = start + std::chrono::seconds(opt.latency_seconds);
        std::vector<std::unique_ptr<Inserter>> inserters;
        for (int i = 0; i < opt.insert_threads; ++i) {
            inserters.push_back(std::make_unique<Inserter>(t, topic, opt, i, start, end));
        }
        std::vector<std::thread> threads;
        for (auto& ins : inserters) {
            threads.emplace_back([&ins] { ins->run(); });
        }
        for (auto& th : threads) {
            th.join();
        }
        std::this_thread::sleep_for(std::chrono::seconds(3)); // the last commits
        if (!keeping_up.error().empty()) {
            throw std::runtime_error("confirmation lag: committing: " + keeping_up.error());
        }
    }
    run.stop();
    ConfirmLagResult r;
    std::sort(lags.begin(), lags.end());
    r.samples = static_cast<std::int64_t>(lags.size());
    if (!lags.empty()) {
        const auto at = [&](double q) {
            return lags[std::min(lags.size() - 1, static_cast<std::size_t>(q * lags.size()))];
        };
        r.p50_ms = at(0.5);
        r.p99_ms = at(0.99);
        r.max_ms = lags.back();
    }
    const auto counts = ot::sql(ot::services().pg_dsn, "SELECT count(*), count(*) FILTER (WHERE "
                                                           + store::quote_ident(c.status)
                                                           + " = 3) FROM " + qualified(t));
    r.rows = std::stoll(counts[0][0]);
    r.consumed = std::stoll(counts[0][1]);
    progress("confirmation lag: p50 " + fixed(r.p50_ms, 1) + " ms, p99 " + fixed(r.p99_ms, 1)
             + " ms over " + std::to_string(r.samples) + " commits");
    drop_table(opt, t);
    return r;
}

// ---- report ----------------------------------------------------------------

// Median and range of one figure over the rounds: a single 3-second drain on
// a shared 2-core machine swings by +-20 %, the median of several does not.
struct Spread {
    double median = 0;
    double min = 0;
    double max = 0;
};

template <typename T, typename F>
Spread spread(const std::vector<T>& runs, F field) {
    std::vector<double> v;
    for (const auto& r : runs) {
        v.push_back(field(r));
    }
    std::sort(v.begin(), v.end());
    Spread s;
    if (v.empty()) {
        return s;
    }
    const std::size_t n = v.size();
    s.median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.min = v.front();
    s.max = v.back();
    return s;
}

std::string with_range(const Spread& s, bool show_range) {
    if (!show_range) {
        return grouped(s.median);
    }
    return grouped(s.median) + " (" + grouped(s.min) + "-" + grouped(s.max) + ")";
}

nlohmann::json to_json(const Spread& s) {
    return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

void row(const std::string& name, const std::string& value) {
    std::printf("  %-44s %26s\n", name.c_str(), value.c_str());
}

std::string broker_title(const std::string& broker) {
    return broker == "rabbitmq" ? "RabbitMQ" : "Kafka";
}

std::string destination_text(const Options& opt) {
    if (rabbit(opt)) {
        return "RabbitMQ: fanout exchange -> quorum queue (1 node), confirms";
    }
    return "Kafka: topic " + std::to_string(kTopicPartitions) + " partitions RF "
           + std::to_string(kTopicReplication) + ", acks=all";
}

// ---- 7. side by side with Debezium (--peer-debezium-libs) ---------------------

// CPU seconds (user + system) of a process; with `children`, also of its
// children it waited for (the postmaster reaps every backend that exits).
double cpu_seconds(int pid, bool children) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    if (all.empty()) {
        return 0;
    }
    std::istringstream rest(all.substr(all.rfind(')') + 2));
    std::vector<std::string> f;
    for (std::string x; rest >> x;) {
        f.push_back(x);
    }
    if (f.size() < 15) {
        return 0;
    }
    double ticks = std::stod(f[11]) + std::stod(f[12]);
    if (children) {
        ticks += std::stod(f[13]) + std::stod(f[14]);
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// PostgreSQL's CPU so far: the postmaster with every backend it reaped,
// plus the backends alive now.
double postgres_cpu_seconds() {
    std::ifstream pidfile(ot::services().dir + "/pg/data/postmaster.pid");
    int postmaster = 0;
    pidfile >> postmaster;
    if (postmaster <= 0) {
        throw std::runtime_error("peer: cannot read the postmaster's pid");
    }
    double total = cpu_seconds(postmaster, true);
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        const std::string name = e.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream st(e.path() / "stat");
        std::string all((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
        const auto close = all.rfind(')');
        if (close == std::string::npos) {
            continue;
        }
        std::istringstream rest(all.substr(close + 2));
        std::string state;
        int ppid = 0;
        rest >> state >> ppid;
        if (ppid == postmaster) {
            total += cpu_seconds(std::stoi(name), false);
        }
    }
    return total;
}

// The largest VmHWM (MiB) of `pid`.
double peak_rss_of(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::stod(line.substr(6)) / 1024.0;
        }
    }
    return 0;
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("peer: no free port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

// One relay under comparison: outboxd, or Kafka Connect standalone running
// Debezium's PostgreSQL connector with the outbox EventRouter.
class PeerRelay {
public:
    virtual ~PeerRelay() = default;
    virtual void start() = 0;
    virtual int pid() const = 0;
    virtual std::string log() const = 0;
    virtual void stop() = 0;
};

class OutboxdPeer final : public PeerRelay {
public:
    OutboxdPeer(const config::Postgres& t, const Options& opt)
        : t_(t)
        , opt_(opt) {}
    void start() override {
        run_ = std::make_unique<DaemonRun>(t_, opt_.batch_size, opt_.max_message_bytes);
    }
    int pid() const override { return run_->pid(); }
    std::string log() const override { return run_->log(); }
    void stop() override { run_->stop(); }

private:
    config::Postgres t_;
    const Options& opt_;
    std::unique_ptr<DaemonRun> run_;
};

class DebeziumPeer final : public PeerRelay {
public:
    DebeziumPeer(const config::Postgres& t,
                 const std::string& libs,
                 const std::string& name,
                 const std::vector<std::string>& extra)
        : libs_(libs)
        , dir_(ot::scratch_path("debezium")) {
        std::filesystem::create_directories(dir_);
        const auto dsn = ot::services().pg_dsn;
        const auto field = [&](const std::string& key) {
            const auto at = dsn.find(key + "=");
            const auto end = dsn.find(' ', at);
            return dsn.substr(at + key.size() + 1, end == std::string::npos
                                                       ? std::string::npos
                                                       : end - at - key.size() - 1);
        };
        slot_ = "peer_" + name;
        publication_ = "peer_" + name;
        // The slot exists before the backlog is written, as it would for a
        // connector that ran before: the backlog is in its stream, not in a
        // snapshot (snapshot.mode no_data).
        ot::sql(dsn, "CREATE PUBLICATION " + publication_ + " FOR TABLE " + qualified(t));
        ot::sql(dsn, "SELECT pg_create_logical_replication_slot('" + slot_ + "', 'pgoutput')");
        std::ofstream w(dir_ + "/worker.properties");
        w << "bootstrap.servers=" << ot::services().kafka_bootstrap << "\n"
          << "listeners=http://127.0.0.1:" << free_port() << "\n"
          << "offset.storage.file.filename=" << dir_ << "/offsets\n"
          << "offset.flush.interval.ms=1000\n"
          << "key.converter=org.apache.kafka.connect.storage.StringConverter\n"
          << "value.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n"
          // Durability equal to outboxd's (G2).
          << "producer.acks=all\n"
          << "producer.enable.idempotence=true\n"
          << "plugin.path=\n";
        std::ofstream c(dir_ + "/connector.properties");
        c << "name=peer-debezium\n"
          << "connector.class=io.debezium.connector.postgresql.PostgresConnector\n"
          << "tasks.max=1\n"
          << "plugin.name=pgoutput\n"
          << "database.hostname=" << field("host") << "\n"
          << "database.port=" << field("port") << "\n"
          << "database.user=" << field("user") << "\n"
          << "database.dbname=" << field("dbname") << "\n"
          << "topic.prefix=peer\n"
          << "table.include.list=" << t.schema << "." << t.table << "\n"
          << "slot.name=" << slot_ << "\n"
          << "publication.name=" << publication_ << "\n"
          << "publication.autocreate.mode=disabled\n"
          << "snapshot.mode=no_data\n"
          << "binary.handling.mode=bytes\n"
          << "transforms=outbox\n"
          << "transforms.outbox.type=io.debezium.transforms.outbox.EventRouter\n"
          << "transforms.outbox.table.field.event.id=" << t.columns.id << "\n"
          << "transforms.outbox.table.field.event.key=" << t.columns.key << "\n"
          << "transforms.outbox.table.field.event.payload=" << t.columns.payload << "\n"
          << "transforms.outbox.route.by.field=" << t.columns.topic << "\n"
          << "transforms.outbox.route.topic.replacement=${routedByValue}\n"
          << "transforms.outbox.table.expand.json.payload=false\n";
        // The operator's own, last: a later key wins in a properties file.
        for (const auto& kv : extra) {
            c << kv << "\n";
        }
    }
    ~DebeziumPeer() override {
        java_.reset();
        try {
            ot::sql(ot::services().pg_dsn, "SELECT pg_drop_replication_slot('" + slot_ + "')");
            ot::sql(ot::services().pg_dsn, "DROP PUBLICATION IF EXISTS " + publication_);
        } catch (const std::exception& e) {
            progress(std::string("peer: dropping the slot: ") + e.what());
        }
    }
    void start() override {
        java_ = std::make_unique<ot::Daemon>(
            ot::Program{"/usr/bin/java"},
            std::vector<std::string>{"-Xms256m", "-Xmx1g", "-cp", libs_ + "/*",
                                     "org.apache.kafka.connect.cli.ConnectStandalone",
                                     dir_ + "/worker.properties", dir_ + "/connector.properties"});
    }
    int pid() const override { return java_->pid(); }
    std::string log() const override { return java_->log(); }
    void stop() override {
        java_->signal(SIGTERM);
        if (!java_->wait(std::chrono::seconds(30))) {
            progress("peer: Kafka Connect did not stop in 30 s");
        }
    }

private:
    std::string libs_;
    std::string dir_;
    std::string slot_;
    std::string publication_;
    std::unique_ptr<ot::Daemon> java_;
};

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
    // The steady phase: one connection inserting at `rate`, autocommit.
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
    const std::int64_t total = r.backlog + r.steady_rows;
    if (!ot::eventually([&] { return count_in_topic() >= total; }, std::chrono::seconds(120))) {
        throw std::runtime_error("peer " + relay + ": steady rows not in Kafka after 120 s");
    }
    r.peak_rss_mib = peak_rss_of(p->pid());
    r.relay_cpu_s = cpu_seconds(p->pid(), true);
    r.postgres_cpu_s = postgres_cpu_seconds() - pg_cpu0;
    r.wall_s = wall_now_s() - start_s;
    p->stop();

    // Where each message is: the id from outboxd's outbox-id header, or
    // from the EventRouter's `id` header.
    const auto messages = ot::read_topic(ot::services().kafka_bootstrap, topic);
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
            throw std::runtime_error("peer " + relay + ": a message without an id header");
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
    std::vector<double> lat;
    for (const auto& row :
         ot::sql(ot::services().pg_dsn,
                 "SELECT " + store::quote_ident(c.id) + ", (extract(epoch FROM "
                     + store::quote_ident(c.created_at) + ") * 1000)::bigint FROM " + qualified(t)
                     + " WHERE " + store::quote_ident(c.id)
                     + " >= " + std::to_string(first_steady_id))) {
        const auto it = appended_ms.find(std::stoll(row[0]));
        if (it == appended_ms.end()) {
            throw std::runtime_error("peer " + relay + ": row " + row[0] + " not in Kafka");
        }
        lat.push_back(static_cast<double>(it->second - std::stoll(row[1])));
    }
    std::sort(lat.begin(), lat.end());
    const auto at = [&](double q) {
        return lat.empty()
                   ? 0.0
                   : lat[std::min(lat.size() - 1, static_cast<std::size_t>(q * lat.size()))];
    };
    r.p50_ms = at(0.5);
    r.p99_ms = at(0.99);
    progress("peer " + relay + ": " + grouped(r.drain_rows_per_s) + " rows/s, p50 "
             + fixed(r.p50_ms, 1) + " ms, p99 " + fixed(r.p99_ms, 1) + " ms, "
             + std::to_string(messages.size()) + " messages for " + std::to_string(total)
             + " rows");
    drop_table(opt, t);
    return r;
}

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
    return 0;
}

// What phases 2-5 measured for one broker.
struct BrokerRuns {
    std::vector<PublishCeilingResult> publish;
    std::vector<ThroughputResult> tputs;
    std::vector<ThroughputResult> tputs_confirm; // --confirm: the same drain, confirmation on
    std::optional<LatencyResult> lat;
    std::optional<ConfirmLagResult> confirm_lag;
};

int run_all(const Options& opt) {
    nlohmann::json out;
    std::string broker_list;
    for (const auto& b : opt.brokers) {
        broker_list += (broker_list.empty() ? "" : ",") + b;
    }
    out["config"] = {{"rows", opt.rows},
                     {"batch_size", opt.batch_size},
                     {"payload_bytes", opt.payload_bytes},
                     {"max_message_bytes", opt.max_message_bytes},
                     {"keys", opt.keys},
                     {"repeat", opt.repeat},
                     {"warmup_rows", opt.warmup_rows},
                     {"latency_seconds", opt.latency_seconds},
                     {"rate", opt.rate},
                     {"insert_threads", opt.insert_threads},
                     {"partitions", kTopicPartitions},
                     {"broker", broker_list}};
    std::vector<std::size_t> batches{static_cast<std::size_t>(opt.batch_size)};
    if (batches[0] != kExtraCeilingBatch) {
        batches.push_back(kExtraCeilingBatch);
    }
    auto for_broker = [&](const std::string& b) {
        Options o = opt;
        o.broker = b;
        return o;
    };
    std::map<std::size_t, std::vector<CeilingResult>> ceilings;
    std::map<std::string, BrokerRuns> runs;

    // A broker started moments ago is still warming up (JIT, caches): on
    // fresh services the first relay round came out 10-20 % slower than the
    // ones after it. One unreported run takes that out of the figures.
    if (opt.warmup_rows > 0
        && (!opt.skip_throughput || !opt.skip_latency || !opt.skip_publish_ceiling)) {
        for (const auto& b : opt.brokers) {
            Options warm = for_broker(b);
            warm.rows = opt.warmup_rows;
            run_throughput(warm, "warm-up (" + b + ")");
        }
    }

    // Ceiling and relay alternate within each round (and the brokers with
    // them), so background load on the machine hits every figure alike.
    if (!opt.skip_ceiling || !opt.skip_throughput || !opt.skip_publish_ceiling) {
        for (int round = 1; round <= opt.repeat; ++round) {
            progress("round " + std::to_string(round) + " of " + std::to_string(opt.repeat));
            if (!opt.skip_ceiling) {
                for (auto b : batches) {
                    ceilings[b].push_back(run_ceiling(opt, b));
                }
            }
            for (const auto& b : opt.brokers) {
                const Options o = for_broker(b);
                if (!opt.skip_publish_ceiling) {
                    runs[b].publish.push_back(run_publish_ceiling(o));
                }
                if (!opt.skip_throughput) {
                    runs[b].tputs.push_back(run_throughput(o, "throughput (" + b + ")"));
                    if (opt.confirm && b == "kafka") {
                        Options on = o;
                        on.confirm_group = ot::unique_name("bench-consumer");
                        runs[b].tputs_confirm.push_back(
                            run_throughput(on, "throughput (" + b + ", confirmation on)"));
                    }
                }
            }
        }
    }
    if (!opt.skip_latency) {
        for (const auto& b : opt.brokers) {
            runs[b].lat = run_latency(for_broker(b));
            if (opt.confirm && b == "kafka") {
                runs[b].confirm_lag = run_confirm_lag(for_broker(b));
            }
        }
    }

    const bool ranges = opt.repeat > 1;
    std::printf("\noutboxd benchmark: %s rows of %d B, %d keys",
                grouped(static_cast<double>(opt.rows)).c_str(), opt.payload_bytes, opt.keys);
    if (ranges) {
        std::printf("; median (min-max) of %d rounds", opt.repeat);
    }
    std::printf("\n");
    double peak_rss = 0;
    std::map<std::size_t, Spread> ceiling_rate;
    if (!ceilings.empty()) {
        std::printf("PostgreSQL ceiling (keyset fetch_pending + mark_sent in turn, one thread)\n");
        for (const auto& [b, cruns] : ceilings) {
            const auto rate = spread(cruns, [](const CeilingResult& c) { return c.rows_per_s; });
            const auto fetch = spread(cruns, [](const CeilingResult& c) { return c.fetch_ms_avg; });
            const auto mark = spread(cruns, [](const CeilingResult& c) { return c.mark_ms_avg; });
            ceiling_rate[b] = rate;
            const std::string name = "batch " + std::to_string(b);
            row(name + ": rows/s", with_range(rate, ranges));
            row(name + ": fetch / mark ms per batch",
                fixed(fetch.median, 2) + " / " + fixed(mark.median, 2));
            out["ceiling"][std::to_string(b)] = {{"rows_per_s", to_json(rate)},
                                                 {"fetch_ms_per_batch", fetch.median},
                                                 {"mark_ms_per_batch", mark.median}};
        }
    }
    std::map<std::string, double> drain_median;
    for (const auto& b : opt.brokers) {
        const BrokerRuns& br = runs[b];
        const Options o = for_broker(b);
        nlohmann::json& jb = out["brokers"][b];
        jb["destination"] = destination_text(o);
        std::printf("%s (%s)\n", broker_title(b).c_str(), destination_text(o).c_str());
        std::optional<Spread> publish_rate;
        if (!br.publish.empty()) {
            publish_rate =
                spread(br.publish, [](const PublishCeilingResult& p) { return p.rows_per_s; });
            row("publish ceiling (publisher alone), msgs/s", with_range(*publish_rate, ranges));
            jb["publish_ceiling"] = {{"rows_per_s", to_json(*publish_rate)}};
        }
        if (!br.tputs.empty()) {
            const auto& tputs = br.tputs;
            const auto rate = spread(tputs, [](const ThroughputResult& t) { return t.rows_per_s; });
            const auto steady =
                spread(tputs, [](const ThroughputResult& t) { return t.steady_rows_per_s; });
            const auto first =
                spread(tputs, [](const ThroughputResult& t) { return t.first_row_s * 1000; });
            const auto total = spread(tputs, [](const ThroughputResult& t) { return t.total_s; });
            const auto cores =
                spread(tputs, [](const ThroughputResult& t) { return t.daemon_cpu_s / t.total_s; });
            const auto rss =
                spread(tputs, [](const ThroughputResult& t) { return t.peak_rss_mib; });
            const auto anon =
                spread(tputs, [](const ThroughputResult& t) { return t.peak_anon_mib; });
            drain_median[b] = rate.median;
            std::printf(" relay drain (outboxd, batch_size %d)\n", opt.batch_size);
            row("rows/s (start to last row at status 1)", with_range(rate, ranges));
            row("rows/s (first to last row sent)", with_range(steady, ranges));
            row("time to first row sent, ms", with_range(first, ranges));
            row("total time, s", fixed(total.median, 2));
            row("daemon CPU, cores busy", fixed(cores.median, 2));
            row("peak RSS / peak anonymous (RssAnon), MiB",
                fixed(rss.max, 1) + " / " + fixed(anon.max, 1));
            const auto rescan1 =
                spread(tputs, [](const ThroughputResult& t) { return t.rescan_first_ms; });
            const auto rescan2 =
                spread(tputs, [](const ThroughputResult& t) { return t.rescan_again_ms; });
            const auto rescan3 =
                spread(tputs, [](const ThroughputResult& t) { return t.rescan_vacuum_ms; });
            row("rescan of the drained table: first / next / after VACUUM, ms",
                fixed(rescan1.median, 1) + " / " + fixed(rescan2.median, 1) + " / "
                    + fixed(rescan3.median, 1));
            jb["throughput"] = {{"rows_per_s", to_json(rate)},
                                {"steady_rows_per_s", to_json(steady)},
                                {"first_row_ms", to_json(first)},
                                {"total_s", total.median},
                                {"daemon_cores", cores.median},
                                {"peak_rss_mib", rss.max},
                                {"peak_anon_mib", anon.max},
                                {"rescan_ms",
                                 {{"first", rescan1.median},
                                  {"next", rescan2.median},
                                  {"after_vacuum", rescan3.median}}}};
            peak_rss = std::max(peak_rss, rss.max);
            if (auto it = ceiling_rate.find(static_cast<std::size_t>(opt.batch_size));
                it != ceiling_rate.end()) {
                const double ratio = rate.median / it->second.median;
                row("relay / PostgreSQL ceiling, same batch size", fixed(ratio * 100, 1) + " %");
                // Without the daemon's start-up: what the hot loop itself reaches.
                const double steady_ratio = steady.median / it->second.median;
                row("first-to-last rate / PostgreSQL ceiling", fixed(steady_ratio * 100, 1) + " %");
                jb["throughput"]["ratio_to_ceiling"] = ratio;
                jb["throughput"]["steady_ratio_to_ceiling"] = steady_ratio;
            }
            if (publish_rate) {
                const double ratio = steady.median / publish_rate->median;
                row("first-to-last rate / publish ceiling", fixed(ratio * 100, 1) + " %");
                jb["throughput"]["steady_ratio_to_publish_ceiling"] = ratio;
            }
            if (!br.tputs_confirm.empty()) {
                const auto on = spread(br.tputs_confirm,
                                       [](const ThroughputResult& t) { return t.rows_per_s; });
                const auto on_cores = spread(br.tputs_confirm, [](const ThroughputResult& t) {
                    return t.daemon_cpu_s / t.total_s;
                });
                std::printf(" relay drain with confirmation on (a consumer group committing "
                            "every 100 ms)\n");
                row("rows/s (start to last row at 1 or 3)", with_range(on, ranges));
                row("daemon CPU, cores busy", fixed(on_cores.median, 2));
                row("confirmation on / off (medians)",
                    fixed(on.median / rate.median * 100, 1) + " %");
                jb["throughput_confirm"] = {{"rows_per_s", to_json(on)},
                                            {"daemon_cores", on_cores.median},
                                            {"ratio_to_off", on.median / rate.median}};
            }
        }
        if (br.confirm_lag) {
            const auto& cl = *br.confirm_lag;
            std::printf(" confirmation lag, consumer commit -> status 3 (%d rows/s, %d s, "
                        "confirm.interval_ms 1000)\n",
                        opt.rate, opt.latency_seconds);
            row("commits measured", grouped(static_cast<double>(cl.samples)));
            row("p50, ms", fixed(cl.p50_ms, 1));
            row("p99, ms", fixed(cl.p99_ms, 1));
            row("max, ms", fixed(cl.max_ms, 1));
            row("rows at 3 at the end / rows", grouped(static_cast<double>(cl.consumed)) + " / "
                                                   + grouped(static_cast<double>(cl.rows)));
            jb["confirm_lag"] = {{"samples", cl.samples}, {"p50_ms", cl.p50_ms},
                                 {"p99_ms", cl.p99_ms},   {"max_ms", cl.max_ms},
                                 {"rows", cl.rows},       {"consumed", cl.consumed}};
        }
        if (br.lat) {
            const auto& lat = br.lat;
            std::printf(" latency, created_at -> sent_at (%d rows/s target, %d s)\n", opt.rate,
                        opt.latency_seconds);
            row("rows measured", grouped(static_cast<double>(lat->rows)));
            row("achieved insert rate, rows/s", grouped(lat->achieved_rate));
            row("worst insert lag behind schedule, ms", fixed(lat->max_schedule_lag_ms, 1));
            row("p50, ms", fixed(lat->p50_ms, 1));
            row("p90, ms", fixed(lat->p90_ms, 1));
            row("p99, ms", fixed(lat->p99_ms, 1));
            row("max, ms", fixed(lat->max_ms, 1));
            row("of which the INSERT + commit, p50 / p99, ms",
                fixed(lat->insert_p50_ms, 1) + " / " + fixed(lat->insert_p99_ms, 1));
            if (lat->split) {
                // LogAppendTime has 1 ms steps: each half is +-1 ms.
                row("created_at -> broker append, p50 / p99, ms",
                    fixed(lat->to_broker_p50_ms, 1) + " / " + fixed(lat->to_broker_p99_ms, 1));
                row("broker append -> sent_at, p50 / p99, ms",
                    fixed(lat->from_broker_p50_ms, 1) + " / " + fixed(lat->from_broker_p99_ms, 1));
            }
            row("daemon CPU, cores busy", fixed(lat->daemon_cpu_s / lat->daemon_wall_s, 2));
            row("peak RSS / peak anonymous, MiB",
                fixed(lat->peak_rss_mib, 1) + " / " + fixed(lat->peak_anon_mib, 1));
            row("idle RSS = anonymous + file-backed (libraries), MiB",
                fixed(lat->idle_rss_mib, 1) + " = " + fixed(lat->idle_anon_mib, 1) + " + "
                    + fixed(lat->idle_file_mib, 1));
            jb["latency"] = {{"rows", lat->rows},
                             {"peak_anon_mib", lat->peak_anon_mib},
                             {"idle_rss_mib", lat->idle_rss_mib},
                             {"idle_anon_mib", lat->idle_anon_mib},
                             {"idle_file_mib", lat->idle_file_mib},
                             {"achieved_rate", lat->achieved_rate},
                             {"max_schedule_lag_ms", lat->max_schedule_lag_ms},
                             {"insert_p50_ms", lat->insert_p50_ms},
                             {"insert_p99_ms", lat->insert_p99_ms},
                             {"to_broker_p50_ms", lat->to_broker_p50_ms},
                             {"to_broker_p99_ms", lat->to_broker_p99_ms},
                             {"from_broker_p50_ms", lat->from_broker_p50_ms},
                             {"from_broker_p99_ms", lat->from_broker_p99_ms},
                             {"p50_ms", lat->p50_ms},
                             {"p90_ms", lat->p90_ms},
                             {"p99_ms", lat->p99_ms},
                             {"max_ms", lat->max_ms},
                             {"daemon_cores", lat->daemon_cpu_s / lat->daemon_wall_s},
                             {"peak_rss_mib", lat->peak_rss_mib}};
            peak_rss = std::max(peak_rss, lat->peak_rss_mib);
        }
    }
    if (drain_median.count("kafka") != 0 && drain_median.count("rabbitmq") != 0) {
        const double ratio = drain_median["rabbitmq"] / drain_median["kafka"];
        std::printf("Brokers\n");
        row("RabbitMQ drain / Kafka drain (medians)", fixed(ratio * 100, 1) + " %");
        out["rabbitmq_to_kafka_drain"] = ratio;
    }
    if (peak_rss > 0) {
        std::printf("Daemon memory\n");
        row("peak RSS (VmHWM, max over runs), MiB", fixed(peak_rss, 1));
        out["peak_rss_mib"] = peak_rss;
    }
    std::printf("\n%s\n", out.dump().c_str());
    std::fflush(stdout);
    return 0;
}

} // namespace
} // namespace outboxd::bench

int main(int argc, char** argv) {
    // libpq may write to a socket the server closed; report, don't die.
    std::signal(SIGPIPE, SIG_IGN);
    outboxd::bench::Options opt;
    CLI::App app{"outboxd_bench: relay throughput, latency and memory against the local "
                 "PostgreSQL and Kafka (tests/scripts/services.sh; see docs/benchmarks.md)"};
    app.add_option("--rows", opt.rows, "Rows pre-filled for the ceiling and throughput phases")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{100000000}));
    app.add_option("--batch-size", opt.batch_size,
                   "Relay batch_size, and the ceiling's batch (1000 is measured too)")
        ->check(CLI::Range(1, 100000));
    app.add_option("--repeat", opt.repeat,
                   "Rounds of ceiling + throughput; the table shows medians")
        ->check(CLI::Range(1, 20));
    app.add_option("--warmup-rows", opt.warmup_rows,
                   "Rows of an unreported relay run first, to warm the broker (0: none)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{100000000}));
    app.add_option("--latency-seconds", opt.latency_seconds, "Duration of the steady insert load")
        ->check(CLI::Range(1, 3600));
    app.add_option("--rate", opt.rate, "Insert rate of the latency phase, rows/s")
        ->check(CLI::Range(1, 100000));
    app.add_option("--insert-threads", opt.insert_threads,
                   "Connections inserting in the latency phase")
        ->check(CLI::Range(1, 16));
    app.add_option("--payload-bytes", opt.payload_bytes, "Payload size of every row")
        ->check(CLI::Range(0, 100 * 1024 * 1024));
    app.add_option("--max-message-bytes", opt.max_message_bytes,
                   "Topic max.message.bytes and producer message.max.bytes (0: defaults)")
        ->check(CLI::Range(0, 1000000000));
    app.add_option("--keys", opt.keys, "Distinct message keys")->check(CLI::Range(1, 100000000));
    app.add_option("--peer-debezium-libs", opt.peer_debezium_libs,
                   "Kafka Connect + Debezium jars: run only the side-by-side comparison "
                   "(bench/peers/debezium.sh)");
    app.add_option("--peer-debezium-property", opt.peer_debezium_properties,
                   "key=value added to the Debezium connector's properties (repeatable), "
                   "e.g. poll.interval.ms=10")
        ->each([](const std::string& kv) {
            if (kv.find('=') == std::string::npos || kv.front() == '=') {
                throw CLI::ValidationError("expected key=value, got '" + kv + "'");
            }
        });
    app.add_flag("--skip-ceiling", opt.skip_ceiling, "Skip the PostgreSQL ceiling phase");
    app.add_flag("--skip-throughput", opt.skip_throughput, "Skip the relay throughput phase");
    app.add_flag("--skip-latency", opt.skip_latency, "Skip the latency phase");
    app.add_flag("--keep-tables", opt.keep_tables,
                 "Keep the benchmark tables (and RabbitMQ queues) for inspection");
    app.add_flag("--confirm", opt.confirm,
                 "Kafka: also drain with confirm.consumers on (a consumer group keeping up) and "
                 "measure the confirmation lag at --rate");
    app.add_flag("--skip-publish-ceiling", opt.skip_publish_ceiling,
                 "Skip the broker's publish ceiling (the publisher alone, no PostgreSQL)");
    app.add_option("--relay-dsn", opt.relay_dsn,
                   "PostgreSQL connection string of the relaying daemon (e.g. a PgBouncer pool, "
                   "tests/scripts/pgbouncer.sh); default: the services' own");
    app.add_option("--broker", opt.brokers,
                   "Broker(s) of phases 2-5: kafka, rabbitmq (the services' RabbitMQ node), or "
                   "kafka,rabbitmq for both in one run")
        ->delimiter(',')
        ->check(CLI::IsMember({"kafka", "rabbitmq"}));
    CLI11_PARSE(app, argc, argv);
    outboxd::bench::g_relay_dsn = opt.relay_dsn;
    try {
        if (!opt.peer_debezium_libs.empty()) {
            return outboxd::bench::run_peers(opt);
        }
        return outboxd::bench::run_all(opt);
    } catch (const std::exception& e) {
        std::cerr << "outboxd_bench: " << e.what() << std::endl;
        return 1;
    }
}
