// Security against the real services: TLS to PostgreSQL with a certificate
// the test CA signed (tests/scripts/pg.sh makes it), the least-privilege
// role outboxd_relay every integration test runs the daemon as, and secrets
// kept out of the daemon's output. docs/security.md is what these check.
#include "services.h"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <csignal>
#include <fstream>
#include <set>
#include <string>

#include <unistd.h>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

const Services& tls_services() {
    const Services& s = services();
    INFO("services started by an older services.sh: restart them (ctest's fixture does)");
    REQUIRE_FALSE(s.pg_relay_dsn.empty());
    REQUIRE_FALSE(s.pg_tls_dsn.empty());
    REQUIRE_FALSE(s.pg_tls_dir.empty());
    return s;
}

// `dsn` with the value of `keyword` replaced (keyword=value form, no quotes).
std::string with_param(std::string dsn, const std::string& keyword, const std::string& value) {
    const auto at = dsn.find(keyword + "=");
    REQUIRE(at != std::string::npos);
    const auto end = dsn.find(' ', at);
    dsn.replace(at, (end == std::string::npos ? dsn.size() : end) - at, keyword + "=" + value);
    return dsn;
}

std::set<std::string> relay_privileges(const outboxd::config::Postgres& t) {
    std::set<std::string> out;
    for (const auto& row :
         sql(services().pg_dsn, "SELECT privilege_type FROM information_schema.role_table_grants "
                                "WHERE grantee = 'outboxd_relay' AND table_schema = '"
                                    + t.schema + "' AND table_name = '" + t.table + "'")) {
        out.insert(row[0]);
    }
    return out;
}

bool all_final(const outboxd::config::Postgres& t, int sent, int parked) {
    auto counts = status_counts(services().pg_dsn, t);
    return counts[1] == sent && counts[2] == parked;
}

} // namespace

TEST_CASE("TLS: the daemon relays over verify-full; a wrong CA fails check; require works",
          "[integration][security]") {
    const auto& s = tls_services();
    const auto name = unique_name("tls");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    const auto ids = insert_rows(
        s.pg_dsn, table, {{name, "k", "one", std::nullopt}, {name, "k", "two", std::nullopt}});

    auto cfg = daemon_config(table);
    // A name of our own picks this daemon's sessions out of pg_stat_activity.
    const std::string app = unique_name("outboxd_tls");
    cfg.pg_dsn = s.pg_tls_dsn + " application_name=" + app;
    const auto path = write_config(cfg);

    auto [rc, out] = run_outboxd({"check", "--config", path});
    INFO(out);
    CHECK(rc == 0);
    CHECK(contains(out, "postgres: ok"));

    Daemon d({"run", "--config", path});
    REQUIRE(eventually([&] { return all_final(table, 2, 0); }, 60s));
    // Every session the daemon holds (leader lock, relay, LISTEN) is TLS,
    // logged in as the relay role.
    const auto sessions =
        sql(s.pg_dsn, "SELECT count(*), bool_and(l.ssl), min(l.version), "
                      "bool_and(a.usename = 'outboxd_relay') FROM pg_stat_activity a "
                      "JOIN pg_stat_ssl l USING (pid) WHERE a.application_name = '"
                          + app + "'");
    INFO(d.log());
    REQUIRE(sessions.size() == 1);
    CHECK(std::stoi(sessions[0][0]) >= 1);
    CHECK(sessions[0][1] == "t");
    CHECK(contains(sessions[0][2], "TLS"));
    CHECK(sessions[0][3] == "t");
    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);
    CHECK(read_topic(s.kafka_bootstrap, name).size() == ids.size());

    {
        // A CA that did not sign the server's certificate.
        auto wrong = cfg;
        wrong.pg_dsn = with_param(s.pg_tls_dsn, "sslrootcert", s.pg_tls_dir + "/other-ca.crt");
        std::tie(rc, out) = run_outboxd({"check", "--config", write_config(wrong)});
        INFO(out);
        CHECK(rc != 0);
        CHECK(contains(out, "postgres: FAILED"));
        CHECK(contains(out, "certificate verify failed"));
    }
    {
        // A host name the certificate does not cover.
        auto wrong = cfg;
        // 127.0.0.2 reaches the same loopback server under a name not in its SAN.
        wrong.pg_dsn = with_param(s.pg_tls_dsn, "host", "127.0.0.2");
        std::tie(rc, out) = run_outboxd({"check", "--config", write_config(wrong)});
        INFO(out);
        CHECK(rc != 0);
        CHECK(contains(out, "does not match host name"));
    }
    {
        // sslmode=require: encrypted, the server not verified.
        auto req = cfg;
        req.pg_dsn = s.pg_relay_dsn + " sslmode=require";
        std::tie(rc, out) = run_outboxd({"check", "--config", write_config(req)});
        INFO(out);
        CHECK(rc == 0);
        CHECK(contains(out, "postgres: ok"));
        const auto ssl = sql_value(req.pg_dsn, "SELECT ssl FROM pg_stat_ssl WHERE pid = "
                                               "pg_backend_pid()");
        CHECK(ssl == "t");
    }
}

