// postgres.layout, the mapping options and message.envelope as the loader
// reads and checks them (docs/debezium.md), and the adoption steps of
// `outboxd migrate` for a Debezium table (store/sql.h). No I/O.
#include "config/config.h"
#include "store/sql.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace outboxd::config {
namespace {

LoadResult load_with(const std::string& yaml, std::vector<std::string> env = {}) {
    env.push_back("OUTBOXD_POSTGRES_DSN=host=127.0.0.1 dbname=app");
    env.push_back("OUTBOXD_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092");
    return load_config_text(yaml, "test.yaml", env);
}

Config loaded(const std::string& yaml) {
    auto r = load_with(yaml);
    for (const auto& p : r.problems) {
        UNSCOPED_INFO(format_problem(p));
    }
    REQUIRE(r.config);
    return *r.config;
}

std::string problems_of(const std::string& yaml) {
    auto r = load_with(yaml);
    REQUIRE_FALSE(r.config);
    std::string all;
    for (const auto& p : r.problems) {
        all += format_problem(p) + "\n";
    }
    return all;
}

} // namespace

TEST_CASE("layout: outboxd is the default and changes nothing", "[unit][config][layout]") {
    const Config c = loaded("");
    CHECK(c.postgres.layout == Layout::kOutboxd);
    CHECK(c.postgres.columns.id == "id");
    CHECK(c.postgres.columns.headers == "headers");
    CHECK(c.postgres.columns.event_id.empty());
    CHECK(c.postgres.route.by_column.empty());
    CHECK(c.kafka.properties.count("partitioner") == 0);
    CHECK(c.message.envelope == Envelope::kNone);
    CHECK_FALSE(c.postgres.tracing_optional);
}

TEST_CASE("layout: debezium sets Debezium's defaults in one line", "[unit][config][layout]") {
    const Config c = loaded("postgres:\n  layout: debezium\n");
    CHECK(c.postgres.layout == Layout::kDebezium);
    CHECK(c.postgres.route.by_column == "aggregatetype");
    CHECK(c.postgres.route.topic_regex == "(?<routedByValue>.*)");
    CHECK(c.postgres.route.topic_replacement == "outbox.event.${routedByValue}");
    CHECK(c.postgres.columns.key == "aggregateid");
    CHECK(c.postgres.columns.payload == "payload");
    CHECK(c.postgres.columns.event_id == "id");
    CHECK(c.postgres.columns.event_type == "type");
    CHECK(c.postgres.columns.tracing == "tracingspancontext");
    CHECK(c.postgres.tracing_optional);
    CHECK(c.postgres.columns.headers.empty());
    CHECK(c.postgres.columns.id == "outboxd_id");
    CHECK(c.postgres.columns.status == "outboxd_status");
    CHECK(c.postgres.columns.sent_at == "outboxd_sent_at");
    // Java's partitioner: a key lands where Debezium put it.
    CHECK(c.kafka.properties.at("partitioner") == "murmur2_random");
}

TEST_CASE("layout: explicit options win over the layout's defaults", "[unit][config][layout]") {
    const Config c = loaded("postgres:\n  layout: debezium\n  columns:\n    key: customer_id\n"
                            "    tracing: trace\n  route:\n    topic_replacement: \"orders\"\n"
                            "kafka:\n  properties:\n    partitioner: consistent_random\n");
    CHECK(c.postgres.columns.key == "customer_id");
    CHECK(c.postgres.columns.tracing == "trace");
    CHECK_FALSE(c.postgres.tracing_optional);
    CHECK(c.postgres.route.topic_replacement == "orders");
    CHECK(c.kafka.properties.at("partitioner") == "consistent_random");
    // The environment is an explicit setting too.
    auto r = load_with("postgres:\n  layout: debezium\n", {"OUTBOXD_POSTGRES_COLUMNS_ID=seq"});
    REQUIRE(r.config);
    CHECK(r.config->postgres.columns.id == "seq");
}

