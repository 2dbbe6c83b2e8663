// The relay's rules (order, retry, back-pressure, outages, shutdown) against
// in-memory fakes and a manual clock: no database, no broker, no sleeping.
#include "fakes.h"
#include "relay/relay.h"

#include <catch2/catch.hpp>

#include <map>

using namespace outboxd;
using outboxd::publish::ErrorClass;
using outboxd::test::FakePublisher;
using outboxd::test::FakeStore;
using outboxd::test::FixedRandom;

namespace {

// Records every fact and log line the relay reports.
struct RecordingObserver final : relay::RelayObserver {
    std::vector<std::size_t> batches;
    std::vector<std::int64_t> acked_created_at;
    std::size_t marked_sent = 0;
    std::map<std::string, int> failures; // reason label -> count
    int parked = 0;
    int transient = 0;
    int rebuilds = 0;

    void on_batch(std::size_t rows) override { batches.push_back(rows); }
    void on_acked(std::int64_t created_at_us) override {
        acked_created_at.push_back(created_at_us);
    }
    void on_marked_sent(std::size_t rows) override { marked_sent += rows; }
    void on_counted_failure(publish::FailureReason reason, bool is_parked) override {
        ++failures[publish::to_label(reason)];
        parked += is_parked ? 1 : 0;
    }
    void on_transient_error() override { ++transient; }
    void on_producer_rebuild() override { ++rebuilds; }
    void on_db_reconnected() override { ++reconnects; }
    void on_event(const relay::RelayEvent& e) override { events.push_back(e); }
    int reconnects = 0;
    std::vector<relay::RelayEvent> events;
};

struct Harness {
    ManualClock clock;
    FakeStore store{clock};
    FakePublisher pub{clock};
    FixedRandom random;
    relay::RelayOptions opts;
    RecordingObserver obs;       // every fact and log line of the relay
    std::function<bool()> fence; // unset: the relay may always publish
    std::unique_ptr<relay::Relay> relay;

    explicit Harness(std::function<void(relay::RelayOptions&)> tweak = {}) {
        opts.batch_size = 100;
        opts.max_in_flight = 1000;
        opts.retry.max_attempts = 3;
        opts.retry.initial = Millis(1000);
        opts.retry.max = Millis(8000);
        opts.poll_interval = Millis(1000);
        opts.rescan_interval = Millis(5000);
        if (tweak) {
            tweak(opts);
        }
        relay = std::make_unique<relay::Relay>(opts, store, pub, clock, random, &obs,
                                               [this] { return !fence || fence(); });
    }
    void steps(int n) {
        for (int i = 0; i < n; ++i) {
            relay->step();
        }
    }
    // Steps until `pred` holds, at most `n` steps; returns whether it held.
    template <typename P>
    bool step_until(P pred, int n = 200) {
        for (int i = 0; i < n; ++i) {
            if (pred()) {
                return true;
            }
            relay->step();
        }
        return pred();
    }
};

} // namespace

TEST_CASE("happy path: every row produced once, in id order, then marked sent", "[unit][relay]") {
    Harness h;
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 10; ++i) {
        ids.push_back(h.store.insert("k" + std::to_string(i % 3)));
    }
    h.steps(2);
    REQUIRE(h.pub.produced_ids() == ids);
    h.pub.ack_all();
    h.steps(2);
    for (auto id : ids) {
        CHECK(h.store.status(id) == 1);
        CHECK(h.store.mark_count[id] == 1);
    }
    h.steps(20);
    CHECK(h.pub.produced.size() == 10); // never produced twice
    CHECK(h.relay->stats().sent == 10);
}

TEST_CASE("a row is marked sent only after a successful delivery report", "[unit][relay]") {
    Harness h;
    auto id = h.store.insert("a");
    h.steps(50);
    CHECK(h.pub.produced.size() == 1);
    CHECK(h.store.status(id) == 0);
    CHECK(h.relay->in_flight() == 1);
    h.pub.ack_all();
    h.steps(1);
    CHECK(h.store.status(id) == 1);
    CHECK(h.relay->in_flight() == 0);
}

TEST_CASE("every message carries the row's headers; outbox-id is added by the publisher",
          "[unit][relay]") {
    Harness h;
    auto id = h.store.insert("a");
    h.store.row(id).headers = R"({"trace":"abc","type":"order.created"})";
    h.steps(1);
    REQUIRE(h.pub.produced.size() == 1);
    const auto& hs = h.pub.produced[0].headers;
    REQUIRE(hs.size() == 2);
    CHECK(hs[0].name == "trace");
    CHECK(hs[0].value == "abc");
}

