// outboxd_bench's command line: what a run measures and how.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI { // NOLINT(readability-identifier-naming): CLI11's own name
class App;
}

namespace outboxd::bench {

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
    // --console-client: the throughput phase's daemon serves the review
    // console (http.console) and a client loads its page every second while
    // it drains, with 200 parked rows in the table for the list to show.
    bool console_client = false;
    std::vector<std::string> brokers{"kafka"}; // --broker: phases 2-5 for each
    // --layout debezium: the drains (and warm-up) use a Debezium-layout table
    // adopted by migrate and postgres.layout: debezium; other phases do not.
    std::string layout = "outboxd";
    // --peer-debezium-libs DIR: only the side-by-side run (bench/peers/debezium.sh).
    std::string peer_debezium_libs;
    std::vector<std::string> peer_debezium_properties; // key=value, after the defaults
    // --peer-outboxx-bin PATH: outboxx in the side-by-side run (bench/peers/all.sh).
    std::string peer_outboxx_bin;
    // --side-by-side: the side-by-side run even with no peer given (the
    // no-relay baseline and outboxd; bench/peers/all.sh at WAL_LEVEL=replica).
    bool side_by_side = false;
    // --peer-skipped NAME=REASON: a peer the calling script could not
    // prepare; the run says so instead of showing a column for it.
    std::vector<std::string> peer_skipped;
    // --capacity-seconds: the side-by-side run's insert-capacity phase, per
    // relay and without one (0: none).
    int capacity_seconds = 30;
    // --fillfactor N: every outbox table the run makes gets this fillfactor
    // right after `migrate` (100: the tables of outboxd 0.4 and earlier);
    // 0 leaves migrate's.
    int fillfactor = 0;
    // --soak: only the retention soak (soak.h), Kafka, with these settings.
    bool soak = false;
    int soak_minutes = 30;
    int soak_rate = 1500;                       // rows/s
    int soak_insert_threads = 0;                // connections; 0: one per 300 rows/s, at least 2
    std::int64_t soak_retention_ms = 60000;     // retention.sent_max_age_ms (0: off)
    std::string soak_retention_mode = "delete"; // retention.mode, written when not "delete"
    std::string soak_extra_yaml;                // merged over the daemon's config (and migrate's)
    std::string broker = "kafka";               // the one the current phase uses
};

// The options and flags of the command line, bound to `opt`.
void add_options(CLI::App& app, Options& opt);

bool rabbit(const Options& opt);

// Whether this is the side-by-side run (peers.h) rather than phases 1-6.
bool side_by_side_run(const Options& opt);

// `opt` with phases 2-5 on broker `b`.
Options for_broker(const Options& opt, const std::string& b);

} // namespace outboxd::bench