TEST_CASE("additional fields: parsed, printed back, and every mistake named",
          "[unit][config][layout]") {
    const Config c = loaded("postgres:\n  additional_fields: [\"type:header:eventType\", "
                            "\"version:envelope\", \"part:partition\"]\n");
    const auto& f = c.postgres.additional_fields;
    REQUIRE(f.size() == 3);
    CHECK(f[0].column == "type");
    CHECK(f[0].placement == Placement::kHeader);
    CHECK(f[0].alias == "eventType");
    CHECK(f[1].alias == "version");
    CHECK(f[1].placement == Placement::kEnvelope);
    CHECK(f[2].placement == Placement::kPartition);
    CHECK_THAT(to_yaml(c, false), Catch::Contains("type:header:eventType"));

    CHECK_THAT(problems_of("postgres:\n  additional_fields: [\"a\"]\n"),
               Catch::Contains("additional_fields[0]: must be column:header"));
    CHECK_THAT(problems_of("postgres:\n  additional_fields: [\"a:body\"]\n"),
               Catch::Contains("placement must be header, envelope or partition"));
    CHECK_THAT(problems_of("postgres:\n  additional_fields: [\"a:partition:x\"]\n"),
               Catch::Contains("takes no name"));
    CHECK_THAT(problems_of("postgres:\n  additional_fields: [\"a:partition\", \"b:partition\"]\n"),
               Catch::Contains("at most one column can give the partition"));
    CHECK_THAT(problems_of("postgres:\n  additional_fields: [\"a:envelope:payload\"]\n"),
               Catch::Contains("envelope member \"payload\""));
    CHECK_THAT(
        problems_of("postgres:\n  layout: debezium\n  additional_fields: [\"a:header:id\"]\n"),
        Catch::Contains("outboxd's own"));
    CHECK_THAT(problems_of("broker: rabbitmq\nrabbitmq:\n  url: \"amqp://g:g@h/\"\npostgres:\n"
                           "  additional_fields: [\"a:partition\"]\n"),
               Catch::Contains("needs broker: kafka"));
}

TEST_CASE("route: a regex or replacement outboxd cannot run is refused at load",
          "[unit][config][layout]") {
    CHECK_THAT(
        problems_of("postgres:\n  layout: debezium\n  route:\n    topic_regex: \"(?<=x).*\"\n"),
        Catch::Contains("postgres.route.topic_regex"));
    CHECK_THAT(problems_of("postgres:\n  layout: debezium\n  route:\n    topic_replacement: "
                           "\"t.${nope}\"\n"),
               Catch::Contains("postgres.route.topic_replacement: no group named \"nope\""));
    // Without by_column the route is not used, so it is not checked either.
    CHECK(load_with("postgres:\n  route:\n    topic_regex: \"(?<=x).*\"\n").config);
    CHECK_THAT(problems_of("postgres:\n  layout: debezium\nconfirm:\n  consumers: [billing]\n"),
               Catch::Contains("not supported yet"));
}

TEST_CASE("message.envelope: the three modes; the source must be a URI reference",
          "[unit][config][layout]") {
    CHECK(loaded("message:\n  envelope: cloudevents-binary\n").message.envelope
          == Envelope::kCloudEventsBinary);
    CHECK(loaded("message:\n  envelope: cloudevents-structured\n").message.envelope
          == Envelope::kCloudEventsStructured);
    CHECK_THAT(problems_of("message:\n  envelope: cloudevents\n"),
               Catch::Contains("message.envelope"));
    CHECK_THAT(problems_of("message:\n  cloudevents:\n    source: \"/a b\"\n"),
               Catch::Contains("URI reference"));
}

TEST_CASE("columns: read-only roles may share a column, written ones never",
          "[unit][config][layout]") {
    CHECK(loaded("postgres:\n  layout: debezium\n  columns:\n    key: id\n").postgres.columns.key
          == "id");
    CHECK_THAT(problems_of("postgres:\n  layout: debezium\n  columns:\n    status: id\n"),
               Catch::Contains("same column as"));
}