TEST_CASE("transient delivery errors never count an attempt and the row is resent",
          "[unit][relay]") {
    Harness h;
    auto id = h.store.insert("a");
    h.steps(1);
    h.pub.fail_all(ErrorClass::kTransient, "Local: Message timed out");
    h.steps(1);
    CHECK(h.store.row(id).attempts == 0);
    CHECK(h.store.status(id) == 0);
    REQUIRE(h.step_until([&] { return h.pub.produced.size() == 2; }));
    h.pub.ack_all();
    h.steps(1);
    CHECK(h.store.status(id) == 1);
    CHECK(h.store.row(id).attempts == 0);
}

TEST_CASE("row-level failures count, back off, hold their key, and park after max_attempts",
          "[unit][relay]") {
    Harness h;
    auto bad = h.store.insert("k");
    h.store.row(bad).headers = "[1,2]"; // not an object: row-level error
    auto later_same_key = h.store.insert("k");
    auto other_key = h.store.insert("other");
    h.pub.auto_ack = true;

    h.steps(3);
    CHECK(h.store.row(bad).attempts == 1);
    CHECK(h.store.row(bad).last_error.find("malformed headers") != std::string::npos);
    CHECK(h.store.status(other_key) == 1);      // other keys keep flowing
    CHECK(h.store.status(later_same_key) == 0); // G4: waits behind the failing row
    for (const auto& p : h.pub.produced) {
        CHECK(p.id != later_same_key);
    }

    // Back-off: 1 s, then 2 s; the row is not retried before it is due.
    const auto first_fail_at = h.clock.now();
    REQUIRE(h.step_until([&] { return h.store.row(bad).attempts == 2; }));
    CHECK(h.clock.now() - first_fail_at >= Millis(1000));
    CHECK(h.store.status(later_same_key) == 0);
    REQUIRE(h.step_until([&] { return h.store.status(bad) == 2; }));
    CHECK(h.store.row(bad).attempts == 3);
    CHECK(h.clock.now() - first_fail_at >= Millis(3000));

    // Parked: the key is released and the later row flows.
    REQUIRE(h.step_until([&] { return h.store.status(later_same_key) == 1; }));
    CHECK(h.relay->stats().parked == 1);
}

TEST_CASE("a synchronous row-level produce error counts an attempt", "[unit][relay]") {
    Harness h;
    auto id = h.store.insert("a");
    h.pub.sync_errors[id] = ErrorClass::kRow;
    h.steps(2);
    CHECK(h.store.row(id).attempts == 1);
    CHECK(h.store.status(id) == 0);
    CHECK(h.store.row(id).next_attempt_at.has_value());
}

TEST_CASE("a row-level delivery report error counts an attempt", "[unit][relay]") {
    Harness h;
    auto id = h.store.insert("a");
    h.steps(1);
    h.pub.fail_all(ErrorClass::kRow, "Broker: Message size too large");
    h.steps(1);
    CHECK(h.store.row(id).attempts == 1);
    CHECK(h.store.row(id).last_error == "Broker: Message size too large");
}

TEST_CASE("rows without a key are not held back by a failing unkeyed row", "[unit][relay]") {
    Harness h;
    auto bad = h.store.insert(std::nullopt);
    h.store.row(bad).headers = "not json";
    auto good = h.store.insert(std::nullopt);
    h.pub.auto_ack = true;
    h.steps(3);
    CHECK(h.store.row(bad).attempts == 1);
    CHECK(h.store.status(good) == 1);
}

TEST_CASE("a row not yet due (from an earlier run) holds later rows of its key", "[unit][relay]") {
    Harness h;
    auto waiting = h.store.insert("k");
    h.store.row(waiting).attempts = 1;
    h.store.row(waiting).next_attempt_at = h.clock.now() + Millis(3000);
    auto later = h.store.insert("k");
    h.pub.auto_ack = true;
    h.steps(5);
    CHECK(h.pub.produced.empty());
    REQUIRE(h.step_until([&] { return h.store.status(later) == 1; }));
    CHECK(h.store.status(waiting) == 1);
    REQUIRE(h.pub.produced.size() == 2);
    CHECK(h.pub.produced[0].id == waiting); // G4: id order within the key
    CHECK(h.pub.produced[1].id == later);
}

