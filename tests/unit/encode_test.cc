#include "relay/encode.h"
#include "store/sql.h"

#include <catch2/catch.hpp>

using outboxd::relay::encode;
using outboxd::relay::Encoded;
using outboxd::store::PendingRow;

namespace {
PendingRow row_with(std::string topic, std::optional<std::string> headers) {
    PendingRow r;
    r.id = 1;
    r.topic = std::move(topic);
    r.headers = std::move(headers);
    return r;
}
std::string error_of(const PendingRow& r) {
    auto e = encode(r);
    REQUIRE(std::holds_alternative<std::string>(e));
    return std::get<std::string>(e);
}
} // namespace

TEST_CASE("headers: a JSON object of strings becomes Kafka headers in order", "[unit][encode]") {
    auto e = encode(row_with("orders", R"({"b":"2","a":"1","empty":null})"));
    REQUIRE(std::holds_alternative<Encoded>(e));
    const auto& hs = std::get<Encoded>(e).headers;
    REQUIRE(hs.size() == 3);
    CHECK(hs[0].name == "b");
    CHECK(hs[1].value == "1");
    CHECK(hs[2].value.empty());
}

TEST_CASE("headers: null column or JSON null means no headers", "[unit][encode]") {
    CHECK(std::get<Encoded>(encode(row_with("t", std::nullopt))).headers.empty());
    CHECK(std::get<Encoded>(encode(row_with("t", "null"))).headers.empty());
}

TEST_CASE("malformed headers are row-level errors with a readable reason", "[unit][encode]") {
    CHECK(error_of(row_with("t", "{not json")) == "malformed headers: not valid JSON");
    CHECK(error_of(row_with("t", "[1]")).find("expected a JSON object") != std::string::npos);
    CHECK(error_of(row_with("t", R"({"n":5})"))
          == "malformed headers: value of \"n\" must be a string, got number");
    CHECK(error_of(row_with("t", R"({"outbox-id":"9"})")).find("reserved") != std::string::npos);
    CHECK(error_of(row_with("t", R"({"outbox-source":"x"})")).find("reserved")
          != std::string::npos);
    CHECK(error_of(row_with("t", R"({"":"x"})")).find("empty header name") != std::string::npos);
}

TEST_CASE("topic names are checked against Kafka's rules", "[unit][encode]") {
    CHECK(error_of(row_with("", std::nullopt)) == "topic is empty");
    CHECK(error_of(row_with("a b", std::nullopt)).find("character Kafka does not allow")
          != std::string::npos);
    CHECK(error_of(row_with(std::string(250, 'a'), std::nullopt)).find("249") != std::string::npos);
    CHECK(error_of(row_with("..", std::nullopt)).find("cannot be") != std::string::npos);
    CHECK(std::holds_alternative<Encoded>(encode(row_with("billing.v1_x-y", std::nullopt))));
}

TEST_CASE("identifiers and literals are quoted, never pasted", "[unit][sql]") {
    using outboxd::store::quote_ident;
    using outboxd::store::quote_literal;
    CHECK(quote_ident("outbox") == "\"outbox\"");
    CHECK(quote_ident("we\"ird") == "\"we\"\"ird\"");
    CHECK(quote_literal("it's") == "'it''s'");
}

TEST_CASE("array literals escape quotes and backslashes", "[unit][sql]") {
    using outboxd::store::int_array_literal;
    using outboxd::store::text_array_literal;
    CHECK(int_array_literal({}) == "{}");
    CHECK(int_array_literal({1, -2, 3}) == "{1,-2,3}");
    CHECK(text_array_literal({"a", "b\"c", "d\\e", "", "NULL"})
          == R"({"a","b\"c","d\\e","","NULL"})");
}

TEST_CASE("error text is made safe for a text column", "[unit][sql]") {
    using outboxd::store::sanitize_error;
    CHECK(sanitize_error(std::string("a\0b", 3)) == "ab");
    CHECK(sanitize_error(std::string(2000, 'x')).size() == 1000);
    // "é" is two bytes; a cut inside it steps back to the character start.
    CHECK(sanitize_error("aé", 2) == "a");
}

