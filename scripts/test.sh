#!/usr/bin/env bash
# The whole test suite from a fresh Debian bookworm machine (run as root):
# installs packages, fetches the Kafka broker jars, builds with -Werror,
# then runs every test through ctest. ctest starts and stops the local
# PostgreSQL and Kafka itself (the `services` fixture).
#   scripts/test.sh --sanitize           same, under ASan/UBSan (build-asan/)
#   scripts/test.sh --tsan               ThreadSanitizer (build-tsan/): the whole suite
#                                        but the memory bound (tests/tsan/c11_threads.cc
#                                        lets TSan see librdkafka's threads)
#   scripts/test.sh --no-deploy          leave out the deploy tier (the image, systemd
#                                        and package proofs in containers: label
#                                        `deploy`) for a quicker local run; CI runs all
#   scripts/test.sh -L unit              other arguments go to ctest
# The sanitizer builds have no deploy tier: the image builds its own binary.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEPLOY=1
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) export OUTBOXD_TEST_SANITIZE=1 ;;
    --tsan) export OUTBOXD_TEST_SANITIZE=thread ;;
    --no-deploy) DEPLOY=0 ;;
    *) break ;;
  esac
  shift
done
CTEST_ARGS=()
if [ "$DEPLOY" = 1 ] && [ -z "${OUTBOXD_TEST_SANITIZE:-}" ]; then
  "$ROOT/scripts/install-deps.sh" --deploy
else
  "$ROOT/scripts/install-deps.sh"
  CTEST_ARGS=(-LE deploy)
fi
"$ROOT/tests/kafka/fetch-kafka.sh" >/dev/null
BUILD_DIR="$("$ROOT/scripts/build.sh" | tail -n 1)"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# A race report fails the process that found it (exit code 66).
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/tsan.supp}"
# The tests' configs, daemon logs and scratch brokers of the last run only.
rm -rf "$BUILD_DIR/test-scratch"
cd "$BUILD_DIR"
exec ctest --output-on-failure --timeout 900 -j2 "${CTEST_ARGS[@]}" "$@"