TEST_CASE("back-pressure: no more than max_in_flight rows are read while reports are missing",
          "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) {
        o.batch_size = 4;
        o.max_in_flight = 10;
    });
    for (int i = 0; i < 100; ++i) {
        h.store.insert("k" + std::to_string(i));
    }
    h.steps(100); // a long outage: no report arrives
    CHECK(h.pub.produced.size() == 10);
    CHECK(h.relay->in_flight() == 10);
    const int fetches = h.store.fetches;
    h.steps(100);
    CHECK(h.store.fetches == fetches); // stopped reading altogether
    h.pub.auto_ack = true;
    REQUIRE(h.step_until([&] { return h.relay->stats().sent == 100; }, 500));
    CHECK(h.pub.produced.size() == 100);
}

TEST_CASE("a full producer queue stops the batch without skipping or counting rows",
          "[unit][relay]") {
    Harness h;
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 6; ++i) {
        ids.push_back(h.store.insert("k"));
    }
    h.pub.queue_full = true;
    h.steps(3);
    CHECK(h.pub.produced.empty());
    h.pub.queue_full = false;
    h.pub.auto_ack = true;
    REQUIRE(h.step_until([&] { return h.relay->stats().sent == 6; }));
    CHECK(h.pub.produced_ids() == ids);
    for (auto id : ids) {
        CHECK(h.store.row(id).attempts == 0);
    }
}

TEST_CASE("database down: outcomes are kept, not re-produced, and written after back-off",
          "[unit][relay]") {
    Harness h;
    auto id = h.store.insert("a");
    h.steps(1);
    h.store.down = true;
    h.pub.ack_all();
    h.steps(30);
    CHECK(h.store.status(id) == 0);
    CHECK(h.relay->unwritten_outcomes() == 1);
    CHECK_FALSE(h.relay->db_healthy());
    CHECK(h.pub.produced.size() == 1);
    // Back-off grows: 30 steps did not mean 30 attempts.
    CHECK(h.relay->stats().db_errors < 15);
    h.store.down = false;
    REQUIRE(h.step_until([&] { return h.store.status(id) == 1; }));
    CHECK(h.relay->db_healthy());
    CHECK(h.pub.produced.size() == 1);
    CHECK(h.store.mark_count[id] == 1);
}

TEST_CASE("fence: asked before every fetch; once it fails nothing is read or produced",
          "[unit][relay]") {
    Harness h;
    bool lease = true;
    int asked = 0;
    h.fence = [&] {
        ++asked;
        return lease;
    };
    h.store.insert("a");
    h.steps(1);
    CHECK(asked == 1);
    CHECK(h.pub.produced.size() == 1);
    h.pub.ack_all();
    lease = false;
    h.store.insert("a");
    const auto fetches = h.store.fetches;
    h.steps(20);
    CHECK(h.relay->fenced());
    CHECK(h.store.fetches == fetches);
    CHECK(h.pub.produced.size() == 1);
}

TEST_CASE("fence: a database failure asks the fence at once, so a partitioned publisher "
          "gives up its role while its outcomes cannot be written",
          "[unit][relay]") {
    Harness h;
    bool lease = true;
    h.fence = [&] {
        return lease;
    };
    const auto id = h.store.insert("a");
    h.steps(1);
    REQUIRE(h.pub.produced.size() == 1);
    // The partition: every session fails at once, the lease with them.
    h.store.down = true;
    lease = false;
    h.pub.ack_all();
    h.steps(1);
    CHECK(h.relay->fenced());
    CHECK(h.relay->unwritten_outcomes() == 1);
    CHECK(h.store.status(id) == 0);
    // Fenced: no fetch and no produce even after the database answers.
    h.store.down = false;
    h.store.insert("a");
    h.steps(20);
    CHECK(h.pub.produced.size() == 1);
}

TEST_CASE("database back-off doubles up to its cap", "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) {
        o.db_backoff_initial = Millis(100);
        o.db_backoff_max = Millis(800);
    });
    h.store.down = true;
    h.steps(200);
    // Attempts at ~0, 100, 300, 700, 1500, 2300, ... so far fewer than steps.
    const auto errors = h.relay->stats().db_errors;
    CHECK(errors >= 4);
    const auto t0 = h.clock.now();
    h.steps(50);
    const auto elapsed = std::chrono::duration_cast<Millis>(h.clock.now() - t0);
    const auto more = h.relay->stats().db_errors - errors;
    REQUIRE(more >= 1);
    CHECK(elapsed / more >= Millis(700)); // at the cap, one try per ~800 ms
}