TEST_CASE("statements use the configured, quoted names", "[unit][sql]") {
    outboxd::config::Postgres pg;
    pg.schema = "app";
    pg.table = "Out\"box";
    pg.columns.status = "state";
    const auto s = outboxd::store::build_statements(pg, outboxd::store::PayloadType::kText);
    CHECK(s.qualified_table == "\"app\".\"Out\"\"box\"");
    CHECK(s.fetch.find("\"state\" = 0") != std::string::npos);
    CHECK(s.fetch.find("\"payload\" AS f_payload") != std::string::npos);
    CHECK(s.fetch.find("convert_to(f_payload, 'UTF8')") != std::string::npos);
    // The byte budget: lengths read without fetching the value, the running
    // sum of the rows before, and the cut against $3.
    CHECK(s.fetch.find("octet_length(f_payload)") != std::string::npos);
    CHECK(s.fetch.find("sum(f_bytes) OVER (ORDER BY f_id") != std::string::npos);
    CHECK(s.fetch.find("WHERE f_before < $3") != std::string::npos);
    CHECK(s.mark_sent.find("ANY($1::bigint[])") != std::string::npos);
    // A json(b) payload is rendered as text once, for its weight and its bytes.
    const auto j = outboxd::store::build_statements(pg, outboxd::store::PayloadType::kJson);
    const std::string rendered = "\"payload\"::text";
    const auto first = j.fetch.find(rendered);
    REQUIRE(first != std::string::npos);
    CHECK(j.fetch.find(rendered, first + 1) == std::string::npos);
}

TEST_CASE("confirmation statements exist only with confirm.consumers, and change what 'done' "
          "means",
          "[unit][sql][confirm]") {
    outboxd::config::Postgres pg;
    pg.table = "outbox";
    const auto off = outboxd::store::build_admin_statements(pg);
    CHECK(off.delete_sent.find("\"status\" = 1 AND") != std::string::npos);
    CHECK(off.failed_rows.find("\"status\" = 2 AND") != std::string::npos);
    CHECK(off.requeue_ids.find("confirmed_by") == std::string::npos);
    for (const auto& stmt : outboxd::store::migration_statements(pg)) {
        CHECK(stmt.find("confirmed_by") == std::string::npos); // nothing added while off
    }

    pg.confirm_consumers = {"inventory", "bill'ing"};
    const auto on = outboxd::store::build_admin_statements(pg);
    // Retention deletes consumed rows; rows at 1 still wait for a consumer.
    CHECK(on.delete_sent.find("\"status\" = 3 AND") != std::string::npos);
    CHECK(on.delete_sent.find("\"status\" = 1") == std::string::npos);
    CHECK(on.failed_rows.find("\"status\" IN (2, 4)") != std::string::npos);
    // A requeued row starts its confirmations over.
    CHECK(on.requeue_ids.find("\"confirmed_by\" = '{}'") != std::string::npos);
    CHECK(on.requeue_failed.find("\"resends\" = 0") != std::string::npos);
    std::string ddl;
    for (const auto& stmt : outboxd::store::migration_statements(pg)) {
        ddl += stmt + "\n";
    }
    CHECK(ddl.find("ADD COLUMN IF NOT EXISTS \"confirmed_by\" text[] NOT NULL DEFAULT '{}'")
          != std::string::npos);
    CHECK(ddl.find("\"outbox_sent\" ON \"public\".\"outbox\" (\"topic\", \"kafka_partition\", "
                   "\"kafka_offset\") WHERE \"status\" = 1")
          != std::string::npos);
    CHECK(ddl.find("\"outbox_unconfirmed\" ON \"public\".\"outbox\" (\"sent_at\") WHERE "
                   "\"status\" = 1")
          != std::string::npos);

    const auto c = outboxd::store::build_confirm_statements(pg);
    // The consumer list is a quoted literal, never pasted.
    CHECK(c.confirm_offsets.find("'{\"inventory\",\"bill''ing\"}'::text[]") != std::string::npos);
    // Only rows at 1 move by offsets; a failure report wins over 3.
    CHECK(c.confirm_offsets.find("\"status\" = 1 AND \"topic\"::text = $2") != std::string::npos);
    CHECK(c.report_failed.find("\"status\" IN (0, 1, 3)") != std::string::npos);
    // The relay's mark keeps where the message is, and completes rows
    // already confirmed before a resend.
    CHECK(c.mark_sent.find("\"kafka_offset\" = f.o") != std::string::npos);
    CHECK(c.mark_sent.find("THEN 3 ELSE 1 END") != std::string::npos);
}
