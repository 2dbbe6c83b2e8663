#!/usr/bin/env bash
# The main job, for real, on a fresh Debian bookworm machine (run as root):
# installs packages, builds outboxd, starts a local PostgreSQL and Kafka on
# loopback, creates the outbox table, inserts sample orders (and one bad row),
# runs outboxd until every row has an outcome, then shows the table and the
# messages read back from Kafka. Services are stopped on exit unless
# OUTBOXD_DEMO_KEEP=1.
# With Kafka it then shows consumer confirmation: a second outbox table
# whose rows the reference consumer (examples/inventory_consumer) applies;
# outboxd moves them 0 -> 1 -> 3 from the consumer group's committed offsets,
# and an order the consumer rejects to 4 with its reason.
#   --broker rabbitmq   the same to a RabbitMQ node instead: exchange
#                       demo.orders, a durable quorum queue bound to each
#                       customer key, the messages shown with their AMQP
#                       properties (the queue is read without consuming it)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN_DIR="${OUTBOXD_DEMO_DIR:-$ROOT/run/demo}"
KEEP="${OUTBOXD_DEMO_KEEP:-0}"
# outboxd refuses OUTBOXD_* variables it does not know: not for its children.
unset OUTBOXD_DEMO_DIR OUTBOXD_DEMO_KEEP
TOPIC="demo.orders"
BROKER=kafka
while [ $# -gt 0 ]; do
  case "$1" in
    --broker) BROKER="${2:-}"; shift 2 || { echo "demo.sh: --broker needs kafka or rabbitmq" >&2; exit 2; } ;;
    --broker=*) BROKER="${1#--broker=}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown argument '$1' (--broker kafka|rabbitmq)" >&2; exit 2 ;;
  esac
done
case "$BROKER" in
  kafka|rabbitmq) ;;
  *) echo "demo.sh: --broker must be kafka or rabbitmq, not '$BROKER'" >&2; exit 2 ;;
esac

step() { printf '\n==> %s\n' "$*"; }

step "installing packages, fetching Kafka, building"
"$ROOT/scripts/install-deps.sh"
"$ROOT/tests/kafka/fetch-kafka.sh" >/dev/null
BUILD_DIR="$("$ROOT/scripts/build.sh" | tail -n 1)"
OUTBOXD="$BUILD_DIR/src/outboxd"

step "starting PostgreSQL, Kafka and RabbitMQ in $RUN_DIR"
mkdir -p "$RUN_DIR"
"$ROOT/tests/scripts/services.sh" start "$RUN_DIR/services" >/dev/null
if [ "$KEEP" != "1" ]; then
  trap '"$ROOT/tests/scripts/services.sh" stop "$RUN_DIR/services" >/dev/null 2>&1 || true' EXIT
fi
# shellcheck disable=SC1091
. "$RUN_DIR/services/env.sh"
DSN="$OUTBOXD_TEST_PG_DSN"
BOOTSTRAP="$OUTBOXD_TEST_KAFKA_BOOTSTRAP"
echo "PostgreSQL: $DSN"
MGMT="$OUTBOXD_TEST_RABBITMQ_MANAGEMENT_URL"
# The RabbitMQ management API (the demo's only RabbitMQ client): METHOD PATH [JSON].
mgmt() {
  python3 - "$MGMT" "$@" <<'PY'
import base64, json, sys, urllib.parse, urllib.request
base, method, path = sys.argv[1], sys.argv[2], sys.argv[3]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
u = urllib.parse.urlsplit(base)
req = urllib.request.Request(f"{u.scheme}://{u.hostname}:{u.port}{path}", data=body, method=method)
req.add_header("Authorization", "Basic " + base64.b64encode(f"{u.username}:{u.password}".encode()).decode())
req.add_header("Content-Type", "application/json")
with urllib.request.urlopen(req, timeout=10) as r:
    sys.stdout.write(r.read().decode())
PY
}
if [ "$BROKER" = kafka ]; then
  echo "Kafka:      $BOOTSTRAP"
  "$ROOT/tests/scripts/kafka.sh" create-topic "$RUN_DIR/services/kafka" "$TOPIC" 3 1 >/dev/null
  BROKER_YAML="kafka:
  bootstrap_servers: \"$BOOTSTRAP\""
else
  echo "RabbitMQ:   ${OUTBOXD_TEST_RABBITMQ_URL/guest:guest@/guest:*****@}"
  # What an operator declares once: a durable exchange, a durable quorum
  # queue, one binding per routing key (the rows' msg_key).
  mgmt PUT "/api/exchanges/%2f/$TOPIC" '{"type":"direct","durable":true}' >/dev/null
  mgmt DELETE "/api/queues/%2f/$TOPIC" >/dev/null 2>&1 || true # a fresh queue per run
  mgmt PUT "/api/queues/%2f/$TOPIC" '{"durable":true,"arguments":{"x-queue-type":"quorum"}}' >/dev/null
  for c in 0 1 2 3; do
    mgmt POST "/api/bindings/%2f/e/$TOPIC/q/$TOPIC" "{\"routing_key\":\"customer-$c\"}" >/dev/null
  done
  BROKER_YAML="broker: rabbitmq
