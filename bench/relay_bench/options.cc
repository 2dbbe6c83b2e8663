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
    app.add_flag("--soak", opt.soak,
                 "Run only the retention soak: outboxd with retention on under a steady load "
                 "for --soak-minutes, one line a minute (docs/benchmarks.md, Retention soak)");
    app.add_option("--soak-minutes", opt.soak_minutes, "Length of the soak's load, minutes")
        ->check(CLI::Range(1, 1440));
    app.add_option("--soak-rate", opt.soak_rate, "Insert rate of the soak, rows/s")
        ->check(CLI::Range(1, 100000));
    app.add_option("--soak-insert-threads", opt.soak_insert_threads,
                   "Connections sharing the soak's rate (0: one per 300 rows/s, at least 2: "
                   "one connection commits a few hundred rows/s at most here)")
        ->check(CLI::Range(0, 64));
    app.add_option("--soak-retention-ms", opt.soak_retention_ms,
                   "The soak daemon's retention.sent_max_age_ms (0: retention off)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{86400000}));
    app.add_option("--soak-retention-mode", opt.soak_retention_mode,
                   "The soak's retention.mode: delete (not written to the config, the default) "
                   "or partition (written, and the table made by migrate with it)")
        ->check(CLI::IsMember({"delete", "partition"}));
    app.add_option("--soak-extra-yaml", opt.soak_extra_yaml,
                   "YAML merged over the soak daemon's config (its keys win), for migrate and "
                   "run, e.g. 'retention: {interval_ms: 10000}'");
    app.add_option("--peer-outboxx-bin", opt.peer_outboxx_bin,
                   "outboxx's binary: run the side-by-side comparison with outboxx in it "
                   "(bench/peers/all.sh builds it)")
        ->check(CLI::ExistingFile);
    app.add_flag("--side-by-side", opt.side_by_side,
                 "Run only the side-by-side comparison, also with no peer given (the no-relay "
                 "baseline and outboxd)");
    app.add_option("--peer-skipped", opt.peer_skipped,
                   "name=reason: a peer that could not be prepared, reported as skipped "
                   "(repeatable; bench/peers/all.sh)")
        ->each([](const std::string& kv) {
            if (kv.find('=') == std::string::npos || kv.front() == '=') {
                throw CLI::ValidationError("expected name=reason, got '" + kv + "'");
            }
        });
    app.add_option("--fillfactor", opt.fillfactor,
                   "The outbox tables' fillfactor, set right after migrate (100: as outboxd 0.4 "
                   "made them; 0: migrate's own)")
        ->check(CLI::Range(0, 100));
    app.add_option("--capacity-seconds", opt.capacity_seconds,
                   "Side by side: seconds of the insert-capacity phase (4 connections inserting "
                   "unthrottled), without a relay and with each one (0: none)")
        ->check(CLI::Range(0, 3600));
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

bool side_by_side_run(const Options& opt) {
    return opt.side_by_side || !opt.peer_debezium_libs.empty() || !opt.peer_outboxx_bin.empty()
           || !opt.peer_skipped.empty();
}

Options for_broker(const Options& opt, const std::string& b) {
    Options o = opt;
    o.broker = b;
    return o;
}

} // namespace outboxd::bench
