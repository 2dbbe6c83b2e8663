#!/usr/bin/env bash
# Regenerates tests/data/debezium/golden/CASE.json from a real run of
# Debezium's outbox EventRouter: for each case of tests/data/debezium/cases
# (CASE.sql: the outbox table and its rows; CASE.properties: the
# EventRouter's settings and the converters), it creates the case's topics
# (3 partitions), the table and a publication and pgoutput slot of its own,
# inserts the rows, runs a Kafka Connect standalone worker with Debezium's
# PostgreSQL connector until every row is a message, stops it, and writes
# every message (topic, partition, key, value, headers, timestamp) in the
# fixture's order. tests/data/debezium/README.md describes the files.
#
#   bench/peers/debezium-golden.sh                 # every case
#   bench/peers/debezium-golden.sh jsonb headers   # some cases
#
# Services: OUTBOXD_TEST_SERVICES_DIR (started by tests/scripts/services.sh
# with OUTBOXD_TEST_PG_WAL_LEVEL=logical), else its own, started and stopped
# here. Jars: bench/peers/pom.xml into bench/peers/target/libs, as
# bench/peers/debezium.sh collects them. Needs mvn, java and psql.
# OUTBOXD_GOLDEN_KEEP=1 keeps the work directory (worker logs) after a
# successful run; it is always kept after a failure.
set -euo pipefail

PROG=debezium-golden.sh
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/bench/peers"
DATA="$ROOT/tests/data/debezium"
# shellcheck source=tests/scripts/common.sh
. "$ROOT/tests/scripts/common.sh"

PARTITIONS=3
SCHEMA=debezium_golden
WAIT_SECONDS="${OUTBOXD_GOLDEN_WAIT_SECONDS:-240}"

case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac

for tool in mvn java psql; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run scripts/install-deps.sh first"
done

cases=("$@")
if [ "${#cases[@]}" -eq 0 ]; then
  for f in "$DATA"/cases/*.sql; do
    c="${f##*/}"
    cases+=("${c%.sql}")
  done
fi
for c in "${cases[@]}"; do
  [ -f "$DATA/cases/$c.sql" ] && [ -f "$DATA/cases/$c.properties" ] ||
    die "no case '$c' (want $DATA/cases/$c.sql and $c.properties)"
  case "$c" in *[!a-z0-9_]*) die "case name '$c': only a-z, 0-9 and _" ;; esac
done

# The jars, as bench/peers/debezium.sh collects them.
# shellcheck source=bench/peers/jars.sh
. "$HERE/jars.sh"
collect_debezium_jars "$HERE" "$PROG" || exit 1
libs="$DEBEZIUM_LIBS"

work="$(mktemp -d /tmp/debezium-golden.XXXXXX)"
# Run as root, the services run as other users, who must reach their
# directories under it.
[ "$(id -u)" -ne 0 ] || chmod a+rx "$work"
own_services=""
worker_pid=""
case_slot=""
case_table=""
ok=0

cleanup() {
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    kill -KILL "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
  fi
  # A failed case's slot would pin WAL on services that outlive this run.
  if [ -n "$case_slot" ] && [ -z "$own_services" ]; then
    drop_case_objects "$case_slot" "$case_table" || true
  fi
  if [ -n "$own_services" ]; then
    "$ROOT/tests/scripts/services.sh" stop "$own_services" >&2 || true
  fi
  if [ "$ok" -eq 1 ] && [ "${OUTBOXD_GOLDEN_KEEP:-0}" != 1 ]; then
    rm -rf "$work"
  else
    echo "$PROG: work directory kept: $work" >&2
  fi
}
trap cleanup EXIT

if [ -n "${OUTBOXD_TEST_SERVICES_DIR:-}" ]; then
  [ -f "$OUTBOXD_TEST_SERVICES_DIR/env.sh" ] ||
    die "no $OUTBOXD_TEST_SERVICES_DIR/env.sh; start the services with tests/scripts/services.sh"
  # shellcheck source=/dev/null
  . "$OUTBOXD_TEST_SERVICES_DIR/env.sh"
else
  own_services="$work/services"
  echo "$PROG: starting PostgreSQL (wal_level=logical) and Kafka in $own_services..." >&2
  OUTBOXD_TEST_PG_WAL_LEVEL=logical "$ROOT/tests/scripts/services.sh" start "$own_services" >/dev/null
  # shellcheck source=/dev/null
  . "$own_services/env.sh"
fi
DSN="$OUTBOXD_TEST_PG_DSN"
BOOTSTRAP="$OUTBOXD_TEST_KAFKA_BOOTSTRAP"

sql() {
  PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql "$DSN" -X -q -t -A -v ON_ERROR_STOP=1 "$@"
}

[ "$(sql -c 'SHOW wal_level')" = logical ] ||
  die "PostgreSQL at '$DSN' runs with wal_level $(sql -c 'SHOW wal_level'); Debezium needs logical (OUTBOXD_TEST_PG_WAL_LEVEL=logical)"

dsn_field() {
  local f
  for f in $DSN; do
    case "$f" in "$1"=*) printf '%s\n' "${f#*=}" ;; esac
  done
}

golden() {
  java -Xmx256m -cp "$libs/*" "$HERE/DebeziumGolden.java" "$@"
}

# prop FILE KEY DEFAULT: a key's value in a .properties file (plain
# key=value lines only).
prop() {
  local v
  v="$(sed -n "s/^$2=//p" "$1" | tail -n 1)"
  printf '%s\n' "${v:-$3}"
}

drop_case_objects() {
  local slot="$1" table="$2"
  sql -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null
  sql -c "DROP PUBLICATION IF EXISTS $slot" -c "DROP TABLE IF EXISTS $table" >/dev/null
}

