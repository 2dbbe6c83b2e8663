// `outboxd convert-debezium` (cli/debezium_convert.h): Java Properties and
// JSON parsing, the conversion of Debezium's documented connector examples
// (tests/data/debezium/connectors) into configurations outboxd's loader
// accepts, every reason a key is not mapped, and that no secret ever reaches
// the output.
#include "cli/debezium_convert.h"
#include "common/topic_route.h"
#include "config/config.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace fs = std::filesystem;
using outboxd::cli::debezium::Connector;
using outboxd::cli::debezium::Conversion;
using outboxd::cli::debezium::convert;
using outboxd::cli::debezium::ConvertOptions;
using outboxd::cli::debezium::parse_connector;
using outboxd::cli::debezium::parse_json;
using outboxd::cli::debezium::parse_properties;
using outboxd::cli::debezium::ParsedConnector;

namespace {

std::string router() {
    return "transforms=outbox\n"
           "transforms.outbox.type=io.debezium.transforms.outbox.EventRouter\n";
}
std::string server() {
    return "connector.class=io.debezium.connector.postgresql.PostgresConnector\n"
           "database.hostname=db\n"
           "database.dbname=app\n"
           "database.user=relay\n"
           "table.include.list=public.outboxevent\n";
}

fs::path connectors_dir() {
    return fs::path(OUTBOXD_TEST_DATA_DIR) / "debezium" / "connectors";
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::map<std::string, std::string> as_map(const Connector& c) {
    std::map<std::string, std::string> m;
    for (const auto& e : c.entries) {
        m[e.key] = e.value;
    }
    return m;
}

Connector props(const std::string& text) {
    const ParsedConnector p = parse_properties(text);
    INFO(p.status.error());
    REQUIRE(p.status.ok());
    return p.connector;
}

Conversion convert_text(const std::string& text, const std::string& name = "connector.properties") {
    const ParsedConnector p = parse_connector(text, name);
    INFO(p.status.error());
    REQUIRE(p.status.ok());
    return convert(p.connector, ConvertOptions{name, ""});
}

outboxd::config::LoadResult load(const std::string& yaml) {
    return outboxd::config::load_config_text(yaml, "converted.yaml", {});
}

// The loaded configuration of a conversion; fails the test with the YAML
// and the loader's problems when it does not load.
outboxd::config::Config loaded(const Conversion& c) {
    REQUIRE(c.status.ok());
    const auto r = load(c.yaml);
    std::string problems;
    for (const auto& p : r.problems) {
        problems += outboxd::config::format_problem(p) + "\n";
    }
    INFO(c.yaml);
    INFO(problems);
    REQUIRE(r.problems.empty());
    return *r.config;
}

std::map<std::string, std::string> unmapped(const Conversion& c) {
    std::map<std::string, std::string> m;
    for (const auto& u : c.unmapped) {
        m[u.key] = u.reason;
    }
    return m;
}

std::string everything(const Conversion& c) {
    std::string all = c.yaml + c.status.error();
    for (const auto& u : c.unmapped) {
        all += u.key + u.reason;
    }
    for (const auto& n : c.notes) {
        all += n;
    }
    return all;
}

std::vector<std::string> additional(const outboxd::config::Config& cfg) {
    std::vector<std::string> out;
    for (const auto& f : cfg.postgres.additional_fields) {
        const char* where = f.placement == outboxd::config::Placement::kHeader     ? "header"
                            : f.placement == outboxd::config::Placement::kEnvelope ? "envelope"
                                                                                   : "partition";
        out.push_back(f.column + ":" + where + ":" + f.alias);
    }
    return out;
}

} // namespace

// --- Java Properties ---------------------------------------------------------

// The rules of the text itself are common/java_properties.h's
// (java_properties_test.cc); here: what the converter makes of them.

TEST_CASE("debezium properties: a malformed \\u escape names its line",
          "[unit][debezium_convert]") {
    const auto p = parse_properties("a=1\n# c\nb=\\u12x4\n");
    REQUIRE_FALSE(p.status.ok());
    CHECK_THAT(p.status.error(), Catch::Contains("line 3") && Catch::Contains("\\uXXXX"));
    CHECK_FALSE(parse_properties("a=\\u12").status.ok());
    CHECK_THAT(parse_properties("ok=1\nk\\uzz=v\n").status.error(),
               Catch::Contains("line 2") && Catch::Contains("key"));
}

TEST_CASE("debezium properties: repeated keys, byte-order mark, Latin-1",
          "[unit][debezium_convert]") {
    const auto p = parse_properties("\xEF\xBB\xBF"
                                    "a=1\nb=2\na=3\n");
    REQUIRE(p.status.ok());
    REQUIRE(p.connector.entries.size() == 2);
    CHECK(p.connector.entries[0].key == "a"); // first position, last value
    CHECK(p.connector.entries[0].value == "3");
    REQUIRE(p.notes.size() == 1);
    CHECK_THAT(p.notes[0], Catch::Contains("a is set more than once"));
    // Java reads a properties stream as Latin-1: a lone 0xE9 byte is e-acute.
    const auto latin = parse_properties("name=caf\xE9\n");
    REQUIRE(latin.status.ok());
    CHECK(latin.connector.name == "caf\xC3\xA9");
}

// --- JSON ----------------------------------------------------------------------

TEST_CASE("debezium json: the REST API's wrapper and a flat object", "[unit][debezium_convert]") {
    const auto wrapped = parse_json(R"({"name": "c1", "config": {"a": "x", "n": 5, "b": true,
        "z": null}, "tasks": [], "type": "source"})");
    REQUIRE(wrapped.status.ok());
    CHECK(wrapped.connector.name == "c1");
    const auto m = as_map(wrapped.connector);
    CHECK(m == std::map<std::string, std::string>{{"a", "x"}, {"n", "5"}, {"b", "true"}});
    CHECK(wrapped.notes.size() == 3);               // tasks, type, z
    CHECK(wrapped.connector.entries[0].key == "a"); // file order kept

    const auto flat = parse_json(R"({"name": "c2", "connector.class": "x"})");
    REQUIRE(flat.status.ok());
    CHECK(flat.connector.name == "c2");
    CHECK(flat.connector.find("connector.class") != nullptr);
}

