#!/usr/bin/env bash
# Starts/stops a throw-away RabbitMQ node (Debian's rabbitmq-server 3.10)
# for the tests: own node name, ports, data and log directories, the
# management plugin, loopback only. See --help.
set -euo pipefail

PROG=rabbitmq.sh
# shellcheck source=tests/scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RMQ_BIN="${OUTBOXD_RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}"
RMQ_USER=rabbitmq      # OS user that runs the node when we are root
READY_TIMEOUT=90       # seconds
# Small, so the tests can send a larger message without 128 MiB of data.
MAX_MESSAGE_SIZE=1048576

usage() {
  cat <<'EOF'
Usage: tests/scripts/rabbitmq.sh COMMAND DIR

Throw-away RabbitMQ node in DIR: data DIR/mnesia, logs DIR/log, Erlang
cookie DIR/home, config DIR/rabbitmq.conf. AMQP, AMQP over TLS and the
management API listen on 127.0.0.1 only, on free ports chosen at first
start and kept for later starts (DIR/ports). User guest/guest, vhost "/",
max_message_size 1 MiB (the oversize test), the management plugin on.
TLS: at first start openssl makes a throw-away CA and a server certificate
for the name localhost (not 127.0.0.1) in DIR/tls (ca.crt; other-ca.crt is a second CA
that signed nothing here, for the wrong-CA test).

Commands:
  start DIR   start the node if needed, wait until it serves; prints three
              lines (also written to DIR/urls):
                amqp://guest:guest@127.0.0.1:PORT/%2f
                http://guest:guest@127.0.0.1:MGMT_PORT
                amqps://guest:guest@localhost:TLS_PORT/%2f
  stop DIR    stop the node (ok if not running / DIR missing)
  status DIR  exit 0 if running, 3 if not
  ctl DIR ARGS...  rabbitmqctl against this node
  kill DIR    kill -9 the node (a crash, for fault tests); start DIR restarts it

3-node cluster (the quorum-queue fault test):
  start DIR --nodes 3   three nodes in DIR/node-1..3, each a node directory
              as above (own name and ports; ctl, kill, start and stop work
              on DIR/node-N), one Erlang cookie (DIR/cookie), nodes 2 and 3
              joined to node 1 (join_cluster); prints one AMQP URL per node
              (also DIR/urls)
  stop DIR    stops every node of the cluster
  leader DIR QUEUE  the node directory (DIR/node-N) of QUEUE's leader

Run as root, the node runs as OS user rabbitmq: DIR is chowned to it, and
every ancestor of DIR must be traversable by it (e.g. not under /root).
EOF
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a RabbitMQ script with this node's environment (as the rabbitmq
# user when we are root; the node refuses directories it cannot write).
rmq_env() {
  local amqp dist mgmt amqps
  read -r amqp dist mgmt amqps <"$DIR/ports"
  local envs=(
    "HOME=$DIR/home"
    "RABBITMQ_NODENAME=outboxd-$amqp@localhost"
    "RABBITMQ_NODE_PORT=$amqp"
    "RABBITMQ_DIST_PORT=$dist"
    "RABBITMQ_MNESIA_BASE=$DIR/mnesia"
    "RABBITMQ_LOG_BASE=$DIR/log"
    "RABBITMQ_PID_FILE=$DIR/rabbitmq.pid"
    "RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/enabled_plugins"
    "RABBITMQ_CONFIG_FILE=$DIR/rabbitmq"
    "RABBITMQ_CONF_ENV_FILE=$DIR/rabbitmq-env.conf"
    "LANG=C.UTF-8"
  )
  if is_root; then
    runuser -u "$RMQ_USER" -- env "${envs[@]}" "$@"
  else
    env "${envs[@]}" "$@"
  fi
}

node_name() {
  local amqp dist mgmt amqps
  read -r amqp dist mgmt amqps <"$DIR/ports"
  echo "outboxd-$amqp@localhost"
}

ctl() { rmq_env "$RMQ_BIN/rabbitmqctl" -q -n "$(node_name)" "$@"; }

urls() {
  local amqp dist mgmt amqps
  read -r amqp dist mgmt amqps <"$DIR/ports"
  echo "amqp://guest:guest@127.0.0.1:$amqp/%2f"
  echo "http://guest:guest@127.0.0.1:$mgmt"
  echo "amqps://guest:guest@localhost:$amqps/%2f"
}

# The test CA, a server certificate for the name localhost only (so
# amqps://127.0.0.1 fails the host name check: the TLS test proves it is
# made) and a CA that signed nothing (tests/scripts/test-ca.sh), once per DIR.
make_tls() {
  "$(dirname "${BASH_SOURCE[0]}")/test-ca.sh" "$DIR/tls" "outboxd RabbitMQ test CA" "DNS:localhost"
}

init_dir() {
  mkdir -p "$DIR/mnesia" "$DIR/log" "$DIR/home"
  local amqp dist mgmt amqps
  if [ ! -f "$DIR/ports" ]; then
    amqp="$(free_port)"
    dist="$(free_port "$amqp")"
    mgmt="$(free_port "$amqp" "$dist")"
    echo "$amqp $dist $mgmt" >"$DIR/ports"
  fi
  read -r amqp dist mgmt amqps <"$DIR/ports"
  if [ -z "$amqps" ]; then # a directory made before the TLS listener
    amqps="$(free_port "$amqp" "$dist" "$mgmt")"
    echo "$amqp $dist $mgmt $amqps" >"$DIR/ports"
  fi
  make_tls
  cat >"$DIR/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$amqp
listeners.ssl.default = 127.0.0.1:$amqps
ssl_options.cacertfile = $DIR/tls/ca.crt
ssl_options.certfile = $DIR/tls/server.crt
ssl_options.keyfile = $DIR/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
management.tcp.port = $mgmt
management.tcp.ip = 127.0.0.1
loopback_users = none
max_message_size = $MAX_MESSAGE_SIZE
log.file.level = info
log.console = false
CONF
  echo '[rabbitmq_management].' >"$DIR/enabled_plugins"
  : >"$DIR/rabbitmq-env.conf"
  if is_root; then
    chown -R "$RMQ_USER:$RMQ_USER" "$DIR"
    chmod a+rx "$DIR"
  fi
}

is_running() {
  [ -f "$DIR/ports" ] || return 1
  ctl status >/dev/null 2>&1
}

cmd_start() {
  init_dir
  if ! is_running; then
    # Closed descriptors: the node must not hold a caller's pipes open.
    rmq_env bash -c "$CLOSE_FDS_EXEC" _ "$RMQ_BIN/rabbitmq-server" \
      >"$DIR/log/startup.out" 2>&1 </dev/null &
    local server=$! deadline=$((SECONDS + READY_TIMEOUT))
    # await_startup fails at once while the node has not registered its
    # name yet (seen on restarts): ask again until the deadline.
    until ctl await_startup --timeout 10 >/dev/null 2>&1; do
      if ! pid_alive "$server" || [ "$SECONDS" -ge "$deadline" ]; then
        tail -n 30 "$DIR/log/startup.out" >&2 || true
        die "node $(node_name) not up after ${READY_TIMEOUT}s (logs: $DIR/log)"
      fi
      sleep 0.5
    done
  fi
  local mgmt deadline=$((SECONDS + 30))
  mgmt="$(awk '{print $3}' "$DIR/ports")"
  until port_listening "$mgmt"; do
    [ "$SECONDS" -lt "$deadline" ] || die "management API on port $mgmt not listening"
    sleep 0.2
  done
  local amqps
  amqps="$(awk '{print $4}' "$DIR/ports")"
  until port_listening "$amqps"; do
    [ "$SECONDS" -lt "$deadline" ] || die "AMQP TLS listener on port $amqps not listening"
    sleep 0.2
  done
  urls | tee "$DIR/urls"
}

# The node of DIR/node-N as a name; DIR is the cluster's directory.
node_dir_name() { (DIR="$1"; node_name); }

cmd_start_cluster() {
  local n="$1" i
  [ "$n" -ge 1 ] && [ "$n" -le 5 ] || die "--nodes must be 1 to 5 (got $n)"
  mkdir -p "$DIR"
  if [ ! -f "$DIR/cookie" ]; then
    # Same cookie on every node: Erlang distribution refuses others.
    tr -dc 'A-Z' </dev/urandom | head -c 32 >"$DIR/cookie" || true
  fi
  echo "$n" >"$DIR/nodes"
  [ "$(id -u)" -ne 0 ] || chmod a+rx "$DIR"
  local cluster="$DIR" pids=() rc=0 tries
  # Ports are chosen per node among those free now, before any node
  # listens: pick again until no two nodes share one.
  for tries in 1 2 3 4 5; do
    for i in $(seq 1 "$n"); do
      (DIR="$cluster/node-$i"; init_dir)
    done
    local dup
    dup="$(cat "$cluster"/node-*/ports | tr ' ' '\n' | sort | uniq -d | head -n 1)"
    [ -z "$dup" ] && break
    grep -l -w "$dup" "$cluster"/node-*/ports | tail -n 1 | xargs rm -f
    [ "$tries" -lt 5 ] || die "could not choose distinct ports for the nodes"
  done
  for i in $(seq 1 "$n"); do
    install -m 0400 "$cluster/cookie" "$cluster/node-$i/home/.erlang.cookie"
    if is_root; then chown "$RMQ_USER:$RMQ_USER" "$cluster/node-$i/home/.erlang.cookie"; fi
    "$0" start "$cluster/node-$i" >"$cluster/node-$i.start.out" 2>&1 &
    pids+=("$!")
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      cat "$cluster/node-$((i + 1)).start.out" >&2
      rc=1
    fi
  done
  [ "$rc" -eq 0 ] || die "a node of the cluster did not start (logs: $DIR/node-N/log)"
  local first
  first="$(node_dir_name "$cluster/node-1")"
  for i in $(seq 2 "$n"); do
    DIR="$cluster/node-$i"
    if ! ctl cluster_status 2>/dev/null | grep -q "$first"; then
      { ctl stop_app && ctl join_cluster "$first" && ctl start_app; } >/dev/null 2>&1 ||
        die "node $i could not join $first (logs: $DIR/log)"
    fi
  done
  DIR="$cluster"
  for i in $(seq 1 "$n"); do sed -n 1p "$DIR/node-$i/urls"; done | tee "$DIR/urls"
}

cmd_kill() {
  [ -f "$DIR/rabbitmq.pid" ] || die "no $DIR/rabbitmq.pid: not started here"
  local pid
  pid="$(cat "$DIR/rabbitmq.pid")"
  if pid_alive "$pid"; then
    kill -9 "$pid"
    local deadline=$((SECONDS + 10))
    while pid_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  fi
}

# Prints DIR/node-N for the node that leads QUEUE (quorum queues).
cmd_leader() {
  local queue="$1" n i leader
  n="$(cat "$DIR/nodes")"
  for i in $(seq 1 "$n"); do
    if (DIR="$DIR/node-$i"; is_running); then
      leader="$(DIR="$DIR/node-$i"; ctl list_queues name leader --no-table-headers 2>/dev/null |
        awk -v q="$queue" '$1 == q {print $2}')"
      break
    fi
  done
  [ -n "${leader:-}" ] || die "no leader found for queue '$queue'"
  for i in $(seq 1 "$n"); do
    if [ "$(node_dir_name "$DIR/node-$i")" = "$leader" ]; then
      echo "$DIR/node-$i"
      return 0
    fi
  done
  die "queue '$queue' is led by $leader, not a node of $DIR"
}

