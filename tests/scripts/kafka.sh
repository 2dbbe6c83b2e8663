#!/usr/bin/env bash
# Starts/stops a throw-away Apache Kafka KRaft cluster (1 or 3 combined
# broker+controller nodes) from the jars collected by tests/kafka/fetch-kafka.sh.
# Loopback only, ports chosen here and remembered in DIR. See --help.
set -euo pipefail

PROG=kafka.sh
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/scripts/common.sh
. "$SCRIPTS/common.sh"

READY_TIMEOUT="${OUTBOXD_KAFKA_READY_TIMEOUT:-90}"   # seconds
STOP_TIMEOUT="${OUTBOXD_KAFKA_STOP_TIMEOUT:-30}"     # seconds before SIGKILL
HEAP_OPTS="${OUTBOXD_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
TOOL_JVM_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)

usage() {
  cat <<'EOF'
Usage: tests/scripts/kafka.sh COMMAND DIR [ARGS...]

Throw-away Kafka KRaft cluster in DIR: combined broker+controller nodes
node-1..node-N (config DIR/node-I/server.properties, data DIR/node-I/data,
logs DIR/node-I/logs/server.log and stdout.log, pid DIR/node-I/pid). Listens
on 127.0.0.1 only; ports are chosen at first start and kept in
DIR/cluster.conf, so restarts reuse them. auto.create.topics.enable=false:
create topics explicitly.

Commands:
  start DIR [--nodes N] [--tls]
                          N = 1 (default) or 3. Formats on first start, starts
                          every node that is not running, waits until each
                          node's own metadata lists all N brokers, prints the
                          bootstrap list host:port,... (also in DIR/bootstrap).
                          Already running: just prints the bootstrap list.
                          --tls (1 node only; kept for the DIR once chosen):
                          also secured listeners, see "Secured listeners".
  stop DIR                SIGTERM all nodes, SIGKILL after 30 s, or 10 s after
                          the controller majority is gone (ok if none runs)
  stop-node DIR I         graceful stop of node I (SIGTERM, SIGKILL after 30 s)
  kill-node DIR I         kill -9 node I
  start-node DIR I        start existing node I again (same ports, same data)
                          and wait until it is back in the metadata. Needs a
                          controller majority: with every node down, use
                          'start' (it launches all nodes, then waits).
  bootstrap DIR           print the bootstrap list
  create-topic DIR NAME PARTITIONS RF [key=value...]
                          create a topic (no-op if it exists) with topic
                          configs, e.g. min.insync.replicas=2; waits until
                          every running node reports it with leaders
  status DIR              one line per node: I PORT running|stopped

On a start/start-node failure the nodes launched by that call are killed
again; their logs stay.

Secured listeners (--tls): besides PLAINTEXT on 127.0.0.1:P, the broker
serves, advertised as localhost (its certificate names DNS:localhost only,
so 127.0.0.1 is a host name it does not match):
  SSL       localhost:S  TLS, no client certificate
  MTLS      localhost:M  TLS, client certificate required (protocol SSL)
  SASL_SSL  localhost:Q  TLS + SASL: SCRAM-SHA-512 or PLAIN
Their addresses are in DIR/ssl-bootstrap, DIR/mtls-bootstrap and
DIR/sasl-bootstrap. DIR/tls holds what clients need, made at first start:
ca.crt (openssl CA that signed the broker and client certificates),
other-ca.crt (a CA that signed nothing here), client.crt, client.key (AES
encrypted) with its password in client.key.password, and the SCRAM-SHA-512
user "outboxd" with its password in scram-outboxd.password (created through
the broker with kafka-configs' ConfigCommand and checked with the broker's
Java client), and the PLAIN user "outboxd" with its password in
plain-outboxd.password (the broker's JAAS configuration). The broker's
keystore and truststore (PKCS12) are made with keytool.

Settings: 1 node: internal topics RF 1 / min ISR 1. 3 nodes:
default.replication.factor=3, min.insync.replicas=2,
unclean.leader.election.enable=false, internal topics RF 3 / min ISR 2.
Environment: OUTBOXD_KAFKA_LIBS (jar dir; default: tests/kafka/fetch-kafka.sh),
OUTBOXD_KAFKA_HEAP_OPTS (default "-Xms256m -Xmx512m"),
OUTBOXD_KAFKA_READY_TIMEOUT (default 90 s), OUTBOXD_KAFKA_STOP_TIMEOUT (30 s).
Needs java (17+), kcat, ss (iproute2), flock/setsid (util-linux); --tls also
openssl and keytool (Java).
EOF
}

# ---------------------------------------------------------------- helpers

set_dir() {
  [ -n "${1:-}" ] || die "missing DIR (see --help)"
  DIR="$(abs_path "$1")"
  DIR="${DIR%/}"
  CONF="$DIR/cluster.conf"
}

libs_dir() {
  if [ -z "${LIBS:-}" ]; then
    if [ -n "${OUTBOXD_KAFKA_LIBS:-}" ]; then
      LIBS="$OUTBOXD_KAFKA_LIBS"
    else
      LIBS="$("$SCRIPTS/../kafka/fetch-kafka.sh")" || die "could not collect the Kafka jars (tests/kafka/fetch-kafka.sh)"
    fi
    compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null || die "no kafka_2.13 jar in $LIBS"
  fi
}

check_tools() {
  local t
  for t in java kcat setsid flock timeout; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' not found; run scripts/install-deps.sh"
  done
  if [ "${TLS:-0}" = 1 ]; then
    for t in openssl keytool; do
      command -v "$t" >/dev/null 2>&1 || die "'$t' not found (needed by --tls); run scripts/install-deps.sh"
    done
  fi
}

load_conf() {
  [ -f "$CONF" ] || die "$DIR holds no cluster (no $CONF); run 'kafka.sh start $DIR' first"
  # A cluster.conf from before --tls has no TLS line: no secured listeners.
  TLS=0
  # shellcheck disable=SC1090
  . "$CONF"
  if [ -z "${NODES:-}" ] || [ -z "${CLUSTER_ID:-}" ]; then die "$CONF is incomplete"; fi
  TLS="${TLS:-0}"
}

port_of() { local v="PORT_$1"; echo "${!v}"; }
cport_of() { local v="CPORT_$1"; echo "${!v}"; }
node_dir() { echo "$DIR/node-$1"; }

check_node_arg() {
  if ! [[ "${1:-}" =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ] || [ "$1" -gt "$NODES" ]; then
    die "node must be 1..$NODES, got '${1:-}'"
  fi
}

bootstrap_list() {
  local i out=""
  for ((i = 1; i <= NODES; i++)); do
    out+="${out:+,}127.0.0.1:$(port_of "$i")"
  done
  echo "$out"
}

# node_pid I: print the pid of node I if it runs (checked against cmdline).
node_pid() {
  local nd pid
  nd="$(node_dir "$1")"
  [ -f "$nd/pid" ] || return 1
  pid="$(cat "$nd/pid")"
  pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$nd/server.properties" || return 1
  echo "$pid"
}

node_running() { node_pid "$1" >/dev/null; }

any_node_running() {
  local i
  for ((i = 1; i <= NODES; i++)); do node_running "$i" && return 0; done
  return 1
}

any_port_busy() {
  local i p
  for ((i = 1; i <= NODES; i++)); do
    port_listening "$(port_of "$i")" && return 0
    port_listening "$(cport_of "$i")" && return 0
  done
  if [ "${TLS:-0}" = 1 ]; then
    for p in "$SSL_PORT" "$MTLS_PORT" "$SASL_PORT"; do
      port_listening "$p" && return 0
    done
  fi
  return 1
}

log_tail() {
  local nd
  nd="$(node_dir "$1")"
  local f
  for f in "$nd/logs/stdout.log" "$nd/logs/server.log"; do
    if [ -s "$f" ]; then
      echo "---- node $1: last lines of $f ----" >&2
      tail -n 25 "$f" >&2 || true
    fi
  done
  echo "----" >&2
}

new_cluster_id() {
  # A Kafka Uuid: 16 random bytes, URL-safe base64 without padding; Kafka
  # rejects ids that start with '-'.
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
    [ "${id:0:1}" != "-" ] && { echo "$id"; return; }
  done
}

choose_ports() {
  local i p used=()
  for ((i = 1; i <= NODES; i++)); do
    p="$(free_port "${used[@]}")"; used+=("$p"); printf -v "PORT_$i" '%s' "$p"
    p="$(free_port "${used[@]}")"; used+=("$p"); printf -v "CPORT_$i" '%s' "$p"
  done
  if [ "${TLS:-0}" = 1 ]; then
    SSL_PORT="$(free_port "${used[@]}")"; used+=("$SSL_PORT")
    MTLS_PORT="$(free_port "${used[@]}")"; used+=("$MTLS_PORT")
    SASL_PORT="$(free_port "${used[@]}")"; used+=("$SASL_PORT")
  fi
}

write_conf() {
  local i
  {
    echo "# Written by tests/scripts/kafka.sh at first start; ports are reused."
    echo "NODES=$NODES"
    echo "CLUSTER_ID=$CLUSTER_ID"
    for ((i = 1; i <= NODES; i++)); do
      echo "PORT_$i=$(port_of "$i")"
      echo "CPORT_$i=$(cport_of "$i")"
    done
    echo "TLS=${TLS:-0}"
    if [ "${TLS:-0}" = 1 ]; then
      echo "SSL_PORT=$SSL_PORT"
      echo "MTLS_PORT=$MTLS_PORT"
      echo "SASL_PORT=$SASL_PORT"
    fi
  } >"$CONF.tmp"
  mv -f "$CONF.tmp" "$CONF"
}

write_log4j() {
  cat >"$DIR/log4j2.properties" <<'EOF'
# Broker logging (tests/scripts/kafka.sh): files in ${sys:kafka.logs.dir},
# nothing on the terminal.
status = warn
name = outboxd-test-broker
# Keep logging during the JVM shutdown (Kafka logs its shutdown steps).
shutdownHook = disable

appender.server.type = RollingFile
appender.server.name = SERVER
appender.server.fileName = ${sys:kafka.logs.dir}/server.log
appender.server.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.server.layout.type = PatternLayout
appender.server.layout.pattern = [%d] %p %m (%c)%n
appender.server.policies.type = Policies
appender.server.policies.size.type = SizeBasedTriggeringPolicy
appender.server.policies.size.size = 50MB
appender.server.strategy.type = DefaultRolloverStrategy
appender.server.strategy.max = 2

rootLogger.level = INFO
rootLogger.appenderRef.server.ref = SERVER

# Chatty per-request / per-partition loggers: warnings only.
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
logger.zk.name = org.apache.zookeeper
logger.zk.level = WARN
EOF
  cat >"$DIR/tools-log4j2.properties" <<'EOF'
# Admin tools (tests/scripts/kafka.sh): warnings to stderr.
status = warn
name = outboxd-test-tools
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = STDERR
EOF
}

write_node_props() {
  local i="$1" nd voters="" j rf minisr
  nd="$(node_dir "$i")"
  for ((j = 1; j <= NODES; j++)); do
    voters+="${voters:+,}$j@127.0.0.1:$(cport_of "$j")"
  done
  if [ "$NODES" -ge 3 ]; then rf=3; minisr=2; else rf=1; minisr=1; fi
  local secure_listeners="" secure_advertised="" secure_map=""
  if [ "${TLS:-0}" = 1 ]; then
    secure_listeners=",SSL://127.0.0.1:$SSL_PORT,MTLS://127.0.0.1:$MTLS_PORT,SASL_SSL://127.0.0.1:$SASL_PORT"
    secure_advertised=",SSL://localhost:$SSL_PORT,MTLS://localhost:$MTLS_PORT,SASL_SSL://localhost:$SASL_PORT"
    secure_map=",SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL"
  fi
  mkdir -p "$nd/data" "$nd/logs"
  cat >"$nd/server.properties" <<EOF
# Written by tests/scripts/kafka.sh (node $i of $NODES).
process.roles=broker,controller
node.id=$i
listeners=PLAINTEXT://127.0.0.1:$(port_of "$i"),CONTROLLER://127.0.0.1:$(cport_of "$i")$secure_listeners
advertised.listeners=PLAINTEXT://127.0.0.1:$(port_of "$i")$secure_advertised
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT$secure_map
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.voters=$voters
log.dirs=$nd/data

# Tests create topics explicitly.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$minisr
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0

# Internal topics.
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$minisr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$minisr

# Modest threads for a 2-core machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
EOF
  if [ "${TLS:-0}" = 1 ]; then
    local t="$DIR/tls" pw
    pw="$(cat "$t/store.password")"
    cat >>"$nd/server.properties" <<EOF

# Secured listeners (kafka.sh --tls): keystore and truststore made by keytool.
ssl.keystore.type=PKCS12
ssl.keystore.location=$t/broker.p12
ssl.keystore.password=$pw
ssl.key.password=$pw
ssl.truststore.type=PKCS12
ssl.truststore.location=$t/truststore.p12
ssl.truststore.password=$pw
ssl.client.auth=none
listener.name.mtls.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_outboxd="$(cat "$t/plain-outboxd.password")";
EOF
  fi
}

# ---------------------------------------------------------------- TLS / SASL

# A random secret for the test material (no '/', '+', '=': safe in
# properties files and on kcat's command line).
random_secret() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n'; }

# keytool KEYTOOL_ARGS...: Java's keytool, quiet, with a small quick JVM.
keytool_q() {
  keytool -J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 -J-Xmx128m "$@" >>"$DIR/tls/make.log" 2>&1 ||
    { cat "$DIR/tls/make.log" >&2; die "keytool $1 failed (log: $DIR/tls/make.log)"; }
}

openssl_q() {
  openssl "$@" >>"$DIR/tls/make.log" 2>&1 ||
    { cat "$DIR/tls/make.log" >&2; die "openssl $1 failed (log: $DIR/tls/make.log)"; }
}

# make_tls: the certificates, keystores and secrets of the secured listeners,
# once per DIR (DIR/tls/.complete marks a finished set).
make_tls() {
  local t="$DIR/tls" pw
  [ -f "$t/.complete" ] && return 0
  rm -rf "$t"
  mkdir -p "$t"
  chmod 0755 "$t"
  (
    cd "$t"
    # The CA the clients trust, and one that signed nothing here.
    openssl_q req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=outboxd test Kafka CA" \
      -keyout ca.key -out ca.crt
    openssl_q req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=outboxd test other CA" \
      -keyout other-ca.key -out other-ca.crt
    rm -f other-ca.key
    # The broker's key pair lives in a PKCS12 keystore made by keytool; the
    # CA signs its request. SAN DNS:localhost only: 127.0.0.1 must not match.
    pw="$(random_secret)"
    printf '%s\n' "$pw" >store.password
    keytool_q -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 \
      -dname "CN=localhost" -ext "SAN=dns:localhost" \
      -keystore broker.p12 -storetype PKCS12 -storepass "$pw" -keypass "$pw"
    keytool_q -certreq -alias broker -keystore broker.p12 -storepass "$pw" -file broker.csr
    printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
    openssl_q x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile broker.ext -out broker.crt
    keytool_q -importcert -noprompt -alias ca -file ca.crt -keystore broker.p12 -storepass "$pw"
    keytool_q -importcert -noprompt -alias broker -file broker.crt -keystore broker.p12 -storepass "$pw"
    # The broker trusts client certificates this CA signed (MTLS listener).
    keytool_q -importcert -noprompt -alias ca -file ca.crt -keystore truststore.p12 \
      -storetype PKCS12 -storepass "$pw"
    # A client certificate whose key is encrypted with a password.
    random_secret >client.key.password
    openssl_q genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes-256-cbc \
      -pass file:client.key.password -out client.key
    openssl_q req -new -key client.key -passin file:client.key.password \
      -subj "/CN=outboxd-test-client" -out client.csr
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl_q x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out client.crt
    # The SCRAM user's password (the user is created through the broker),
    # and the PLAIN user's (declared in the broker's JAAS configuration).
    random_secret >scram-outboxd.password
    random_secret >plain-outboxd.password
    # Clients (the tests' daemons) read these; the CA key stays private.
    chmod 0644 ca.crt other-ca.crt client.crt client.key client.key.password scram-outboxd.password \
      plain-outboxd.password
    chmod 0600 ca.key store.password broker.p12 truststore.p12
  ) || exit 1
  rm -f "$DIR/node-1/scram-user.done"
  touch "$t/.complete"
}

# kcat_secure LISTENER: kcat -L against one secured listener, as a client
# with the settings that listener needs. Fails when the handshake does.
kcat_secure() {
  local t="$DIR/tls" args=()
  case "$1" in
    ssl) args=(-b "localhost:$SSL_PORT" -X security.protocol=SSL) ;;
    mtls) args=(-b "localhost:$MTLS_PORT" -X security.protocol=SSL
      -X "ssl.certificate.location=$t/client.crt" -X "ssl.key.location=$t/client.key"
      -X "ssl.key.password=$(cat "$t/client.key.password")") ;;
    sasl) args=(-b "localhost:$SASL_PORT" -X security.protocol=SASL_SSL
      -X sasl.mechanisms=PLAIN -X sasl.username=outboxd
      -X "sasl.password=$(cat "$t/plain-outboxd.password")") ;;
  esac
  timeout 15 kcat -L "${args[@]}" -X "ssl.ca.location=$t/ca.crt" -m 5 -X log_level=0 >/dev/null 2>&1
}