TEST_CASE("producer fatal error: rebuild, then rows without a report are sent again in order",
          "[unit][relay]") {
    Harness h;
    auto a = h.store.insert("k");
    auto b = h.store.insert("k");
    h.steps(1);
    REQUIRE(h.pub.produced.size() == 2);
    h.pub.set_fatal();
    h.steps(1);
    CHECK(h.pub.rebuilds == 1);
    CHECK(h.relay->stats().producer_rebuilds == 1);
    // Nothing is produced on the new producer before the read-back.
    CHECK(h.relay->awaiting_read_back());
    h.pub.auto_ack = true;
    h.steps(10);
    CHECK(h.pub.produced.size() == 2);
    h.relay->read_back_done();
    REQUIRE(h.step_until([&] { return h.store.status(b) == 1; }));
    CHECK(h.store.status(a) == 1);
    REQUIRE(h.pub.produced.size() == 4);
    CHECK(h.pub.produced[2].id == a);
    CHECK(h.pub.produced[3].id == b);
    CHECK(h.store.row(a).attempts == 0);
}

TEST_CASE("commit gap: a lower id that becomes visible late is still sent", "[unit][relay]") {
    Harness h;
    auto early = h.store.insert("x");
    h.store.row(early).visible = false; // its transaction has not committed
    auto later = h.store.insert("y");
    h.pub.auto_ack = true;
    REQUIRE(h.step_until([&] { return h.store.status(later) == 1; }));
    h.steps(5);
    h.store.row(early).visible = true; // commits now, behind the cursor
    REQUIRE(h.step_until([&] { return h.store.status(early) == 1; }));
    CHECK(h.relay->stats().passes >= 1);
}

TEST_CASE("a wake-up notification triggers a fetch before the poll interval", "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) { o.poll_interval = Millis(60000); });
    h.pub.auto_ack = true;
    h.steps(3); // idle: now waiting for a wake-up
    const auto t0 = h.clock.now();
    auto id = h.store.insert("a");
    h.store.notified = true;
    REQUIRE(h.step_until([&] { return h.store.status(id) == 1; }, 10));
    CHECK(h.clock.now() - t0 < Millis(1000));
}

TEST_CASE("without notifications the poll interval still finds new rows", "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) { o.poll_interval = Millis(500); });
    h.pub.auto_ack = true;
    h.steps(3);
    const auto t0 = h.clock.now();
    auto id = h.store.insert("a");
    REQUIRE(h.step_until([&] { return h.store.status(id) == 1; }, 20));
    CHECK(h.clock.now() - t0 <= Millis(600));
}

TEST_CASE("shutdown: stops reading, records reports that arrive in time", "[unit][relay]") {
    Harness h;
    auto a = h.store.insert("a");
    h.steps(1);
    h.relay->begin_shutdown();
    auto b = h.store.insert("b");
    h.store.notified = true;
    h.pub.ack_all();
    const auto unknown = h.relay->finish_shutdown(Millis(1000));
    CHECK(unknown == 0);
    CHECK(h.store.status(a) == 1);
    CHECK(h.store.status(b) == 0);
    CHECK(h.pub.produced.size() == 1);
}

TEST_CASE("shutdown: gives up after the timeout and reports rows of unknown outcome",
          "[unit][relay]") {
    Harness h;
    h.store.insert("a");
    h.store.insert("b");
    h.steps(1);
    const auto t0 = h.clock.now();
    const auto unknown = h.relay->finish_shutdown(Millis(2000));
    CHECK(unknown == 2);
    CHECK(h.clock.now() - t0 >= Millis(2000));
    CHECK(h.clock.now() - t0 < Millis(2200));
}

TEST_CASE("rows in flight are never fetched and produced twice across rescans", "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) { o.rescan_interval = Millis(100); });
    for (int i = 0; i < 5; ++i) {
        h.store.insert("k");
    }
    h.steps(1000); // many rescans while no report arrives
    CHECK(h.pub.produced.size() == 5);
    CHECK(h.relay->stats().passes > 5);
}

