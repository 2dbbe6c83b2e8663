#!/usr/bin/env bash
# The whole side-by-side benchmark in one command: the same PostgreSQL 15
# and Kafka broker, the same workload on a fresh outbox table and topic per
# run, first with no relay (the baseline), then relayed by Debezium (Kafka
# Connect, pgoutput, outbox EventRouter), by outboxx (a Zig relay reading
# the WAL through a logical slot) and by outboxd. Each run: a backlog of
# ROWS rows written while the relay is stopped and drained, then RATE rows/s
# for SECONDS_STEADY s, then 4 connections inserting unthrottled for
# CAPACITY_SECONDS s (the application's insert capacity). Prints one table
# with a column per relay (drain rows/s, latency p50/p99, WAL bytes per row,
# PostgreSQL cores busy, inserts/s and their share of the no-relay figure,
# peak RSS, CPU, heap and index size, dead tuples), then a JSON line.
# docs/benchmarks.md ("Side by side: all three relays") explains the columns.
#
#   bench/peers/all.sh                                  # 200,000 rows, 20 s steady, 30 s capacity
#   ROWS=20000 SECONDS_STEADY=10 CAPACITY_SECONDS=10 bench/peers/all.sh
#   WAL_LEVEL=replica bench/peers/all.sh                # baseline and outboxd only
#
# Environment:
#   ROWS (200000), RATE (1000), SECONDS_STEADY (20), CAPACITY_SECONDS (30, 0: no capacity phase)
#   WAL_LEVEL     logical (default): the services start with wal_level=logical
#                 and all three relays run; replica: only the baseline and
#                 outboxd (the peers read the WAL through a logical slot)
#   OUTBOXX_SRC   outboxx's offline sources and build.sh (default: ../shared/peers/outboxx
#                 from the repository's top folder); built once into
#                 OUTBOXD_BUILD_DIR/peers/outboxx and reused while the sources stay the same.
#                 Without build.sh there, or when it fails, outboxx is reported as not run.
#   OUTBOXD_BUILD_DIR, OUTBOXD_TEST_SERVICES_DIR  as for bench/run.sh (given services must
#                 already have the wal_level asked for)
# Debezium's jars: bench/peers/pom.xml into bench/peers/target/libs with Maven, once
# (jars.sh, as bench/peers/debezium.sh does); without mvn and java, or when Maven
# fails, Debezium is reported as not run. Arguments go to outboxd_bench.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/peers"
ROWS="${ROWS:-200000}"
RATE="${RATE:-1000}"
SECONDS_STEADY="${SECONDS_STEADY:-20}"
CAPACITY_SECONDS="${CAPACITY_SECONDS:-30}"
WAL_LEVEL="${WAL_LEVEL:-logical}"
OUTBOXX_SRC="${OUTBOXX_SRC:-$ROOT/../shared/peers/outboxx}"
if [ -d "$OUTBOXX_SRC" ]; then
  OUTBOXX_SRC="$(cd "$OUTBOXX_SRC" && pwd)"
fi
BUILD="${OUTBOXD_BUILD_DIR:-$ROOT/build}"

case "$WAL_LEVEL" in
  logical | replica) ;;
  *)
    echo "all.sh: WAL_LEVEL must be logical or replica, not '$WAL_LEVEL'" >&2
    exit 2
    ;;
esac

peer_args=()

# Debezium: the jars, as debezium.sh collects them.
add_debezium() {
  local tool
  for tool in mvn java; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "all.sh: '$tool' not found (scripts/install-deps.sh): Debezium is not run" >&2
      peer_args+=(--peer-skipped "debezium='$tool' not found; run scripts/install-deps.sh")
      return 0
    fi
  done
  # shellcheck source=bench/peers/jars.sh
  . "$HERE/jars.sh"
  if collect_debezium_jars "$HERE" all.sh; then
    peer_args+=(--peer-debezium-libs "$DEBEZIUM_LIBS")
  else
    peer_args+=(--peer-skipped "debezium=collecting its jars with Maven failed (bench/peers/target/mvn.log)")
  fi
}

# outboxx: build.sh from OUTBOXX_SRC into the build folder, once per version
# of its sources (a stamp holds their checksum).
add_outboxx() {
  if [ ! -f "$OUTBOXX_SRC/build.sh" ]; then
    echo "all.sh: no build.sh in $OUTBOXX_SRC (set OUTBOXX_SRC): outboxx is not run" >&2
    peer_args+=(--peer-skipped "outboxx=no build.sh in $OUTBOXX_SRC (set OUTBOXX_SRC)")
    return 0
  fi
  local work="$BUILD/peers/outboxx"
  local stamp="$work/.outboxd-stamp"
  local log="$BUILD/peers/outboxx-build.log"
  local sum bin
  sum="$(cd "$OUTBOXX_SRC" && find . -maxdepth 1 -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  bin="$work/outboxx/zig-out/bin/outboxx"
  if [ ! -x "$bin" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    echo "all.sh: building outboxx with $OUTBOXX_SRC/build.sh into $work (about 2 minutes; log: $log)..." >&2
    mkdir -p "$work"
    rm -f "$stamp"
    if ! bin="$(sh "$OUTBOXX_SRC/build.sh" "$work" 2>"$log" | tail -n 1)" || [ ! -x "$bin" ]; then
      tail -n 20 "$log" >&2 || true
      echo "all.sh: building outboxx failed (log: $log): outboxx is not run" >&2
      peer_args+=(--peer-skipped "outboxx=$OUTBOXX_SRC/build.sh failed (log: $log)")
      return 0
    fi
    echo "$sum" >"$stamp"
  fi
  peer_args+=(--peer-outboxx-bin "$bin")
}

if [ "$WAL_LEVEL" = logical ]; then
  add_debezium
  add_outboxx
else
  echo "all.sh: WAL_LEVEL=$WAL_LEVEL: the no-relay baseline and outboxd only; Debezium and" \
    "outboxx need wal_level=logical and are not run" >&2
fi

# Read by tests/scripts/pg.sh when run.sh starts the services.
export OUTBOXD_TEST_PG_WAL_LEVEL="$WAL_LEVEL"

exec "$ROOT/bench/run.sh" --side-by-side "${peer_args[@]}" --rows "$ROWS" --rate "$RATE" \
  --latency-seconds "$SECONDS_STEADY" --capacity-seconds "$CAPACITY_SECONDS" "$@"
