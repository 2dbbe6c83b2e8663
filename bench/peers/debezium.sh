#!/usr/bin/env bash
# outboxd and Debezium side by side, against the same PostgreSQL 15 and the
# same Kafka broker, in one run: Debezium's PostgreSQL connector (pgoutput)
# with its outbox EventRouter in a Kafka Connect standalone worker, then
# outboxd, each on a fresh outbox table of the same schema writing to a
# fresh topic of the same configuration (3 partitions, LogAppendTime),
# both with acks=all and idempotence. Same workload: a backlog of ROWS rows
# written while the relay is stopped, then RATE rows/s for SECONDS s. Same
# measurement: rows/s to the last backlog message in Kafka, commit
# (created_at) -> broker LogAppendTime p50/p99 in the steady phase, the
# relay's peak RSS and CPU seconds, PostgreSQL's CPU seconds. Prints one
# table, then a JSON line. docs/benchmarks.md says what the two do
# differently.
#
#   bench/peers/debezium.sh                      # 200,000 rows of 1 KB, then 1,000 rows/s for 20 s
#   ROWS=50000 SECONDS_STEADY=10 bench/peers/debezium.sh
#
# Jars: bench/peers/pom.xml (versions pinned) into bench/peers/target/libs,
# once. PostgreSQL needs wal_level=logical: the services this script starts
# have it (OUTBOXD_TEST_PG_WAL_LEVEL); services given with
# OUTBOXD_TEST_SERVICES_DIR must have it already.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/peers"
ROWS="${ROWS:-200000}"
RATE="${RATE:-1000}"
SECONDS_STEADY="${SECONDS_STEADY:-20}"

for tool in mvn java; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "debezium.sh: '$tool' not found; run scripts/install-deps.sh first" >&2
    exit 1
  }
done

# shellcheck source=bench/peers/jars.sh
. "$HERE/jars.sh"
collect_debezium_jars "$HERE" debezium.sh || exit 1
libs="$DEBEZIUM_LIBS"

export OUTBOXD_TEST_PG_WAL_LEVEL=logical

exec "$ROOT/bench/run.sh" --peer-debezium-libs "$libs" --rows "$ROWS" --rate "$RATE" \
  --latency-seconds "$SECONDS_STEADY" "$@"