TEST_CASE("debezium json: what is refused", "[unit][debezium_convert]") {
    CHECK_THAT(parse_json("{\"a\": ").status.error(), Catch::Contains("not valid JSON"));
    CHECK_THAT(parse_json("[1]").status.error(), Catch::Contains("not an object"));
    CHECK_THAT(parse_json(R"({"config": {"a": {"b": 1}}})").status.error(),
               Catch::Contains("a: an object"));
    CHECK_THAT(parse_json(R"({"a": [1]})").status.error(), Catch::Contains("a: an array"));
}

TEST_CASE("debezium input: the shape is told by the content", "[unit][debezium_convert]") {
    const auto json_in_properties = parse_connector("  \n{\"a\": \"1\"}", "c.properties");
    REQUIRE(json_in_properties.status.ok());
    CHECK(as_map(json_in_properties.connector).at("a") == "1");
    const auto properties_in_txt = parse_connector("a=1\n", "connector.conf");
    REQUIRE(properties_in_txt.status.ok());
    CHECK_THAT(parse_connector("a=1\n", "c.JSON").status.error(), Catch::Contains(".json"));
    CHECK_THAT(parse_connector(" \n\t", "c.properties").status.error(), Catch::Contains("empty"));
    CHECK_THAT(parse_connector("# only a comment\n", "c.properties").status.error(),
               Catch::Contains("no configuration keys"));
}

// --- Conversion: what cannot be converted at all ---------------------------------

TEST_CASE("debezium convert: no EventRouter, or not PostgreSQL, is an error",
          "[unit][debezium_convert]") {
    const auto none = convert_text(server());
    CHECK_THAT(none.status.error(), Catch::Contains("no EventRouter transform"));
    CHECK(none.yaml.empty());

    const auto unlisted = convert_text(server()
                                       + "transforms=unwrap\n"
                                         "transforms.unwrap.type=io.debezium.transforms."
                                         "ExtractNewRecordState\n"
                                         "transforms.outbox.type=io.debezium.transforms."
                                         "outbox.EventRouter\n");
    CHECK_THAT(unlisted.status.error(), Catch::Contains("\"outbox\" is not in transforms"));

    const auto mongo =
        convert_text("connector.class=io.debezium.connector.mongodb.MongoDbConnector\n" + router());
    CHECK_THAT(mongo.status.error(), Catch::Contains("PostgreSQL only"));

    const auto mongo_router = convert_text("transforms=outbox\n"
                                           "transforms.outbox.type=io.debezium.connector.mongodb."
                                           "transforms.outbox.MongoEventRouter\n");
    CHECK_THAT(mongo_router.status.error(), Catch::Contains("MongoDB's EventRouter"));
}

// --- Conversion: Debezium's documented examples ------------------------------------

TEST_CASE("debezium convert: the default EventRouter", "[unit][debezium_convert]") {
    const auto c =
        convert_text(read_text(connectors_dir() / "default.properties"), "default.properties");
    const auto cfg = loaded(c);
    CHECK(cfg.postgres.layout == outboxd::config::Layout::kDebezium);
    CHECK(cfg.postgres.schema == "public");
    CHECK(cfg.postgres.table == "outboxevent");
    CHECK(cfg.postgres.dsn.find("host='192.168.99.100'") != std::string::npos);
    CHECK(cfg.postgres.dsn.find("port='5432'") != std::string::npos);
    CHECK(cfg.postgres.dsn.find("dbname='postgres'") != std::string::npos);
    CHECK(cfg.postgres.dsn.find("user='postgres'") != std::string::npos);
    CHECK(cfg.postgres.dsn.find("password") == std::string::npos);
    // The preset gives the EventRouter's defaults; nothing else is written.
    CHECK(cfg.postgres.columns.key == "aggregateid");
    CHECK(cfg.postgres.columns.event_id == "id");
    CHECK(cfg.postgres.columns.event_type == "type");
    CHECK(cfg.postgres.columns.payload == "payload");
    CHECK(cfg.postgres.columns.tracing == "tracingspancontext");
    CHECK(cfg.postgres.route.by_column == "aggregatetype");
    CHECK(cfg.postgres.route.topic_replacement == "outbox.event.${routedByValue}");
    CHECK(cfg.postgres.additional_fields.empty());
    CHECK_FALSE(cfg.postgres.expand_json_payload);
    CHECK_FALSE(cfg.postgres.tombstone_on_empty_payload);
    CHECK(cfg.message.envelope == outboxd::config::Envelope::kNone);
    CHECK(cfg.broker == outboxd::config::BrokerKind::kKafka);
    CHECK(cfg.kafka.bootstrap_servers == "localhost:9092");
    CHECK_THAT(c.yaml, Catch::Contains("REPLACE"));
    CHECK(c.yaml.find("  columns:") == std::string::npos);

    const auto u = unmapped(c);
    CHECK(u.size() == 2);
    CHECK_THAT(u.at("database.password"), Catch::Contains("never copied"));
    CHECK_THAT(u.at("topic.prefix"), Catch::Contains("not needed"));
    std::string notes;
    for (const auto& n : c.notes) {
        notes += n + "\n";
    }
    CHECK_THAT(notes, Catch::Contains("value.converter is not set"));
    CHECK_THAT(notes, Catch::Contains("key.converter is not set"));
    CHECK_THAT(notes, Catch::Contains("placeholder"));
    CHECK_THAT(notes, Catch::Contains("replication slot debezium"));
    CHECK_THAT(notes, Catch::Contains("publication dbz_publication"));
    CHECK_THAT(notes, Catch::Contains("__debezium.context"));
}

