#include "relay/retry_policy.h"

#include <catch2/catch.hpp>

using outboxd::Millis;
using outboxd::relay::RetryPolicy;

TEST_CASE("back-off doubles from initial and stops at max", "[unit][retry]") {
    RetryPolicy p;
    p.initial = Millis(1000);
    p.max = Millis(60000);
    p.jitter = 0.2;
    CHECK(p.backoff(1, 0.0) == Millis(1000));
    CHECK(p.backoff(2, 0.0) == Millis(2000));
    CHECK(p.backoff(3, 0.0) == Millis(4000));
    CHECK(p.backoff(7, 0.0) == Millis(60000));
    CHECK(p.backoff(1000, 0.0) == Millis(60000)); // no overflow
}

TEST_CASE("jitter only shortens the delay, by at most the jitter fraction", "[unit][retry]") {
    RetryPolicy p;
    p.initial = Millis(1000);
    p.max = Millis(60000);
    p.jitter = 0.2;
    CHECK(p.backoff(1, 0.5) == Millis(900));
    CHECK(p.backoff(1, 0.999) > Millis(800));
    CHECK(p.backoff(10, 0.999) <= Millis(60000));
}

TEST_CASE("exhausted after max_attempts counted failures", "[unit][retry]") {
    RetryPolicy p;
    p.max_attempts = 5;
    CHECK_FALSE(p.exhausted(4));
    CHECK(p.exhausted(5));
    p.max_attempts = 1;
    CHECK(p.exhausted(1));
}
