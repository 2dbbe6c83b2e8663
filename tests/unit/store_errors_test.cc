// The store's error classes without a database (store/outbox_store.h): which
// SQLSTATEs are outages, and which refused logins are misconfiguration. The
// same classes reach the daemon's loops through daemon/failure.h.
#include "store/outbox_store.h"

#include <catch2/catch.hpp>

namespace outboxd::store {
namespace {

TEST_CASE("store errors: outage SQLSTATEs are retried, the rest are not", "[unit][store]") {
    for (const char* outage : {"", "08006", "08001", "53300", "58030", "57P01", "57P02", "57P03",
                               "57014", "40001", "40P01", "55P03", "25006"}) {
        INFO(outage);
        CHECK(is_outage_sqlstate(outage));
    }
    for (const char* not_outage : {"42501", "42P01", "42703", "23505", "22P02", "0A000", "P0001",
                                   "57000", "28P01", "3D000"}) {
        INFO(not_outage);
        CHECK_FALSE(is_outage_sqlstate(not_outage));
    }
}

TEST_CASE("store errors: a refused login is named, a server that cannot answer is an outage",
          "[unit][store]") {
    const auto wrong_password = refused_connection(
        "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password "
        "authentication failed for user \"outboxd_relay\"\n");
    REQUIRE(wrong_password);
    CHECK(*wrong_password == "wrong password, SQLSTATE 28P01");
    CHECK(refused_connection("FATAL:  no pg_hba.conf entry for host \"10.0.0.5\", user \"x\", "
                             "database \"app\", no encryption")
          == std::optional<std::string>("no pg_hba.conf entry for this login, SQLSTATE 28000"));
    CHECK(refused_connection("FATAL:  role \"outboxd_relay\" does not exist")
          == std::optional<std::string>("unknown role, SQLSTATE 28000"));
    CHECK(refused_connection("FATAL:  database \"orders\" does not exist")
          == std::optional<std::string>("unknown database, SQLSTATE 3D000"));
    CHECK(refused_connection("FATAL:  permission denied for database \"orders\"\nDETAIL:  User "
                             "does not have CONNECT privilege.")
          == std::optional<std::string>("no CONNECT privilege, SQLSTATE 42501"));
    // Outages: waiting helps.
    CHECK_FALSE(refused_connection("connection to server at \"127.0.0.1\", port 5432 failed: "
                                   "Connection refused\n\tIs the server running on that host?"));
    CHECK_FALSE(refused_connection("FATAL:  the database system is starting up"));
    CHECK_FALSE(refused_connection("FATAL:  sorry, too many clients already"));
    CHECK_FALSE(refused_connection("timeout expired"));
    // A missing table is not a login problem (the session reports it itself).
    CHECK_FALSE(refused_connection("ERROR:  relation \"outbox\" does not exist"));
}

} // namespace
} // namespace outboxd::store
