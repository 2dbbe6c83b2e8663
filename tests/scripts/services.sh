#!/usr/bin/env bash
# Starts or stops the services the integration tests, the demo and the
# benchmark use: a throw-away PostgreSQL (pg.sh) and a one-node Kafka
# (kafka.sh), both on loopback, both under DIR.
#
#   services.sh start DIR   start both (idempotent); writes DIR/env and prints it:
#                             OUTBOXD_TEST_PG_DSN=...
#                             OUTBOXD_TEST_KAFKA_BOOTSTRAP=...
#                             OUTBOXD_TEST_SERVICES_DIR=DIR
#   services.sh stop DIR    stop both (ok if not running)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PROG=services.sh

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in
  -h | --help) usage; exit 0 ;;
esac
[ $# -eq 2 ] || { usage >&2; exit 2; }
cmd="$1"
dir="$2"
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac

case "$cmd" in
  start)
    mkdir -p "$dir"
    dsn="$("$HERE/pg.sh" start "$dir/pg" | tail -n 1)"
    bootstrap="$("$HERE/kafka.sh" start "$dir/kafka" | tail -n 1)"
    {
      echo "OUTBOXD_TEST_PG_DSN=$dsn"
      echo "OUTBOXD_TEST_KAFKA_BOOTSTRAP=$bootstrap"
      echo "OUTBOXD_TEST_SERVICES_DIR=$dir"
    } >"$dir/env.tmp"
    mv "$dir/env.tmp" "$dir/env"
    cat "$dir/env"
    ;;
  stop)
    rc=0
    if [ -d "$dir/kafka" ]; then "$HERE/kafka.sh" stop "$dir/kafka" >/dev/null || rc=1; fi
    if [ -d "$dir/pg" ]; then "$HERE/pg.sh" stop "$dir/pg" >/dev/null || rc=1; fi
    rm -f "$dir/env"
    exit "$rc"
    ;;
  *)
    echo "$PROG: unknown command '$cmd'" >&2
    usage >&2
    exit 2
    ;;
esac