TEST_CASE("least privilege: the relay role cannot insert or delete, yet relays and parks rows",
          "[integration][security]") {
    const auto& s = tls_services();
    const auto name = unique_name("least");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    const auto ids = insert_rows(s.pg_dsn, table,
                                 {{name, "a", "fine", std::nullopt},
                                  {name, "b", "bad-headers", R"([1, 2])"}, // not an object
                                  {name, "c", "fine too", std::nullopt}});

    auto cfg = daemon_config(table);
    CHECK(cfg.pg_dsn == s.pg_relay_dsn);
    CHECK(relay_privileges(table) == std::set<std::string>{"SELECT", "UPDATE"});

    const std::string t = table_sql(table);
    CHECK_THROWS_WITH(sql(s.pg_relay_dsn, "DELETE FROM " + t),
                      Catch::Contains("permission denied for table " + name));
    CHECK_THROWS_WITH(
        sql(s.pg_relay_dsn, "INSERT INTO " + t + " (topic, payload) VALUES ('" + name + "', 'x')"),
        Catch::Contains("permission denied for table " + name));
    CHECK_THROWS_WITH(sql(s.pg_relay_dsn, "TRUNCATE " + t),
                      Catch::Contains("permission denied for table " + name));
    CHECK_THROWS_WITH(sql(s.pg_relay_dsn, "CREATE TABLE " + name + "_x (id int)"),
                      Catch::Contains("permission denied for schema public"));
    CHECK(sql_value(s.pg_relay_dsn, "SELECT count(*) FROM " + t) == "3");

    cfg.relay["max_attempts"] = "1";
    Daemon d({"run", "--config", write_config(cfg)});
    REQUIRE(eventually([&] { return all_final(table, 2, 1); }, 60s));
    const auto states = row_states(s.pg_dsn, table);
    CHECK(states.at(ids[0]).status == 1);
    CHECK(states.at(ids[1]).status == 2);
    CHECK(states.at(ids[1]).attempts == 1);
    CHECK_FALSE(states.at(ids[1]).last_error.empty());
    CHECK(states.at(ids[2]).status == 1);
    // A parked row requeued by the operator, as the same role, goes out too.
    auto [rc, out] =
        run_outboxd({"requeue", "--id", std::to_string(ids[1]), "--config", write_config(cfg)});
    INFO(out);
    INFO(d.log());
    CHECK(rc == 0);
    CHECK(contains(out, "requeued 1"));
    // Nothing this role lacks was ever needed: a permission error stops the
    // daemon with exit 1 (failures_it), and no statement failed at all.
    CHECK(d.running());
    CHECK(metric_value(d, "outboxd_db_reconnects_total") == 0.0);
    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);

    {
        // Retention on: DELETE is granted as well, and only then.
        auto with_retention = daemon_config(table);
        with_retention.extra_yaml = "retention:\n  sent_max_age_ms: 3600000\n";
        write_config(with_retention);
        CHECK(relay_privileges(table) == std::set<std::string>{"DELETE", "SELECT", "UPDATE"});
        CHECK(sql_value(s.pg_relay_dsn, "WITH d AS (DELETE FROM " + t
                                            + " WHERE id = -1 RETURNING 1) "
                                              "SELECT count(*) FROM d")
              == "0");
        daemon_config(table); // back to the grants of a config without retention
        CHECK(relay_privileges(table) == std::set<std::string>{"SELECT", "UPDATE"});
    }
}

