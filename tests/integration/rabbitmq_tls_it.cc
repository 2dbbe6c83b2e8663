// outboxd to RabbitMQ over TLS (amqps://): the test node's TLS listener has
// a certificate for the name localhost from a CA tests/scripts/rabbitmq.sh
// makes. Relaying works with that CA in rabbitmq.ca_file; another CA, or a
// host name the certificate does not name, fails `check` and says why.
#include "amqp_client.h"
#include "services.h"

#include <catch2/catch.hpp>

#include <csignal>

#include <nlohmann/json.hpp>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

DaemonConfig tls_config(const outboxd::config::Postgres& table,
                        const std::string& url,
                        const std::string& ca_file) {
    DaemonConfig cfg = daemon_config(table);
    cfg.extra_yaml = "broker: rabbitmq\nrabbitmq:\n  url: \"" + url + "\"\n";
    if (!ca_file.empty()) {
        cfg.extra_yaml += "  ca_file: \"" + ca_file + "\"\n";
    }
    return cfg;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("rabbitmq over TLS: relays through amqps:// with the test CA; a wrong CA or host "
          "name fails check clearly",
          "[integration][rabbitmq-tls]") {
    const auto& s = services();
    REQUIRE_FALSE(s.rabbitmq_tls_url.empty());
    REQUIRE(s.rabbitmq_tls_url.rfind("amqps://", 0) == 0);
    const std::string ca = s.rabbitmq_tls_dir + "/ca.crt";
    const std::string other_ca = s.rabbitmq_tls_dir + "/other-ca.crt";
    const auto name = unique_name("rmq_tls");
    auto table = make_table(s.pg_dsn, name);
    AmqpClient amqp; // plain AMQP: the test reads what came in over TLS
    amqp.exchange(name);
    amqp.quorum_queue(name);
    amqp.bind(name, name, "k");

    {
        auto [rc, out] = run_outboxd(
            {"check", "--config", write_config(tls_config(table, s.rabbitmq_tls_url, ca))});
        INFO(out);
        CHECK(rc == 0);
        CHECK_THAT(out, Catch::Contains("rabbitmq: ok (amqps localhost:"));
        CHECK_THAT(out, !Catch::Contains("guest:guest"));
    }
    {
        const int n = 500;
        std::vector<NewRow> rows(n, NewRow{name, std::string("k"), std::string("over tls"), {}});
        insert_rows(s.pg_dsn, table, rows);
        Daemon d({"run", "--config", write_config(tls_config(table, s.rabbitmq_tls_url, ca))});
        REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == n; }, 60s));
        // The daemon's connection, as the broker sees it: over TLS.
        CHECK(eventually(
            [&] {
                const auto [status, body] = rabbitmq_api("/api/connections");
                if (status != 200) {
                    return false;
                }
                for (const auto& c : nlohmann::json::parse(body)) {
                    if (c.value("ssl", false)) {
                        return true;
                    }
                }
                return false;
            },
            30s));
        d.signal(SIGTERM);
        REQUIRE(d.wait(30s) == 0);
        const auto t = tally_queue(amqp.drain(name), s.pg_dsn, table);
        CHECK(t.rows == n);
        CHECK(t.lost == 0);
        CHECK(t.duplicates == 0);
    }
    {
        // A CA that signed nothing here: the peer check fails, named.
        auto [rc, out] = run_outboxd(
            {"check", "--config", write_config(tls_config(table, s.rabbitmq_tls_url, other_ca))});
        INFO(out);
        CHECK(rc == 1);
        CHECK_THAT(out, Catch::Contains("rabbitmq: FAILED: connecting to amqps localhost:"));
        CHECK_THAT(out, Catch::Contains("SSL peer cert verification failed"));
        CHECK_THAT(out, Catch::Contains("the CA in " + other_ca));
    }
    {
        // No ca_file: the system bundle, which does not hold the test CA.
        auto [rc, out] = run_outboxd(
            {"check", "--config", write_config(tls_config(table, s.rabbitmq_tls_url, ""))});
        INFO(out);
        CHECK(rc == 1);
        CHECK_THAT(out, Catch::Contains("SSL peer cert verification failed"));
        CHECK_THAT(out, Catch::Contains("/etc/ssl/certs/ca-certificates.crt"));
    }
    {
        // The right CA, but a host name the certificate does not name.
        const auto by_ip = replace(s.rabbitmq_tls_url, "@localhost:", "@127.0.0.1:");
        auto [rc, out] =
            run_outboxd({"check", "--config", write_config(tls_config(table, by_ip, ca))});
        INFO(out);
        CHECK(rc == 1);
        CHECK_THAT(out, Catch::Contains("SSL hostname verification failed"));
        CHECK_THAT(out, Catch::Contains("for host name 127.0.0.1"));
    }
    {
        // A CA beside a plain amqp:// URL is refused as misconfiguration.
        auto [rc, out] =
            run_outboxd({"check", "--config", write_config(tls_config(table, s.rabbitmq_url, ca))});
        INFO(out);
        CHECK(rc == 2);
        CHECK_THAT(out, Catch::Contains("rabbitmq.ca_file: is set but rabbitmq.url is not an "
                                        "amqps:// URI"));
    }
}