TEST_CASE("observer: batches, acks with their creation time, rows marked sent", "[unit][relay]") {
    Harness h;
    auto& obs = h.obs;
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(h.store.insert("k"));
        h.store.row(ids.back()).created_at_us = 1000 + i;
    }
    h.steps(1);
    REQUIRE(obs.batches == std::vector<std::size_t>{5});
    CHECK(obs.acked_created_at.empty()); // produced is not acknowledged
    CHECK(obs.marked_sent == 0);
    h.pub.ack_all();
    h.steps(2);
    CHECK(obs.acked_created_at == std::vector<std::int64_t>{1000, 1001, 1002, 1003, 1004});
    CHECK(obs.marked_sent == 5);
    h.steps(10);
    CHECK(obs.batches.size() == 1); // empty polls are not batches
}

TEST_CASE("observer: counted failures carry their reason, only once written", "[unit][relay]") {
    Harness h;
    auto& obs = h.obs;
    auto bad_headers = h.store.insert("a");
    h.store.row(bad_headers).headers = "[1]";
    auto sync_refused = h.store.insert("b");
    h.pub.sync_errors[sync_refused] = ErrorClass::kRow;
    auto too_large = h.store.insert("c");
    h.store.down = true;
    h.steps(3);
    CHECK(obs.failures.empty()); // nothing fetched, nothing counted
    h.store.down = false;
    h.clock.advance(Millis(10000));
    REQUIRE(h.step_until([&] { return h.pub.outstanding.size() == 1; }));
    h.pub.fail_all(ErrorClass::kRow, "Broker: Message size too large",
                   publish::FailureReason::kMessageTooLarge);
    REQUIRE(h.step_until([&] { return h.store.row(too_large).attempts == 1; }));
    h.steps(1);
    CHECK(obs.failures["encoding"] == 1);
    CHECK(obs.failures["not_authorized"] == 1);
    CHECK(obs.failures["message_too_large"] == 1);
    CHECK(obs.parked == 0);
    // Keep failing until parked (max_attempts = 3 in the harness).
    h.pub.auto_ack = false;
    for (int round = 0; round < 10 && h.store.status(too_large) == 0; ++round) {
        h.clock.advance(Millis(10000));
        h.steps(2);
        h.pub.fail_all(ErrorClass::kRow, "Broker: Message size too large",
                       publish::FailureReason::kMessageTooLarge);
        h.steps(2);
    }
    REQUIRE(h.store.status(too_large) == 2);
    CHECK(obs.failures["message_too_large"] == 3);
    CHECK(obs.parked >= 1);
    CHECK(obs.parked == static_cast<int>(h.relay->stats().parked));
}

TEST_CASE("observer: transient errors and producer rebuilds", "[unit][relay]") {
    Harness h;
    auto& obs = h.obs;
    h.store.insert("k");
    h.steps(1);
    h.pub.fail_all(ErrorClass::kTransient, "Local: Broker transport failure");
    h.steps(1);
    CHECK(obs.transient == 1);
    CHECK(obs.failures.empty());
    h.pub.set_fatal();
    h.steps(1);
    CHECK(obs.rebuilds == 1);
}

TEST_CASE("observer: a database that answers again after a failure is one reconnect",
          "[unit][relay]") {
    Harness h;
    auto& obs = h.obs;
    h.steps(2);
    CHECK(obs.reconnects == 0);
    h.store.down = true;
    h.steps(3);
    CHECK(obs.reconnects == 0);
    h.store.down = false;
    h.clock.advance(Millis(10000));
    h.steps(3);
    CHECK(obs.reconnects == 1);
    h.steps(3);
    CHECK(obs.reconnects == 1);
}

namespace {

// Inserts a row whose payload is `bytes` long; key "k<i>" unless given.
std::int64_t insert_sized(Harness& h, std::size_t bytes, std::optional<std::string> key) {
    const auto id = h.store.insert(std::move(key));
    h.store.row(id).payload = std::string(bytes, 'x');
    return id;
}

} // namespace

