#!/usr/bin/env bash
# systemd-analyze verify on deploy/systemd/outboxd.service, with the binary
# path pointed at the freshly built outboxd (verify checks that it exists).
set -euo pipefail
BINARY="$1"
UNIT="$2"
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/local/bin/outboxd|$BINARY|g" "$UNIT" >"$tmp/outboxd.service"
out="$(systemd-analyze verify "$tmp/outboxd.service" 2>&1)" || { echo "$out" >&2; exit 1; }
# verify exits 0 on some warnings; any line about our unit is a problem.
if grep -q "outboxd.service" <<<"$out"; then
  echo "$out" >&2
  exit 1
fi
echo "outboxd.service: verified"
