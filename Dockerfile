# outboxd container image: build on Debian bookworm, run on bookworm-slim with
# only the runtime libraries. Not built on the project's own machines (no
# Docker engine there); keep it in step with scripts/install-deps.sh.
FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake ninja-build pkg-config \
      librdkafka-dev libpqxx-dev libpq-dev libyaml-cpp-dev libboost-dev libboost-system-dev \
      libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libsystemd-dev catch2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DOUTBOXD_TESTS=OFF -DOUTBOXD_BENCH=OFF \
 && cmake --build /build --target outboxd \
 && strip /build/src/outboxd

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends librdkafka1 libpqxx-6.4 libpq5 libyaml-cpp0.7 \
      libspdlog1.10 libfmt9 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home outboxd
COPY --from=build /build/src/outboxd /usr/local/bin/outboxd
COPY config/outboxd.example.yaml /etc/outboxd/outboxd.yaml
USER outboxd
ENV OUTBOXD_CONFIG=/etc/outboxd/outboxd.yaml
# The configuration check is the only health signal until the HTTP
# endpoint lands; it reaches both services.
HEALTHCHECK --interval=30s --timeout=15s CMD ["outboxd", "check"]
ENTRYPOINT ["outboxd"]
CMD ["run"]