# secure_ready: the SCRAM user exists (created once through the PLAINTEXT
# listener with the broker's ConfigCommand) and every secured listener
# answers a metadata request.
secure_ready() {
  local done_file="$DIR/node-1/scram-user.done" l deadline
  if [ ! -f "$done_file" ]; then
    local out
    if ! out="$(java "${TOOL_JVM_OPTS[@]}" -Dlog4j2.configurationFile="$DIR/tools-log4j2.properties" \
        -cp "$LIBS/*" kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$(port_of 1)" \
        --alter --entity-type users --entity-name outboxd \
        --add-config "SCRAM-SHA-512=[iterations=4096,password=$(cat "$DIR/tls/scram-outboxd.password")]" 2>&1)"; then
      echo "$out" >&2
      stop_nodes KILL 1
      die "creating the SCRAM-SHA-512 user 'outboxd' failed"
    fi
    # librdkafka before 2.6.1 (kcat here) fails SCRAM against Kafka 4.x
    # (it repeats the client nonce in its final message), so the broker's
    # own Java client proves the user and password work.
    printf '%s\n' "security.protocol=SASL_SSL" "sasl.mechanism=SCRAM-SHA-512" \
      "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"outboxd\" password=\"$(cat "$DIR/tls/scram-outboxd.password")\";" \
      "ssl.truststore.type=PEM" "ssl.truststore.location=$DIR/tls/ca.crt" >"$DIR/tls/scram-client.properties"
    chmod 0600 "$DIR/tls/scram-client.properties"
    deadline=$((SECONDS + READY_TIMEOUT))
    until out="$(timeout 60 java "${TOOL_JVM_OPTS[@]}" -Dlog4j2.configurationFile="$DIR/tools-log4j2.properties" \
        -cp "$LIBS/*" org.apache.kafka.tools.BrokerApiVersionsCommand \
        --bootstrap-server "localhost:$SASL_PORT" --command-config "$DIR/tls/scram-client.properties" 2>&1)"; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "$out" | tail -n 20 >&2
        stop_nodes KILL 1
        die "the SCRAM-SHA-512 user 'outboxd' cannot log in on localhost:$SASL_PORT"
      fi
      sleep 1
    done
    touch "$done_file"
  fi
  deadline=$((SECONDS + READY_TIMEOUT))
  for l in ssl mtls sasl; do
    until kcat_secure "$l"; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        log_tail 1
        stop_nodes KILL 1
        die "the $l listener did not answer a metadata request within ${READY_TIMEOUT}s"
      fi
      sleep 0.5
    done
  done
  echo "localhost:$SSL_PORT" >"$DIR/ssl-bootstrap"
  echo "localhost:$MTLS_PORT" >"$DIR/mtls-bootstrap"
  echo "localhost:$SASL_PORT" >"$DIR/sasl-bootstrap"
}

format_nodes() {
  local i nd pids=() rc=0
  for ((i = 1; i <= NODES; i++)); do
    nd="$(node_dir "$i")"
    [ -f "$nd/data/meta.properties" ] && continue
    java "${TOOL_JVM_OPTS[@]}" -Dlog4j2.configurationFile="$DIR/tools-log4j2.properties" \
      -cp "$LIBS/*" kafka.tools.StorageTool format --ignore-formatted \
      -t "$CLUSTER_ID" -c "$nd/server.properties" >"$nd/logs/format.log" 2>&1 9>&- &
    pids+=("$!:$i")
  done
  local p
  for p in ${pids[@]+"${pids[@]}"}; do
    if ! wait "${p%%:*}"; then
      nd="$(node_dir "${p#*:}")"
      cat "$nd/logs/format.log" >&2
      rc=1
    fi
  done
  [ "$rc" -eq 0 ] || die "formatting the storage failed (see node-*/logs/format.log in $DIR)"
}