rabbitmq:
  url: \"$OUTBOXD_TEST_RABBITMQ_URL\"
  management_url: \"$MGMT\"
  audit_exchanges: [$TOPIC]
  require_durable: true"
fi
# A free loopback port for the HTTP endpoint (/metrics, /healthz, /readyz).
HTTP_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

cat >"$RUN_DIR/outboxd.yaml" <<YAML
postgres:
  dsn: "$DSN"
  table: public.outbox
  notify_channel: outbox
$BROKER_YAML
relay:
  batch_size: 500
  poll_interval_ms: 1000
  max_attempts: 3
  retry_backoff_initial_ms: 500
  retry_backoff_max_ms: 2000
log:
  level: info
  format: text
http:
  listen: "127.0.0.1:$HTTP_PORT"
  stats_interval_ms: 500
YAML

step "outboxd migrate"
"$OUTBOXD" migrate --config "$RUN_DIR/outboxd.yaml"
psql -q "$DSN" -c "TRUNCATE outbox RESTART IDENTITY"

step "inserting 20 orders (business change + outbox row in one transaction each) and one bad row"
psql -q "$DSN" <<'SQL'
CREATE TABLE IF NOT EXISTS orders (id bigserial PRIMARY KEY, customer text, amount_cents bigint);
DO $$
BEGIN
  FOR i IN 1..20 LOOP
    -- In an application each of these is its own transaction.
    WITH o AS (
      INSERT INTO orders (customer, amount_cents) VALUES ('customer-' || (i % 4), i * 1250)
      RETURNING id, customer, amount_cents)
    INSERT INTO outbox (topic, msg_key, payload, headers)
    SELECT 'demo.orders', o.customer,
           convert_to(json_build_object('order_id', o.id, 'amount_cents', o.amount_cents)::text, 'UTF8'),
           jsonb_build_object('event-type', 'order.created')
    FROM o;
  END LOOP;
END $$;
-- A row outboxd cannot encode: headers must be an object of strings.
INSERT INTO outbox (topic, msg_key, payload, headers)
VALUES ('demo.orders', 'customer-bad', 'x', '["not", "an", "object"]');
SQL

step "running outboxd until every row has an outcome"
"$OUTBOXD" run --config "$RUN_DIR/outboxd.yaml" 2>"$RUN_DIR/outboxd.log" &
PID=$!
for _ in $(seq 1 120); do
  pending="$(psql -tA "$DSN" -c "SELECT count(*) FROM outbox WHERE status = 0")"
  [ "$pending" = "0" ] && break
  sleep 0.5
done
sleep 1 # one more health refresh, so the gauges show the final state

step "what an operator sees while it runs: /readyz and the main metrics (http://127.0.0.1:$HTTP_PORT)"
"$OUTBOXD" healthcheck --config "$RUN_DIR/outboxd.yaml" --path /readyz || true
"$OUTBOXD" healthcheck --config "$RUN_DIR/outboxd.yaml" --path /metrics \
  | grep -E '^outboxd_(rows_sent_total|rows_failed_total|rows_parked_total|pending_rows|parked_rows|leader|relay_latency_seconds_(count|sum)) ' || true

step "outboxd status, outboxd failed"
"$OUTBOXD" status --config "$RUN_DIR/outboxd.yaml"
"$OUTBOXD" failed --config "$RUN_DIR/outboxd.yaml"

kill -TERM "$PID"
wait "$PID" && echo "outboxd exited 0 after SIGTERM"
sed 's/^/  log: /' "$RUN_DIR/outboxd.log" | tail -n 15

step "the outbox table: 20 rows at status 1 (sent), the bad row parked at 2"
psql "$DSN" -c "SELECT id, topic, msg_key, status, attempts, to_char(sent_at, 'HH24:MI:SS.MS') AS sent_at, last_error FROM outbox ORDER BY id"

if [ "$BROKER" = kafka ]; then
  step "the same messages read back from Kafka topic $TOPIC"
  kcat -C -b "$BOOTSTRAP" -t "$TOPIC" -e -q -f 'partition=%p offset=%o key=%k headers=%h value=%s\n' | sort -t= -k4,4n
  in_broker="$(kcat -C -b "$BOOTSTRAP" -t "$TOPIC" -e -q -f '%o\n' | wc -l)"
else
  step "the same messages in RabbitMQ quorum queue $TOPIC (looked at and requeued)"
  mgmt POST "/api/queues/%2f/$TOPIC/get" '{"count":100,"ackmode":"ack_requeue_true","encoding":"auto"}' \
    >"$RUN_DIR/messages.json"
  python3 - "$RUN_DIR/messages.json" <<'PY'
