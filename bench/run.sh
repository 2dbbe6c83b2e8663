#!/usr/bin/env bash
# Runs the outboxd benchmark (bench/relay_bench/) against a local PostgreSQL
# and Kafka. Arguments go to outboxd_bench (see --help); docs/benchmarks.md
# explains the numbers.
#
# Services: with OUTBOXD_TEST_SERVICES_DIR set, the services already running
# there are used and left running; otherwise tests/scripts/services.sh starts
# them in a scratch directory and this script stops and removes them at exit.
# Build: OUTBOXD_BUILD_DIR (default build/ in the repo), configured with
# Ninja if it is not yet, then `ninja outboxd outboxd_bench`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${OUTBOXD_BUILD_DIR:-$ROOT/build}"
# The daemons the benchmark starts inherit this environment, and outboxd
# refuses unknown OUTBOXD_* variables: this one is the script's, not theirs.
unset OUTBOXD_BUILD_DIR
SERVICES_SH="$ROOT/tests/scripts/services.sh"

# Build output goes to stderr: stdout is the benchmark's table and JSON line.
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DOUTBOXD_BENCH=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
ninja -C "$BUILD" outboxd outboxd_bench >&2

started_dir=""
stop_services() {
  if [ -n "$started_dir" ]; then
    "$SERVICES_SH" stop "$started_dir" >&2 || echo "run.sh: stopping services in $started_dir failed" >&2
    rm -rf "$started_dir"
  fi
}
trap stop_services EXIT
trap 'exit 130' INT TERM

if [ -z "${OUTBOXD_TEST_SERVICES_DIR:-}" ]; then
  [ -x "$SERVICES_SH" ] || { echo "run.sh: $SERVICES_SH not found" >&2; exit 1; }
  # Under /tmp and traversable: the PostgreSQL server runs as OS user
  # postgres and must reach its directory below this one.
  started_dir="$(mktemp -d /tmp/outboxd-bench.XXXXXX)"
  chmod 0755 "$started_dir"
  echo "run.sh: starting PostgreSQL and Kafka in $started_dir" >&2
  "$SERVICES_SH" start "$started_dir" >&2
  export OUTBOXD_TEST_SERVICES_DIR="$started_dir"
fi

"$BUILD/bench/outboxd_bench" "$@"
