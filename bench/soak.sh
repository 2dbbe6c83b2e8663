#!/usr/bin/env bash
# The retention soak (docs/benchmarks.md, "Retention soak"): outboxd with
# retention on relays a steady load of 1 KB rows into Kafka for MINUTES
# minutes; one line a minute (table and index size, live and dead tuples,
# rows deleted, latency, WAL), then whether the size stayed flat, then one
# JSON line with every minute.
#
# Usage:
#   bench/soak.sh                                   # 30 min, 1,500 rows/s, retention 60 s, DELETE mode
#   MINUTES=3 bench/soak.sh                         # a short check
#   RATE=3000 RETENTION_MS=60000 MODE=partition bench/soak.sh
#   bench/soak.sh --soak-extra-yaml 'retention: {interval_ms: 10000, batch_size: 5000}'
#   EXTRA_YAML='relay: {batch_size: 1000}' bench/soak.sh --soak-insert-threads 8
#   bench/soak.sh 2>/dev/null | tail -n 1           # the JSON line alone
#
# Environment:
#   MINUTES       length of the load, minutes (default 30)
#   RATE          insert rate, rows/s (default 1500)
#   RETENTION_MS  retention.sent_max_age_ms of the daemon (default 60000; 0: off)
#   MODE          retention.mode: delete (default; not written to the config)
#                 or partition (written; the table is made by `outboxd migrate`
#                 with it)
#   EXTRA_YAML    YAML merged over the daemon's config (its keys win), the same
#                 as --soak-extra-yaml
# Other arguments go to outboxd_bench (--soak-insert-threads: connections
# sharing RATE, default one per 300 rows/s; --payload-bytes, --batch-size,
# --keys, --keep-tables; see its --help).
#
# Services and build as bench/run.sh, which this script runs: with
# OUTBOXD_TEST_SERVICES_DIR set the services running there are used and left
# alone, otherwise a throw-away PostgreSQL, Kafka and RabbitMQ are started
# and removed at exit; OUTBOXD_BUILD_DIR picks the build tree (default
# build/). The table and the topic are dropped at the end. Progress goes to
# stderr, the table and the JSON line to stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINUTES="${MINUTES:-30}"
RATE="${RATE:-1500}"
RETENTION_MS="${RETENTION_MS:-60000}"
MODE="${MODE:-delete}"

args=(--soak --soak-minutes "$MINUTES" --soak-rate "$RATE"
  --soak-retention-ms "$RETENTION_MS" --soak-retention-mode "$MODE")
if [ -n "${EXTRA_YAML:-}" ]; then
  args+=(--soak-extra-yaml "$EXTRA_YAML")
fi
# The daemons inherit the environment: these are the script's, not theirs.
unset MINUTES RATE RETENTION_MS MODE EXTRA_YAML

exec "$ROOT/bench/run.sh" "${args[@]}" "$@"