TEST_CASE("adoption: the missing columns without a rewrite, indexes concurrently",
          "[unit][config][layout]") {
    const Config c = loaded("postgres:\n  layout: debezium\n  table: shop.outboxevent\n");
    const auto steps = store::adoption_steps(
        c.postgres, true, {"id", "aggregatetype", "aggregateid", "type", "payload"}, {});
    const auto find = [&steps](const std::string& piece) {
        return std::find_if(steps.begin(), steps.end(), [&piece](const store::AdoptionStep& s) {
            return s.sql.find(piece) != std::string::npos;
        });
    };
    REQUIRE(find("ADD COLUMN IF NOT EXISTS \"outboxd_id\" bigint") != steps.end());
    // Rows already there count as sent, new ones are pending.
    REQUIRE(find("\"outboxd_status\" smallint NOT NULL DEFAULT 1") != steps.end());
    REQUIRE(find("ALTER COLUMN \"outboxd_status\" SET DEFAULT 0") != steps.end());
    REQUIRE(find("nextval('\"shop\".\"outboxevent_outboxd_id_seq\"'::regclass)") != steps.end());
    const auto unique = find("UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"outboxevent_outboxd_id\"");
    REQUIRE(unique != steps.end());
    CHECK(unique->concurrently);
    const auto pending = find("\"outboxevent_pending\"");
    REQUIRE(pending != steps.end());
    CHECK(pending->concurrently);
    CHECK_THAT(pending->sql, Catch::Contains("WHERE \"outboxd_status\" = 0"));
    CHECK(find("CREATE TABLE IF NOT EXISTS \"shop\".\"outboxevent\" (") == steps.end());
    for (const auto& s : steps) {
        // Nothing rewrites the table or builds an index while holding its lock.
        CHECK(s.sql.find("CREATE INDEX IF") == std::string::npos);
        CHECK(s.sql.find("ALTER COLUMN \"payload\"") == std::string::npos);
    }

    // A second run adds nothing that is there.
    const auto again = store::adoption_steps(
        c.postgres, true,
        {"id", "outboxd_id", "outboxd_status", "outboxd_attempts", "outboxd_last_error",
         "outboxd_next_attempt_at", "outboxd_created_at", "outboxd_sent_at"},
        {"outboxevent_outboxd_id", "outboxevent_pending", "outboxevent_failed",
         "outboxevent_consumer_failed", "outboxevent_closed"});
    for (const auto& s : again) {
        CHECK(s.sql.find("ADD COLUMN") == std::string::npos);
        CHECK_FALSE(s.concurrently);
    }

    // No table yet: Debezium's documented shape, then the same columns.
    const auto fresh = store::adoption_steps(c.postgres, false, {}, {});
    REQUIRE_FALSE(fresh.empty());
    CHECK_THAT(fresh[0].sql, Catch::Contains("\"id\" uuid PRIMARY KEY"));
    CHECK_THAT(fresh[0].sql, Catch::Contains("\"aggregatetype\" varchar(255) NOT NULL"));
    CHECK_THAT(fresh[0].sql, Catch::Contains("\"payload\" jsonb"));
}

TEST_CASE("retention.mode: delete by default; partition needs an age and outboxd's layout, "
          "both problems listed at once",
          "[unit][config][retention]") {
    CHECK(loaded("").postgres.retention_mode == RetentionMode::kDelete);
    const Config c = loaded("retention:\n  mode: partition\n  sent_max_age_ms: 3600000\n");
    CHECK(c.postgres.retention_mode == RetentionMode::kPartition);
    const std::string both = problems_of("postgres:\n  layout: debezium\nretention:\n"
                                         "  mode: partition\n");
    CHECK_THAT(both, Catch::Contains("retention.sent_max_age_ms > 0"));
    CHECK_THAT(both, Catch::Contains("needs postgres.layout outboxd"));
    CHECK_THAT(problems_of("retention:\n  mode: drop\n"), Catch::Contains("retention.mode"));
}

} // namespace outboxd::config
