// Access to the real PostgreSQL and Kafka the integration tests run against
// (started by tests/scripts/services.sh as a ctest fixture), plus helpers to
// create an isolated table and topic per test, read a topic back, and run
// the outboxd binary as a child process. Test-thread only.
#pragma once

#include "config/config.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <time.h>

namespace outboxd::testing {

struct Services {
    std::string pg_dsn;
    std::string kafka_bootstrap;
    std::string dir; // where services.sh keeps its state
    // The least-privilege role outboxd_relay (docs/security.md): plain, and
    // over TLS verified against the test CA. Empty when the services were
    // started by an older services.sh; pg_dsn (the owner) is used then.
    std::string pg_relay_dsn;
    std::string pg_tls_dsn;
    std::string pg_tls_dir; // ca.crt, other-ca.crt (a CA that signed nothing here)
    // The relay role on 127.0.0.2, the address tests/scripts/partition.sh
    // cuts off while 127.0.0.1 keeps working.
    std::string pg_partition_dsn;
    // The RabbitMQ node (tests/scripts/rabbitmq.sh): AMQP URI, management
    // API base URL, and its directory for rabbitmq.sh stop/start.
    std::string rabbitmq_url;
    std::string rabbitmq_management_url;
    std::string rabbitmq_dir;
    // The test broker's secured listeners (tests/scripts/kafka.sh --tls),
    // advertised as localhost: TLS; TLS with a client certificate required;
    // SASL_SSL (SCRAM-SHA-512 and PLAIN, user "outboxd"). kafka_tls_dir
    // holds ca.crt, other-ca.crt, client.crt, client.key,
    // client.key.password, scram-outboxd.password, plain-outboxd.password.
    std::string kafka_ssl_bootstrap;
    std::string kafka_mtls_bootstrap;
    std::string kafka_sasl_bootstrap;
    std::string kafka_tls_dir;
    // Its TLS listener (amqps://...@localhost:PORT/%2f) and the directory
    // with ca.crt (signed its certificate) and other-ca.crt (signed nothing).
    std::string rabbitmq_tls_url;
    std::string rabbitmq_tls_dir;
};

// Reads $OUTBOXD_TEST_SERVICES_DIR/env (default: the build tree's services/).
const Services& services();

// A name no other test (or earlier run) uses: prefix + pid + counter.
std::string unique_name(const std::string& prefix);

// A fresh path for a test's files (configs, daemon logs, scratch brokers):
// <scratch root>/<unique_name(prefix)>, nothing created there yet. The root
// is OUTBOXD_TEST_SCRATCH_DIR, else <build>/test-scratch (made on first
// use), so a run leaves nothing in /tmp; scripts/test.sh empties it before
// each run and keeps it after, for a look at a failed test's logs.
std::string scratch_path(const std::string& prefix);

// ---- PostgreSQL --------------------------------------------------------

// Runs SQL on a fresh connection; returns rows as text (NULL -> "<null>").
std::vector<std::vector<std::string>> sql(const std::string& dsn, const std::string& query);
std::string sql_value(const std::string& dsn, const std::string& query);

// "schema"."table" of a test table, quoted, for SQL text.
std::string table_sql(const config::Postgres& table);

// A new outbox table (via `migrate`) in its own schema-qualified name.
config::Postgres make_table(const std::string& dsn, const std::string& name);

// The relay role's grants on `table` (created by the owner), exactly as
// docs/security.md lists them: SELECT, UPDATE, and DELETE only when
// `delete_rows` (retention on); on the action log `<table>_actions`, when
// it exists, SELECT, INSERT and USAGE on its id sequence. daemon_config()
// and write_config() call it.
inline constexpr const char* kRelayRole = "outboxd_relay";
void grant_relay(const config::Postgres& table, bool delete_rows);

struct NewRow {
    std::string topic;
    std::optional<std::string> key;
    std::optional<std::string> payload; // bytes
    std::optional<std::string> headers; // JSON text
};
// Inserts rows in one transaction; returns their ids in order.
std::vector<std::int64_t>
insert_rows(const std::string& dsn, const config::Postgres& table, const std::vector<NewRow>& rows);

// Inserts one row in a transaction it keeps open until commit(): the row's
// id is taken now but becomes visible only at commit (the commit gap).
class OpenInsert {
public:
    OpenInsert(const std::string& dsn, const config::Postgres& table, const NewRow& row);
    ~OpenInsert();
    std::int64_t id() const { return id_; }
    void commit();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::int64_t id_ = 0;
};

struct RowState {
    std::int64_t id;
    int status;
    int attempts;
    std::string last_error;
    bool has_sent_at;
    bool has_next_attempt_at;
};
std::map<std::int64_t, RowState> row_states(const std::string& dsn, const config::Postgres& table);
std::map<int, int> status_counts(const std::string& dsn, const config::Postgres& table);

// ---- Kafka ---------------------------------------------------------------

// Creates a topic (admin API); waits until its metadata is visible.
void create_topic(const std::string& bootstrap,
                  const std::string& topic,
                  int partitions,
                  int replication_factor,
                  const std::map<std::string, std::string>& configs = {});

struct Consumed {
    int partition;
    std::int64_t offset;
    std::optional<std::string> key;
    std::optional<std::string> payload;
    std::vector<std::pair<std::string, std::string>> headers;
    std::vector<bool> header_null; // per header: its value was null (then "" above)
    std::int64_t outbox_id = -1;   // from header outbox-id, -1 if absent
    std::int64_t timestamp_ms = -1;
    bool log_append_time = false; // the timestamp is the broker's (LogAppendTime topic)
};
// Every message now in the topic, per partition in offset order.
std::vector<Consumed> read_topic(const std::string& bootstrap, const std::string& topic);

// Produces messages straight to Kafka, as another producer would (acks=all,
// waits for every delivery). Headers are (name, value) pairs.
struct RawMessage {
    std::optional<std::string> key;
    std::string value;
    std::vector<std::pair<std::string, std::string>> headers;
};
void produce_raw(const std::string& bootstrap,
                 const std::string& topic,
                 const std::vector<RawMessage>& messages);

// Broker id leading `partition` of `topic`, or -1.
int partition_leader(const std::string& bootstrap, const std::string& topic, int partition);

// ---- fault-run evidence --------------------------------------------------

// One scenario's result. Appended as a JSON line to $OUTBOXD_TEST_FAULT_REPORT
// when set (tests/faults/run.sh collects them into the reliability table).
struct FaultReport {
    std::string scenario;
    int rounds = 0;
    int rows = 0;
    int lost = 0;
    int duplicates = 0;
    int order_violations = 0;
    int wrongly_parked = 0;
    double takeover_p50_ms = -1;
    double takeover_max_ms = -1;
};
void report_fault_run(const FaultReport& r);

// Reads the whole topic and the whole table and counts what went wrong:
// lost = rows at 1 missing from Kafka + rows still at 0; duplicates = extra
// copies of an outbox-id; order violations = per key, first copies out of
// id order; wrongly parked = rows at 2 (the fault runs have no bad rows).
FaultReport tally(const std::string& scenario,
                  const std::string& bootstrap,
                  const std::string& topic,
                  const config::Postgres& table);

// Number of fault rounds: `fallback`, or $OUTBOXD_TEST_FAULT_ROUNDS (long mode).
int fault_rounds(int fallback);
// Seconds for an outage: `fallback`, or $OUTBOXD_TEST_OUTAGE_SECONDS (long mode).
int outage_seconds(int fallback);

// ---- load ----------------------------------------------------------------

// Inserts rows from a background thread, `per_tx` rows per transaction about
// every 10 ms, keys "key-0".."key-9", until `total` rows are in or stop() is
// called. A failed insert (the database restarting, a fault the test made)
// is retried with the same rows.
class RowInserter {
public:
    RowInserter(const config::Postgres& table, std::string topic, int total, int per_tx);
    ~RowInserter(); // waits until every row is in, unless stop() came first
    RowInserter(const RowInserter&) = delete;
    RowInserter& operator=(const RowInserter&) = delete;
    // Stops early (if still running), waits, returns how many rows went in.
    int stop();

private:
    void run(const config::Postgres& table, const std::string& topic, int total, int per_tx);
    std::atomic<bool> stop_{false};
    std::atomic<int> inserted_{0};
    std::thread thread_;
};

// ---- the daemon ----------------------------------------------------------

std::string outboxd_binary();

struct DaemonConfig {
    config::Postgres table;
    std::string pg_dsn;
    std::string bootstrap;
    std::map<std::string, std::string> relay;            // relay.<key>: value (YAML scalars)
    std::map<std::string, std::string> kafka_props;      // kafka.properties
    std::map<std::string, std::string> kafka_prop_files; // kafka.properties_files
    std::string log_level = "info";
    bool require_durable_topics = false;
    std::string extra_yaml; // appended verbatim
    // A free port per daemon, so tests running side by side never collide
    // (read the real one with http_port()). Empty: no http section written,
    // for tests that put their own in extra_yaml.
    std::string http_listen = "127.0.0.1:0";
};
// The config every test starts from: `table` on the test PostgreSQL, the
// given brokers (default: the shared test broker), poll_interval_ms 200.
// The daemon logs in as the least-privilege role outboxd_relay, granted
// SELECT, UPDATE on `table` here (when the table exists already).
DaemonConfig daemon_config(const config::Postgres& table, const std::string& bootstrap = {});

// Writes a YAML config file into a temp dir; returns its path. A config
// that turns retention on also grants the relay role DELETE on the table.
std::string write_config(const DaemonConfig& c);

// A program other than outboxd run the same way (the example consumer).
struct Program {
    std::string path;
};

class Daemon {
public:
    // Starts `outboxd <args...>` with stderr/stdout to a log file.
    // `migrate` runs as the table owner (OUTBOXD_POSTGRES_DSN set to the
    // owner's DSN unless already set), as a deploy step would: the relay
    // role cannot create or alter tables.
    // With `cgroup` (a cgroup v1 directory, e.g. one made by MemoryCgroup),
    // the child joins it before exec, so every byte the daemon ever uses is
    // charged there.
    explicit Daemon(std::vector<std::string> args, std::string cgroup = {});
    // `program <args...>`, its output to a log file of its own.
    Daemon(Program program, std::vector<std::string> args);
    ~Daemon(); // SIGKILLs the child if still running
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    void signal(int sig);
    // Waits for exit; returns the exit code (128+signal if killed), or
    // nullopt on time-out.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    bool running();
    std::string log() const;
    int pid() const { return pid_; }
    // The port the daemon's HTTP endpoint bound, from its http.port_file
    // (OUTBOXD_HTTP_PORT_FILE, set for each daemon started here); waits up
    // to `timeout`.
    std::optional<int> http_port(std::chrono::milliseconds timeout = std::chrono::seconds(30));

private:
    void start(const std::string& bin,
               std::vector<std::string> args,
               const std::string& cgroup,
               bool outboxd);