TEST_CASE("byte back-pressure: nothing is produced while max_in_flight_bytes are in flight",
          "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) {
        o.batch_size = 100;
        o.max_in_flight = 1000; // the row limits never bind here
        o.max_batch_bytes = 2000;
        o.max_in_flight_bytes = 3000;
    });
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 20; ++i) {
        ids.push_back(insert_sized(h, 1000, "k" + std::to_string(i % 10)));
    }
    h.steps(100); // a long outage: no report arrives
    // 0, 1002, 2004 bytes in flight before each of the first three rows;
    // at 3006 the fourth must wait.
    CHECK(h.pub.produced.size() == 3);
    CHECK(h.relay->in_flight_bytes() == 3 * 1002);
    const int fetches = h.store.fetches;
    h.steps(100);
    CHECK(h.store.fetches == fetches); // stopped reading altogether
    CHECK(h.pub.produced.size() == 3);
    // No fetch ever asked for more than the batch budget or the room left.
    for (auto limit : h.store.fetch_byte_limits) {
        CHECK(limit >= 1);
        CHECK(limit <= 2000);
    }
    // Reports come back: the rest follows, each once, in id order, and the
    // bytes in flight never pass the budget by more than one row.
    std::size_t max_seen = 0;
    for (int i = 0; i < 500 && h.relay->stats().sent < ids.size(); ++i) {
        h.pub.ack_all();
        h.relay->step();
        max_seen = std::max(max_seen, h.relay->in_flight_bytes());
    }
    CHECK(h.relay->stats().sent == ids.size());
    CHECK(h.pub.produced_ids() == ids);
    CHECK(max_seen < 3000 + 1002);
    CHECK(h.relay->in_flight_bytes() == 0);
}

TEST_CASE("a row larger than both byte budgets is sent on its own, never stuck", "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) {
        o.max_batch_bytes = 1024;
        o.max_in_flight_bytes = 2048;
    });
    const auto small1 = insert_sized(h, 100, std::string("a"));
    const auto big = insert_sized(h, 10000, std::string("b"));
    const auto small2 = insert_sized(h, 100, std::string("c"));
    h.steps(20); // no reports yet
    // The big row came in the first fetch (the rows before it weighed less
    // than the batch budget) and went out; then the budget was spent.
    REQUIRE(h.pub.produced_ids() == std::vector<std::int64_t>{small1, big});
    CHECK(h.pub.produced[1].payload_size == 10000); // handed over whole
    h.pub.ack_all();
    REQUIRE(h.step_until([&] { return h.pub.produced.size() == 3; }));
    CHECK(h.pub.produced[2].id == small2);
    h.pub.auto_ack = true;
    REQUIRE(h.step_until([&] { return h.relay->stats().sent == 3; }));

    // Alone at the head of the table, with nothing in flight: still sent.
    const auto huge = insert_sized(h, 50000, std::string("d"));
    h.store.notified = true;
    REQUIRE(h.step_until([&] { return h.store.status(huge) == 1; }));
    CHECK(h.pub.produced.back().payload_size == 50000);
}

TEST_CASE("byte budgets keep per-key order and send every row once", "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) {
        o.max_batch_bytes = 1500;
        o.max_in_flight_bytes = 4000;
    });
    std::vector<std::int64_t> ids;
    const std::size_t sizes[] = {10, 3000, 200, 5000, 1, 1499, 1500, 800, 7000, 50};
    for (int round = 0; round < 3; ++round) {
        for (auto size : sizes) {
            ids.push_back(insert_sized(h, size, std::string("same-key")));
        }
    }
    // Reports arrive in bursts, a few steps apart.
    for (int i = 0; i < 1000 && h.relay->stats().sent < ids.size(); ++i) {
        if (i % 3 == 0) {
            h.pub.ack_all();
        }
        h.relay->step();
        CHECK(h.relay->in_flight_bytes() < 4000 + 7000 + 8);
    }
    CHECK(h.relay->stats().sent == ids.size());
    CHECK(h.pub.produced_ids() == ids); // once each, in id order
}

TEST_CASE("a page cut by the batch byte budget is followed at once, not after a poll",
          "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) {
        o.poll_interval = Millis(60000);
        o.rescan_interval = Millis(60000);
        o.max_batch_bytes = 2500;
    });
    h.pub.auto_ack = true;
    h.steps(3); // idle
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 10; ++i) {
        ids.push_back(insert_sized(h, 1000, "k" + std::to_string(i)));
    }
    h.store.notified = true;
    const auto t0 = h.clock.now();
    // Pages of three rows (the fourth row's predecessors weigh 3006 >=
    // 2500): the first nine rows are three cut pages, each fetched right
    // after the one before. (Once the last, short page is written the relay
    // waits for the next poll, as it should.)
    REQUIRE(h.step_until([&] { return h.relay->stats().sent >= 9; }, 50));
    CHECK(h.clock.now() - t0 < Millis(1000));
    REQUIRE(h.step_until([&] { return h.relay->stats().sent == ids.size(); }, 50));
    CHECK(h.pub.produced_ids() == ids);
}

