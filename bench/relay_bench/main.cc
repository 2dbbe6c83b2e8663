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
//
// One file a job: options (command line), common (clock, formats), tables
// and destinations (per-phase table, topic or queue), proc and daemon_run
// (the daemon and what /proc says of it), keeping_up_group (--confirm's
// consumer group), inserter (steady load), one file a phase (ceiling,
// throughput, latency, publish_ceiling, confirm_lag, peers with
// peer_relays and capacity), report and summary (the table and JSON), run_all (the
// rounds), soak (--soak: the retention soak, alone).
#include "daemon_run.h"
#include "options.h"
#include "peers.h"
#include "run_all.h"
#include "soak.h"
#include "tables.h"

#include <csignal>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    // libpq may write to a socket the server closed; report, don't die.
    (void)std::signal(SIGPIPE, SIG_IGN);
    try {
        outboxd::bench::Options opt;
        CLI::App app{"outboxd_bench: relay throughput, latency and memory against the local "
                     "PostgreSQL and Kafka (tests/scripts/services.sh; see docs/benchmarks.md)"};
        outboxd::bench::add_options(app, opt);
        CLI11_PARSE(app, argc, argv);
        outboxd::bench::g_relay_dsn = opt.relay_dsn;
        outboxd::bench::set_table_fillfactor(opt.fillfactor);
        if (outboxd::bench::side_by_side_run(opt)) {
            return outboxd::bench::run_peers(opt);
        }
        if (opt.soak) {
            return outboxd::bench::run_soak(opt);
        }
        return outboxd::bench::run_all(opt);
    } catch (const std::exception& e) {
        std::cerr << "outboxd_bench: " << e.what() << std::endl;
        return 1;
    }
}
