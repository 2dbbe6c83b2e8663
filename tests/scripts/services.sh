#!/usr/bin/env bash
# Starts/stops the real services the integration tests, the demo and the
# benchmark use: PostgreSQL (DIR/pg, via pg.sh) and a 1-node Kafka
# (DIR/kafka, via kafka.sh), and a RabbitMQ node (DIR/rabbitmq, via
# rabbitmq.sh). See --help.
set -euo pipefail

PROG=services.sh
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/scripts/common.sh
. "$SCRIPTS/common.sh"

usage() {
  cat <<'EOF'
Usage: tests/scripts/services.sh COMMAND DIR

Commands:
  start DIR   start PostgreSQL in DIR/pg, a 1-node Kafka in DIR/kafka and a
              RabbitMQ node in DIR/rabbitmq (in parallel; all idempotent),
              write DIR/env and print it:
                OUTBOXD_TEST_PG_DSN=host=127.0.0.1 port=P dbname=outboxd user=postgres
                OUTBOXD_TEST_KAFKA_BOOTSTRAP=127.0.0.1:K
                OUTBOXD_TEST_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:A/%2f
                OUTBOXD_TEST_RABBITMQ_MANAGEMENT_URL=http://guest:guest@127.0.0.1:M
                OUTBOXD_TEST_RABBITMQ_DIR=DIR/rabbitmq (for rabbitmq.sh stop/start)
                OUTBOXD_TEST_RABBITMQ_TLS_URL=amqps://guest:guest@localhost:T/%2f
                OUTBOXD_TEST_RABBITMQ_TLS_DIR=DIR/rabbitmq/tls (ca.crt, other-ca.crt)
                OUTBOXD_TEST_SERVICES_DIR=DIR
                OUTBOXD_TEST_PG_RELAY_DSN=... user=outboxd_relay
                OUTBOXD_TEST_PG_TLS_DSN=host=localhost hostaddr=127.0.0.1 port=P
                  dbname=outboxd user=outboxd_relay sslmode=verify-full
                  sslrootcert=DIR/pg/tls/ca.crt
                OUTBOXD_TEST_PG_TLS_DIR=DIR/pg/tls (ca.crt, other-ca.crt: a CA
                  that signed nothing here)
                OUTBOXD_TEST_PG_PARTITION_DSN=host=127.0.0.2 ... user=outboxd_relay
                  (the address tests/scripts/partition.sh can cut off)
                OUTBOXD_TEST_KAFKA_SSL_BOOTSTRAP=localhost:S   (TLS)
                OUTBOXD_TEST_KAFKA_MTLS_BOOTSTRAP=localhost:M  (TLS, client
                  certificate required)
                OUTBOXD_TEST_KAFKA_SASL_BOOTSTRAP=localhost:Q  (SASL_SSL,
                  SCRAM-SHA-512 user "outboxd")
                OUTBOXD_TEST_KAFKA_TLS_DIR=DIR/kafka/tls (ca.crt, other-ca.crt,
                  client.crt, client.key, client.key.password,
                  scram-outboxd.password; see kafka.sh --help)
              The first DSN is the owner (postgres): it creates tables. The
              relay DSNs log in as the least-privilege role outboxd_relay,
              which the integration tests run the daemon as.
              DIR/env is plain KEY=VALUE lines (value = rest of the line,
              unquoted; the DSN contains spaces). DIR/env.sh holds the same
              as quoted `export` lines for shells: `. DIR/env.sh`.
  stop DIR    stop RabbitMQ, Kafka and PostgreSQL (ok if not running / DIR missing);
              removes DIR/env and DIR/env.sh
  env DIR     print DIR/env

Run as root, PostgreSQL runs as OS user postgres: DIR is made
world-traversable, and its ancestors must be too (e.g. use /tmp, not /root).
For a 3-node Kafka or failure injection use kafka.sh / pg.sh directly.
EOF
}