TEST_CASE("a row too large for the producer is counted and parked without reading its payload",
          "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) {
        o.max_message_bytes = 4000;
        o.max_batch_bytes = 2048;
        o.max_in_flight_bytes = 4096;
    });
    const auto huge = insert_sized(h, 50000, std::string("k"));
    const auto later = insert_sized(h, 100, std::string("k"));
    const auto other = insert_sized(h, 3990, std::string("o")); // 3991 bytes: still fits
    h.pub.auto_ack = true;
    REQUIRE(h.step_until([&] { return h.store.status(huge) == 2; }, 500));
    CHECK(h.store.row(huge).attempts == 3);
    CHECK(h.store.row(huge).last_error.find("exceeds the producer's message.max.bytes 4000")
          != std::string::npos);
    REQUIRE(h.step_until([&] { return h.store.status(later) == 1; }));
    CHECK(h.store.status(other) == 1);
    for (const auto& p : h.pub.produced) {
        CHECK(p.id != huge); // never handed to the producer
    }
    // G4: the later row of its key went out only after the big one was parked.
    CHECK(h.pub.produced_ids() == std::vector<std::int64_t>{other, later});
}

TEST_CASE("marks are written in the background: fetching and producing go on meanwhile",
          "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) { o.rescan_interval = Millis(100); });
    const auto a = h.store.insert("k");
    h.steps(1);
    h.store.hold_marks = true; // the UPDATE's commit does not come back
    h.pub.ack_all();
    h.steps(1);
    REQUIRE(h.store.marking.has_value());
    CHECK(h.store.status(a) == 0);
    CHECK(h.relay->unwritten_outcomes() == 1);
    // New rows are read and produced while the write runs.
    const auto b = h.store.insert("k");
    const auto c = h.store.insert("other");
    h.store.notified = true;
    h.steps(5);
    CHECK(h.pub.produced_ids() == std::vector<std::int64_t>{a, b, c});
    // Rescans meanwhile see `a` still at 0 and never produce it again.
    h.steps(500);
    CHECK(h.relay->stats().passes > 3);
    CHECK(h.pub.produced.size() == 3);
    // Their reports are collected; their mark waits for the one running.
    h.pub.ack_all();
    h.steps(5);
    CHECK(h.store.mark_writes == 1);
    CHECK(h.relay->unwritten_outcomes() == 3);
    CHECK(h.relay->stats().sent == 0);
    h.store.hold_marks = false;
    REQUIRE(h.step_until([&] { return h.store.status(c) == 1; }));
    CHECK(h.store.status(a) == 1);
    CHECK(h.store.status(b) == 1);
    CHECK(h.store.mark_writes == 2);
    CHECK(h.relay->stats().sent == 3);
    CHECK(h.obs.marked_sent == 3);
    CHECK(h.relay->unwritten_outcomes() == 0);
    h.steps(200);
    CHECK(h.pub.produced.size() == 3);
}

TEST_CASE("a mark write that fails is in doubt: begun again with its rows after back-off",
          "[unit][relay]") {
    const bool committed = GENERATE(false, true);
    Harness h([](relay::RelayOptions& o) { o.rescan_interval = Millis(100); });
    std::vector<std::int64_t> ids{h.store.insert("k"), h.store.insert("k"), h.store.insert("j")};
    h.steps(1);
    h.store.hold_marks = true;
    h.pub.ack_all();
    h.steps(1);
    REQUIRE(h.store.marking.has_value());
    h.store.in_doubt_commits = committed;
    h.store.down = true;
    h.steps(20);
    CHECK_FALSE(h.relay->db_healthy());
    CHECK(h.relay->unwritten_outcomes() == 3);
    CHECK(h.relay->stats().sent == 0);
    h.store.hold_marks = false;
    h.store.down = false;
    REQUIRE(h.step_until([&] { return h.relay->unwritten_outcomes() == 0; }));
    for (auto id : ids) {
        CHECK(h.store.status(id) == 1);
    }
    // Written again whether or not the lost write had committed; counted once.
    CHECK(h.store.mark_writes == 2);
    CHECK(h.relay->stats().sent == 3);
    CHECK(h.relay->db_healthy());
    h.steps(200);
    CHECK(h.pub.produced.size() == 3); // rescans during the outage produced nothing again
}

