#!/usr/bin/env bash
# Configures and builds outboxd into BUILD_DIR (default build/).
#   OUTBOXD_TEST_SANITIZE=1  AddressSanitizer + UndefinedBehaviorSanitizer build (default dir build-asan/)
#   OUTBOXD_TEST_SANITIZE=thread  ThreadSanitizer build (default dir build-tsan/)
#   (OUTBOXD_TEST_*: the daemon rejects other unknown OUTBOXD_* variables, and
#   the tests' daemons inherit this environment.)
#   BUILD_TYPE=...      CMake build type (default RelWithDebInfo)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SANITIZE="${OUTBOXD_TEST_SANITIZE:-0}"
if [ "$SANITIZE" = "1" ]; then
  BUILD_DIR="${BUILD_DIR:-$ROOT/build-asan}"
elif [ "$SANITIZE" = "thread" ]; then
  BUILD_DIR="${BUILD_DIR:-$ROOT/build-tsan}"
else
  BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
fi
BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DOUTBOXD_SANITIZE="$([ "$SANITIZE" = "1" ] && echo ON || echo OFF)" \
  -DOUTBOXD_TSAN="$([ "$SANITIZE" = "thread" ] && echo ON || echo OFF)" >/dev/null
# Compiler output to stderr: callers read the directory from stdout
# (test.sh: `build.sh | tail -n 1`), and a failed build must still show why.
cmake --build "$BUILD_DIR" -- -j"$(nproc)" >&2
echo "$BUILD_DIR"