cmd_stop() {
  if [ -f "$DIR/nodes" ]; then
    local i rc=0 cluster="$DIR"
    for i in $(seq 1 "$(cat "$cluster/nodes")"); do
      "$0" stop "$cluster/node-$i" || rc=1
    done
    return "$rc"
  fi
  [ -f "$DIR/ports" ] || return 0
  if is_running; then
    ctl stop >/dev/null 2>&1 || die "rabbitmqctl stop failed for $(node_name)"
  fi
}

main() {
  case "${1:-}" in
    -h|--help|help) usage; exit 0 ;;
    "") usage >&2; exit 2 ;;
  esac
  local cmd="$1"
  shift
  [ -n "${1:-}" ] || die "missing DIR (see --help)"
  DIR="$(abs_path "$1")"
  DIR="${DIR%/}"
  shift
  case "$cmd" in
    start)
      if [ "${1:-}" = "--nodes" ]; then
        [ -n "${2:-}" ] || die "--nodes needs a number"
        cmd_start_cluster "$2"
      elif [ -f "$DIR/nodes" ]; then
        cmd_start_cluster "$(cat "$DIR/nodes")"
      else
        cmd_start
      fi
      ;;
    stop) cmd_stop ;;
    kill) cmd_kill ;;
    leader) [ -n "${1:-}" ] || die "missing QUEUE"; cmd_leader "$1" ;;
    status) if is_running; then exit 0; else exit 3; fi ;;
    ctl) ctl "$@" ;;
    *) die "unknown command '$cmd' (see --help)" ;;
  esac
}

main "$@"
