# Helpers shared by tests/scripts/*.sh. Sourced, not executed.
# shellcheck shell=bash

# die MSG...: print "<prog>: MSG" to stderr and exit 1.
die() {
  echo "${PROG:-${0##*/}}: $*" >&2
  exit 1
}

# warn MSG...: print "<prog>: MSG" to stderr.
warn() {
  echo "${PROG:-${0##*/}}: $*" >&2
}

# abs_path PATH: absolute form of PATH (need not exist yet).
abs_path() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "$1" ;;
  esac
}

# port_in_use PORT: true if any TCP socket on this host uses local port PORT
# (used when choosing a new port: be conservative).
port_in_use() {
  local port="$1"
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ]
  else
    # Fallback without iproute2: only detects listeners.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# port_listening PORT: true if something listens on TCP port PORT. (Sockets
# in TIME-WAIT etc. do not stop a server that binds with SO_REUSEADDR, as
# PostgreSQL and Kafka do, from reusing its port after a crash.)
port_listening() {
  local port="$1"
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htln "( sport = :$port )" 2>/dev/null)" ]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# free_port [EXCLUDED_PORT...]: print a TCP port that nothing uses now,
# below the kernel's ephemeral range (so outgoing connections cannot grab it
# between our choice and the server's bind), not among the excluded ones.
free_port() {
  local lo=15000 hi eph_lo port tries ex used
  eph_lo="$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
  hi=$((eph_lo - 1))
  [ "$hi" -gt "$lo" ] || { lo=10000; hi=65000; }
  for ((tries = 0; tries < 200; tries++)); do
    port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    used=0
    for ex in "$@"; do
      [ "$ex" = "$port" ] && used=1
    done
    [ "$used" -eq 0 ] || continue
    port_in_use "$port" && continue
    echo "$port"
    return 0
  done
  die "no free TCP port found"
}

# pid_alive PID: true if PID exists and is not a zombie.
pid_alive() {
  local pid="$1" state
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
  [ "$state" != "Z" ]
}

# Shell code for `bash -c "$CLOSE_FDS_EXEC" _ CMD ARGS...`: closes every
# inherited file descriptor above 2, then execs CMD. Servers started this way
# do not hold on to a caller's pipes (a `$(...)`, a test runner's output
# pipe, a flock), which would otherwise never see EOF / never be released.
# shellcheck disable=SC2016,SC2034
CLOSE_FDS_EXEC='for f in /proc/$$/fd/*; do f=${f##*/}; case $f in 0|1|2) ;; *) eval "exec $f>&-" ;; esac; done 2>/dev/null; exec "$@"'