launch_node() {
  local i="$1" nd pidfile p
  nd="$(node_dir "$i")"
  pidfile="$nd/pid"
  node_running "$i" && return 0
  for p in "$(port_of "$i")" "$(cport_of "$i")"; do
    port_listening "$p" && die "port $p of node $i is in use by another process; stop it or use a fresh DIR"
  done
  rm -f "$pidfile"
  # shellcheck disable=SC2086,SC2016
  (
    cd "$nd"
    exec setsid bash -c 'echo $$ >"$1"; shift; '"$CLOSE_FDS_EXEC" _ "$pidfile" \
      java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$DIR/log4j2.properties" \
      -Dkafka.logs.dir="$nd/logs" \
      -cp "$LIBS/*" kafka.Kafka "$nd/server.properties"
  ) </dev/null >>"$nd/logs/stdout.log" 2>&1 9>&- &
  disown "$!" 2>/dev/null || true   # no "Killed" job notices from this shell
  local t
  for ((t = 0; t < 100; t++)); do
    [ -s "$pidfile" ] && return 0
    sleep 0.05
  done
  die "node $i did not write $pidfile"
}

# view PORT: metadata as seen by the broker on PORT. Prints
# "FROM_ID BROKER_ID..." or fails.
view() {
  local out from ids
  out="$(timeout 15 kcat -L -b "127.0.0.1:$1" -m 5 -X log_level=0 2>/dev/null)" || return 1
  from="$(sed -n 's/.*(from broker \([0-9-]*\):.*/\1/p' <<<"$out" | head -n 1)"
  ids="$(sed -n 's/^  broker \([0-9][0-9]*\) at .*/\1/p' <<<"$out" | tr '\n' ' ')"
  [ -n "$from" ] || return 1
  echo "$from $ids"
}

# wait_nodes_ready I...: wait until each given node answers metadata itself
# and lists every running node of the cluster (including itself).
wait_nodes_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT)) i j v pending expected
  while :; do
    pending=()
    expected=()
    for ((j = 1; j <= NODES; j++)); do
      node_running "$j" && expected+=("$j")
    done
    for i in "$@"; do
      if ! node_running "$i"; then
        log_tail "$i"
        stop_nodes KILL "$@"
        die "node $i exited during startup (logs in $(node_dir "$i")/logs)"
      fi
      if ! v="$(view "$(port_of "$i")")"; then
        pending+=("$i")
        continue
      fi
      local ok=1
      [ "${v%% *}" = "$i" ] || ok=0
      for j in "${expected[@]}"; do
        [[ " ${v#* } " == *" $j "* ]] || ok=0
      done
      [ "$ok" -eq 1 ] || pending+=("$i")
    done
    [ "${#pending[@]}" -eq 0 ] && return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      for i in "${pending[@]}"; do log_tail "$i"; done
      warn "node(s) ${pending[*]} not ready after ${READY_TIMEOUT}s (metadata must list brokers ${expected[*]}); stopping node(s) $* again"
      stop_nodes KILL "$@"
      die "startup failed (logs in $DIR/node-*/logs)"
    fi
    sleep 0.5
  done
}

