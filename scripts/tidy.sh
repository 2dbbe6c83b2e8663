#!/usr/bin/env bash
# clang-tidy (Debian's clang-tidy 14, config in .clang-tidy) over every
# translation unit under src/, using the compile commands of a build
# directory. Prints each finding; exits 1 if there is any, so a new warning
# fails the `tidy` ctest entry.
#   scripts/tidy.sh [--self-test] [BUILD_DIR]        default: build/
# --self-test first proves the configuration catches a finding (a
# use-after-move in a scratch file), so a config that silently checks
# nothing fails too.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SELF_TEST=0
if [ "${1:-}" = "--self-test" ]; then
  SELF_TEST=1
  shift
fi
BUILD_DIR="${1:-$ROOT/build}"
RUN_TIDY="$(command -v run-clang-tidy-14 || command -v run-clang-tidy || true)"
TIDY="$(command -v clang-tidy-14 || command -v clang-tidy || true)"
if [ -z "$RUN_TIDY" ] || [ -z "$TIDY" ]; then
  echo "tidy.sh: clang-tidy not found: apt-get install clang-tidy (scripts/install-deps.sh does)" >&2
  exit 2
fi
OUT="$(mktemp)"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$OUT" "$SCRATCH"' EXIT
if [ "$SELF_TEST" = 1 ]; then
  cat >"$SCRATCH/moved.cc" <<'CC'
#include <string>
#include <utility>
std::size_t moved_twice(std::string s) {
    std::string t = std::move(s);
    return s.size() + t.size();
}
CC
  if "$TIDY" --quiet --config-file="$ROOT/.clang-tidy" "$SCRATCH/moved.cc" -- -std=c++17 \
      >"$OUT" 2>&1 || ! grep -q 'bugprone-use-after-move' "$OUT"; then
    cat "$OUT"
    echo "tidy.sh: self-test failed: a use-after-move was not reported as an error" >&2
    exit 1
  fi
fi
if [ ! -f "$BUILD_DIR/compile_commands.json" ]; then
  echo "tidy.sh: $BUILD_DIR/compile_commands.json missing: configure with scripts/build.sh first" >&2
  exit 2
fi
# GCC-only warning flags in the compile commands are unknown to clang.
"$RUN_TIDY" -p "$BUILD_DIR" -quiet -j "$(nproc)" \
  -extra-arg=-Wno-unknown-warning-option "$ROOT/src/" >"$OUT" 2>&1 || true
# One line per finding (a header's finding repeats once per file including it).
FINDINGS="$(sed -E 's/\x1b\[[0-9;]*m//g' "$OUT" | grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' | sort -u || true)"
FILES="$(grep -c '^clang-tidy' "$OUT" || true)"
if [ -n "$FINDINGS" ]; then
  echo "$FINDINGS"
  echo "tidy.sh: $(echo "$FINDINGS" | wc -l) finding(s) in src/ ($FILES files checked)"
  exit 1
fi
if grep -qE 'error:|Error while processing' "$OUT"; then
  sed -E 's/\x1b\[[0-9;]*m//g' "$OUT" | grep -E 'error' | head -20
  echo "tidy.sh: clang-tidy failed" >&2
  exit 1
fi
echo "tidy.sh: clean ($FILES files checked)"