cmd_start() {
  mkdir -p "$DIR"
  # The postgres OS user must be able to enter DIR to reach DIR/pg.
  [ "$(id -u)" -ne 0 ] || chmod a+rx "$DIR"

  local kout="$DIR/.kafka-start.out" kpid pg_dsn bootstrap krc=0
  local rout="$DIR/.rabbitmq-start.out" rpid rrc=0 amqp_url mgmt_url amqps_url
  "$SCRIPTS/kafka.sh" start "$DIR/kafka" --nodes 1 --tls >"$kout" &
  kpid=$!
  "$SCRIPTS/rabbitmq.sh" start "$DIR/rabbitmq" >"$rout" &
  rpid=$!
  if ! pg_dsn="$("$SCRIPTS/pg.sh" start "$DIR/pg")"; then
    wait "$kpid" || true
    wait "$rpid" || true
    die "PostgreSQL did not start (see messages above; log: $DIR/pg/postgresql.log)"
  fi
  wait "$kpid" || krc=$?
  [ "$krc" -eq 0 ] || die "Kafka did not start (see messages above; logs: $DIR/kafka/node-1/logs)"
  bootstrap="$(tail -n 1 "$kout")"
  rm -f "$kout"
  wait "$rpid" || rrc=$?
  [ "$rrc" -eq 0 ] || die "RabbitMQ did not start (see messages above; logs: $DIR/rabbitmq/log)"
  amqp_url="$(sed -n 1p "$rout")"
  mgmt_url="$(sed -n 2p "$rout")"
  amqps_url="$(sed -n 3p "$rout")"
  rm -f "$rout"
  if [ -z "$amqp_url" ] || [ -z "$mgmt_url" ] || [ -z "$amqps_url" ]; then die "empty RabbitMQ URLs"; fi
  if [ -z "$pg_dsn" ] || [ -z "$bootstrap" ]; then die "empty DSN or bootstrap list"; fi
  local port tls relay_dsn tls_dsn partition_dsn
  port="$(cat "$DIR/pg/port")"
  tls="$DIR/pg/tls"
  relay_dsn="host=127.0.0.1 port=$port dbname=outboxd user=outboxd_relay"
  tls_dsn="host=localhost hostaddr=127.0.0.1 port=$port dbname=outboxd user=outboxd_relay sslmode=verify-full sslrootcert=$tls/ca.crt"
  partition_dsn="host=127.0.0.2 port=$port dbname=outboxd user=outboxd_relay"
  local k="$DIR/kafka" ssl_bs mtls_bs sasl_bs
  ssl_bs="$(cat "$k/ssl-bootstrap")"
  mtls_bs="$(cat "$k/mtls-bootstrap")"
  sasl_bs="$(cat "$k/sasl-bootstrap")"

  {
    echo "OUTBOXD_TEST_PG_DSN=$pg_dsn"
    echo "OUTBOXD_TEST_KAFKA_BOOTSTRAP=$bootstrap"
    echo "OUTBOXD_TEST_RABBITMQ_URL=$amqp_url"
    echo "OUTBOXD_TEST_RABBITMQ_MANAGEMENT_URL=$mgmt_url"
    echo "OUTBOXD_TEST_RABBITMQ_DIR=$DIR/rabbitmq"
    echo "OUTBOXD_TEST_RABBITMQ_TLS_URL=$amqps_url"
    echo "OUTBOXD_TEST_RABBITMQ_TLS_DIR=$DIR/rabbitmq/tls"
    echo "OUTBOXD_TEST_SERVICES_DIR=$DIR"
    echo "OUTBOXD_TEST_PG_RELAY_DSN=$relay_dsn"
    echo "OUTBOXD_TEST_PG_TLS_DSN=$tls_dsn"
    echo "OUTBOXD_TEST_PG_TLS_DIR=$tls"
    echo "OUTBOXD_TEST_PG_PARTITION_DSN=$partition_dsn"
    echo "OUTBOXD_TEST_KAFKA_SSL_BOOTSTRAP=$ssl_bs"
    echo "OUTBOXD_TEST_KAFKA_MTLS_BOOTSTRAP=$mtls_bs"
    echo "OUTBOXD_TEST_KAFKA_SASL_BOOTSTRAP=$sasl_bs"
    echo "OUTBOXD_TEST_KAFKA_TLS_DIR=$k/tls"
  } >"$DIR/env.tmp"
  {
    printf "export OUTBOXD_TEST_PG_DSN='%s'\n" "$pg_dsn"
    printf "export OUTBOXD_TEST_KAFKA_BOOTSTRAP='%s'\n" "$bootstrap"
    printf "export OUTBOXD_TEST_RABBITMQ_URL='%s'\n" "$amqp_url"
    printf "export OUTBOXD_TEST_RABBITMQ_MANAGEMENT_URL='%s'\n" "$mgmt_url"
    printf "export OUTBOXD_TEST_RABBITMQ_DIR='%s'\n" "$DIR/rabbitmq"
    printf "export OUTBOXD_TEST_RABBITMQ_TLS_URL='%s'\n" "$amqps_url"
    printf "export OUTBOXD_TEST_RABBITMQ_TLS_DIR='%s'\n" "$DIR/rabbitmq/tls"
    printf "export OUTBOXD_TEST_SERVICES_DIR='%s'\n" "$DIR"
    printf "export OUTBOXD_TEST_PG_RELAY_DSN='%s'\n" "$relay_dsn"
    printf "export OUTBOXD_TEST_PG_TLS_DSN='%s'\n" "$tls_dsn"
    printf "export OUTBOXD_TEST_PG_TLS_DIR='%s'\n" "$tls"
    printf "export OUTBOXD_TEST_PG_PARTITION_DSN='%s'\n" "$partition_dsn"
    printf "export OUTBOXD_TEST_KAFKA_SSL_BOOTSTRAP='%s'\n" "$ssl_bs"
    printf "export OUTBOXD_TEST_KAFKA_MTLS_BOOTSTRAP='%s'\n" "$mtls_bs"
    printf "export OUTBOXD_TEST_KAFKA_SASL_BOOTSTRAP='%s'\n" "$sasl_bs"
    printf "export OUTBOXD_TEST_KAFKA_TLS_DIR='%s'\n" "$k/tls"
  } >"$DIR/env.sh.tmp"
  mv -f "$DIR/env.sh.tmp" "$DIR/env.sh"
  mv -f "$DIR/env.tmp" "$DIR/env"
  cat "$DIR/env"
}