stop_nodes() {
  # stop_nodes SIGNAL I...: signal the running ones, wait, SIGKILL leftovers.
  local sig="$1" i pid deadline
  shift
  local pids=()
  for i in "$@"; do
    if pid="$(node_pid "$i")"; then
      kill "-$sig" "$pid" 2>/dev/null || true
      pids+=("$pid:$i")
    fi
  done
  [ "${#pids[@]}" -gt 0 ] || return 0
  deadline=$((SECONDS + STOP_TIMEOUT))
  local p left alive j quorum_lost=0
  while :; do
    left=()
    for p in "${pids[@]}"; do
      pid_alive "${p%%:*}" && left+=("$p")
    done
    [ "${#left[@]}" -eq 0 ] && break
    if [ "$sig" = TERM ] && [ "$NODES" -gt 1 ] && [ "$quorum_lost" -eq 0 ]; then
      # The last Raft leader standing waits for acknowledgements from voters
      # that are gone: it normally gives up after ~5 s, but was also seen
      # hanging until SIGKILL. Give it 10 s once the majority is gone.
      alive=0
      for ((j = 1; j <= NODES; j++)); do node_running "$j" && alive=$((alive + 1)); done
      if [ "$alive" -lt $((NODES / 2 + 1)) ]; then
        quorum_lost=1
        [ "$deadline" -le $((SECONDS + 10)) ] || deadline=$((SECONDS + 10))
      fi
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      for p in "${left[@]}"; do
        if [ "$quorum_lost" -eq 1 ]; then
          warn "node ${p#*:} (pid ${p%%:*}) still running 10 s after the controller majority was gone; sending SIGKILL"
        else
          warn "node ${p#*:} (pid ${p%%:*}) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
        fi
        kill -KILL "${p%%:*}" 2>/dev/null || true
      done
      deadline=$((SECONDS + 10))
      sig=KILL
    fi
    sleep 0.2
  done
  for i in "$@"; do rm -f "$(node_dir "$i")/pid"; done
}

