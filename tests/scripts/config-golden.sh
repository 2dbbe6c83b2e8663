#!/usr/bin/env bash
# Runs `BINARY check --config FILE --config-only` on the golden config files.
#   DIR/valid/*.yaml     must exit 0
#   DIR/invalid/*.yaml   must exit non-zero, and stderr must contain every line
#                        of the matching .expected file (whole lines, any order)
# Usage: config-golden.sh BINARY DIR
set -uo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 BINARY DIR" >&2
  exit 64
fi
binary=$1
dir=$2

# The files alone must decide the outcome: an OUTBOXD_* variable inherited
# from the caller would override keys or be reported as a problem.
while IFS= read -r name; do
  unset "$name"
done < <(compgen -e | grep '^OUTBOXD_' || true)

pass=0
fail=0
err=$(mktemp)
trap 'rm -f "$err"' EXIT

report() {  # report PASS|FAIL FILE [REASON]
  if [ "$1" = PASS ]; then
    pass=$((pass + 1))
    echo "PASS $2"
  else
    fail=$((fail + 1))
    echo "FAIL $2: $3"
  fi
}

shopt -s nullglob
valid=("$dir"/valid/*.yaml)
invalid=("$dir"/invalid/*.yaml)
if [ "${#valid[@]}" -eq 0 ] || [ "${#invalid[@]}" -eq 0 ]; then
  echo "config-golden: no golden files under $dir/valid or $dir/invalid" >&2
  exit 1
fi

for file in "${valid[@]}"; do
  "$binary" check --config "$file" --config-only >/dev/null 2>"$err"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    report PASS "$file"
  else
    report FAIL "$file" "exit $rc, expected 0; stderr:"
    sed 's/^/    /' "$err"
  fi
done

for file in "${invalid[@]}"; do
  expected=${file%.yaml}.expected
  if [ ! -f "$expected" ]; then
    report FAIL "$file" "missing $expected"
    continue
  fi
  "$binary" check --config "$file" --config-only >/dev/null 2>"$err"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    report FAIL "$file" "exit 0, expected non-zero"
    continue
  fi
  missing=()
  while IFS= read -r line || [ -n "$line" ]; do
    [ -z "$line" ] && continue
    grep -qxF -- "$line" "$err" || missing+=("$line")
  done <"$expected"
  if [ "${#missing[@]}" -eq 0 ]; then
    report PASS "$file"
  else
    report FAIL "$file" "exit $rc; stderr lacks ${#missing[@]} expected line(s):"
    printf '    want: %s\n' "${missing[@]}"
    sed 's/^/    got:  /' "$err"
  fi
done

echo "config-golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
