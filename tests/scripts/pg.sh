#!/usr/bin/env bash
# Starts/stops a throw-away PostgreSQL 15 server for tests, the demo and the
# benchmark: loopback only, free port chosen here, trust auth, database
# `outboxd`, TLS with a throw-away CA, least-privilege role outboxd_relay.
# See --help.
set -euo pipefail

PROG=pg.sh
# shellcheck source=tests/scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PGBIN="${OUTBOXD_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_USER=postgres      # OS user that runs the server when we are root
DB_NAME=outboxd
RELAY_ROLE=outboxd_relay   # least-privilege login role (docs/security.md)
READY_TIMEOUT=90      # seconds

usage() {
  cat <<'EOF'
Usage: tests/scripts/pg.sh COMMAND DIR

Throw-away PostgreSQL 15 server in DIR (data in DIR/data, unix socket in
DIR/sock, server log DIR/postgresql.log), listening on 127.0.0.1 only, on a
free port chosen at first start and kept for later starts. Trust auth, user
postgres, database `outboxd`. fsync and synchronous_commit stay on.

TLS is on (plain connections still work): at first start openssl makes a
throw-away CA and a server certificate for localhost / 127.0.0.1 in DIR/tls
(ca.crt, server.crt, server.key) plus an unrelated CA (other-ca.crt) for
tests that need a wrong one. Verify with
  host=localhost hostaddr=127.0.0.1 sslmode=verify-full sslrootcert=DIR/tls/ca.crt

Login role outboxd_relay (no password; trust auth) gets CONNECT on the
database and USAGE on schema public only; grants on outbox tables are the
tests' business (docs/security.md lists them).

Commands:
  start DIR    initdb if needed, start, wait until ready, create database
               outboxd; prints the DSN (also written to DIR/dsn):
                 host=127.0.0.1 port=PORT dbname=outboxd user=postgres
               Already running: just prints the DSN.
  stop DIR     fast shutdown (ok if not running)
  restart DIR  fast shutdown, start again on the same port, wait until ready
  kill DIR     immediate shutdown (pg_ctl stop -m immediate: no checkpoint,
               crash recovery at next start)
  dsn DIR      print the DSN of an initialised DIR
  status DIR   exit 0 if running, 3 if not

Run as root, the server runs as OS user `postgres` (initdb refuses root):
DIR is chowned to it, and every ancestor of DIR must be traversable by it
(e.g. not under /root). Server binaries: $OUTBOXD_PG_BIN or
/usr/lib/postgresql/15/bin.
EOF
}

# ---------------------------------------------------------------- helpers

is_root() { [ "$(id -u)" -eq 0 ]; }

