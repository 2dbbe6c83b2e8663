#!/usr/bin/env bash
# Runs every fault scenario against real services and prints the evidence
# table of docs/reliability.md (rounds, rows, lost, duplicates, order
# violations, wrongly parked, takeover time).
#
#   tests/faults/run.sh            short mode (what CI runs, ~5 min)
#   tests/faults/run.sh --long     long mode: 200 kill rounds, 10 leader kills,
#                                  a 10-minute broker outage, three 60 s
#                                  partitions (~30 min)
# The partition scenario needs root and iptables (it drops packets on
# loopback to 127.0.0.2 only).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
MODE=short
case "${1:-}" in
  --long) MODE=long ;;
  "") ;;
  -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

"$ROOT/scripts/install-deps.sh"
"$ROOT/tests/kafka/fetch-kafka.sh" >/dev/null
BUILD_DIR="$("$ROOT/scripts/build.sh" | tail -n 1)"

WORK="$(mktemp -d /tmp/outboxd-faults.XXXXXX)"
chmod 755 "$WORK"  # the postgres user must reach the data dir inside
SERVICES="$WORK/services"
cleanup() { "$ROOT/tests/scripts/services.sh" stop "$SERVICES" >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$ROOT/tests/scripts/services.sh" start "$SERVICES" >/dev/null

export OUTBOXD_TEST_SERVICES_DIR="$SERVICES"
export OUTBOXD_TEST_FAULT_REPORT="$WORK/report.jsonl"
if [ "$MODE" = long ]; then
  export OUTBOXD_TEST_FAULT_ROUNDS=200 OUTBOXD_TEST_OUTAGE_SECONDS=600
fi

rc=0
for tag in crash pg-terminate fatal sigterm outage leader cluster pg-restart partition; do
  echo "== scenario [$tag]"
  if [ "$tag" = leader ] && [ "$MODE" = long ]; then
    OUTBOXD_TEST_FAULT_ROUNDS=10 "$BUILD_DIR/tests/integration/integration_tests" "[$tag]" || rc=1
  elif [ "$tag" = partition ] && [ "$MODE" = long ]; then
    OUTBOXD_TEST_FAULT_ROUNDS=3 OUTBOXD_TEST_OUTAGE_SECONDS=60 \
      "$BUILD_DIR/tests/integration/integration_tests" "[$tag]" || rc=1
  else
    "$BUILD_DIR/tests/integration/integration_tests" "[$tag]" || rc=1
  fi
done

echo
echo "| scenario | rounds | rows | lost | duplicates | order violations | wrongly parked | takeover p50 / max |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
python3 - "$OUTBOXD_TEST_FAULT_REPORT" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = "-" if r["takeover_p50_ms"] < 0 else f'{r["takeover_p50_ms"]:.0f} ms / {r["takeover_max_ms"]:.0f} ms'
    print(f'| {r["scenario"]} | {r["rounds"]} | {r["rows"]} | {r["lost"]} | {r["duplicates"]} | '
          f'{r["order_violations"]} | {r["wrongly_parked"]} | {t} |')
PY
exit "$rc"
