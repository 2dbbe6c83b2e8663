# Sourced by bench/peers/debezium.sh and debezium-golden.sh: collects the
# Kafka Connect and Debezium jars pinned in bench/peers/pom.xml into
# bench/peers/target/libs with Maven, once per version of the pom (a stamp
# holds its checksum). Sets DEBEZIUM_LIBS; returns non-zero with the reason
# on stderr when Maven fails.
# shellcheck shell=bash

collect_debezium_jars() {
  local here="$1" prog="$2"
  local libs="$here/target/libs"
  local stamp="$libs/.outboxd-stamp"
  local pom_sum
  pom_sum="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$pom_sum" ]; then
    echo "$prog: collecting Kafka Connect and Debezium jars with Maven..." >&2
    rm -rf "$libs"
    mkdir -p "$here/target"
    if ! (cd "$here" && mvn -q -B package) >"$here/target/mvn.log" 2>&1; then
      sed 's/\x1b\[[0-9;]*m//g' "$here/target/mvn.log" >&2
      echo "$prog: 'mvn -q -B package' failed in $here" >&2
      return 1
    fi
    if ! compgen -G "$libs/debezium-connector-postgres-*.jar" >/dev/null; then
      echo "$prog: no Debezium connector jar in $libs" >&2
      return 1
    fi
    echo "$pom_sum" >"$stamp"
  fi
  # shellcheck disable=SC2034 # read by the sourcing script
  DEBEZIUM_LIBS="$libs"
}