lock_dir() {
  mkdir -p "$DIR"
  exec 9>>"$DIR/.lock"
  flock -w 600 9 || die "another kafka.sh holds $DIR/.lock"
}

# ---------------------------------------------------------------- commands

cmd_start() {
  local want="" want_tls=0 i
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) [ $# -ge 2 ] || die "--nodes needs a value"; want="$2"; shift 2 ;;
      --nodes=*) want="${1#--nodes=}"; shift ;;
      --tls) want_tls=1; shift ;;
      *) die "unexpected argument '$1' (see --help)" ;;
    esac
  done
  [ -z "$want" ] || [ "$want" = 1 ] || [ "$want" = 3 ] || die "--nodes must be 1 or 3"
  [ "$want_tls" = 0 ] || [ "${want:-1}" = 1 ] || die "--tls is for a 1-node cluster only"
  TLS="$want_tls"
  check_tools
  libs_dir
  lock_dir

  local fresh=0
  if [ -f "$CONF" ]; then
    load_conf
    [ -z "$want" ] || [ "$want" = "$NODES" ] ||
      die "$DIR already holds a $NODES-node cluster (asked for $want); use a fresh DIR"
    if [ "$want_tls" = 1 ] && [ "${TLS:-0}" != 1 ]; then
      # A cluster made before --tls existed: add the secured listeners
      # (new ports), restarting the node if it runs without them.
      [ "$NODES" = 1 ] || die "$DIR holds a $NODES-node cluster; --tls is for a 1-node cluster only"
      any_node_running && stop_nodes TERM 1
      TLS=1
      SSL_PORT="$(free_port "$(port_of 1)" "$(cport_of 1)")"
      MTLS_PORT="$(free_port "$(port_of 1)" "$(cport_of 1)" "$SSL_PORT")"
      SASL_PORT="$(free_port "$(port_of 1)" "$(cport_of 1)" "$SSL_PORT" "$MTLS_PORT")"
      write_conf
    fi
  else
    NODES="${want:-1}"
    TLS="$want_tls"
    CLUSTER_ID="$(new_cluster_id)"
    choose_ports
    write_conf
    fresh=1
  fi
  [ "${TLS:-0}" != 1 ] || make_tls
  # Configs are rewritten at every start (same ports), so a changed script
  # applies to old directories too.
  write_log4j
  if [ "$fresh" -eq 0 ] && [ ! -f "$DIR/bootstrap" ] && ! any_node_running && any_port_busy; then
    # Never came up and a chosen port got taken meanwhile: choose again.
    choose_ports
    write_conf
  fi
  for ((i = 1; i <= NODES; i++)); do write_node_props "$i"; done
  format_nodes

  local all=()
  for ((i = 1; i <= NODES; i++)); do
    launch_node "$i"
    all+=("$i")
  done
  wait_nodes_ready "${all[@]}"
  [ "${TLS:-0}" != 1 ] || secure_ready
  bootstrap_list >"$DIR/bootstrap.tmp"
  mv -f "$DIR/bootstrap.tmp" "$DIR/bootstrap"
  cat "$DIR/bootstrap"
}

