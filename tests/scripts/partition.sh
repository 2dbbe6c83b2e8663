#!/usr/bin/env bash
# Network partitions between outboxd and PostgreSQL, on loopback only.
# The test PostgreSQL also listens on 127.0.0.2; a relay pointed at that
# address can be cut off by dropping its packets (no RST: what a vanished
# host or a dead switch looks like) while everything on 127.0.0.1 (Kafka,
# the other relays, the test's own sessions) keeps working.
#   partition.sh cut PORT    drop TCP to and from 127.0.0.2:PORT
#   partition.sh heal [PORT] remove the rules (all of this script's rules
#                            without PORT); idempotent
#   partition.sh check       exit 0 if iptables can add and remove a rule here
# Needs root and iptables (scripts/install-deps.sh installs it).
set -euo pipefail
TAG="outboxd-test-partition"
ADDR="127.0.0.2"

die() { echo "partition: $*" >&2; exit 1; }
command -v iptables >/dev/null || die "iptables not installed (scripts/install-deps.sh installs it)"

rules() { # the two rules for PORT, as iptables arguments after -I/-D INPUT
  local port="$1"
  echo "-i lo -d $ADDR -p tcp --dport $port -m comment --comment $TAG -j DROP"
  echo "-i lo -s $ADDR -p tcp --sport $port -m comment --comment $TAG -j DROP"
}

heal_all() {
  # iptables -S prints each rule as "-A INPUT ..."; delete ours one by one.
  local line
  while line="$(iptables -S INPUT | grep -m1 -- "--comment $TAG")"; do
    # shellcheck disable=SC2086
    iptables -D ${line#-A } || die "cannot delete rule: $line"
  done
}

case "${1:-}" in
  cut)
    port="${2:?usage: partition.sh cut PORT}"
    while read -r r; do
      # shellcheck disable=SC2086
      iptables -I INPUT $r || { heal_all; die "cannot add rule: $r"; }
    done < <(rules "$port")
    ;;
  heal)
    if [ -n "${2:-}" ]; then
      while read -r r; do
        # shellcheck disable=SC2086
        while iptables -C INPUT $r 2>/dev/null; do iptables -D INPUT $r; done
      done < <(rules "$2")
    else
      heal_all
    fi
    ;;
  check)
    "$0" cut 9 && "$0" heal 9
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
