#!/usr/bin/env bash
# The deployment proofs, run for real with podman (no Docker engine needed):
# the container image built from ./Dockerfile and run against the test
# services, and deploy/systemd/outboxd.service under a real systemd booted
# as PID 1 in a container. Slow (base images, an in-container build) and
# needs podman, so it is not part of scripts/test.sh. Run as root from a
# fresh Debian bookworm machine; see docs/testing.md and docs/deployment.md.
#   scripts/test-deploy.sh            every proof
#   scripts/test-deploy.sh image      the image proofs only
#   scripts/test-deploy.sh systemd    the systemd proofs only
#   scripts/test-deploy.sh package    the Debian package under systemd only
# Prints PASS/FAIL per proof and a summary; exits 1 if any proof failed,
# 77 (a skip) when the host cannot run them (not root, no podman).
# Environment: OUTBOXD_TEST_DEPLOY_DIR (default build/deploy: services, logs),
# OUTBOXD_TEST_DEPLOY_CACHE (default ~/.cache/outboxd/deploy: the base images
# made by mmdebstrap, kept between runs), OUTBOXD_TEST_DEPLOY_KEEP=1 keeps
# containers for inspection. The suite (tests/CMakeLists.txt, label
# `deploy`) also sets OUTBOXD_TEST_DEPLOY_BINARY (the build's outboxd: nothing is
# built or installed here) and OUTBOXD_TEST_DEPLOY_SERVICES (the suite's running
# services: none are started or stopped here).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PROG=test-deploy.sh
WHAT="${1:-all}"
case "$WHAT" in
  all | image | systemd | package) ;;
  -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "$PROG: unknown argument '$WHAT' (all, image, systemd or package)" >&2; exit 2 ;;
esac
# 77: ctest's SKIP_RETURN_CODE for the deploy tests.
[ "$(id -u)" -eq 0 ] || { echo "$PROG: SKIP: needs root (podman, systemd in a container)" >&2; exit 77; }