TEST_CASE("debezium convert: JSON expansion with JsonConverter", "[unit][debezium_convert]") {
    const auto c = convert_text(read_text(connectors_dir() / "expand-json.properties"));
    const auto cfg = loaded(c);
    CHECK(cfg.postgres.schema == "inventory");
    CHECK(cfg.postgres.table == "outboxevent");
    CHECK(cfg.postgres.expand_json_payload);
    // The example leaves schemas.enable at true: Debezium's values are then
    // {"schema":...,"payload":...} envelopes, outboxd's are not.
    CHECK_THAT(unmapped(c).at("value.converter"),
               Catch::Contains("schemas.enable=true") && Catch::Contains("differs"));

    const auto without_schemas = convert_text(read_text(connectors_dir() / "expand-json.properties")
                                              + "value.converter.schemas.enable=false\n");
    CHECK(unmapped(without_schemas).count("value.converter") == 0);
    CHECK(unmapped(without_schemas).count("value.converter.schemas.enable") == 0);
}

TEST_CASE("debezium convert: BinaryDataConverter for an Avro payload", "[unit][debezium_convert]") {
    const auto c = convert_text(read_text(connectors_dir() / "avro-binary.properties"));
    loaded(c);
    const auto u = unmapped(c);
    CHECK(u.count("value.converter") == 0); // bytes as they are: the same
    CHECK_THAT(u.at("value.converter.delegate.converter.type"),
               Catch::Contains("Debezium's other events"));
    CHECK_THAT(u.at("value.converter.delegate.converter.type.schemas.enable"),
               Catch::Contains("Debezium's other events"));

    const auto registry = convert_text(read_text(connectors_dir() / "avro-confluent.properties"));
    loaded(registry);
    const auto r = unmapped(registry);
    CHECK(r.count("value.converter") == 0);
    CHECK(r.count("value.converter.delegate.converter.type.basic.auth.user.info") == 1);
    CHECK(everything(registry).find("{CREDENTIALS}") == std::string::npos);
}

TEST_CASE("debezium convert: additional fields", "[unit][debezium_convert]") {
    const auto c = convert_text(read_text(connectors_dir() / "additional-fields.properties"));
    const auto cfg = loaded(c);
    CHECK(additional(cfg)
          == std::vector<std::string>{"eventType:header:type", "eventVersion:envelope:version",
                                      "partitionColumn:partition:partitionColumn"});
    // An envelope field makes the value a struct: JsonConverter without
    // schemas writes it as outboxd does.
    CHECK(c.unmapped.size() == 2);
    CHECK(unmapped(c).count("database.password") == 1);
    CHECK(unmapped(c).count("topic.prefix") == 1);
}

TEST_CASE("debezium convert: the EventRouter behind a predicate", "[unit][debezium_convert]") {
    const auto c = convert_text(read_text(connectors_dir() / "selective.properties"));
    const auto cfg = loaded(c);
    CHECK(cfg.postgres.table == "outboxevent"); // of two tables, the one named outbox
    const auto u = unmapped(c);
    CHECK_THAT(u.at("table.include.list"), Catch::Contains("check postgres.table"));
    CHECK_THAT(u.at("tombstones.on.delete"), Catch::Contains("drops deletes"));
    CHECK_THAT(u.at("transforms.outbox.predicate"), Catch::Contains("reads only postgres.table"));
    CHECK_THAT(u.at("predicates"), Catch::Contains("not needed"));
    CHECK_THAT(u.at("predicates.IsOutboxTable.type"),
               Catch::Contains("the EventRouter's predicate"));
    CHECK_THAT(u.at("predicates.IsOutboxTable.pattern"),
               Catch::Contains("the EventRouter's predicate"));
}

TEST_CASE("debezium convert: the REST API's example, JSON", "[unit][debezium_convert]") {
    const auto c = convert_text(read_text(connectors_dir() / "fulfillment-connector.json"),
                                "fulfillment-connector.json");
    const auto cfg = loaded(c);
    CHECK(cfg.postgres.tombstone_on_empty_payload);
    CHECK_THAT(c.yaml, Catch::Contains("\"fulfillment-connector\""));
    const auto u = unmapped(c);
    CHECK_THAT(u.at("tasks.max"), Catch::Contains("one outboxd publishes"));
    CHECK(u.count("key.converter") == 0);
    CHECK(u.count("value.converter") == 0);
}

