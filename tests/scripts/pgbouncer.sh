#!/usr/bin/env bash
# A throw-away PgBouncer (Debian's pgbouncer) on loopback in front of the
# test PostgreSQL, for the pooler tests and benchmarks.
#   pgbouncer.sh start DIR PG_PORT MODE   MODE: transaction | session; prints
#                                         the listening port (also in DIR/port;
#                                         a restart in DIR keeps it)
#   pgbouncer.sh stop DIR                 idempotent
# It listens on 127.0.0.1 and 127.0.0.2 (the address tests/scripts/
# partition.sh can cut off).
# The pool serves database `outboxd` as users postgres and outboxd_relay
# (trust, like the test PostgreSQL), default_pool_size $OUTBOXD_TEST_POOL_SIZE
# (default 20: in session mode each outboxd process holds five server
# sessions, docs/deployment.md "Connection poolers"). PgBouncer refuses
# to run as root: as root it runs as the postgres OS user, and DIR (with its
# parents) must be reachable by that user: use a directory under /tmp or the
# build tree's services directory.
set -euo pipefail
PROG=pgbouncer.sh
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/scripts/common.sh
. "$SCRIPTS/common.sh"

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

POOL_SIZE="${OUTBOXD_TEST_POOL_SIZE:-20}"

cmd_start() {
  local dir pg_port mode port
  dir="$(abs_path "${1:?DIR}")"
  pg_port="${2:?PG_PORT}"
  mode="${3:?MODE (transaction or session)}"
  case "$mode" in transaction | session) ;; *) die "MODE must be transaction or session" ;; esac
  command -v pgbouncer >/dev/null || die "pgbouncer not installed (scripts/install-deps.sh installs it)"
  mkdir -p "$dir"
  [ "$(id -u)" -ne 0 ] || chown postgres "$dir"
  chmod 0755 "$dir"
  if [ -s "$dir/pgbouncer.pid" ] && pid_alive "$(cat "$dir/pgbouncer.pid")"; then
    cat "$dir/port"
    return 0
  fi
  if [ -s "$dir/port" ]; then port="$(cat "$dir/port")"; else port="$(free_port)"; fi
  printf '"postgres" ""\n"outboxd_relay" ""\n' >"$dir/users.txt"
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
outboxd = host=127.0.0.1 port=$pg_port dbname=outboxd

[pgbouncer]
listen_addr = 127.0.0.1,127.0.0.2
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
admin_users = postgres
pool_mode = $mode
default_pool_size = $POOL_SIZE
max_client_conn = 200
ignore_startup_parameters = extra_float_digits,options
; A client cut off by a partition is noticed within about 10 s (what
; outboxd asks of PostgreSQL for a direct session, leader.session_timeout_ms
; 10000): only then does the pool end its server session, and the lock.
tcp_keepalive = 1
tcp_keepidle = 4
tcp_keepintvl = 2
tcp_keepcnt = 3
tcp_user_timeout = 10000
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  [ "$(id -u)" -ne 0 ] || chown postgres "$dir"/*
  as_pg pgbouncer -d "$dir/pgbouncer.ini" || die "pgbouncer did not start (log: $dir/pgbouncer.log)"
  local i
  for ((i = 0; i < 100; i++)); do
    if psql -h 127.0.0.1 -p "$port" -U postgres -d outboxd -Atqc 'SELECT 1' >/dev/null 2>&1; then
      echo "$port" >"$dir/port"
      echo "$port"
      return 0
    fi
    sleep 0.1
  done
  die "pgbouncer on port $port did not answer (log: $dir/pgbouncer.log)"
}

cmd_stop() {
  local dir pid i
  dir="$(abs_path "${1:?DIR}")"
  [ -s "$dir/pgbouncer.pid" ] || return 0
  pid="$(cat "$dir/pgbouncer.pid")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/pgbouncer.pid"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
