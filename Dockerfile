# syntax=docker/dockerfile:1
# outboxd container image: build on Debian bookworm, run on bookworm-slim with
# only the runtime libraries. NOT BUILT on the project's own machines (they
# have no Docker engine); tests/scripts/check-deploy.py checks that the
# runtime package list below covers every library the binary built there
# links, and keeps the package names in step with scripts/install-deps.sh.
#
#   docker build -t outboxd .
#   docker run --rm -e OUTBOXD_POSTGRES_DSN=... -e OUTBOXD_KAFKA_BOOTSTRAP_SERVERS=... outboxd check
FROM debian:bookworm AS build
# The -dev packages of scripts/install-deps.sh, without the test-only ones.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake ninja-build pkg-config \
      librdkafka-dev libpqxx-dev libpq-dev libyaml-cpp-dev libboost-dev libboost-system-dev \
      libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libsystemd-dev librabbitmq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DOUTBOXD_TESTS=OFF -DOUTBOXD_BENCH=OFF \
 && cmake --build /build --target outboxd \
 && strip /build/src/outboxd

FROM debian:bookworm-slim
# One package per library the binary links directly (readelf -d NEEDED);
# apt pulls in their own dependencies (libpq5, OpenSSL, SASL, zstd...).
# libc6, libstdc++6 and libgcc-s1 are part of the base image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      librdkafka1 libpqxx-6.4 libpq5 libyaml-cpp0.7 libspdlog1.10 libfmt9 libsystemd0 librabbitmq4 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
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