TEST_CASE("debezium convert: every EventRouter option away from its default",
          "[unit][debezium_convert]") {
    const auto c = convert_text(read_text(connectors_dir() / "flat.json"), "flat.json");
    const auto cfg = loaded(c);
    CHECK(cfg.postgres.schema == "sales");
    CHECK(cfg.postgres.table == "outbox_events");
    const std::string& dsn = cfg.postgres.dsn;
    CHECK(dsn.find("host='db.internal'") != std::string::npos);
    CHECK(dsn.find("port='5433'") != std::string::npos);
    CHECK(dsn.find("sslmode='verify-full'") != std::string::npos);
    CHECK(dsn.find("sslrootcert='/etc/ssl/pg-ca.pem'") != std::string::npos);
    CHECK(cfg.postgres.columns.event_id == "event_id");
    CHECK(cfg.postgres.columns.key == "aggregate_id");
    CHECK(cfg.postgres.columns.event_type == "event_type");
    CHECK(cfg.postgres.columns.event_timestamp == "occurred_at");
    CHECK(cfg.postgres.columns.payload == "body");
    CHECK(cfg.postgres.columns.tracing == "trace_context");
    CHECK_FALSE(cfg.postgres.tracing_optional); // named explicitly: required
    CHECK(cfg.postgres.route.by_column == "aggregate_type");
    CHECK(cfg.postgres.route.topic_regex == "(?<kind>[a-z]+)_(?<name>.*)");
    CHECK(cfg.postgres.route.topic_replacement == "events.${kind}.${name}");
    CHECK(cfg.postgres.expand_json_payload);
    CHECK(cfg.postgres.tombstone_on_empty_payload);
    CHECK(additional(cfg)
          == std::vector<std::string>{"tenant:header:x-tenant", "shard:partition:shard"});
    CHECK(cfg.kafka.bootstrap_servers == "kafka-1:9092,kafka-2:9092");
    CHECK(cfg.kafka.properties.at("compression.type") == "lz4");
    CHECK(cfg.kafka.properties.count("sasl.jaas.config") == 0);

    // The route the loaded configuration runs gives the topic Debezium's
    // RegexRouter gives.
    auto route = outboxd::TopicRoute::compile(cfg.postgres.route.topic_regex,
                                              cfg.postgres.route.topic_replacement);
    REQUIRE(std::holds_alternative<outboxd::TopicRoute>(route));
    CHECK(std::get<outboxd::TopicRoute>(route).apply("order_created") == "events.order.created");

    const auto u = unmapped(c);
    CHECK_THAT(u.at("plugin.name"), Catch::Contains("reads the table, not the WAL"));
    CHECK_THAT(u.at("slot.name"), Catch::Contains("pg_drop_replication_slot"));
    CHECK_THAT(u.at("publication.name"), Catch::Contains("DROP PUBLICATION"));
    CHECK_THAT(u.at("snapshot.mode"), Catch::Contains("reads the table, not the WAL"));
    CHECK_THAT(u.at("transforms.outbox.table.op.invalid.behavior"),
               Catch::Contains("sends each row once"));
    CHECK_THAT(u.at("transforms.outbox.table.field.event.schema.version"),
               Catch::Contains("schemas are not used"));
    CHECK_THAT(u.at("transforms.outbox.tracing.operation.name"), Catch::Contains("no span"));
    CHECK_THAT(u.at("transforms.outbox.tracing.with.context.field.only"),
               Catch::Contains("not needed"));
    CHECK_THAT(u.at("producer.override.sasl.jaas.config"), Catch::Contains("never copied"));
    // Mapped exactly, so not listed.
    for (const char* key :
         {"transforms.outbox.table.field.additional.missing",
          "transforms.outbox.table.json.payload.null.behavior", "value.converter",
          "value.converter.schemas.enable", "key.converter", "database.sslmode",
          "producer.override.bootstrap.servers", "producer.override.compression.type"}) {
        INFO(key);
        CHECK(u.count(key) == 0);
    }
    const std::string all = everything(c);
    CHECK(all.find("s3cr3t-Flat-Pw") == std::string::npos);
    CHECK(all.find("s3cr3t-Jaas-Pw") == std::string::npos);
}

TEST_CASE("debezium convert: every documented example loads and hides its password",
          "[unit][debezium_convert]") {
    int files = 0;
    for (const auto& entry : fs::directory_iterator(connectors_dir())) {
        const std::string ext = entry.path().extension().string();
        if (ext != ".properties" && ext != ".json") {
            continue;
        }
        ++files;
        INFO(entry.path().filename().string());
        const std::string text = read_text(entry.path());
        auto p = parse_connector(text, entry.path().filename().string());
        REQUIRE(p.status.ok());
        const auto c = convert(p.connector, ConvertOptions{entry.path().string(), ""});
        loaded(c);
        // "postgres" is also the user and the database in most examples: the
        // same file again with a password found nowhere else.
        auto& entries = p.connector.entries;
        const auto pw = std::find_if(entries.begin(), entries.end(),
                                     [](const auto& e) { return e.key == "database.password"; });
        REQUIRE(pw != entries.end());
        pw->value = "Pw-" + entry.path().stem().string() + "-9d81";
        const auto again = convert(p.connector, ConvertOptions{entry.path().string(), ""});
        CHECK(everything(again).find(pw->value) == std::string::npos);
        CHECK(unmapped(again).count("database.password") == 1);
        CHECK(again.yaml == c.yaml);
    }
    CHECK(files >= 8);
}

// --- Conversion: the keys that are not mapped, one by one ---------------------------