TEST_CASE("shutdown waits for the mark being written", "[unit][relay]") {
    Harness h;
    const auto a = h.store.insert("a");
    h.steps(1);
    h.store.hold_marks = true;
    h.pub.ack_all();
    h.steps(1);
    REQUIRE(h.store.marking.has_value());
    h.relay->begin_shutdown();
    SECTION("the write commits in time") {
        const auto t0 = h.clock.now();
        h.store.hold_marks = false;
        const auto unknown = h.relay->finish_shutdown(Millis(1000));
        CHECK(unknown == 0);
        CHECK(h.store.status(a) == 1);
        CHECK(h.clock.now() - t0 < Millis(1000));
    }
    SECTION("the write never commits: its row counts as unknown") {
        const auto t0 = h.clock.now();
        const auto unknown = h.relay->finish_shutdown(Millis(1000));
        CHECK(unknown == 1);
        CHECK(h.store.status(a) == 0);
        CHECK(h.clock.now() - t0 >= Millis(1000));
        CHECK(h.clock.now() - t0 < Millis(1200));
    }
}

TEST_CASE("with a publisher that signals, one wait covers reports, notifications and the mark",
          "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) { o.report_wait = Millis(50); });
    h.pub.wake_fd = 7;
    const auto a = h.store.insert("k");
    h.steps(1);
    REQUIRE(h.pub.produced_ids() == std::vector<std::int64_t>{a});
    // Rows in flight: the relay waits in the store, with the publisher's fd.
    h.steps(2);
    CHECK(h.store.activity_waits >= 2);
    CHECK(h.store.activity_fds == std::set<int>{7});
    // A notification ends the wait at once: the new row is produced
    // without waiting out the 50 ms meant for reports.
    const auto b = h.store.insert("j");
    h.store.notified = true;
    const auto t0 = h.clock.now();
    h.steps(1); // its wait ends at once and takes the notification
    CHECK(h.clock.now() - t0 < Millis(50));
    h.steps(1);
    CHECK(h.pub.produced_ids() == std::vector<std::int64_t>{a, b});
    // While the marking write runs, the waits are the store's too.
    h.store.hold_marks = true;
    h.pub.ack_all();
    h.steps(2);
    REQUIRE(h.store.marking.has_value());
    const int waits = h.store.activity_waits;
    h.steps(3);
    CHECK(h.store.activity_waits > waits);
    CHECK(h.relay->unwritten_outcomes() == 2);
    h.store.hold_marks = false;
    h.steps(1);
    CHECK(h.store.status(a) == 1);
    CHECK(h.store.status(b) == 1);
    CHECK(h.relay->stats().sent == 2);
    CHECK(h.relay->unwritten_outcomes() == 0);
}

TEST_CASE("commit gap: wake-ups that find nothing start at most one pass per gap_rescan_min",
          "[unit][relay]") {
    Harness h([](relay::RelayOptions& o) {
        o.rescan_interval = Millis(60000);
        o.gap_rescan_min = Millis(100);
    });
    h.pub.auto_ack = true;
    const auto first = h.store.insert("k");
    REQUIRE(h.step_until([&] { return h.store.status(first) == 1; }));
    const auto passes = h.relay->stats().passes;
    const auto t0 = h.clock.now();
    // A steady stream: each row's fetch is followed by a second wake-up
    // that finds nothing past the cursor (the notification came after the
    // fetch had the row): each asks for a pass from id 0.
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 100; ++i) {
        ids.push_back(h.store.insert("k" + std::to_string(i % 7)));
        for (int j = 0; j < 4; ++j) {
            h.store.notified = true;
            h.steps(1);
        }
    }
    const auto elapsed = h.clock.now() - t0;
    const auto bound = static_cast<std::uint64_t>(elapsed / Millis(100)) + 2;
    CHECK(h.relay->stats().passes - passes <= bound);
    REQUIRE(h.step_until([&] { return h.store.status(ids.back()) == 1; }));
    for (auto id : ids) {
        CHECK(h.store.status(id) == 1);
    }
    // A lower id that commits late is still found, within gap_rescan_min.
    const auto late = h.store.insert("x");
    h.store.row(late).visible = false;
    const auto after = h.store.insert("y");
    h.store.notified = true;
    REQUIRE(h.step_until([&] { return h.store.status(after) == 1; }));
    h.store.row(late).visible = true;
    h.store.notified = true;
    const auto t1 = h.clock.now();
    REQUIRE(h.step_until([&] { return h.store.status(late) == 1; }, 1000));
    CHECK(h.clock.now() - t1 <= Millis(150));
}
