// The advisory-lock key is part of the on-the-wire contract between outboxd
// versions: if lock_key_for ever changes, two versions in a rolling upgrade
// take different locks on the same table and both publish (G5).
#include "leader/lease.h"

#include <catch2/catch.hpp>

TEST_CASE("lease: lock_key_for is FNV-1a 64 of \"outboxd:<schema>.<table>\", pinned",
          "[unit][lease]") {
    using outboxd::leader::lock_key_for;
    // Values computed independently of this code (FNV-1a 64 over the bytes).
    CHECK(lock_key_for("public", "outbox") == INT64_C(-5158018216368579378));
    CHECK(lock_key_for("billing", "invoice_outbox") == INT64_C(-4032399875207956620));
    CHECK(lock_key_for("public", "partition_7365_1_24280264") == INT64_C(8533326625519207748));
    // Schema and table are not interchangeable.
    CHECK(lock_key_for("a", "b.c") == lock_key_for("a.b", "c")); // the text is the same
    CHECK(lock_key_for("public", "outbox") != lock_key_for("outbox", "public"));
}