as_pg() {
  if is_root; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

check_tools() {
  local b
  for b in initdb pg_ctl pg_isready psql; do
    [ -x "$PGBIN/$b" ] || die "$PGBIN/$b not found; install postgresql-15 (scripts/install-deps.sh) or set OUTBOXD_PG_BIN"
  done
  command -v openssl >/dev/null 2>&1 || die "openssl not found (scripts/install-deps.sh installs it)"
  if is_root; then
    id "$PG_USER" >/dev/null 2>&1 || die "OS user '$PG_USER' does not exist (it comes with Debian's postgresql-15 package)"
    command -v runuser >/dev/null 2>&1 || die "runuser not found (util-linux)"
  fi
}

set_dir() {
  [ -n "${1:-}" ] || die "missing DIR (see --help)"
  DIR="$(abs_path "$1")"
  DIR="${DIR%/}"
  DATA="$DIR/data"
  SOCK="$DIR/sock"
  LOG="$DIR/postgresql.log"
  TLS="$DIR/tls"
}

# Port recorded at first start (DIR/port).
recorded_port() {
  [ -f "$DIR/port" ] && cat "$DIR/port"
}

dsn_for() { echo "host=127.0.0.1 port=$1 dbname=$DB_NAME user=postgres"; }

running() {
  [ -f "$DATA/PG_VERSION" ] || return 1
  as_pg "$PGBIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

log_tail() {
  if [ -f "$LOG" ]; then
    echo "---- last lines of $LOG ----" >&2
    tail -n 30 "$LOG" >&2 || true
    echo "----" >&2
  fi
}

psql_admin() {
  env -u PGOPTIONS -u PGSERVICE -u PGSSLMODE -u PGDATABASE \
    "$PGBIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"
}

write_conf() {
  local port="$1"
  as_pg tee "$DATA/outboxd-test.conf" >/dev/null <<EOF
# Written by tests/scripts/pg.sh; included from postgresql.conf.
# 127.0.0.2 too: tests cut a relay pointed there off by dropping its
# packets (tests/scripts/partition.sh) while 127.0.0.1 keeps working.
listen_addresses = '127.0.0.1,127.0.0.2'
port = $port
unix_socket_directories = '$SOCK'
max_connections = 200
shared_buffers = 128MB
# logical for bench/peers (Debezium decodes the WAL); replica otherwise.
wal_level = ${OUTBOXD_TEST_PG_WAL_LEVEL:-replica}
# Realistic durability: the benchmark measures with these on.
fsync = on
synchronous_commit = on
full_page_writes = on
# tcp_keepalives_* and tcp_user_timeout stay at PostgreSQL's defaults (the
# kernel's 2 hours), as on most servers: outboxd must free a vanished
# publisher's lock by itself (leader.session_timeout_ms, it_partition).
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] '
lc_messages = 'C'
# TLS with the throw-away CA in $TLS (hostssl is not forced: tests use both).
ssl = on
ssl_cert_file = '$TLS/server.crt'
ssl_key_file = '$TLS/server.key'
ssl_ca_file = '$TLS/ca.crt'
EOF
}

# The test CA, a server certificate for localhost and 127.0.0.1 and a CA
# that signed nothing (tests/scripts/test-ca.sh), once per DIR; the server
# key must belong to the server's OS user, or PostgreSQL refuses to start.
make_tls() {
  local owner=""
  if is_root; then owner="$PG_USER"; fi
  "$(dirname "${BASH_SOURCE[0]}")/test-ca.sh" "$TLS" "outboxd test CA" \
    "DNS:localhost,IP:127.0.0.1" $owner
}

init_cluster() {
  local port="$1"
  as_pg mkdir -p "$SOCK"
  if ! as_pg "$PGBIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C \
      >"$DIR/initdb.log" 2>&1; then
    cat "$DIR/initdb.log" >&2
    die "initdb failed in $DATA (log: $DIR/initdb.log)"
  fi
  as_pg tee "$DATA/pg_hba.conf" >/dev/null <<'EOF'
# Written by tests/scripts/pg.sh: trust on the unix socket and loopback only.
local   all             all                     trust
host    all             all     127.0.0.1/32    trust
host    all             all     127.0.0.2/32    trust
local   replication     all                     trust
host    replication     all     127.0.0.1/32    trust
EOF
  echo "include_if_exists = 'outboxd-test.conf'" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
  write_conf "$port"
}

wait_ready() {
  local port="$1" deadline=$((SECONDS + READY_TIMEOUT))
  until "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U postgres -t 2; do
    if ! running; then
      log_tail
      die "server in $DATA is not running (see $LOG)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log_tail
      die "server on 127.0.0.1:$port not ready after ${READY_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

ensure_db() {
  local port="$1" exists
  exists="$(psql_admin "$port" "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ||
    die "cannot query 127.0.0.1:$port as postgres"
  if [ "$exists" != 1 ]; then
    psql_admin "$port" "CREATE DATABASE $DB_NAME" >/dev/null ||
      die "CREATE DATABASE $DB_NAME failed on 127.0.0.1:$port"
  fi
  ensure_relay_role "$port"
}

# The role the integration tests run the daemon as: it may connect and see
# the schema; each test grants SELECT, UPDATE (and DELETE with retention) on
# its own table. Nothing else: no CREATE, no INSERT, no ownership.
ensure_relay_role() {
  local port="$1"
  psql_admin "$port" "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$RELAY_ROLE') THEN
        CREATE ROLE $RELAY_ROLE LOGIN;
      END IF;
    END \$\$;
    ALTER ROLE $RELAY_ROLE SET idle_in_transaction_session_timeout = '60s';
    GRANT CONNECT ON DATABASE $DB_NAME TO $RELAY_ROLE;" >/dev/null ||
    die "cannot create role $RELAY_ROLE on 127.0.0.1:$port"
  env -u PGOPTIONS -u PGSERVICE -u PGSSLMODE -u PGDATABASE \
    "$PGBIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres \
    -d "$DB_NAME" -c "GRANT USAGE ON SCHEMA public TO $RELAY_ROLE" >/dev/null ||
    die "cannot grant USAGE on schema public to $RELAY_ROLE"
}

publish_dsn() {
  local dsn
  dsn="$(dsn_for "$1")"
  printf '%s\n' "$dsn" >"$DIR/dsn.tmp" && mv -f "$DIR/dsn.tmp" "$DIR/dsn"
  printf '%s\n' "$dsn"
}

# ---------------------------------------------------------------- commands

prepare_dir() {
  mkdir -p "$DIR"
  if is_root; then
    chown "$PG_USER:$PG_USER" "$DIR"
    chmod 0755 "$DIR"
    if ! runuser -u "$PG_USER" -- test -w "$DIR" -a -x "$DIR"; then
      local d="$DIR"
      while [ "$d" != / ]; do
        d="$(dirname "$d")"
        runuser -u "$PG_USER" -- test -x "$d" ||
          die "user $PG_USER cannot enter $d (an ancestor of $DIR); use a DIR elsewhere (e.g. under /tmp) or chmod o+x $d"
      done
      die "user $PG_USER cannot write to $DIR"
    fi
  fi
  local sockpath="$SOCK/.s.PGSQL.65535"
  [ "${#sockpath}" -le 107 ] || die "DIR path too long for a unix socket ($sockpath > 107 bytes); use a shorter DIR"
}

cmd_start() {
  check_tools
  prepare_dir
  exec 9>>"$DIR/.lock"
  flock -w 300 9 || die "another pg.sh holds $DIR/.lock for 300 s"

  local port fresh=0
  if [ ! -f "$DATA/PG_VERSION" ]; then
    [ ! -e "$DATA" ] || [ -z "$(ls -A "$DATA")" ] ||
      die "$DATA exists but holds no PostgreSQL cluster; remove it or use another DIR"
    port="$(free_port)"
    init_cluster "$port"
    echo "$port" >"$DIR/port"
    fresh=1
  else
    port="$(recorded_port)" || die "$DATA exists but $DIR/port is missing"
  fi

  if running; then
    wait_ready "$port"
    ensure_db "$port"
    publish_dsn "$port"
    return 0
  fi

  make_tls
  write_conf "$port"
  if port_listening "$port"; then
    if [ "$fresh" -eq 1 ] || [ ! -f "$DIR/dsn" ]; then
      # Never served anyone on that port yet: just take another one.
      port="$(free_port "$port")"
      write_conf "$port"
      echo "$port" >"$DIR/port"
    else
      die "port $port (recorded for $DIR) is in use by another process; stop it or use a fresh DIR"
    fi
  fi

  if ! as_pg bash -c "$CLOSE_FDS_EXEC" _ "$PGBIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t "$READY_TIMEOUT" -s >/dev/null 2>"$DIR/pg_ctl.err" 9>&-; then
    cat "$DIR/pg_ctl.err" >&2 || true
    log_tail
    die "pg_ctl start failed for $DATA (port $port)"
  fi
  wait_ready "$port"
  ensure_db "$port"
  publish_dsn "$port"
}

cmd_stop() {
  local mode="${1:-fast}"
  check_tools
  [ -d "$DIR" ] || return 0
  if running; then
    if ! as_pg "$PGBIN/pg_ctl" stop -D "$DATA" -m "$mode" -w -t 120 -s >/dev/null 2>"$DIR/pg_ctl.err"; then
      cat "$DIR/pg_ctl.err" >&2 || true
      die "pg_ctl stop -m $mode failed for $DATA"
    fi
  fi
}

cmd_dsn() {
  local port
  port="$(recorded_port)" || die "$DIR is not an initialised pg.sh directory (no $DIR/port)"
  dsn_for "$port"
}

cmd_status() {
  check_tools
  if running; then
    echo "running: $(cmd_dsn)"
    return 0
  fi
  echo "not running"
  return 3
}

main() {
  case "${1:-}" in
    -h|--help|help) usage; exit 0 ;;
    "") usage >&2; exit 2 ;;
  esac
  local cmd="$1"
  shift
  case "${1:-}" in -h|--help) usage; exit 0 ;; esac
  set_dir "${1:-}"
  shift
  [ $# -eq 0 ] || die "unexpected arguments: $* (see --help)"
  case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop fast ;;
    restart) cmd_stop fast; cmd_start ;;
    kill) cmd_stop immediate ;;
    dsn) cmd_dsn ;;
    status) cmd_status ;;
    *) die "unknown command '$cmd' (see --help)" ;;
  esac
}

main "$@"