TEST_CASE("debezium convert: passwords and secrets never reach the output",
          "[unit][debezium_convert]") {
    const std::string secret = "Pw-7f3a9e-never";
    const auto c = convert_text(server() + router() + "database.password=" + secret + "\n"
                                + "database.sslpassword=" + secret + "\n"
                                + "producer.override.sasl.jaas.config=x password=\"" + secret
                                + "\";\n" + "producer.override.ssl.key.password=" + secret + "\n"
                                + "value.converter=io.confluent.connect.avro.AvroConverter\n"
                                + "value.converter.basic.auth.user.info=u:" + secret + "\n"
                                + "transforms.outbox.route.topic.regex=(?<=" + secret + ")x\n");
    loaded(c);
    CHECK(everything(c).find(secret) == std::string::npos);
    const auto u = unmapped(c);
    CHECK_THAT(u.at("database.password"), Catch::Contains("never copied"));
    CHECK_THAT(u.at("database.sslpassword"), Catch::Contains("never copied"));
    CHECK_THAT(u.at("producer.override.ssl.key.password"), Catch::Contains("never copied"));
    CHECK_THAT(u.at("value.converter.basic.auth.user.info"), Catch::Contains("not used"));
}

TEST_CASE("debezium convert: the WAL's keys and the connector's own", "[unit][debezium_convert]") {
    const std::string wal_keys[] = {"plugin.name",
                                    "slot.drop.on.stop",
                                    "slot.stream.params",
                                    "publication.autocreate.mode",
                                    "snapshot.mode",
                                    "snapshot.locking.mode",
                                    "incremental.snapshot.chunk.size",
                                    "signal.data.collection",
                                    "xmin.fetch.interval.ms",
                                    "status.update.interval.ms",
                                    "lsn.flush.timeout.ms",
                                    "flush.lsn.source",
                                    "replica.identity.autoset.values",
                                    "provide.transaction.metadata",
                                    "skipped.operations"};
    std::string text = server() + router();
    for (const auto& k : wal_keys) {
        text += k + "=x\n";
    }
    const std::map<std::string, std::string> others = {
        {"heartbeat.interval.ms", "replication slot"},
        {"tombstones.on.delete", "drops deletes"},
        {"topic.prefix", "route.topic.replacement"},
        {"database.server.name", "old name of topic.prefix"},
        {"topic.creation.default.replication.factor", "creates no topics"},
        {"topic.naming.strategy", "connector's own topic names"},
        {"tasks.max", "standbys"},
        {"max.batch.size", "relay.batch_size"},
        {"poll.interval.ms", "relay.poll_interval_ms"},
        {"database.tcpKeepAlive", "keepalives"},
        {"database.initial.statements", "ALTER ROLE"},
        {"database.sslfactory", "Java"},
        {"database.connectTimeout", "JDBC driver property"},
        {"column.exclude.list", "only the columns it maps"},
        {"column.mask.with.12.chars", "masks"},
        {"message.key.columns", "table.field.event.key"},
        {"decimal.handling.mode", "as stored"},
        {"schema.name.adjustment.mode", "schemas are not used"},
        {"errors.tolerance", "relay.max_attempts"},
        {"event.processing.failure.handling.mode", "status 2"},
        {"exactly.once.support", "idempotent"},
        {"consumer.override.group.id", "kafka.properties"},
        {"producer.override.acks", "acks=all"},
        {"producer.override.enable.idempotence", "always idempotent"},
        {"producer.override.max.request.size", "librdkafka equivalent"},
        {"producer.override.ssl.truststore.location", "Java TLS or SASL"},
        {"extended.headers.enabled", "__debezium.context"},
        {"custom.metric.tags", "Prometheus"},
        {"binary.handling.mode", "as stored"},
        {"something.unheard.of", "check it by hand"},
    };
    for (const auto& [k, v] : others) {
        const char* value = k == "producer.override.acks"                 ? "1"
                            : k == "producer.override.enable.idempotence" ? "false"
                            : k == "extended.headers.enabled"             ? "true"
                                                                          : "x";
        text += k + "=" + value + "\n";
    }
    const auto c = convert_text(text);
    loaded(c);
    const auto u = unmapped(c);
    for (const auto& k : wal_keys) {
        INFO(k);
        REQUIRE(u.count(k) == 1);
        CHECK(u.at(k) == "not needed: outboxd reads the table, not the WAL");
    }
    for (const auto& [k, fragment] : others) {
        INFO(k);
        REQUIRE(u.count(k) == 1);
        CHECK_THAT(u.at(k), Catch::Contains(fragment));
    }
    // extended.headers.enabled=false matches outboxd: mapped.
    CHECK(unmapped(convert_text(server() + router() + "extended.headers.enabled=false\n"))
              .count("extended.headers.enabled")
          == 0);
}