WORK="${OUTBOXD_TEST_DEPLOY_DIR:-$ROOT/build/deploy}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
CACHE="${OUTBOXD_TEST_DEPLOY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outboxd/deploy}"
mkdir -p "$CACHE"
SVC="${OUTBOXD_TEST_DEPLOY_SERVICES:-$WORK/services}"
LOG="$WORK/logs"
mkdir -p "$LOG"
# Figures of this run only: a file left by an earlier run would be reported
# as this run's, and a stale package-size would let the package proofs run
# after a failed build.
rm -f "$WORK/image-size" "$WORK/package-size" "$WORK/systemd-security-score"
# crun fails on this kind of host (hybrid cgroups, rlimits it may not
# raise); runc with cgroupfs works. --format docker keeps the HEALTHCHECK,
# which OCI image configs cannot carry.
PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)
# (Without systemd on the host podman logs that it cannot add timers for
# the HEALTHCHECK; `podman healthcheck run` below runs it on demand.)
RUN_FLAGS=(--network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
IMAGE=localhost/outboxd:deploy-test
SD_IMAGE=localhost/outboxd-systemd-base:bookworm
# What the issue asked for and the docs promise.
MAX_IMAGE_BYTES=120000000
# Rows inserted just before a stop: enough that some are still moving.
STOP_ROWS="${OUTBOXD_TEST_DEPLOY_STOP_ROWS:-200000}"

# ---------------------------------------------------------------- helpers

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
RESULTS=()
FAILED=0
# proof NAME FUNCTION: runs FUNCTION, records PASS/FAIL; its output goes to
# LOG/NAME.log and, on failure, its last lines to the terminal.
proof() {
  local name="$1" fn="$2" t0=$SECONDS rc=0
  say "proof $name ..."
  # A subshell in the background: `set -e` holds inside it (it would not
  # in an `||` list), and fail's exit ends only this proof.
  # The subshell must not run the script's EXIT trap (it stops the services).
  (trap - EXIT; "$fn") >"$LOG/$name.log" 2>&1 &
  wait "$!" || rc=$?
  if [ "$rc" -eq 0 ]; then
    RESULTS+=("PASS  $name ($((SECONDS - t0)) s)")
  else
    FAILED=1
    local why
    why="$(grep '^FAIL:' "$LOG/$name.log" | tail -n 1 | cut -c7- || true)"
    [ -n "$why" ] || why="a command failed (exit $rc): $(grep -v '^time=' "$LOG/$name.log" | tail -n 1 || true)"
    RESULTS+=("FAIL  $name ($((SECONDS - t0)) s): $why [log: $LOG/$name.log]")
    tail -n 15 "$LOG/$name.log" | sed 's/^/    /' >&2
  fi
}
# Inside a proof: fail WHY (ends the proof), note WHAT (kept in the log).
fail() { echo "FAIL: $*"; exit 1; }
note() { echo "NOTE: $*"; }

psql_owner() { psql "$OUTBOXD_TEST_PG_DSN" -Atqc "$1"; }

free_port() {
  # shellcheck source=tests/scripts/common.sh
  (PROG=$PROG; . "$ROOT/tests/scripts/common.sh"; free_port)
}

# outbox_ids TOPIC: the outbox-id header of every message in TOPIC, one a line.
outbox_ids() {
  kcat -C -b "$OUTBOXD_TEST_KAFKA_BOOTSTRAP" -t "$1" -o beginning -e -q -f '%h\n' 2>/dev/null |
    tr ',' '\n' | sed -n 's/^outbox-id=//p'
}

# wait_for SECONDS CMD...: polls CMD every 0.5 s.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# Names and ports fixed up front: each proof runs in its own subshell.
IMG_C="outboxd-deploy-$$"
IMG_TABLE="deploy_img_$$"
IMG_TOPIC="deploy.img.$$"
SD_C="outboxd-systemd-$$"
SD_TABLE="deploy_sd_$$"
SD_TOPIC="deploy.sd.$$"
PKG_C="outboxd-package-$$"
PKG_TABLE="deploy_pkg_$$"
PKG_TOPIC="deploy.pkg.$$"
SECRET="sdSECRET${$}x$RANDOM$RANDOM"
cleanup() {
  local c
  if [ "${OUTBOXD_TEST_DEPLOY_KEEP:-0}" != 1 ]; then
    for c in "$IMG_C" "$SD_C" "$PKG_C"; do
      "${PODMAN[@]}" rm -f -t 5 "$c" >/dev/null 2>&1 || true
    done
  fi
  # The suite's services belong to the suite.
  [ -n "${OUTBOXD_TEST_DEPLOY_SERVICES:-}" ] || "$ROOT/tests/scripts/services.sh" stop "$SVC" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# ---------------------------------------------------------------- set-up

if [ -n "${OUTBOXD_TEST_DEPLOY_BINARY:-}" ]; then
  # Under the suite: scripts/test.sh installed everything and built once.
  HOST_BINARY="$OUTBOXD_TEST_DEPLOY_BINARY"
  command -v podman >/dev/null || { say "SKIP: podman is not installed (scripts/install-deps.sh --deploy)"; exit 77; }
else
  say "installing packages (scripts/install-deps.sh --deploy: podman and friends)"
  "$ROOT/scripts/install-deps.sh" --deploy
  "$ROOT/tests/kafka/fetch-kafka.sh" >/dev/null
  BUILD_DIR="$("$ROOT/scripts/build.sh" | tail -n 1)"
  HOST_BINARY="$BUILD_DIR/src/outboxd"
fi
if [ -n "${OUTBOXD_TEST_DEPLOY_SERVICES:-}" ]; then
  [ -s "$SVC/env.sh" ] || { say "no running services in $SVC (no env.sh)"; exit 1; }
else
  say "starting the test services in $SVC"
  "$ROOT/tests/scripts/services.sh" start "$SVC" >/dev/null
fi
# shellcheck disable=SC1091
. "$SVC/env.sh"
IMG_PORT="$(free_port)"
# The release and commit this tree builds: the image, its label and the
# package must name the same (the suite's binary was stamped at build time).
VERSION_LINE="$("$HOST_BINARY" --version)"
RELEASE="$(sed -n 's/^project(outboxd VERSION \([0-9.]*\) .*/\1/p' "$ROOT/CMakeLists.txt")"
COMMIT="$(sed -n 's/^outboxd [^ ]* (commit \(.*\))$/\1/p' <<<"$VERSION_LINE")"
[ "$VERSION_LINE" = "outboxd $RELEASE (commit $COMMIT)" ] ||
  { say "the binary says '$VERSION_LINE'; CMakeLists.txt says $RELEASE"; exit 1; }
SD_PORT="$(free_port)"
PKG_PORT="$(free_port)"

# make_base TAR TAG... [-- PACKAGES]: a bookworm minbase root made by
# mmdebstrap from Debian's packages (merged /usr without the usrmerge
# package, no docs/man/locales: what the registry's bookworm-slim is), cached
# as CACHE/TAR, imported under each TAG so FROM resolves without a registry.
make_base() {
  local tar="$CACHE/$1" tags=() include=""
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do tags+=("$1"); shift; done
  [ "${1:-}" != -- ] || { shift; include="$(IFS=,; echo "$*")"; }
  # A directory or a .tmp left by an interrupted run (a full disk) is not a
  # base: make it again.
  [ ! -d "$tar" ] || rm -rf "$tar"
  rm -rf "$tar.tmp"
  # Made with other packages (the Dockerfile's runtime list changed): again.
  if [ -s "$tar" ] && [ "$(cat "$tar.packages" 2>/dev/null)" != "$include" ]; then
    rm -f "$tar"
  fi
  if [ ! -s "$tar" ]; then
    say "making $(basename "$tar") with mmdebstrap (about a minute)"
    # --format=tar: the .tmp name would otherwise make mmdebstrap write a
    # directory, which podman import does not take.
    mmdebstrap --variant=minbase --format=tar --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      ${include:+--include="$include"} \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
      bookworm "$tar.tmp" >"$LOG/mmdebstrap-$(basename "$tar").log" 2>&1 ||
      { tail -n 20 "$LOG/mmdebstrap-$(basename "$tar").log" >&2; say "mmdebstrap failed"; exit 1; }
    mv -f "$tar.tmp" "$tar"
    printf '%s' "$include" >"$tar.packages"
  fi
  local id t
  id="$("${PODMAN[@]}" import "$tar" "${tags[0]}" 2>/dev/null | tail -n 1)"
  for t in "${tags[@]:1}"; do "${PODMAN[@]}" tag "$id" "$t"; done
}

# ---------------------------------------------------------------- the image

image_build() {
  make_base bookworm-slim.tar docker.io/library/debian:bookworm-slim docker.io/library/debian:bookworm
  local t0=$SECONDS
  "${PODMAN[@]}" untag "$IMAGE" >/dev/null 2>&1 || true
  # The repository's Dockerfile as it is; --pull=never: only local bases.
  "${PODMAN[@]}" build --pull=never --network host --format docker \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --build-arg OUTBOXD_COMMIT="$COMMIT" \
    -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" ||
    fail "podman build of ./Dockerfile failed"
  note "built in $((SECONDS - t0)) s"
}

image_facts() {
  local size user hc
  size="$("${PODMAN[@]}" image inspect -f '{{.Size}}' "$IMAGE")"
  user="$("${PODMAN[@]}" image inspect -f '{{.Config.User}}' "$IMAGE")"
  hc="$("${PODMAN[@]}" image inspect -f '{{.Config.Healthcheck}}' "$IMAGE" 2>/dev/null || true)"
  echo "image size: $size bytes ($((size / 1000000)) MB); user: $user; healthcheck: $hc"
  echo "$size" >"$WORK/image-size"
  [ "$user" = "10001:10001" ] || fail "image user is '$user', not 10001:10001"
  [ "$size" -lt "$MAX_IMAGE_BYTES" ] || fail "image is $((size / 1000000)) MB, not under $((MAX_IMAGE_BYTES / 1000000)) MB"
  grep -q healthcheck <<<"$hc" || fail "the image has no HEALTHCHECK running 'outboxd healthcheck'"
  local out
  out="$("${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" "$IMAGE" --version)" || fail "--version failed"
  echo "--version: $out"
  [ "$out" = "$VERSION_LINE" ] || fail "the image's --version says '$out', the tree's build '$VERSION_LINE'"
  local label_version label_commit
  label_version="$("${PODMAN[@]}" image inspect -f '{{index .Labels "org.opencontainers.image.version"}}' "$IMAGE")"
  label_commit="$("${PODMAN[@]}" image inspect -f '{{index .Labels "org.opencontainers.image.revision"}}' "$IMAGE")"
  echo "labels: version $label_version, revision $label_commit"
  [ "$label_version" = "$RELEASE" ] || fail "image label version '$label_version', CMakeLists.txt $RELEASE"
  [ "$label_commit" = "$COMMIT" ] || fail "image label revision '$label_commit', binary's commit $COMMIT"
  local pkgs bad
  pkgs="$("${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" --entrypoint /bin/sh "$IMAGE" -c \
    "dpkg-query -W -f='\${Package}\n'; ls /usr/bin | grep -E '^(cc|c\+\+|gcc.*|g\+\+.*|cpp.*|clang.*|ld|as|make|cmake)$' || true")"
  echo "runtime packages: $(wc -l <<<"$pkgs")"
  bad="$(grep -E -- '-dev$|^(gcc|g\+\+|cpp|clang|binutils|build-essential|make|cmake|ninja-build|cc|c\+\+|ld|as)(-[0-9.]+)?$' <<<"$pkgs" || true)"
  [ -z "$bad" ] || fail "runtime stage holds build tools or -dev packages: $(echo $bad)"
  echo "no compiler, linker or -dev package in the runtime stage"
}

# container_env: the configuration of a container, from the environment
# only (the image's /etc/outboxd/outboxd.yaml has no addresses or secrets).
container_env() {
  local dsn="$1"
  echo -e "OUTBOXD_POSTGRES_DSN=$dsn"
  echo "OUTBOXD_POSTGRES_TABLE=public.$TABLE"
  echo "OUTBOXD_KAFKA_BOOTSTRAP_SERVERS=$OUTBOXD_TEST_KAFKA_BOOTSTRAP"
  echo "OUTBOXD_KAFKA_AUDIT_TOPICS=$TOPIC"
  # Host networking: a free loopback port instead of the image's 0.0.0.0:9187.
  echo "OUTBOXD_HTTP_LISTEN=127.0.0.1:$HTTP_PORT"
}

rows_sent() { [ "$(psql_owner "SELECT count(*) FROM public.$TABLE WHERE status = 1")" = "$1" ]; }

image_relay() {
  TABLE="$IMG_TABLE" TOPIC="$IMG_TOPIC" HTTP_PORT="$IMG_PORT"
  "$ROOT/tests/scripts/kafka.sh" create-topic "$SVC/kafka" "$TOPIC" 3 1 >/dev/null
  # migrate as the table owner, then the least-privilege role relays.
  container_env "$OUTBOXD_TEST_PG_DSN" >"$WORK/owner.env"
  container_env "$OUTBOXD_TEST_PG_RELAY_DSN" >"$WORK/relay.env"
  "${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" --read-only --env-file "$WORK/owner.env" "$IMAGE" migrate ||
    fail "migrate in the container failed"
  psql_owner "GRANT SELECT, UPDATE ON public.$TABLE TO outboxd_relay"
  local out
  out="$("${PODMAN[@]}" run --rm "${RUN_FLAGS[@]}" --read-only --env-file "$WORK/relay.env" "$IMAGE" check 2>&1)" || true
  echo "$out"
  grep -q '^postgres: ok' <<<"$out" || fail "check: postgres not ok"
  grep -q '^kafka: ok' <<<"$out" || fail "check: kafka not ok"
  psql_owner "INSERT INTO public.$TABLE (topic, msg_key, payload) SELECT '$TOPIC', 'k' || (g % 10), convert_to('row ' || g, 'UTF8') FROM generate_series(1, 500) g"
  local c="$IMG_C"
  "${PODMAN[@]}" run -d --name "$c" "${RUN_FLAGS[@]}" --read-only --env-file "$WORK/relay.env" "$IMAGE" >/dev/null ||
    fail "podman run failed"
  wait_for 60 rows_sent 500 || { "${PODMAN[@]}" logs "$c" | tail -n 20; fail "500 rows not sent within 60 s"; }
  [ "$(outbox_ids "$TOPIC" | sort -u | wc -l)" = 500 ] || fail "Kafka does not hold the 500 rows"
  echo "500 rows relayed PostgreSQL -> Kafka by the container, config from OUTBOXD_* only"
  local uid ro
  uid="$("${PODMAN[@]}" exec "$c" id -u)"
  ro="$("${PODMAN[@]}" inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$c")"
  echo "uid in the container: $uid; read-only root: $ro"
  [ "$uid" = 10001 ] || fail "runs as uid $uid, not 10001"
  [ "$ro" = true ] || fail "root file system not read-only"
  if "${PODMAN[@]}" exec "$c" sh -c 'echo x >/etc/outboxd/x' 2>/dev/null; then fail "could write to /etc"; fi
  # The image's HEALTHCHECK command, as the engine runs it.
  "${PODMAN[@]}" healthcheck run "$c" || fail "HEALTHCHECK (outboxd healthcheck) failed"
  echo "HEALTHCHECK passed: $("${PODMAN[@]}" inspect -f '{{.State.Health.Status}}' "$c" 2>/dev/null || true)"
  curl -fsS "127.0.0.1:$HTTP_PORT/readyz" | head -n 3
}

image_stop() {
  local c="$IMG_C" t0 took code
  TABLE="$IMG_TABLE" TOPIC="$IMG_TOPIC" HTTP_PORT="$IMG_PORT"
  "${PODMAN[@]}" container exists "$c" || fail "needs image_relay first"
  # Rows in flight when SIGTERM comes: outboxd stops fetching, waits for the
  # delivery reports, records them, exits 0; the rest stay pending.
  psql_owner "INSERT INTO public.$TABLE (topic, msg_key, payload) SELECT '$TOPIC', 'k' || (g % 10), convert_to(repeat('x', 500), 'UTF8') FROM generate_series(1, $STOP_ROWS) g"
  sleep 1
  t0=$SECONDS
  "${PODMAN[@]}" stop -t 30 "$c" >/dev/null
  took=$((SECONDS - t0))
  code="$("${PODMAN[@]}" inspect -f '{{.State.ExitCode}}' "$c")"
  local sent pending parked
  sent="$(psql_owner "SELECT count(*) FROM public.$TABLE WHERE status = 1")"
  pending="$(psql_owner "SELECT count(*) FROM public.$TABLE WHERE status = 0")"
  parked="$(psql_owner "SELECT count(*) FROM public.$TABLE WHERE status = 2")"
  echo "podman stop took $took s, exit code $code; rows sent $sent, pending $pending, parked $parked"
  "${PODMAN[@]}" logs "$c" 2>&1 | grep -E 'signal 15|stopped:' | tail -n 2
  [ "$code" = 0 ] || fail "exit code $code after podman stop (SIGTERM)"
  # The stop must have come while rows were still moving, or it proved nothing.
  [ "$pending" -gt 0 ] || fail "every row was sent before the stop; insert more rows"
  [ "$took" -lt 30 ] || fail "did not stop within the 30 s grace period"
  [ "$parked" = 0 ] || fail "$parked rows parked"
  # Nothing lost: every row marked sent is in Kafka; the rest goes out when
  # the container starts again, each row once.
  [ "$(outbox_ids "$TOPIC" | sort -u | wc -l)" -ge "$sent" ] || fail "rows marked sent are missing from Kafka"
  "${PODMAN[@]}" start "$c" >/dev/null
  wait_for 180 rows_sent $((500 + STOP_ROWS)) || fail "the restarted container did not send the remaining rows"
  local distinct total
  distinct="$(outbox_ids "$TOPIC" | sort -u | wc -l)"
  total="$(outbox_ids "$TOPIC" | wc -l)"
  echo "after restart: $((500 + STOP_ROWS)) rows sent; Kafka holds $distinct distinct outbox ids in $total messages"
  [ "$distinct" = $((500 + STOP_ROWS)) ] || fail "Kafka holds $distinct distinct rows, not $((500 + STOP_ROWS))"
  "${PODMAN[@]}" stop -t 30 "$c" >/dev/null
  [ "$("${PODMAN[@]}" inspect -f '{{.State.ExitCode}}' "$c")" = 0 ] || fail "second stop: exit code not 0"
}

compose_file() {
  # podman-compose (Debian's 1.0.3) has no `config`; `--dry-run up` prints
  # the podman commands it would run for deploy/compose.yaml (it still
  # creates the project's network and volume: removed again below).
  # Running it needs the registry's postgres:15-bookworm and
  # apache/kafka:4.1.1 images, whose entrypoints are those projects' own
  # scripts; look-alikes made here would test the look-alikes.
  command -v podman-compose >/dev/null || fail "podman-compose not installed"
  local project="outboxd-compose-test-$$" out line
  out="$(cd "$ROOT/deploy" && podman-compose -p "$project" --dry-run -f compose.yaml up 2>&1)" || true
  "${PODMAN[@]}" volume rm -f "${project}_pgdata" >/dev/null 2>&1 || true
  "${PODMAN[@]}" network rm -f "${project}_default" >/dev/null 2>&1 || true
  echo "$out" | grep '^podman create' | cut -c1-400
  for svc in postgres kafka kafka-topics outboxd-migrate outboxd; do
    grep -q "^podman create --name=${project}_${svc}_1 " <<<"$out" || fail "no container for service $svc"
  done
  line="$(grep "^podman create --name=${project}_outboxd_1 " <<<"$out")"
  for want in "--read-only" "--cap-drop ALL" "--security-opt no-new-privileges:true" \
    "-e OUTBOXD_POSTGRES_DSN_FILE=/run/secrets/outboxd_dsn" "-p 127.0.0.1:9187:9187" \
    "/run/secrets/outboxd_dsn:ro" "outboxd:local run"; do
    grep -qF -- "$want" <<<"$line" || fail "the outboxd container lacks '$want'"
  done
  grep -q "^podman build -t outboxd:local -f ../Dockerfile .." <<<"$out" || fail "the image is not built from ../Dockerfile"
  note "translated by podman-compose; not started: postgres:15-bookworm and apache/kafka:4.1.1 come only from a registry"
}

# ---------------------------------------------------------------- systemd

# in_c CONTAINER CMD...: runs CMD in a container of these proofs.
in_c() { "${PODMAN[@]}" exec "$@"; }
# booted CONTAINER: systemd there reports running (or degraded).
booted() { local st; st="$(in_c "$1" systemctl is-system-running 2>/dev/null || true)"; grep -Eq 'running|degraded' <<<"$st"; }
# unit_prop CONTAINER PROPERTY: a property of outboxd.service there.
unit_prop() { in_c "$1" systemctl show -p "$2" --value outboxd; }
# boot_systemd CONTAINER IMAGE: systemd as PID 1 in a new container, booted.
boot_systemd() {
  "${PODMAN[@]}" run -d --name "$1" --systemd=always "${RUN_FLAGS[@]}" "$2" /sbin/init >/dev/null ||
    fail "could not start systemd in a container"
  wait_for 60 booted "$1" || fail "systemd did not boot"
}
sd() { in_c "$SD_C" "$@"; }
# (Output is captured before grep -q: with pipefail, grep -q ending the
# pipe early makes the writer die of SIGPIPE and the pipeline "fail".)
sd_booted() { booted "$SD_C"; }
sd_prop() { unit_prop "$SD_C" "$1"; }
reloads_ok() { curl -fsS "127.0.0.1:$HTTP_PORT/metrics" | sed -n 's/^outboxd_config_reloads_total{result="ok"} //p'; }
reloaded_once_more() { [ "$(reloads_ok)" = "$(($1 + 1))" ]; }
debug_lines() { local j; j="$(sd journalctl -u outboxd --no-pager -o cat --since '-30s')"; grep -q ' debug ' <<<"$j"; }
restarted_since() { [ "$(sd_prop NRestarts)" -gt "$1" ] && [ "$(sd_prop ActiveState)" = active ]; }

systemd_boot() {
  TABLE="$SD_TABLE" TOPIC="$SD_TOPIC" HTTP_PORT="$SD_PORT"
  # The runtime packages are the Dockerfile's runtime stage's, read from it,
  # so the two cannot drift apart.
  local runtime
  runtime="$(awk '/^FROM debian:bookworm-slim/{rt=1} rt && /apt-get install/{f=1; next}
                  f { if ($0 ~ /&&/) exit; gsub(/\\/, ""); printf "%s ", $0 }' "$ROOT/Dockerfile")"
  [ -n "$runtime" ] || fail "no runtime package list found in ./Dockerfile"
  # shellcheck disable=SC2086 # one word per package
  make_base bookworm-systemd.tar "$SD_IMAGE" -- systemd systemd-sysv dbus procps $runtime
  boot_systemd "$SD_C" "$SD_IMAGE"
  local st
  st="$(sd systemctl is-system-running || true)"
  echo "systemd $(sd systemctl --version | head -n 1 | awk '{print $2}') as PID 1: $st"
  [ "$st" = running ] || { sd systemctl --failed --no-pager; note "system state $st"; }
  # Installed as docs/deployment.md says, with this build's binary.
  "$ROOT/tests/scripts/kafka.sh" create-topic "$SVC/kafka" "$TOPIC" 1 1 >/dev/null
  "${PODMAN[@]}" cp "$HOST_BINARY" "$SD_C:/tmp/outboxd"
  "${PODMAN[@]}" cp "$ROOT/deploy/systemd/outboxd.service" "$SD_C:/tmp/outboxd.service"
  sd install -m 0755 /tmp/outboxd /usr/local/bin/outboxd
  sd install -d -m 0755 /etc/outboxd
  cat >"$WORK/outboxd.yaml" <<EOF
# No secrets here (mode 0644): the DSN comes from outboxd.env.
postgres:
  table: public.$TABLE
  notify_channel: outbox
kafka:
  bootstrap_servers: "$OUTBOXD_TEST_KAFKA_BOOTSTRAP"
  audit_topics: [$TOPIC]
http:
  listen: "127.0.0.1:$HTTP_PORT"
log:
  level: info
EOF
  # trust authentication ignores the password, so it only has to arrive.
  printf 'OUTBOXD_POSTGRES_DSN=%s password=%s\n' "$OUTBOXD_TEST_PG_RELAY_DSN" "$SECRET" >"$WORK/outboxd.env"
  "${PODMAN[@]}" cp "$WORK/outboxd.yaml" "$SD_C:/tmp/outboxd.yaml"
  "${PODMAN[@]}" cp "$WORK/outboxd.env" "$SD_C:/tmp/outboxd.env"
  sd install -m 0644 /tmp/outboxd.yaml /etc/outboxd/outboxd.yaml
  sd install -m 0600 -o root -g root /tmp/outboxd.env /etc/outboxd/outboxd.env
  sd install -m 0644 /tmp/outboxd.service /etc/systemd/system/outboxd.service
  sd systemctl daemon-reload
  OUTBOXD_POSTGRES_DSN="$OUTBOXD_TEST_PG_DSN" "$HOST_BINARY" migrate --config "$WORK/outboxd.yaml" >/dev/null ||
    fail "migrate failed"
  psql_owner "GRANT SELECT, UPDATE ON public.$TABLE TO outboxd_relay"
  sd systemd-analyze verify /etc/systemd/system/outboxd.service || fail "systemd-analyze verify failed"
}

systemd_start() {
  TABLE="$SD_TABLE" TOPIC="$SD_TOPIC" HTTP_PORT="$SD_PORT"
  local t0 took state status main
  t0=$SECONDS
  sd systemctl start outboxd || { sd journalctl -u outboxd --no-pager | tail -n 30; fail "systemctl start failed"; }
  took=$((SECONDS - t0))
  # Type=notify: start returns only after READY=1, so the endpoint serves
  # the moment it returns, and the unit went activating -> active.
  state="$(sd systemctl show -p ActiveState -p SubState --value outboxd | tr '\n' ' ')"
  echo "systemctl start returned after $took s; state: $state"
  [ "$state" = "active running " ] || fail "state after start: $state"
  curl -fsS "127.0.0.1:$HTTP_PORT/healthz" >/dev/null || fail "/healthz not served when start returned"
  local enter exec_start
  exec_start="$(sd systemctl show -p ExecMainStartTimestampMonotonic --value outboxd)"
  enter="$(sd systemctl show -p ActiveEnterTimestampMonotonic --value outboxd)"
  echo "main process started at $exec_start us, unit active at $enter us (READY=1 after $(((enter - exec_start) / 1000)) ms)"
  [ "$enter" -gt "$exec_start" ] || fail "the unit was active before its process started"
  # Order in the journal: outboxd serves HTTP and starts its loop (then
  # sends READY=1) before systemd logs "Started".
  local j serving started
  j="$(sd journalctl -b --no-pager -o short-monotonic)"
  serving="$(grep -n '\[http\] serving /metrics' <<<"$j" | tail -n 1 | cut -d: -f1)"
  started="$(grep -n 'Started outboxd.service' <<<"$j" | tail -n 1 | cut -d: -f1)"
  echo "journal: 'serving' at line $serving, 'Started outboxd.service' at line $started"
  [ -n "$serving" ] && [ -n "$started" ] && [ "$started" -gt "$serving" ] ||
    fail "systemd reported Started before outboxd served (Type=notify not honoured)"
  status="$(sd systemctl status outboxd --no-pager 2>&1 || true)"
  echo "$status" | head -n 12
  grep -q 'Status: "' <<<"$status" || fail "systemctl status shows no STATUS= text"
  psql_owner "INSERT INTO public.$TABLE (topic, msg_key, payload) SELECT '$TOPIC', 'k', convert_to('row ' || g, 'UTF8') FROM generate_series(1, 50) g"
  wait_for 60 rows_sent 50 || fail "rows not relayed by the service"
  echo "50 rows relayed by the service"
  main="$(sd systemctl show -p MainPID --value outboxd)"
  # EnvironmentFile: the secret reached the daemon (it connects with the
  # DSN from it: the YAML has none) and systemctl show does not print it.
  local environ shown
  environ="$(sd sh -c "tr '\\0' '\\n' </proc/$main/environ")"
  grep -q "password=$SECRET" <<<"$environ" ||
    fail "the EnvironmentFile's DSN is not in the daemon's environment"
  shown="$(sd systemctl show outboxd --no-pager)"
  if grep -q "$SECRET" <<<"$shown"; then fail "systemctl show prints the secret"; fi
  grep -q '^EnvironmentFiles=/etc/outboxd/outboxd.env' <<<"$shown" || fail "systemctl show lists no EnvironmentFiles="
  shown="$(sd systemctl status outboxd --no-pager 2>&1 || true)"
  if grep -q "$SECRET" <<<"$shown"; then fail "systemctl status prints the secret"; fi
  shown="$(sd journalctl -u outboxd --no-pager)"
  if grep -q "$SECRET" <<<"$shown"; then fail "the journal holds the secret"; fi
  echo "EnvironmentFile secret reached the daemon; not in systemctl show/status or the journal"
}

systemd_hardening() {
  TABLE="$SD_TABLE" TOPIC="$SD_TOPIC" HTTP_PORT="$SD_PORT"
  local main out score
  main="$(sd systemctl show -p MainPID --value outboxd)"
  [ "$main" -gt 0 ] || fail "outboxd not running"
  # systemd applies every directive at exec time and fails the start
  # (status 2xx) if one cannot be applied; the service runs, so each was.
  # Spot checks of the effects from outside:
  out="$(sd sh -c "grep -E '^(Uid|NoNewPrivs|Seccomp|CapEff|CapBnd|CapAmb):' /proc/$main/status")"
  echo "$out"
  grep -Eq '^NoNewPrivs:\s+1' <<<"$out" || fail "NoNewPrivileges not in effect"
  grep -Eq '^Seccomp:\s+2' <<<"$out" || fail "no seccomp filter (SystemCallFilter) in effect"
  grep -Eq '^CapEff:\s+0+$' <<<"$out" || fail "effective capabilities not empty"
  grep -Eq '^CapBnd:\s+0+$' <<<"$out" || fail "bounding set not empty (CapabilityBoundingSet=)"
  local uid
  uid="$(awk '/^Uid:/{print $2}' <<<"$out")"
  [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ] || fail "uid $uid is not a DynamicUser uid"
  [ "$(sd readlink "/proc/$main/ns/mnt")" != "$(sd readlink /proc/1/ns/mnt)" ] ||
    fail "no own mount namespace (ProtectSystem/PrivateTmp)"
  # Nothing about the unit was ignored or failed in the journal.
  if sd journalctl -b --no-pager | grep -E 'outboxd\.service:.*(Unknown|ignoring|Ignoring|unsupported|Failed to)'; then
    fail "systemd ignored or could not apply a directive (lines above)"
  fi
  echo "every directive applied: the service runs with them, none ignored in the journal"
  out="$(sd systemd-analyze security outboxd.service --no-pager 2>&1 || true)"
  echo "$out" | grep -v '^  ✓' | tail -n 40
  score="$(sed -n 's/.*Overall exposure level for outboxd.service: \([0-9.]*\).*/\1/p' <<<"$out")"
  echo "systemd-analyze security: $score"
  echo "$score" >"$WORK/systemd-security-score"
  [ -n "$score" ] || fail "no exposure score"
}

systemd_reload() {
  TABLE="$SD_TABLE" TOPIC="$SD_TOPIC" HTTP_PORT="$SD_PORT"
  local before after
  before="$(reloads_ok)"
  before="${before%.*}"
  # log.level is reloadable (docs/operations.md).
  sd sed -i 's/^  level: info/  level: debug/' /etc/outboxd/outboxd.yaml
  local pid_before
  pid_before="$(sd systemctl show -p MainPID --value outboxd)"
  sd systemctl reload outboxd || fail "systemctl reload failed"
  wait_for 20 reloaded_once_more "$before" || fail "outboxd_config_reloads_total{result=ok} did not go up"
  after="$(reloads_ok)"
  echo "reloads ok: $before -> $after; main pid unchanged: $pid_before = $(sd systemctl show -p MainPID --value outboxd)"
  [ "$pid_before" = "$(sd systemctl show -p MainPID --value outboxd)" ] || fail "reload restarted the process"
  local j
  j="$(sd journalctl -u outboxd --no-pager -o cat --since '-60s')"
  grep 'reloaded (' <<<"$j" | tail -n 1
  grep -q 'reloaded (.*log.level=debug' <<<"$j" || fail "no 'reloaded (... log.level=debug ...)' line"
  # A row moved now logs at debug.
  psql_owner "INSERT INTO public.$TABLE (topic, msg_key, payload) VALUES ('$TOPIC', 'k', 'after reload')"
  wait_for 30 rows_sent 51 || fail "the row after the reload was not sent"
  wait_for 20 debug_lines || fail "no debug lines after reloading log.level: debug"
  echo "log.level debug applied without a restart"
  sd sed -i 's/^  level: debug/  level: info/' /etc/outboxd/outboxd.yaml
  sd systemctl reload outboxd
}

systemd_watchdog() {
  TABLE="$SD_TABLE" TOPIC="$SD_TOPIC" HTTP_PORT="$SD_PORT"
  local main restarts new t0
  # The unit's WatchdogSec=90s, shortened by a drop-in so the proof takes
  # seconds; the mechanism (WATCHDOG=1 at half of WATCHDOG_USEC) is the same.
  sd mkdir -p /etc/systemd/system/outboxd.service.d
  sd sh -c 'printf "[Service]\nWatchdogSec=6s\n" >/etc/systemd/system/outboxd.service.d/watchdog-test.conf'
  sd systemctl daemon-reload
  sd systemctl restart outboxd || fail "restart with the test watchdog failed"
  sleep 8
  [ "$(sd systemctl show -p ActiveState --value outboxd)" = active ] ||
    fail "a running outboxd did not keep the 6 s watchdog fed"
  main="$(sd systemctl show -p MainPID --value outboxd)"
  restarts="$(sd systemctl show -p NRestarts --value outboxd)"
  echo "feeding the watchdog: pid $main alive after 8 s; NRestarts $restarts; SIGSTOP now"
  t0=$SECONDS
  sd kill -STOP "$main"
  wait_for 60 restarted_since "$restarts" ||
    { sd journalctl -u outboxd --no-pager | tail -n 20; fail "not restarted within 60 s of SIGSTOP"; }
  new="$(sd systemctl show -p MainPID --value outboxd)"
  echo "restarted after $((SECONDS - t0)) s: pid $main -> $new"
  sd journalctl -u outboxd --no-pager -o cat | grep -i 'watchdog' | tail -n 3
  local j
  j="$(sd journalctl -u outboxd --no-pager -o cat)"
  grep -qi 'watchdog timeout' <<<"$j" || fail "the journal shows no watchdog timeout"
  sd rm -f /etc/systemd/system/outboxd.service.d/watchdog-test.conf
  sd systemctl daemon-reload
  sd systemctl restart outboxd
}

systemd_stop() {
  TABLE="$SD_TABLE" TOPIC="$SD_TOPIC" HTTP_PORT="$SD_PORT"
  local t0 took result status
  psql_owner "INSERT INTO public.$TABLE (topic, msg_key, payload) SELECT '$TOPIC', 'k', convert_to(repeat('y', 500), 'UTF8') FROM generate_series(1, $STOP_ROWS) g"
  sleep 1
  t0=$SECONDS
  sd systemctl stop outboxd || fail "systemctl stop failed"
  took=$((SECONDS - t0))
  result="$(sd systemctl show -p Result --value outboxd)"
  status="$(sd systemctl show -p ExecMainStatus --value outboxd)"
  echo "systemctl stop took $took s; Result=$result ExecMainStatus=$status"
  sd journalctl -u outboxd --no-pager -o cat | tail -n 6
  [ "$result" = success ] || fail "Result=$result after stop"
  [ "$status" = 0 ] || fail "exit status $status after SIGTERM"
  local parked pending
  parked="$(psql_owner "SELECT count(*) FROM public.$TABLE WHERE status = 2")"
  pending="$(psql_owner "SELECT count(*) FROM public.$TABLE WHERE status = 0")"
  echo "after stop: $pending rows pending, $parked parked"
  [ "$parked" = 0 ] || fail "$parked rows parked"
  [ "$pending" -gt 0 ] || fail "every row was sent before the stop; insert more rows"
  sd systemctl start outboxd
  wait_for 180 rows_sent $((51 + STOP_ROWS)) || fail "the remaining rows were not sent after the next start"
  [ "$(outbox_ids "$TOPIC" | sort -u | wc -l)" = $((51 + STOP_ROWS)) ] || fail "Kafka does not hold every row"
  echo "all $((51 + STOP_ROWS)) rows in Kafka after stop and start"
  sd systemctl stop outboxd
}

# ---------------------------------------------------------------- the package

pk() { in_c "$PKG_C" "$@"; }
pk_prop() { unit_prop "$PKG_C" "$1"; }
pk_rows_sent() { TABLE="$PKG_TABLE" rows_sent "$1"; }
pk_restarted() { local pid; pid="$(pk_prop MainPID)"; [ "$pid" != 0 ] && [ "$pid" != "$1" ] && [ "$(pk_prop ActiveState)" = active ]; }
PKG_DEBS="$WORK/debs"

# package_build: revisions 1 and 2 of the package from this tree's build (the
# upgrade proof installs one over the other), each through lintian.
package_build() {
  local build rev deb
  build="$(cd "$(dirname "$HOST_BINARY")/.." && pwd)"
  rm -rf "$PKG_DEBS"
  mkdir -p "$PKG_DEBS"
  for rev in 1 2; do
    deb="$(OUTBOXD_PACKAGE_BUILD_DIR="$build" OUTBOXD_DEB_REVISION=$rev "$ROOT/scripts/package.sh" deb | tail -n 1)" ||
      fail "scripts/package.sh deb (revision $rev) failed"
    cp "$deb" "$PKG_DEBS/"
    echo "built $(basename "$deb"): $(stat -c %s "$deb") bytes"
  done
  deb="$PKG_DEBS/outboxd_${RELEASE}-1_$(dpkg --print-architecture).deb"
  [ -s "$deb" ] || fail "no $deb"
  echo "$(stat -c %s "$deb")" >"$WORK/package-size"
  dpkg-deb -f "$deb" Package Version Depends
  [ "$(dpkg-deb -f "$deb" Version)" = "${RELEASE}-1" ] || fail "package version is not ${RELEASE}-1"
  dpkg-deb -f "$deb" Depends | grep -q 'librdkafka1' || fail "Depends lacks librdkafka1: shlibdeps did not run"
  [ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/outboxd/outboxd.yaml ] ||
    fail "/etc/outboxd/outboxd.yaml is not the package's conffile"
  # (The container's base leaves out /usr/share/doc and man, as slim images
  # do: what the package holds is checked here.)
  local files f
  files="$(dpkg-deb -c "$deb" | awk '{print $6}')"
  for f in ./usr/bin/outboxd ./lib/systemd/system/outboxd.service ./etc/outboxd/outboxd.yaml \
    ./usr/share/man/man8/outboxd.8.gz ./usr/share/doc/outboxd/copyright ./usr/share/doc/outboxd/changelog.gz \
    ./usr/share/doc/outboxd/changelog.Debian.gz ./usr/share/doc/outboxd/configuration.md; do
    grep -qxF "$f" <<<"$files" || fail "the package lacks $f"
  done
  echo "holds the binary, the unit, the conffile, the man page, the changelogs and the docs"
}

package_install() {
  TABLE="$PKG_TABLE" TOPIC="$PKG_TOPIC" HTTP_PORT="$PKG_PORT"
  local arch deb
  arch="$(dpkg --print-architecture)"
  deb="outboxd_${RELEASE}-1_${arch}.deb"
  [ -s "$PKG_DEBS/$deb" ] || fail "needs package_build first"
  # A clean bookworm with systemd and nothing of outboxd's: apt resolves the
  # package's dependencies from Debian, as on a user's machine.
  make_base bookworm-systemd-clean.tar localhost/outboxd-package-base:bookworm -- systemd systemd-sysv dbus procps
  boot_systemd "$PKG_C" localhost/outboxd-package-base:bookworm
  "${PODMAN[@]}" cp "$PKG_DEBS/." "$PKG_C:/tmp/"
  pk sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/$deb" ||
    fail "apt install ./$deb failed"
  local v u enabled active mode
  v="$(pk outboxd --version)"
  echo "installed: $(pk dpkg-query -W -f='${Package} ${Version} ${Status}' outboxd); outboxd --version: $v"
  [ "$v" = "$VERSION_LINE" ] || fail "the packaged binary says '$v', the tree's build '$VERSION_LINE'"
  u="$(pk getent passwd outboxd || true)"
  echo "user: $u"
  [ -n "$u" ] || fail "no outboxd user"
  [ "$(cut -d: -f3 <<<"$u")" -lt 1000 ] || fail "outboxd is not a system user"
  mode="$(pk stat -c '%U:%G %a' /etc/outboxd/outboxd.yaml)"
  echo "/etc/outboxd/outboxd.yaml: $mode"
  [ "$mode" = "root:outboxd 640" ] || fail "config is $mode, not root:outboxd 640"
  enabled="$(pk systemctl is-enabled outboxd || true)"
  active="$(pk systemctl is-active outboxd || true)"
  echo "after install: $enabled, $active"
  [ "$enabled" = disabled ] && [ "$active" = inactive ] ||
    fail "the unit is $enabled/$active after install: it must wait for the operator's configuration"
  pk systemd-analyze verify /lib/systemd/system/outboxd.service || fail "systemd-analyze verify failed"
  # The operator's edits: the database, the table, Kafka, the port.
  "$ROOT/tests/scripts/kafka.sh" create-topic "$SVC/kafka" "$TOPIC" 1 1 >/dev/null
  pk sed -i \
    -e "s|^  dsn: .*|  dsn: \"$OUTBOXD_TEST_PG_RELAY_DSN\"|" \
    -e "s|^  table: public.outbox$|  table: public.$TABLE|" \
    -e "s|^  bootstrap_servers: .*|  bootstrap_servers: \"$OUTBOXD_TEST_KAFKA_BOOTSTRAP\"|" \
    -e "s|^  audit_topics: \[\]|  audit_topics: [$TOPIC]|" \
    -e "s|^  listen: \"127.0.0.1:9187\"|  listen: \"127.0.0.1:$HTTP_PORT\"|" \
    /etc/outboxd/outboxd.yaml
  pk sh -c 'echo "# edited by the operator" >>/etc/outboxd/outboxd.yaml'
  pk outboxd check --config-only --config /etc/outboxd/outboxd.yaml || fail "the edited config does not pass check --config-only"
  "${PODMAN[@]}" cp "$PKG_C:/etc/outboxd/outboxd.yaml" "$WORK/package-outboxd.yaml"
  OUTBOXD_POSTGRES_DSN="$OUTBOXD_TEST_PG_DSN" "$HOST_BINARY" migrate --config "$WORK/package-outboxd.yaml" >/dev/null ||
    fail "migrate failed"
  psql_owner "GRANT SELECT, UPDATE ON public.$TABLE TO outboxd_relay"
  pk systemctl enable --now outboxd || { pk journalctl -u outboxd --no-pager | tail -n 20; fail "systemctl enable --now failed"; }
  psql_owner "INSERT INTO public.$TABLE (topic, msg_key, payload) SELECT '$TOPIC', 'k', convert_to('row ' || g, 'UTF8') FROM generate_series(1, 100) g"
  wait_for 60 pk_rows_sent 100 || { pk journalctl -u outboxd --no-pager | tail -n 20; fail "rows not relayed by the packaged service"; }
  local main uid
  main="$(pk_prop MainPID)"
  uid="$(pk sh -c "awk '/^Uid:/{print \$2}' /proc/$main/status")"
  echo "100 rows relayed; the service runs as uid $uid ($(pk id -un "$uid"))"
  [ "$uid" = "$(pk id -u outboxd)" ] || fail "the service runs as uid $uid, not the outboxd user"
  [ "$(outbox_ids "$TOPIC" | sort -u | wc -l)" = 100 ] || fail "Kafka does not hold the 100 rows"
}

package_upgrade() {
  TABLE="$PKG_TABLE" TOPIC="$PKG_TOPIC" HTTP_PORT="$PKG_PORT"
  local deb before_pid before_sum after_sum leftovers
  deb="outboxd_${RELEASE}-2_$(dpkg --print-architecture).deb"
  [ "$(pk_prop ActiveState)" = active ] || fail "needs package_install first"
  before_pid="$(pk_prop MainPID)"
  before_sum="$(pk md5sum /etc/outboxd/outboxd.yaml | cut -d' ' -f1)"
  pk sh -c "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/$deb" || fail "apt install of revision 2 failed"
  echo "upgraded to $(pk dpkg-query -W -f='${Version}' outboxd)"
  [ "$(pk dpkg-query -W -f='${Version}' outboxd)" = "${RELEASE}-2" ] || fail "revision 2 not installed"
  after_sum="$(pk md5sum /etc/outboxd/outboxd.yaml | cut -d' ' -f1)"
  [ "$before_sum" = "$after_sum" ] || fail "the upgrade changed the operator's /etc/outboxd/outboxd.yaml"
  pk grep -q '^# edited by the operator' /etc/outboxd/outboxd.yaml || fail "the edit is gone"
  leftovers="$(pk sh -c 'ls /etc/outboxd/*.dpkg-* 2>/dev/null' || true)"
  [ -z "$leftovers" ] || fail "the upgrade left $leftovers"
  [ "$(pk stat -c '%U:%G %a' /etc/outboxd/outboxd.yaml)" = "root:outboxd 640" ] || fail "the upgrade changed the config's owner or mode"
  wait_for 60 pk_restarted "$before_pid" || fail "the service was not restarted by the upgrade (pid still $before_pid)"
  echo "config kept (md5 $after_sum); service restarted: pid $before_pid -> $(pk_prop MainPID)"
  psql_owner "INSERT INTO public.$TABLE (topic, msg_key, payload) SELECT '$TOPIC', 'k', convert_to('after ' || g, 'UTF8') FROM generate_series(1, 50) g"
  wait_for 60 pk_rows_sent 150 || fail "rows not relayed after the upgrade"
  [ "$(outbox_ids "$TOPIC" | sort -u | wc -l)" = 150 ] || fail "Kafka does not hold the 150 rows"
  echo "150 rows relayed, each once, across the upgrade"
}

package_purge() {
  local left
  pk dpkg-query -W outboxd >/dev/null 2>&1 || fail "needs package_install first"
  pk sh -c "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq outboxd" || fail "apt purge failed"
  left="$(pk sh -c 'pgrep -a -x outboxd; getent passwd outboxd; getent group outboxd; ls -d /etc/outboxd /lib/systemd/system/outboxd.service /etc/systemd/system/*/outboxd.service /usr/bin/outboxd 2>/dev/null' || true)"
  echo "after purge: dpkg says '$(pk dpkg-query -W -f='${Status}' outboxd 2>&1 || true)'; left: ${left:-nothing}"
  [ -z "$left" ] || fail "purge left: $left"
  [ "$(pk systemctl is-active outboxd 2>/dev/null || true)" = inactive ] || fail "outboxd still active"
}

# ---------------------------------------------------------------- run

if [ "$WHAT" = all ] || [ "$WHAT" = image ]; then
  proof image_build image_build
  if "${PODMAN[@]}" image exists "$IMAGE"; then
    proof image_facts image_facts
    proof image_relay image_relay
    proof image_stop image_stop
  fi
  proof compose_translate compose_file
fi
if [ "$WHAT" = all ] || [ "$WHAT" = systemd ]; then
  proof systemd_boot systemd_boot
  if sd_booted; then
    proof systemd_start systemd_start
    proof systemd_hardening systemd_hardening
    proof systemd_reload systemd_reload
    proof systemd_watchdog systemd_watchdog
    proof systemd_stop systemd_stop
  else
    FAILED=1
    RESULTS+=("SKIP  systemd_start, systemd_hardening, systemd_reload, systemd_watchdog, systemd_stop: no systemd container")
  fi
fi

if [ "$WHAT" = all ] || [ "$WHAT" = package ]; then
  proof package_build package_build
  if [ -s "$WORK/package-size" ]; then
    proof package_install package_install
    proof package_upgrade package_upgrade
    proof package_purge package_purge
  fi
fi

echo
echo "== scripts/test-deploy.sh $WHAT: summary (logs in $LOG) =="
printf '%s\n' "${RESULTS[@]}"
[ ! -s "$WORK/image-size" ] || echo "image size: $(($(cat "$WORK/image-size") / 1000000)) MB"
[ ! -s "$WORK/package-size" ] || echo "package size: $(($(cat "$WORK/package-size") / 1000)) kB"
[ ! -s "$WORK/systemd-security-score" ] || echo "systemd-analyze security: $(cat "$WORK/systemd-security-score")"
if [ "$FAILED" -ne 0 ]; then
  echo "RESULT: FAIL"
  exit 1
fi
echo "RESULT: PASS"