import json, sys
for m in json.load(open(sys.argv[1])):
    p = m["properties"]
    print(f"routing_key={m['routing_key']} message_id={p.get('message_id')} "
          f"delivery_mode={p.get('delivery_mode')} headers={p.get('headers')} body={m['payload']}")
PY
  in_broker="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$RUN_DIR/messages.json")"
fi

sent="$(psql -tA "$DSN" -c "SELECT count(*) FROM outbox WHERE status = 1")"
parked="$(psql -tA "$DSN" -c "SELECT count(*) FROM outbox WHERE status = 2")"
echo
echo "result: $sent rows sent, $in_broker messages in $BROKER, $parked row parked for review"
[ "$sent" = "20" ] && [ "$in_broker" = "20" ] && [ "$parked" = "1" ]
[ "$BROKER" = kafka ] || exit 0

step "consumer confirmation: the inventory service's outbox, confirmed by its consumer group"
CONSUMER="$BUILD_DIR/examples/inventory_consumer/outboxd-inventory-consumer"
for t in demo.inventory:3 demo.acks:1; do
  "$ROOT/tests/scripts/kafka.sh" create-topic "$RUN_DIR/services/kafka" "${t%:*}" "${t#*:}" 1 >/dev/null
done
cat >"$RUN_DIR/confirm.yaml" <<YAML
postgres:
  dsn: "$DSN"
  table: public.inventory_outbox
  notify_channel: inventory_outbox
kafka:
  bootstrap_servers: "$BOOTSTRAP"
confirm:
  consumers: [demo-inventory]   # the consumer group whose commits confirm rows
  ack_topic: demo.acks          # where it reports rows it cannot process
  interval_ms: 300
log:
  level: info
  format: text
http:
  listen: ""
YAML
"$OUTBOXD" migrate --config "$RUN_DIR/confirm.yaml"
psql -q "$DSN" <<'SQL'
TRUNCATE inventory_outbox RESTART IDENTITY;
INSERT INTO inventory_outbox (topic, msg_key, payload)
SELECT 'demo.inventory', sku, convert_to(json_build_object('sku', sku, 'qty', qty)::text, 'UTF8')
FROM (VALUES ('A-1', 3), ('B-2', 1), ('A-1', 2), ('C-3', 5), ('B-2', 4), ('C-3', 0)) AS o(sku, qty);
SQL
echo "6 orders at status 0; the last one (qty 0) is one the consumer will refuse"
"$OUTBOXD" run --config "$RUN_DIR/confirm.yaml" 2>"$RUN_DIR/confirm-outboxd.log" &
CPID=$!
for _ in $(seq 1 60); do
  [ "$(psql -tA "$DSN" -c "SELECT count(*) FROM inventory_outbox WHERE status = 0")" = "0" ] && break
  sleep 0.5
done
step "sent (1): Kafka acknowledged them; no consumer has confirmed them yet"
psql "$DSN" -c "SELECT id, msg_key, status, kafka_partition AS partition, kafka_offset AS offset, confirmed_by FROM inventory_outbox ORDER BY id"
"$CONSUMER" --bootstrap "$BOOTSTRAP" --group demo-inventory --topic demo.inventory \
  --ack-topic demo.acks --dsn "$DSN" --schema demo_inventory 2>"$RUN_DIR/consumer.log" &
CONSUMER_PID=$!
for _ in $(seq 1 120); do
  done_rows="$(psql -tA "$DSN" -c "SELECT count(*) FROM inventory_outbox WHERE status IN (3, 4)")"
  [ "$done_rows" = "6" ] && break
  sleep 0.5
done
kill -TERM "$CONSUMER_PID" "$CPID"
wait "$CONSUMER_PID" || true
wait "$CPID" || true
sed 's/^/  consumer: /' "$RUN_DIR/consumer.log" | tail -n 4
step "consumed (3) once the group committed past them; the refused order at 4 with the consumer's reason"
psql "$DSN" -c "SELECT id, msg_key, status, confirmed_by, last_error FROM inventory_outbox ORDER BY id"
psql "$DSN" -c "SELECT sku, reserved FROM demo_inventory.inventory ORDER BY sku"
"$OUTBOXD" status --config "$RUN_DIR/confirm.yaml"
"$OUTBOXD" failed --config "$RUN_DIR/confirm.yaml"
consumed="$(psql -tA "$DSN" -c "SELECT count(*) FROM inventory_outbox WHERE status = 3")"
refused="$(psql -tA "$DSN" -c "SELECT count(*) FROM inventory_outbox WHERE status = 4")"
echo
echo "result: $consumed rows consumed (status 3), $refused refused by the consumer (status 4)"
[ "$consumed" = "5" ] && [ "$refused" = "1" ]
