#!/usr/bin/env bash
# Drain rate and memory of outboxd as the work grows: one drain of a
# pre-filled backlog per point through bench/run.sh's throughput phase,
# first by backlog (rows of 1 KB), then by row size. Per point: rows/s,
# MB/s, microseconds per row, peak RSS and peak anonymous memory. Then the
# pending index after the largest drain: its size and the time of the
# relay's fetch, before and after VACUUM (dead index entries left by the
# drain). Numbers only; docs/benchmarks.md ("Scaling with the work") reads
# them. Services and build as in bench/run.sh (OUTBOXD_TEST_SERVICES_DIR to
# reuse running services).
#
#   bench/scaling.sh
#   BACKLOGS="10000 100000" SIZES="100:200000" bench/scaling.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BACKLOGS="${BACKLOGS:-10000 100000 1000000 5000000}"
# size_in_bytes:rows
SIZES="${SIZES:-100:200000 1024:200000 10240:50000 102400:5000}"

point() { # rows payload_bytes [more bench flags]
  local rows="$1" size="$2"
  shift 2
  echo "scaling.sh: $rows rows of $size B" >&2
  "$ROOT/bench/run.sh" --skip-ceiling --skip-latency --skip-publish-ceiling --repeat 1 \
    --warmup-rows 0 --rows "$rows" --payload-bytes "$size" "$@" | tail -n 1
}

lines=()
for rows in $BACKLOGS; do
  lines+=("$(point "$rows" 1024)")
done
for entry in $SIZES; do
  lines+=("$(point "${entry##*:}" "${entry%%:*}" --max-message-bytes 2097152)")
done

printf '\n%-10s %9s %10s %8s %8s %10s %10s\n' "row size" rows "rows/s" "MB/s" "us/row" \
  "RSS MiB" "anon MiB"
for l in "${lines[@]}"; do
  python3 -c '
import json, sys
j = json.loads(sys.argv[1])
c, t = j["config"], j["brokers"]["kafka"]["throughput"]
size, rows, rate = c["payload_bytes"], c["rows"], t["rows_per_s"]["median"]
label = "%d B" % size if size < 1024 else "%d KB" % (size // 1024)
print("%-10s %9d %10.0f %8.1f %8.1f %10.1f %10.1f" % (label, rows, rate, rate * size / 1e6,
      1e6 / rate, t["peak_rss_mib"], t.get("peak_anon_mib", 0)))
' "$l"
done
echo
for l in "${lines[@]}"; do echo "$l"; done
