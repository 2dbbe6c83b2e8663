#!/usr/bin/env bash
# Installs the Debian bookworm packages that building, testing and running
# outboxd locally need. Idempotent: quiet and fast when all are present.
#   install-deps.sh            building, the demo, the suite without its deploy tier
#   install-deps.sh --deploy   also what the deployment proofs and the browser
#                              test need (podman, mmdebstrap, the packaging
#                              tools, Chromium and its driver): scripts/test.sh
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  librdkafka-dev librabbitmq-dev libpqxx-dev libpq-dev libyaml-cpp-dev
  libboost-dev libboost-system-dev
  catch2 libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libsystemd-dev
  postgresql-15 postgresql-client-15 rabbitmq-server amqp-tools
  openjdk-17-jre-headless maven
  kcat procps iproute2 util-linux iptables pgbouncer
  clang-format clang-tidy python3 python3-yaml python3-venv systemd openssl
)
# The deploy tier: the image and systemd in containers (podman with runc,
# bases by mmdebstrap), compose translation, HTTP checks, the Debian package
# (dpkg-shlibdeps, lintian; the Helm chart builds helm with the Go toolchain).
# The console's browser test drives headless Chromium through chromedriver
# (Selenium from PyPI, in a venv tests/browser/run.sh makes).
DEPLOY_PACKAGES=(podman runc mmdebstrap uidmap slirp4netns fuse-overlayfs podman-compose curl dpkg-dev lintian
  chromium chromium-driver)
case "${1:-}" in
  --deploy) PACKAGES+=("${DEPLOY_PACKAGES[@]}") ;;
  "") ;;
  *) echo "install-deps: unknown argument '$1' (--deploy or nothing)" >&2; exit 2 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or with sudo) to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