TEST_CASE("secrets: the DSN password and sasl.password from a file never reach the logs",
          "[integration][security]") {
    const auto& s = tls_services();
    const auto name = unique_name("secrets");
    auto table = make_table(s.pg_dsn, name);
    create_topic(s.kafka_bootstrap, name, 1, 1);
    insert_rows(s.pg_dsn, table, {{name, "k", "payload", std::nullopt}});

    // Trust authentication ignores the password, so the daemon still logs in.
    const std::string pg_secret = "pgTOPSECRET" + std::to_string(::getpid());
    const std::string sasl_secret = "saslTOPSECRET" + std::to_string(::getpid());
    auto cfg = daemon_config(table);
    cfg.pg_dsn += " password=" + pg_secret;
    // librdkafka's own configuration dump, at debug level, must hide it too.
    cfg.kafka_props["debug"] = "conf";
    std::string path = write_config(cfg);
    const std::string secret_file = path.substr(0, path.rfind('/')) + "/sasl-password";
    std::ofstream(secret_file) << sasl_secret << "\n";
    {
        // properties_files and log level debug, written into the kafka and log sections.
        std::ifstream in(path);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const std::string durable = "\n  require_durable_topics: false\n";
        REQUIRE(contains(text, durable));
        text.replace(text.find(durable), durable.size(),
                     durable + "  properties_files:\n    sasl.password: sasl-password\n");
        REQUIRE(contains(text, "level: info"));
        text.replace(text.find("level: info"), 11, "level: debug");
        std::ofstream(path) << text;
    }

    auto [rc, out] = run_outboxd({"check", "--config", path});
    INFO(out);
    CHECK(rc == 0);
    CHECK_FALSE(contains(out, pg_secret));
    CHECK_FALSE(contains(out, sasl_secret));

    Daemon d({"run", "--config", path});
    REQUIRE(eventually([&] { return all_final(table, 1, 0); }, 60s));
    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);
    const std::string log = d.log();
    INFO(tail_of(log));

    // A connection that fails does not show the password either.
    auto bad = cfg;
    bad.pg_dsn =
        with_param(s.pg_relay_dsn, "port", "1") + " connect_timeout=2 password=" + pg_secret;
    std::tie(rc, out) = run_outboxd({"check", "--config", write_config(bad)});
    INFO(out);
    CHECK(rc != 0);
    CHECK(contains(out, "postgres: FAILED"));
    CHECK_FALSE(contains(out, pg_secret));
    Daemon failing({"run", "--config", write_config(bad)});
    const auto port = failing.http_port();
    REQUIRE(port);
    // It waits for PostgreSQL, and says so on /readyz (without the reason:
    // a driver's message never goes there).
    std::string readyz;
    CHECK(eventually(
        [&] {
            readyz = http_get(*port, "/readyz").second;
            return contains(readyz, "\npostgres: unreachable");
        },
        30s));
    CHECK(failing.running());
    failing.signal(SIGTERM);
    CHECK(failing.wait(30s) == 0);
    INFO(readyz);
    CHECK_FALSE(contains(readyz, pg_secret));
    const std::string failing_log = failing.log();
    INFO(tail_of(failing_log));
    // The contract, read in both logs: the debug lines (librdkafka's
    // configuration dump among them) are there, and neither secret is.
    CHECK_THAT(log + failing_log, Catch::Contains("librdkafka") && !Catch::Contains(pg_secret)
                                      && !Catch::Contains(sasl_secret));
}
