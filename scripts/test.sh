#!/usr/bin/env bash
# The whole test suite from a fresh Debian bookworm machine (run as root):
# installs packages, fetches the Kafka broker jars, builds with -Werror,
# then runs every test through ctest. ctest starts and stops the local
# PostgreSQL and Kafka itself (the `services` fixture).
#   scripts/test.sh --sanitize           same, under ASan/UBSan (build-asan/)
#   scripts/test.sh --tsan               ThreadSanitizer (build-tsan/): the unit, net
#                                        and config tiers only (see below)
#   scripts/test.sh -L unit              other arguments go to ctest
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${1:-}" = "--sanitize" ]; then
  export OUTBOXD_TEST_SANITIZE=1
  shift
elif [ "${1:-}" = "--tsan" ]; then
  export OUTBOXD_TEST_SANITIZE=thread
  shift
fi

"$ROOT/scripts/install-deps.sh"
"$ROOT/tests/kafka/fetch-kafka.sh" >/dev/null
BUILD_DIR="$("$ROOT/scripts/build.sh" | tail -n 1)"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# A race report fails the process that found it (exit code 66).
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/tsan.supp}"
cd "$BUILD_DIR"
if [ "${OUTBOXD_TEST_SANITIZE:-}" = "thread" ]; then
  # Debian's librdkafka starts its threads with C11 thrd_create, which GCC's
  # ThreadSanitizer does not intercept: the first allocation on such a thread
  # crashes the process. So under TSan only the tiers that never load
  # librdkafka run: unit, net (the shared Metrics/HealthState and the HTTP
  # thread, tests/net/shared_state_test.cc) and config.
  exec ctest --output-on-failure --timeout 900 -j2 -L 'unit|net|config' "$@"
fi
exec ctest --output-on-failure --timeout 900 -j2 "$@"