TEST_CASE("debezium convert: converters", "[unit][debezium_convert]") {
    const auto reason = [](const std::string& extra, const std::string& key) {
        const auto u = unmapped(convert_text(server() + router() + extra));
        return u.count(key) == 1 ? u.at(key) : std::string("(mapped)");
    };
    const std::string string_value =
        "value.converter=org.apache.kafka.connect.storage.StringConverter\n";
    const std::string json_no_schemas = "value.converter=org.apache.kafka.connect.json."
                                        "JsonConverter\nvalue.converter.schemas.enable=false\n";
    const std::string expand = "transforms.outbox.table.expand.json.payload=true\n";

    CHECK(reason(string_value, "value.converter") == "(mapped)");
    CHECK_THAT(reason(string_value + expand, "value.converter"), Catch::Contains("Struct{"));
    CHECK(reason(json_no_schemas + expand, "value.converter") == "(mapped)");
    CHECK_THAT(reason(json_no_schemas, "value.converter"), Catch::Contains("JSON string"));
    CHECK_THAT(
        reason("value.converter=org.apache.kafka.connect.json.JsonConverter\n", "value.converter"),
        Catch::Contains("schemas.enable=true"));
    CHECK(reason("value.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n",
                 "value.converter")
          == "(mapped)");
    CHECK_THAT(
        reason("value.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n" + expand,
               "value.converter"),
        Catch::Contains("cannot write"));
    // BinaryDataConverter hands a struct to its delegate, which decides.
    const std::string binary = "value.converter=io.debezium.converters.BinaryDataConverter\n"
                               "value.converter.delegate.converter.type=org.apache.kafka."
                               "connect.json.JsonConverter\n";
    CHECK(reason(binary + "value.converter.delegate.converter.type.schemas.enable=false\n" + expand,
                 "value.converter.delegate.converter.type")
          == "(mapped)");
    CHECK_THAT(reason(binary + expand, "value.converter.delegate.converter.type"),
               Catch::Contains("schemas.enable=true"));
    CHECK_THAT(reason("value.converter=io.apicurio.registry.utils.converter.AvroConverter\n",
                      "value.converter"),
               Catch::Contains("Schema Registry"));
    CHECK_THAT(reason("value.converter=com.example.MyConverter\n", "value.converter"),
               Catch::Contains("unknown converter"));
    CHECK_THAT(reason(string_value + "value.converter.converter.encoding=UTF-16\n",
                      "value.converter.converter.encoding"),
               Catch::Contains("re-encodes"));
    CHECK(reason(string_value + "value.converter.converter.encoding=UTF-8\n",
                 "value.converter.converter.encoding")
          == "(mapped)");

    CHECK(
        reason("key.converter=org.apache.kafka.connect.storage.StringConverter\n", "key.converter")
        == "(mapped)");
    CHECK_THAT(reason("key.converter=org.apache.kafka.connect.json.JsonConverter\n"
                      "key.converter.schemas.enable=false\n",
                      "key.converter"),
               Catch::Contains("JSON string"));
    CHECK_THAT(reason("key.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n",
                      "key.converter"),
               Catch::Contains("bytea"));

    CHECK(reason("header.converter=org.apache.kafka.connect.storage.SimpleHeaderConverter\n",
                 "header.converter")
          == "(mapped)");
    CHECK_THAT(reason("header.converter=org.apache.kafka.connect.json.JsonConverter\n",
                      "header.converter"),
               Catch::Contains("as JSON"));

    // Debezium's CloudEventsConverter: the nearest is outboxd's structured
    // CloudEvents envelope, said to differ.
    const auto ce = convert_text(server() + router()
                                 + "value.converter=io.debezium.converters.CloudEventsConverter\n"
                                   "value.converter.metadata.source=value,id:header,type:header\n");
    const auto cfg = loaded(ce);
    CHECK(cfg.message.envelope == outboxd::config::Envelope::kCloudEventsStructured);
    CHECK_THAT(unmapped(ce).at("value.converter"), Catch::Contains("attributes"));
    CHECK_THAT(unmapped(ce).at("value.converter.metadata.source"),
               Catch::Contains("CloudEventsConverter"));
    const auto ce_avro =
        convert_text(server() + router()
                     + "value.converter=io.debezium.converters.CloudEventsConverter\n"
                       "value.converter.serializer.type=avro\n");
    CHECK(loaded(ce_avro).message.envelope == outboxd::config::Envelope::kNone);
}

TEST_CASE("debezium convert: transforms before and after the EventRouter",
          "[unit][debezium_convert]") {
    const auto c =
        convert_text(server()
                     + "transforms=filter,outbox,rename,trace,second\n"
                       "transforms.filter.type=io.debezium.transforms.Filter\n"
                       "transforms.filter.condition=value.op == 'c'\n"
                       "transforms.outbox.type=io.debezium.transforms.outbox.EventRouter\n"
                       "transforms.outbox.negate=true\n"
                       "transforms.outbox.route.topic.regex.typo=1\n"
                       "transforms.rename.type=org.apache.kafka.connect.transforms.RegexRouter\n"
                       "transforms.rename.regex=(.*)\n"
                       "transforms.rename.replacement=prod.$1\n"
                       "transforms.trace.type=io.debezium.transforms.tracing.ActivateTracingSpan\n"
                       "transforms.second.type=io.debezium.transforms.outbox.EventRouter\n"
                       "transforms.stale.type=org.apache.kafka.connect.transforms.InsertHeader\n"
                       "predicates=unused\n"
                       "predicates.unused.type=org.apache.kafka.connect.transforms.predicates."
                       "RecordIsTombstone\n");
    loaded(c);
    const auto u = unmapped(c);
    CHECK_THAT(u.at("transforms.filter.type"), Catch::Contains("before the EventRouter"));
    CHECK_THAT(u.at("transforms.filter.condition"), Catch::Contains("option of transform filter"));
    CHECK_THAT(u.at("transforms.outbox.negate"), Catch::Contains("goes with"));
    CHECK_THAT(u.at("transforms.outbox.route.topic.regex.typo"),
               Catch::Contains("not an option of Debezium 3.6.1's EventRouter"));
    CHECK_THAT(u.at("transforms.rename.type"), Catch::Contains("route.topic_replacement"));
    CHECK_THAT(u.at("transforms.trace.type"), Catch::Contains("no span"));
    CHECK_THAT(u.at("transforms.second.type"), Catch::Contains("a second EventRouter"));
    CHECK_THAT(u.at("transforms.stale.type"), Catch::Contains("not in transforms"));
    CHECK_THAT(u.at("predicates.unused.type"), Catch::Contains("no transform uses"));
    CHECK(u.count("transforms") == 0);
    CHECK(u.count("transforms.outbox.type") == 0);
}