    int pid_ = -1;
    std::string log_path_;
    std::string port_file_; // http.port_file given to an outboxd child
    std::optional<int> exit_code_;
};

// A memory cgroup (v1: /sys/fs/cgroup/memory/outboxd-test-<pid>-<n>) with a
// hard limit, swap included where the kernel accounts it, so a process in
// it is OOM-killed instead of swapping when it overruns. Removed by the
// destructor; put only processes in it that are gone by then (a Daemon
// declared after it is killed and reaped first). Test-thread only.
class MemoryCgroup {
public:
    // False when this machine has no cgroup v1 memory controller to use.
    static bool available();
    explicit MemoryCgroup(std::int64_t limit_bytes);
    ~MemoryCgroup();
    MemoryCgroup(const MemoryCgroup&) = delete;
    MemoryCgroup& operator=(const MemoryCgroup&) = delete;

    const std::string& path() const { return path_; }
    std::int64_t peak_bytes() const; // memory.max_usage_in_bytes
    std::int64_t oom_kills() const;  // the oom_kill line of memory.oom_control
    std::int64_t fail_count() const; // memory.failcnt: times the limit was hit

private:
    std::string path_;
};

// GET http://127.0.0.1:<port><path>: status code and body. Throws when no
// connection can be made.
std::pair<int, std::string> http_get(int port, const std::string& path);

// The value of one sample line ("name{labels} value") in a /metrics body;
// nullopt when absent.
std::optional<double> metric_sample(const std::string& body, const std::string& series);
// One series of the daemon's /metrics now (metric_sample of a fresh GET);
// nullopt when it is absent or the daemon does not answer (not started yet,
// gone). For eventually() and for readings taken before a stop.
std::optional<double> metric_value(Daemon& d, const std::string& series);

// What the daemon itself says on /readyz: true while its role is "active
// publisher" (it holds the lock and relays). False while it is a standby,
// starting, stopping, or does not answer. Needs the daemon's HTTP endpoint
// (daemon_config() turns it on).
bool publishes(Daemon& d);
// How many of `ds` say they publish; with `leader`, the last one that does.
int publishing_count(const std::vector<std::unique_ptr<Daemon>>& ds, Daemon** leader = nullptr);
// SIGTERM to each of `ds` once it serves its HTTP endpoint, then waits up to
// `timeout` for each to exit; their exit codes in order (nullopt: it never
// served, or did not exit in time). Waiting for the endpoint matters for a
// daemon started a moment ago: before main() installed its handlers a
// SIGTERM ends the process instead of stopping it (seen under TSan).
std::vector<std::optional<int>> stop_each(const std::vector<std::unique_ptr<Daemon>>& ds,
                                          std::chrono::milliseconds timeout);

// kill -9 of `leader` (one of `ds`), then `after_kill` (e.g. a ledger
// snapshot), then waits up to `timeout` until another of `ds` publishes.
// Returns the take-over time in milliseconds, or nullopt on time-out.
std::optional<double> kill_and_time_takeover(const std::vector<std::unique_ptr<Daemon>>& ds,
                                             Daemon& leader,
                                             std::chrono::milliseconds timeout,
                                             const std::function<void()>& after_kill = {});

// `s` as one shell word.
std::string shell_quote(const std::string& s);

// Runs outboxd with `env_prefix` (e.g. "OUTBOXD_RELAY_BATCH_SIZE=7") and
// returns its exit code and stdout alone (stderr to `err` when given), so
// --json output can be parsed as it is.
std::pair<int, std::string> run_stdout(const std::vector<std::string>& args,
                                       const std::string& env_prefix = "",
                                       std::string* err = nullptr);

// Runs the binary to completion; returns exit code and combined output.
std::pair<int, std::string>
run_outboxd(const std::vector<std::string>& args,
            std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Polls `pred` every 50 ms until true or `timeout`; returns the last value.
template <typename P>
bool eventually(P pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) {
            return true;
        }
        struct timespec ts {
            0, 50 * 1000 * 1000
        };
        nanosleep(&ts, nullptr);
    }
    return pred();
}

// Runs a tests/scripts/*.sh command; returns its stdout, throws on failure.
std::string script(const std::string& command_line);

// How often `what` occurs in `text`.
int count_of(const std::string& text, const std::string& what);

// The end of a log (its last 4,000 characters): enough to see how a run
// ended.
std::string tail_of(const std::string& log);

} // namespace outboxd::testing
