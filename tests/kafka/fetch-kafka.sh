#!/usr/bin/env bash
# Collects the Apache Kafka broker/tool jars (and a Log4j2 binding) listed in
# tests/kafka/pom.xml into tests/kafka/target/libs and prints that directory.
#
# Cached: the Maven run is skipped when target/libs carries a stamp that
# matches the pom's checksum. Maven's local repository (~/.m2) caches the
# downloads themselves. Safe to run concurrently (flock).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/kafka/fetch-kafka.sh [--force] [--help]

Runs `mvn -q -B package` on tests/kafka/pom.xml once (skipped when
target/libs is complete for the current pom) and prints the absolute path of
the libs directory (for `java -cp 'LIBS/*'`) on stdout. Maven's own output
goes to stderr.

  --force   rebuild target/libs even if the stamp matches
EOF
}

force=0
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --force) force=1 ;;
    *) echo "fetch-kafka: unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pom="$here/pom.xml"
target="$here/target"
libs="$target/libs"
stamp="$libs/.outboxd-stamp"

[ -f "$pom" ] || { echo "fetch-kafka: $pom not found" >&2; exit 1; }

pom_sum="$(sha256sum "$pom" | cut -d' ' -f1)"

libs_complete() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pom_sum" ] || return 1
  compgen -G "$libs/kafka_2.13-*.jar" >/dev/null &&
    compgen -G "$libs/kafka-tools-[0-9]*.jar" >/dev/null &&
    compgen -G "$libs/log4j-core-*.jar" >/dev/null
}

if [ "$force" -eq 0 ] && libs_complete; then
  echo "$libs"
  exit 0
fi

for tool in mvn java; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "fetch-kafka: '$tool' not found; run scripts/install-deps.sh first" >&2
    exit 1
  }
done

mkdir -p "$target"
exec 9>"$target/.fetch.lock"
flock 9
# Another process may have finished the job while we waited for the lock.
if [ "$force" -eq 0 ] && libs_complete; then
  echo "$libs"
  exit 0
fi

echo "fetch-kafka: collecting Kafka jars with Maven (first run downloads them)..." >&2
# copy-dependencies never deletes stale jars: start from an empty directory so
# that a pom change (e.g. another binding) cannot leave two bindings behind.
rm -rf "$libs"
mvn_log="$target/mvn.log"
if ! (cd "$here" && mvn -q -B -f "$pom" package) >"$mvn_log" 2>&1; then
  # Strip the ANSI colour codes that Maven's jansi emits even with -B.
  sed 's/\x1b\[[0-9;]*m//g' "$mvn_log" >&2
  echo "fetch-kafka: 'mvn -q -B package' failed in $here (is the Maven repository reachable through mvn?); log: $mvn_log" >&2
  exit 1
fi
[ -d "$libs" ] || { echo "fetch-kafka: Maven succeeded but $libs is missing" >&2; exit 1; }
echo "$pom_sum" >"$stamp"
libs_complete || { echo "fetch-kafka: $libs lacks kafka_2.13, kafka-tools or log4j-core jars" >&2; exit 1; }
echo "$libs"