stop_worker() {
  local i
  kill -TERM "$worker_pid" 2>/dev/null || true
  for ((i = 0; i < 120; i++)); do
    kill -0 "$worker_pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$worker_pid" 2>/dev/null; then
    warn "the Kafka Connect worker did not stop within 60 s; killing it"
    kill -KILL "$worker_pid" 2>/dev/null || true
  fi
  wait "$worker_pid" 2>/dev/null || true
  worker_pid=""
}

run_case() {
  local c="$1" started=$SECONDS
  local dir="$work/$c" props="$DATA/cases/$c.properties"
  local table="$SCHEMA.outbox_$c" slot="golden_$c"
  mkdir -p "$dir"
  echo "$PROG: case $c" >&2

  sed "s/{{table}}/$table/g" "$DATA/cases/$c.sql" >"$dir/fixture.sql"
  grep -v '^INSERT' "$dir/fixture.sql" >"$dir/ddl.sql"
  grep '^INSERT' "$dir/fixture.sql" >"$dir/rows.sql"
  local expected
  expected="$(wc -l <"$dir/rows.sql")"
  [ "$expected" -gt 0 ] || die "case $c: no INSERT lines"

  sql -c "CREATE SCHEMA IF NOT EXISTS $SCHEMA" >/dev/null
  drop_case_objects "$slot" "$table"
  case_slot="$slot"
  case_table="$table"
  sql -f "$dir/ddl.sql" >/dev/null
  # The publication and the slot exist before the rows are written: the
  # rows reach Debezium as streamed inserts ('c' events), as an
  # application's would (snapshot.mode=no_data below).
  sql -c "CREATE PUBLICATION $slot FOR TABLE $table" >/dev/null
  sql -c "SELECT pg_create_logical_replication_slot('$slot', 'pgoutput')" >/dev/null
  sql -f "$dir/rows.sql" >/dev/null

  # Topics: the route replacement applied to each routed-by value (the
  # cases keep the default regex, which matches the whole value).
  local by replacement ts_field topics=() v
  by="$(prop "$props" transforms.outbox.route.by.field aggregatetype)"
  replacement="$(prop "$props" transforms.outbox.route.topic.replacement 'outbox.event.${routedByValue}')"
  ts_field="$(prop "$props" transforms.outbox.table.field.event.timestamp '')"
  while IFS= read -r v; do
    topics+=("${replacement//\$\{routedByValue\}/$v}")
  done < <(sql -c "SELECT DISTINCT \"$by\" FROM $table ORDER BY 1")
  if [ -n "$ts_field" ]; then
    sql -F $'\t' -c "SELECT id, (\"$ts_field\" IS NOT NULL)::text FROM $table" |
      sed 's/\ttrue$/\tt/; s/\tfalse$/\tf/' >"$dir/rows.tsv"
  else
    : >"$dir/rows.tsv"
  fi
  golden topics "$BOOTSTRAP" "$PARTITIONS" "${topics[@]}"

  cat >"$dir/worker.properties" <<EOF
bootstrap.servers=$BOOTSTRAP
listeners=http://127.0.0.1:$(free_port)
offset.storage.file.filename=$dir/offsets
offset.flush.interval.ms=1000
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
producer.acks=all
producer.enable.idempotence=true
plugin.path=
EOF
  {
    cat <<EOF
name=golden-$c
connector.class=io.debezium.connector.postgresql.PostgresConnector
tasks.max=1
plugin.name=pgoutput
database.hostname=$(dsn_field host)
database.port=$(dsn_field port)
database.user=$(dsn_field user)
database.dbname=$(dsn_field dbname)
topic.prefix=golden_$c
table.include.list=$table
slot.name=$slot
publication.name=$slot
publication.autocreate.mode=disabled
snapshot.mode=no_data
EOF
    grep -v -E '^[[:space:]]*(#|$)' "$props"
  } >"$dir/connector.properties"
  cat >"$dir/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $dir/connect.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{ISO8601} %-5p [%c{1}] %m%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
EOF

  java -Xms128m -Xmx512m -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$libs/*" \
    org.apache.kafka.connect.cli.ConnectStandalone "$dir/worker.properties" "$dir/connector.properties" \
    >"$dir/connect.out" 2>&1 &
  worker_pid=$!
  if ! golden wait "$BOOTSTRAP" "$expected" "$WAIT_SECONDS" "$worker_pid" "$dir/connect.log" "${topics[@]}"; then
    grep -E ' (ERROR|WARN) ' "$dir/connect.log" | tail -n 20 >&2 || true
    tail -n 20 "$dir/connect.out" >&2 || true
    stop_worker
    die "case $c: the worker did not produce $expected messages (log: $dir/connect.log)"
  fi
  stop_worker
  local failed
  failed="$(grep -c 'JSON expansion failed' "$dir/connect.log" || true)"
  [ "$failed" -eq 0 ] || echo "$PROG: case $c: $failed 'JSON expansion failed' warnings (payloads sent unexpanded)" >&2

  golden read "$BOOTSTRAP" "$c" "$DATA/cases/$c.sql" "$dir/rows.tsv" "$dir/golden.json" "$expected" "${topics[@]}"
  mv -f "$dir/golden.json" "$DATA/golden/$c.json"
  drop_case_objects "$slot" "$table"
  case_slot=""
  echo "$PROG: case $c: $expected messages in $((SECONDS - started)) s -> tests/data/debezium/golden/$c.json" >&2
}

mkdir -p "$DATA/golden"
for c in "${cases[@]}"; do
  run_case "$c"
done
sql -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null
ok=1
echo "$PROG: done: ${cases[*]} in $SECONDS s" >&2
