# syntax=docker/dockerfile:1
# outboxd container image: build on Debian bookworm, run on bookworm-slim with
# only the runtime libraries. Built and run with podman by
# scripts/test-deploy.sh (bases made from Debian's packages by mmdebstrap;
# docs/deployment.md lists what it proves); tests/scripts/check-deploy.py
# checks that the runtime package list below covers every library the
# binary links, and keeps the package names in step with
# scripts/install-deps.sh.
#
#   docker build -t outboxd .
#   docker run --rm -e OUTBOXD_POSTGRES_DSN=... -e OUTBOXD_KAFKA_BOOTSTRAP_SERVERS=... outboxd check
FROM debian:bookworm AS build
# The release (project(VERSION) in CMakeLists.txt; check-deploy.py keeps this
# default in step) and the commit, which the build context has no .git to
# tell: scripts/test-deploy.sh passes `git rev-parse --short=12 HEAD`.
ARG OUTBOXD_VERSION=0.5.0
ARG OUTBOXD_COMMIT=unknown
# The -dev packages of scripts/install-deps.sh, without the test-only ones.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake ninja-build pkg-config \
      librdkafka-dev libpqxx-dev libpq-dev libyaml-cpp-dev libboost-dev libboost-system-dev \
      libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libsystemd-dev librabbitmq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the daemon's build reads, so a change to docs, tests or scripts
# does not invalidate the compile layer. OUTBOXD_DAEMON_ONLY makes the top
# CMakeLists.txt read src/ and nothing else, so a new optional folder
# (tests/, bench/, examples/, ...) cannot break this build again;
# tests/scripts/check-deploy.py fails when a folder is added outside that
# guard, and the suite's deploy_image test builds this file for real.
COPY CMakeLists.txt ./
COPY src/ src/
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOUTBOXD_DAEMON_ONLY=ON \
      -DOUTBOXD_COMMIT="$OUTBOXD_COMMIT" \
 && cmake --build /build --target outboxd \
 && strip /build/src/outboxd \
 && /build/src/outboxd --version \
 && { /build/src/outboxd --version | grep -qxF "outboxd $OUTBOXD_VERSION (commit $OUTBOXD_COMMIT)" \
      || { echo "OUTBOXD_VERSION=$OUTBOXD_VERSION is not the version in CMakeLists.txt" >&2; exit 1; }; }

FROM debian:bookworm-slim
ARG OUTBOXD_VERSION=0.5.0
ARG OUTBOXD_COMMIT=unknown
LABEL org.opencontainers.image.title="outboxd" \
      org.opencontainers.image.description="Transactional outbox relay: PostgreSQL to Kafka or RabbitMQ" \
      org.opencontainers.image.version="$OUTBOXD_VERSION" \
      org.opencontainers.image.revision="$OUTBOXD_COMMIT"
# One package per library the binary links directly (readelf -d NEEDED);
# apt pulls in their own dependencies (libpq5, OpenSSL, SASL, zstd...).
# libc6, libstdc++6 and libgcc-s1 are part of the base image.
# apt's caches go in the same layer: the downloaded .debs and pkgcache.bin
# (82 MB of the first image built here). The registry's Debian images
# delete them through an apt hook; a base made with debootstrap or
# mmdebstrap does not, so the Dockerfile must not rely on it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libpqxx-6.4 libpq5 libyaml-cpp0.7 libspdlog1.10 libfmt9 libsystemd0 librabbitmq4 \
      ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 outboxd \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin outboxd
COPY --from=build /build/src/outboxd /usr/local/bin/outboxd
# Fail the image build, not the first start, when a library is missing.
RUN if ldd /usr/local/bin/outboxd | grep 'not found'; then exit 1; fi \
 && /usr/local/bin/outboxd --version
# No addresses and no secrets in the image: OUTBOXD_POSTGRES_DSN (or
# OUTBOXD_POSTGRES_DSN_FILE) and OUTBOXD_KAFKA_BOOTSTRAP_SERVERS come from
# the environment, or mount your own file over this one.
COPY deploy/docker/outboxd.yaml /etc/outboxd/outboxd.yaml
# Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
ENV OUTBOXD_CONFIG=/etc/outboxd/outboxd.yaml
# Inside a container loopback is private to the container: listen on all
# interfaces so the Docker HEALTHCHECK, Prometheus and kubelet probes reach
# /metrics, /healthz and /readyz. Publish the port only where needed.
ENV OUTBOXD_HTTP_LISTEN=0.0.0.0:9187
EXPOSE 9187
# Liveness only (/healthz: process up, main loop turning). A standby or a
# broker outage is not "unhealthy"; /readyz says whether rows move.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["outboxd", "healthcheck"]
# SIGTERM: outboxd waits up to relay.shutdown_timeout_ms (10 s) for delivery
# reports; give `docker stop` more than that (compose: stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["outboxd"]
CMD ["run"]
