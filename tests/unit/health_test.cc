// The liveness and readiness rules behind /healthz and /readyz, with a
// manual clock: no server, no services.
#include "health/health_state.h"

#include <catch2/catch.hpp>

using namespace outboxd;
using outboxd::health::HealthState;
using outboxd::health::Role;

TEST_CASE("liveness: ok while the loop turns, not ok once it stalls", "[unit][health]") {
    ManualClock clock;
    HealthState h(clock);
    CHECK(h.liveness(Millis(1000)).ok);
    clock.advance(Millis(900));
    CHECK(h.liveness(Millis(1000)).ok);
    clock.advance(Millis(200));
    const auto stalled = h.liveness(Millis(1000));
    CHECK_FALSE(stalled.ok);
    CHECK(stalled.body == "not ok: main loop has not turned for 1.1 s (limit 1.0 s)\n");
    h.loop_turned();
    const auto again = h.liveness(Millis(1000));
    CHECK(again.ok);
    CHECK(again.body == "ok: main loop turned 0.0 s ago\n");
}

TEST_CASE("readiness: not ready until started and both services checked", "[unit][health]") {
    ManualClock clock;
    HealthState h(clock);
    auto r = h.readiness();
    CHECK_FALSE(r.ok);
    CHECK(r.body.rfind("not ready: starting\n", 0) == 0);
    h.set_role(Role::kStandby, "lock held by backend pid 42");
    r = h.readiness();
    CHECK_FALSE(r.ok);
    CHECK(r.body.rfind("not ready: services not checked yet\n", 0) == 0);
    h.set_postgres(true);
    CHECK_FALSE(h.readiness().ok);
    h.set_broker(true);
    r = h.readiness();
    CHECK(r.ok);
    CHECK(r.body
          == "ready: standby\nrole: standby (lock held by backend pid 42)\npostgres: ok\nkafka: "
             "ok\n");
}

TEST_CASE("readiness: a leader is ready; an unreachable service is not, with the reason",
          "[unit][health]") {
    ManualClock clock;
    HealthState h(clock);
    h.set_role(Role::kLeader);
    h.set_postgres(true);
    h.set_broker(true);
    auto r = h.readiness();
    CHECK(r.ok);
    CHECK(r.body.rfind("ready: active publisher\n", 0) == 0);

    h.set_broker(false, "all brokers down");
    r = h.readiness();
    CHECK_FALSE(r.ok);
    CHECK(r.body.rfind("not ready: kafka unreachable\n", 0) == 0);
    CHECK(r.body.find("kafka: unreachable: all brokers down") != std::string::npos);

    h.set_broker(true);
    // libpq can echo a malformed DSN, password included: never shown.
    h.set_postgres(false, "could not translate host name \"secret@db\"");
    r = h.readiness();
    CHECK_FALSE(r.ok);
    CHECK(r.body.rfind("not ready: postgres unreachable\n", 0) == 0);
    CHECK(r.body.find("postgres: unreachable (the reason is in the log)") != std::string::npos);
    CHECK(r.body.find("secret") == std::string::npos);

    h.set_postgres(true);
    CHECK(h.readiness().ok);
    h.set_role(Role::kStopping);
    CHECK_FALSE(h.readiness().ok);
}

TEST_CASE("readiness: a standby whose lock session fails is not ready", "[unit][health]") {
    ManualClock clock;
    HealthState h(clock);
    h.set_postgres(true);
    h.set_broker(true);
    h.set_role(Role::kStandby, "lock session unavailable", false);
    auto r = h.readiness();
    CHECK_FALSE(r.ok);
    CHECK(r.body.rfind("not ready: standby cannot reach its lock session\n", 0) == 0);
    h.set_role(Role::kStandby, "lock held by backend pid 7");
    CHECK(h.readiness().ok);
}