cmd_stop() {
  [ -d "$DIR" ] || return 0
  local rc=0
  # A partition test that died between cut and heal must not leave its
  # rules behind (they are only ever on 127.0.0.2).
  if [ "$(id -u)" -eq 0 ] && command -v iptables >/dev/null; then
    "$SCRIPTS/partition.sh" heal || rc=1
  fi
  if [ -d "$DIR/rabbitmq" ]; then
    "$SCRIPTS/rabbitmq.sh" stop "$DIR/rabbitmq" || rc=1
  fi
  if [ -d "$DIR/kafka" ]; then
    "$SCRIPTS/kafka.sh" stop "$DIR/kafka" || rc=1
  fi
  if [ -d "$DIR/pg" ]; then
    "$SCRIPTS/pg.sh" stop "$DIR/pg" || rc=1
  fi
  # A stale env file would point the tests at services that are gone.
  rm -f "$DIR/env" "$DIR/env.sh"
  [ "$rc" -eq 0 ] || die "stopping some service failed (see above)"
}

cmd_env() {
  [ -f "$DIR/env" ] || die "no $DIR/env; run 'services.sh start $DIR' first"
  cat "$DIR/env"
}

main() {
  case "${1:-}" in
    -h|--help|help) usage; exit 0 ;;
    "") usage >&2; exit 2 ;;
  esac
  local cmd="$1"
  shift
  case "${1:-}" in -h|--help) usage; exit 0 ;; esac
  [ -n "${1:-}" ] || die "missing DIR (see --help)"
  DIR="$(abs_path "$1")"
  DIR="${DIR%/}"
  shift
  [ $# -eq 0 ] || die "unexpected arguments: $* (see --help)"
  case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    env) cmd_env ;;
    *) die "unknown command '$cmd' (see --help)" ;;
  esac
}

main "$@"
