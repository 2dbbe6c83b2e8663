// The consumer-confirmation rules without Kafka or PostgreSQL: committed
// offsets to confirmations, explicit reports, the deadline.
#include "confirm/confirm_rules.h"

#include <catch2/catch.hpp>

namespace outboxd::confirm {
namespace {

Options two_consumers() {
    Options o;
    o.consumers = {"inventory", "billing"};
    o.deadline = Millis(60000);
    o.max_resends = 2;
    return o;
}

TEST_CASE("confirm: committed offsets confirm the waiting partitions of configured groups only",
          "[unit][confirm]") {
    const Options opt = two_consumers();
    const std::vector<Partition> waiting{{"orders", 0}, {"orders", 1}, {"refunds", 0}};
    std::map<std::string, CommittedOffsets> committed;
    committed["inventory"] = {{{"orders", 0}, 120}, {{"orders", 1}, -1001}, {{"other", 0}, 5}};
    committed["billing"] = {{{"orders", 0}, 0}, {{"refunds", 0}, 7}};
    committed["stranger"] = {{{"orders", 0}, 999}}; // not in confirm.consumers
    const auto c = offset_confirmations(opt, waiting, committed);
    REQUIRE(c.size() == 2);
    CHECK(c[0].group == "inventory");
    CHECK(c[0].partition.topic == "orders");
    CHECK(c[0].partition.partition == 0);
    CHECK(c[0].below == 120);
    // -1001 (never committed) and 0 (nothing below) confirm nothing; a
    // partition without waiting rows is not asked about.
    CHECK(c[1].group == "billing");
    CHECK(c[1].partition.topic == "refunds");
    CHECK(c[1].below == 7);
}

TEST_CASE("confirm: a group that could not be asked confirms nothing", "[unit][confirm]") {
    const Options opt = two_consumers();
    CHECK(offset_confirmations(opt, {{"orders", 0}}, {}).empty());
}

TEST_CASE("confirm: status 3 needs every configured consumer", "[unit][confirm]") {
    const Options opt = two_consumers();
    CHECK_FALSE(fully_confirmed(opt, {}));
    CHECK_FALSE(fully_confirmed(opt, {"inventory"}));
    CHECK(fully_confirmed(opt, {"billing", "inventory"}));
    CHECK(fully_confirmed(opt, {"billing", "inventory", "retired-consumer"}));
    CHECK(missing_consumers(opt, {"billing"}) == std::vector<std::string>{"inventory"});
    CHECK_FALSE(fully_confirmed(Options{}, {})); // the feature off: never 3
}

TEST_CASE("confirm: explicit reports", "[unit][confirm]") {
    const Options opt = two_consumers();
    Report r;
    r.source = "src-1";
    r.id = "42";
    r.consumer = "inventory";
    r.result = "consumed";
    auto d = decide_report(opt, "src-1", r);
    CHECK(d.kind == ReportDecision::Kind::kConsumed);
    CHECK(d.id == 42);
    CHECK(d.consumer == "inventory");

    r.result = "failed";
    r.body = "sku A-1 unknown";
    d = decide_report(opt, "src-1", r);
    CHECK(d.kind == ReportDecision::Kind::kFailed);
    CHECK(d.last_error == "inventory: sku A-1 unknown");

    r.body.clear();
    CHECK(decide_report(opt, "src-1", r).last_error == "inventory: (no reason given)");
    r.body = std::string(5000, 'x') + std::string("\0", 1);
    const auto long_reason = decide_report(opt, "src-1", r).last_error;
    CHECK(long_reason.size() == std::string("inventory: ").size() + kMaxReasonBytes + 3);

    SECTION("ignored, never fatal") {
        Report other = r;
        other.source = "another-outbox";
        CHECK(decide_report(opt, "src-1", other).ignored_reason == "other_source");
        Report no_source = r;
        no_source.source.reset();
        CHECK(decide_report(opt, "src-1", no_source).ignored_reason == "other_source");
        Report stranger = r;
        stranger.consumer = "stranger";
        CHECK(decide_report(opt, "src-1", stranger).ignored_reason == "unknown_consumer");
        for (const char* bad : {"", "-3", "0", "12a", "99999999999999999999"}) {
            Report b = r;
            b.id = std::string(bad);
            INFO(bad);
            CHECK(decide_report(opt, "src-1", b).kind == ReportDecision::Kind::kIgnored);
            CHECK(decide_report(opt, "src-1", b).ignored_reason == "malformed");
        }
        Report verb = r;
        verb.result = "done";
        CHECK(decide_report(opt, "src-1", verb).ignored_reason == "malformed");
        Report no_consumer = r;
        no_consumer.consumer.reset();
        CHECK(decide_report(opt, "src-1", no_consumer).ignored_reason == "malformed");
    }
}

TEST_CASE("confirm: an overdue row is reported, resent, then parked naming who never confirmed",
          "[unit][confirm]") {
    Options opt = two_consumers();
    OverdueRow row{7, {"billing"}, 0};
    CHECK(decide_overdue(opt, row).kind == OverdueDecision::Kind::kReport); // resend off

    opt.resend_unconfirmed = true;
    CHECK(decide_overdue(opt, row).kind == OverdueDecision::Kind::kResend);
    row.resends = 1;
    CHECK(decide_overdue(opt, row).kind == OverdueDecision::Kind::kResend);
    row.resends = 2;
    const auto park = decide_overdue(opt, row);
    CHECK(park.kind == OverdueDecision::Kind::kPark);
    CHECK(park.last_error
          == "not confirmed by inventory within confirm.deadline_ms (60000 ms) after 2 resends; "
             "confirmed by billing");
    row.confirmed_by.clear();
    row.resends = 3;
    CHECK(decide_overdue(opt, row).last_error
          == "not confirmed by inventory, billing within confirm.deadline_ms (60000 ms) after 3 "
             "resends");
    opt.max_resends = 0; // park at the first deadline
    row.resends = 0;
    CHECK(decide_overdue(opt, row).kind == OverdueDecision::Kind::kPark);
}

} // namespace
} // namespace outboxd::confirm