TEST_CASE("debezium convert: the EventRouter's options that have no counterpart",
          "[unit][debezium_convert]") {
    const auto reason = [](const std::string& extra, const std::string& key) {
        const auto c = convert_text(server() + router() + extra);
        loaded(c);
        const auto u = unmapped(c);
        return u.count(key) == 1 ? u.at(key) : std::string("(mapped)");
    };
    const std::string r = "transforms.outbox.";
    CHECK_THAT(reason(r + "table.op.invalid.behavior=warn\n", r + "table.op.invalid.behavior"),
               Catch::Contains("UPDATE"));
    CHECK_THAT(
        reason(r + "table.field.event.schema.version=v\n", r + "table.field.event.schema.version"),
        Catch::Contains("schemas are not used"));
    CHECK_THAT(
        reason(r + "table.field.additional.missing=ignore\n", r + "table.field.additional.missing"),
        Catch::Contains("checks at start"));
    CHECK(reason(r + "table.field.additional.missing=error\n", r + "table.field.additional.missing")
          == "(mapped)");
    CHECK(reason(r + "table.json.payload.null.behavior=optional_bytes\n",
                 r + "table.json.payload.null.behavior")
          == "(mapped)"); // no effect without expansion
    CHECK_THAT(reason(r + "table.json.payload.null.behavior=optional_bytes\n" + r
                          + "table.expand.json.payload=true\n",
                      r + "table.json.payload.null.behavior"),
               Catch::Contains("optional_bytes"));
    CHECK_THAT(
        reason(r + "field.name.adjustment.mode=avro\n" + r + "table.expand.json.payload=true\n",
               r + "field.name.adjustment.mode"),
        Catch::Contains("Avro names"));
    CHECK_THAT(reason(r + "tracing.with.context.field.only=false\n",
                      r + "tracing.with.context.field.only"),
               Catch::Contains("new trace"));
    CHECK_THAT(reason(r + "route.tombstone.on.empty.payload=yes\n",
                      r + "route.tombstone.on.empty.payload"),
               Catch::Contains("not true or false"));
    CHECK_THAT(reason(r + "table.field.event.key=\n", r + "table.field.event.key"),
               Catch::Contains("empty"));
    // The EventRouter's defaults written out are mapped, and write nothing.
    const auto defaults =
        convert_text(server() + router() + r + "table.field.event.id=id\n" + r
                     + "table.field.event.key=aggregateid\n" + r + "route.by.field=aggregatetype\n"
                     + r + "route.topic.regex=(?<routedByValue>.*)\n" + r
                     + "route.topic.replacement=outbox.event.${routedByValue}\n" + r
                     + "tracing.span.context.field=tracingspancontext\n" + r
                     + "table.expand.json.payload=false\n");
    const auto cfg = loaded(defaults);
    CHECK(cfg.postgres.tracing_optional);
    CHECK(defaults.yaml.find("  columns:") == std::string::npos);
    CHECK(defaults.yaml.find("  route:") == std::string::npos);
}

TEST_CASE("debezium convert: a route outboxd cannot translate", "[unit][debezium_convert]") {
    const std::string r = "transforms.outbox.";
    const auto c = convert_text(server() + router() + r + "route.topic.regex=(?i)(?<t>.*)\n" + r
                                + "route.topic.replacement=events.${t}\n");
    const auto cfg = loaded(c); // still loads: the route keeps the preset
    CHECK(cfg.postgres.route.topic_replacement == "outbox.event.${routedByValue}");
    const auto u = unmapped(c);
    CHECK_THAT(u.at(r + "route.topic.regex"), Catch::Contains("cannot translate"));
    CHECK_THAT(u.at(r + "route.topic.replacement"), Catch::Contains("goes with"));
    CHECK_THAT(c.yaml, Catch::Contains("could not be translated"));

    const auto bad_replacement =
        convert_text(server() + router() + r + "route.topic.replacement=events.${nope}\n");
    loaded(bad_replacement);
    CHECK_THAT(unmapped(bad_replacement).at(r + "route.topic.replacement"),
               Catch::Contains("no group named"));
}

TEST_CASE("debezium convert: additional fields outboxd takes differently",
          "[unit][debezium_convert]") {
    const std::string key = "transforms.outbox.table.fields.additional.placement";
    const auto c =
        convert_text(server() + router() + key
                     + "= a:partition:alias , b:partition, id:header, c:envelope:payload,"
                       "d:header:outbox-id, e:nowhere, f, g:Header:G\n");
    const auto cfg = loaded(c);
    CHECK(additional(cfg) == std::vector<std::string>{"b:partition:b", "g:header:G"});
    const std::string why = unmapped(c).at(key);
    CHECK_THAT(why, Catch::Contains("mapped in part"));
    CHECK_THAT(why, Catch::Contains("alias of a partition placement"));
    CHECK_THAT(why, Catch::Contains("from the last partition entry"));
    CHECK_THAT(why, Catch::Contains("two headers named id"));
    CHECK_THAT(why, Catch::Contains("\"payload\" is used twice"));
    CHECK_THAT(why, Catch::Contains("outboxd's own"));
    CHECK_THAT(why, Catch::Contains("\"nowhere\""));
    CHECK_THAT(why, Catch::Contains("\"f\" is not column:placement"));
}