cmd_stop() {
  [ $# -eq 0 ] || die "unexpected arguments: $*"
  [ -f "$CONF" ] || return 0
  load_conf
  local all=() i
  for ((i = 1; i <= NODES; i++)); do all+=("$i"); done
  stop_nodes TERM "${all[@]}"
}

cmd_stop_node() {
  [ $# -eq 1 ] || die "usage: stop-node DIR I"
  load_conf
  check_node_arg "$1"
  stop_nodes TERM "$1"
}

cmd_kill_node() {
  [ $# -eq 1 ] || die "usage: kill-node DIR I"
  load_conf
  check_node_arg "$1"
  stop_nodes KILL "$1"
}

cmd_start_node() {
  [ $# -eq 1 ] || die "usage: start-node DIR I"
  check_tools
  load_conf
  check_node_arg "$1"
  [ -f "$(node_dir "$1")/data/meta.properties" ] || die "node $1 in $DIR was never formatted; use 'start'"
  libs_dir
  lock_dir
  write_node_props "$1"
  launch_node "$1"
  wait_nodes_ready "$1"
}

cmd_bootstrap() {
  [ $# -eq 0 ] || die "unexpected arguments: $*"
  load_conf
  bootstrap_list
}

cmd_status() {
  load_conf
  local i st
  for ((i = 1; i <= NODES; i++)); do
    if node_running "$i"; then st=running; else st=stopped; fi
    echo "$i $(port_of "$i") $st"
  done
}

# topic_ready PORT NAME PARTITIONS: the broker on PORT lists NAME with all
# partitions and a leader for each.
topic_ready() {
  local out
  out="$(timeout 15 kcat -L -b "127.0.0.1:$1" -t "$2" -m 5 -X log_level=0 2>/dev/null)" || return 1
  grep -qF "topic \"$2\" with $3 partitions:" <<<"$out" || return 1
  ! grep -qE 'leader -1|Broker: ' <<<"$out"
}

cmd_create_topic() {
  [ $# -ge 3 ] || die "usage: create-topic DIR NAME PARTITIONS RF [key=value...]"
  local name="$1" parts="$2" rf="$3" kv
  shift 3
  [[ "$parts" =~ ^[0-9]+$ ]] || die "PARTITIONS must be a number, got '$parts'"
  [[ "$rf" =~ ^[0-9]+$ ]] || die "RF must be a number, got '$rf'"
  check_tools
  load_conf
  libs_dir
  local args=(--bootstrap-server "$(bootstrap_list)" --create --if-not-exists
    --topic "$name" --partitions "$parts" --replication-factor "$rf")
  for kv in "$@"; do
    [[ "$kv" == *=* ]] || die "topic config must be key=value, got '$kv'"
    args+=(--config "$kv")
  done
  [ -f "$DIR/tools-log4j2.properties" ] || write_log4j
  local out
  if ! out="$(java "${TOOL_JVM_OPTS[@]}" -Dlog4j2.configurationFile="$DIR/tools-log4j2.properties" \
      -cp "$LIBS/*" org.apache.kafka.tools.TopicCommand "${args[@]}" 2>&1)"; then
    echo "$out" >&2
    die "creating topic '$name' failed"
  fi
  local deadline=$((SECONDS + 60)) i ok
  while :; do
    ok=1
    for ((i = 1; i <= NODES; i++)); do
      node_running "$i" || continue
      topic_ready "$(port_of "$i")" "$name" "$parts" || ok=0
    done
    [ "$ok" -eq 1 ] && break
    [ "$SECONDS" -lt "$deadline" ] || die "topic '$name' created but not visible with leaders on all running nodes after 60 s"
    sleep 0.3
  done
  echo "$name"
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
  case "$cmd" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    stop-node) cmd_stop_node "$@" ;;
    kill-node) cmd_kill_node "$@" ;;
    start-node) cmd_start_node "$@" ;;
    bootstrap) cmd_bootstrap "$@" ;;
    create-topic) cmd_create_topic "$@" ;;
    status) cmd_status "$@" ;;
    *) die "unknown command '$cmd' (see --help)" ;;
  esac
}

main "$@"
