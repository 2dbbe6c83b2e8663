#!/usr/bin/env bash
# Peak memory and drain rate of outboxd per row size, with the default byte
# budgets (relay.max_batch_bytes, relay.max_in_flight_bytes): one drain of a
# pre-filled backlog per size through bench/run.sh's throughput phase. Prints
# a table (size, rows, rows/s, MB/s, peak RSS), then one JSON line per size.
# Numbers only, no verdict: docs/benchmarks.md ("Memory per row size") reads
# them. Services and build as in bench/run.sh (OUTBOXD_TEST_SERVICES_DIR to
# reuse running services).
#
#   bench/memory.sh                  # 1 KB, 50 KB, 400 KB, 1 MiB
#   SIZES="409600:2000" bench/memory.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# size_in_bytes:rows; about 200 MB to 1 GB of payload each.
SIZES="${SIZES:-1024:200000 51200:20000 409600:2000 1048576:1000}"
# The topic and the producer accept messages up to 2 MiB (the issue's setup),
# so the 1 MiB rows fit with key and headers.
MAX_MESSAGE_BYTES="${MAX_MESSAGE_BYTES:-2097152}"

lines=()
for entry in $SIZES; do
  size="${entry%%:*}"
  rows="${entry##*:}"
  echo "memory.sh: $rows rows of $size B" >&2
  out="$("$ROOT/bench/run.sh" --skip-ceiling --skip-latency --repeat 1 --warmup-rows 0 \
    --rows "$rows" --payload-bytes "$size" --max-message-bytes "$MAX_MESSAGE_BYTES" "$@" | tail -n 1)"
  lines+=("$out")
done

printf '\n%-10s %8s %10s %8s %14s\n' "row size" rows "rows/s" "MB/s" "peak RSS MiB"
for l in "${lines[@]}"; do
  python3 -c '
import json, sys
j = json.loads(sys.argv[1])
c, t = j["config"], j["brokers"]["kafka"]["throughput"]
size, rows, rate = c["payload_bytes"], c["rows"], t["rows_per_s"]["median"]
label = "%d KB" % (size // 1024) if size < 1048576 else "%d MiB" % (size // 1048576)
print("%-10s %8d %10.0f %8.1f %14.1f" % (label, rows, rate, rate * size / 1e6, t["peak_rss_mib"]))
' "$l"
done
echo
for l in "${lines[@]}"; do echo "$l"; done
