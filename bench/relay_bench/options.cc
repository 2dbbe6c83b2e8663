#include "options.h"

#include <CLI/CLI.hpp>

namespace outboxd::bench {

void add_options(CLI::App& app, Options& opt) {
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
    app.add_flag("--console-client", opt.console_client,
                 "Throughput phase: the daemon serves the review console (http.console) and a "
                 "client loads its page and API every second while it drains, as a browser "
                 "refreshing it would");
    app.add_flag("--skip-publish-ceiling", opt.skip_publish_ceiling,
                 "Skip the broker's publish ceiling (the publisher alone, no PostgreSQL)");
    app.add_option("--relay-dsn", opt.relay_dsn,
                   "PostgreSQL connection string of the relaying daemon (e.g. a PgBouncer pool, "
                   "tests/scripts/pgbouncer.sh); default: the services' own");
    app.add_option("--layout", opt.layout,
                   "Table of the drains: outboxd, or debezium (Debezium's table, adopted by "
                   "migrate; postgres.layout: debezium, jsonb payloads)")
        ->check(CLI::IsMember({"outboxd", "debezium"}));
    app.add_option("--broker", opt.brokers,
                   "Broker(s) of phases 2-5: kafka, rabbitmq (the services' RabbitMQ node), or "
                   "kafka,rabbitmq for both in one run")
        ->delimiter(',')
        ->check(CLI::IsMember({"kafka", "rabbitmq"}));
}

bool rabbit(const Options& opt) {
    return opt.broker == "rabbitmq";
}

Options for_broker(const Options& opt, const std::string& b) {
    Options o = opt;
    o.broker = b;
    return o;
}

} // namespace outboxd::bench