TEST_CASE("debezium convert: the table and the DSN", "[unit][debezium_convert]") {
    const auto table_of = [](const std::string& list, const std::string& extra = "") {
        const auto c = convert_text(router() + "database.dbname=app\ntable.include.list=" + list
                                    + "\n" + extra);
        const auto cfg = loaded(c);
        return cfg.postgres.schema + "." + cfg.postgres.table;
    };
    CHECK(table_of("inventory\\\\.outboxevent") == "inventory.outboxevent");
    CHECK(table_of("^inventory.outboxevent$") == "inventory.outboxevent");
    CHECK(table_of("outboxevent", "schema.include.list=inventory\n") == "inventory.outboxevent");
    CHECK(table_of("outboxevent") == "public.outboxevent");
    CHECK(table_of("public.orders,public.outbox") == "public.outbox");
    CHECK(table_of("public.orders,public.items") == "public.outbox"); // placeholder
    CHECK(table_of("public.outbox.*") == "public.outbox");            // placeholder
    const auto pattern = convert_text(server() + router() + "table.include.list=public.out.*\n");
    CHECK_THAT(unmapped(pattern).at("table.include.list"), Catch::Contains("pattern"));
    CHECK_THAT(pattern.yaml, Catch::Contains("REPLACE with the outbox table"));

    // Values the Connect worker resolves are never copied as text.
    const auto provider = convert_text(
        server() + router() + "database.hostname=${file:/opt/secrets.properties:host}\n");
    const auto cfg = loaded(provider);
    CHECK(cfg.postgres.dsn.find("${") == std::string::npos);
    CHECK_THAT(unmapped(provider).at("database.hostname"),
               Catch::Contains("config provider reference"));

    const auto quoting = convert_text(router() + "database.dbname=it's\\\\here\n");
    CHECK(loaded(quoting).postgres.dsn == "dbname='it\\'s\\\\here'");
}

TEST_CASE("debezium convert: kafka.bootstrap_servers", "[unit][debezium_convert]") {
    const auto given = convert(props(server() + router()), ConvertOptions{"c", "broker:9092"});
    CHECK(loaded(given).kafka.bootstrap_servers == "broker:9092");
    CHECK(given.yaml.find("REPLACE: a connector") == std::string::npos);
    const auto both =
        convert(props(server() + router() + "producer.override.bootstrap.servers=other:9092\n"),
                ConvertOptions{"c", "broker:9092"});
    CHECK(loaded(both).kafka.bootstrap_servers == "broker:9092");
}

TEST_CASE("debezium convert: YAML text is quoted and comments stay on their line",
          "[unit][debezium_convert]") {
    Connector c = props(server() + router());
    c.name = "two\nlines \"quoted\"";
    c.entries.push_back({"transforms.outbox.table.field.event.payload", "pay\"load\\x"});
    const auto out = convert(c, ConvertOptions{"file\nname", ""});
    const auto cfg = loaded(out);
    CHECK(cfg.postgres.columns.payload == "pay\"load\\x");
    CHECK_THAT(out.yaml, Catch::Contains("\"two lines \"quoted\"\""));
}

// The lead's side-by-side cases (tests/data/debezium/cases): the conversion of
// each case's connector gives the mapping of its hand-written outboxd file.
TEST_CASE("debezium convert: the side-by-side cases map as written by hand",
          "[unit][debezium_convert]") {
    const fs::path dir = fs::path(OUTBOXD_TEST_DATA_DIR) / "debezium" / "cases";
    if (!fs::exists(dir)) {
        return;
    }
    int cases = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".properties") {
            continue;
        }
        fs::path hand = entry.path();
        hand.replace_extension(".outboxd.yaml");
        if (!fs::exists(hand)) {
            continue;
        }
        ++cases;
        INFO(entry.path().filename().string());
        auto c = props(read_text(entry.path()));
        c.entries.push_back({"table.include.list", "public.case_table"});
        const auto converted = loaded(convert(c, ConvertOptions{}));
        std::string written = read_text(hand);
        const auto at = written.find("{{table}}");
        REQUIRE(at != std::string::npos);
        written.replace(at, 9, "public.case_table");
        written += "kafka:\n  bootstrap_servers: \"localhost:9092\"\n";
        const auto r = outboxd::config::load_config_text(written, hand.string(),
                                                         {"OUTBOXD_POSTGRES_DSN=dbname=app"});
        REQUIRE(r.problems.empty());
        const auto& want = r.config->postgres;
        const auto& got = converted.postgres;
        CHECK(got.columns.key == want.columns.key);
        CHECK(got.columns.payload == want.columns.payload);
        CHECK(got.columns.event_id == want.columns.event_id);
        CHECK(got.columns.event_type == want.columns.event_type);
        CHECK(got.columns.event_timestamp == want.columns.event_timestamp);
        // Some cases turn tracing off to match a worker without OpenTelemetry
        // (which the connector's configuration cannot tell).
        if (!want.columns.tracing.empty()) {
            CHECK(got.columns.tracing == want.columns.tracing);
        }
        CHECK(got.route.by_column == want.route.by_column);
        CHECK(got.route.topic_regex == want.route.topic_regex);
        CHECK(got.route.topic_replacement == want.route.topic_replacement);
        CHECK(additional(converted) == additional(*r.config));
        CHECK(got.expand_json_payload == want.expand_json_payload);
        CHECK(got.tombstone_on_empty_payload == want.tombstone_on_empty_payload);
    }
    CHECK(cases > 0);
}
