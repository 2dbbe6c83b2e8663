// The daemon's background work with fakes and a manual clock: the one
// "while leading" thread (daemon::LeadingWorker: lead gained, lost
// mid-round, stop during a round, a failing round, a wake-up), the
// housekeeper and the confirm worker as its tasks, and the failure classes
// of daemon/failure.h. Real time appears only as bounded waits for the
// worker's thread to finish a round; every test takes milliseconds.
#include "daemon/confirm_worker.h"
#include "daemon/failure.h"
#include "daemon/housekeeper.h"
#include "daemon/leading_worker.h"
#include "daemon/supervisor.h"
#include "publish/publisher.h"
#include "store/outbox_store.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>

namespace outboxd::daemon {
namespace {

using namespace std::chrono_literals;

constexpr Millis kBound{5000}; // real time a test waits for a round at most

// ---------------------------------------------------------------- failure

TEST_CASE("failure classes: outage, misconfiguration, everything else fatal", "[unit][daemon]") {
    CHECK(classify(store::StoreUnavailable("connection refused")).kind == FailureKind::kOutage);
    CHECK(classify(store::StoreUnavailable("x")).retry());
    CHECK(classify(store::StoreMisconfigured("no table")).kind == FailureKind::kMisconfigured);
    CHECK(classify(publish::ConfigError("bad property")).kind == FailureKind::kMisconfigured);
    CHECK(classify(std::invalid_argument("bad uri")).kind == FailureKind::kMisconfigured);
    const auto revoked = classify(store::StoreFailure("permission denied (SQLSTATE 42501)"));
    CHECK(revoked.kind == FailureKind::kFatal);
    CHECK_FALSE(revoked.retry());
    CHECK(revoked.what == "permission denied (SQLSTATE 42501)");
    CHECK(classify(std::runtime_error("a bug")).kind == FailureKind::kFatal);
    try {
        throw 42;
    } catch (...) {
        CHECK(classify_current().kind == FailureKind::kFatal);
    }
}

// ---------------------------------------------------------------- worker

// A task that records each round's input and does what the test scripts.
class ScriptedTask final : public WorkerTask {
public:
    explicit ScriptedTask(const ManualClock& clock)
        : clock_(clock) {}
    TimePoint round(const RoundInput& in) override {
        std::function<void(const RoundInput&)> step;
        {
            std::lock_guard<std::mutex> lk(mu_);
            seen_.push_back(in.leading);
            if (!script_.empty()) {
                step = std::move(script_.front());
                script_.pop_front();
            }
        }
        if (step) {
            step(in);
        }
        return in.now + every_;
    }
    void reset() override { resets_.fetch_add(1); }
    void then(std::function<void(const RoundInput&)> step) {
        std::lock_guard<std::mutex> lk(mu_);
        script_.push_back(std::move(step));
    }
    std::vector<bool> seen() {
        std::lock_guard<std::mutex> lk(mu_);
        return seen_;
    }
    std::atomic<int> resets_{0};

private:
    const ManualClock& clock_;
    Millis every_{1000};
    std::mutex mu_;
    std::deque<std::function<void(const RoundInput&)>> script_;
    std::vector<bool> seen_;
};

TEST_CASE("worker: a round at start, then on a lead change either way, and on wake()",
          "[unit][daemon]") {
    ManualClock clock;
    ScriptedTask task(clock);
    LeadingWorker w("test", task, clock, 500ms);
    w.start();
    REQUIRE(w.wait_rounds_above(0, kBound));
    w.set_leading(true);
    REQUIRE(w.wait_rounds_above(1, kBound));
    w.set_leading(true); // no change: no round
    w.set_leading(false);
    REQUIRE(w.wait_rounds_above(2, kBound));
    w.wake();
    REQUIRE(w.wait_rounds_above(3, kBound));
    w.stop();
    CHECK(task.seen() == std::vector<bool>{false, true, false, false});
    CHECK_FALSE(w.failure());
}

TEST_CASE("worker: the manual clock decides when the next round is due", "[unit][daemon]") {
    ManualClock clock;
    ScriptedTask task(clock);
    LeadingWorker w("test", task, clock, 500ms);
    w.start();
    REQUIRE(w.wait_rounds_above(0, kBound));
    // The task asked for its next round 1 s later: nothing happens while
    // the manual clock stands still.
    CHECK_FALSE(w.wait_rounds_above(1, 50ms));
    clock.advance(1000ms);
    w.wake();
    REQUIRE(w.wait_rounds_above(1, kBound));
    w.stop();
}

TEST_CASE("worker: a lead lost mid-round ends the round's go_on(), and the next round sees it",
          "[unit][daemon]") {
    ManualClock clock;
    ScriptedTask task(clock);
    LeadingWorker w("test", task, clock, 500ms);
    std::atomic<bool> in_round{false};
    std::atomic<bool> ended_early{false};
    task.then([](const RoundInput&) {}); // the first round, as a standby
    task.then([&](const RoundInput& in) {
        REQUIRE(in.leading);
        in_round = true;
        // A long round (retention's batches) checks go_on() between steps.
        for (int i = 0; i < 5000 && in.go_on(); ++i) {
            std::this_thread::sleep_for(1ms);
        }
        ended_early = !in.go_on();
    });
    w.start();
    REQUIRE(w.wait_rounds_above(0, kBound));
    w.set_leading(true);
    while (!in_round) {
        std::this_thread::sleep_for(1ms);
    }
    w.set_leading(false);
    REQUIRE(w.wait_rounds_above(2, kBound));
    w.stop();
    CHECK(ended_early);
    CHECK(task.seen() == std::vector<bool>{false, true, false});
}

TEST_CASE("worker: stop() during a round ends it and joins", "[unit][daemon]") {
    ManualClock clock;
    ScriptedTask task(clock);
    LeadingWorker w("test", task, clock, 500ms);
    std::atomic<bool> in_round{false};
    std::atomic<bool> saw_stop{false};
    task.then([&](const RoundInput& in) {
        in_round = true;
        for (int i = 0; i < 5000 && in.go_on(); ++i) {
            std::this_thread::sleep_for(1ms);
        }
        saw_stop = !in.go_on();
    });
    w.start();
    while (!in_round) {
        std::this_thread::sleep_for(1ms);
    }
    const auto t0 = Clock::now();
    w.stop();
    CHECK(saw_stop);
    CHECK(Clock::now() - t0 < 2s);
    CHECK(w.rounds() == 1);
    w.stop(); // idempotent
}

TEST_CASE("worker: an outage is retried after retry_after with reset parts; anything else "
          "stops the rounds and is kept as the failure",
          "[unit][daemon]") {
    ManualClock clock;
    ScriptedTask task(clock);
    LeadingWorker w("test", task, clock, 500ms);
    task.then([](const RoundInput&) { throw store::StoreUnavailable("connection refused"); });
    task.then([](const RoundInput&) {});
    task.then([](const RoundInput&) {
        throw store::StoreFailure("DELETE: permission denied (SQLSTATE 42501)");
    });
    w.start();
    REQUIRE(w.wait_rounds_above(0, kBound));
    CHECK(task.resets_ == 1);
    CHECK_FALSE(w.failure());
    // The retry is due 500 ms later by the worker's clock.
    CHECK_FALSE(w.wait_rounds_above(1, 50ms));
    clock.advance(500ms);
    w.wake();
    REQUIRE(w.wait_rounds_above(1, kBound));
    w.wake();
    REQUIRE(w.wait_rounds_above(2, kBound));
    for (int i = 0; i < 500 && !w.failure(); ++i) {
        std::this_thread::sleep_for(1ms);
    }
    const auto f = w.failure();
    REQUIRE(f);
    CHECK(f->kind == FailureKind::kFatal);
    CHECK(f->what == "DELETE: permission denied (SQLSTATE 42501)");
    // No round after a fatal one, whatever wakes it.
    w.wake();
    w.set_leading(true);
    CHECK_FALSE(w.wait_rounds_above(3, 50ms));
    w.stop();
}

// ---------------------------------------------------------------- housekeeper

// A round's input at the clock's time, never asked to stop early.
RoundInput round_at(const ClockSource& clock, bool leading) {
    RoundInput in;
    in.leading = leading;
    in.now = clock.now();
    in.go_on = [] {
        return true;
    };
    return in;
}

class FakeHousekeepingStore final : public store::HousekeepingStore {
public:
    struct Table {
        std::mutex mu;
        std::int64_t pending = 7;
        std::int64_t parked = 2;
        std::size_t old_sent = 0;
        std::vector<std::size_t> deletes; // limit of each call
        bool down = false;
        bool revoked = false;
        int opened = 0;
        // retention.mode partition
        store::PartitionState parts;
        std::vector<std::pair<std::int64_t, std::int64_t>> created;
        std::map<std::string, store::DropOutcome> outcomes; // kNotYet when absent
        std::vector<std::string> dropped;
    };
    explicit FakeHousekeepingStore(Table& t)
        : t_(t) {}
    store::HealthSummary health_summary() override {
        std::lock_guard<std::mutex> lk(t_.mu);
        if (t_.down) {
            throw store::StoreUnavailable("connecting to PostgreSQL: refused");
        }
        store::HealthSummary h;
        h.pending = t_.pending;
        h.parked = t_.parked;
        h.oldest_pending_age_s = 3.5;
        return h;
    }
    std::size_t delete_sent_older_than(Millis, std::size_t limit) override {
        std::lock_guard<std::mutex> lk(t_.mu);
        if (t_.revoked) {
            throw store::StoreFailure("retention: permission denied for table outbox");
        }
        t_.deletes.push_back(limit);
        const std::size_t n = std::min(limit, t_.old_sent);
        t_.old_sent -= n;
        return n;
    }
    store::PartitionState partition_state() override {
        std::lock_guard<std::mutex> lk(t_.mu);
        return t_.parts;
    }
    void create_partition(std::int64_t lo, std::int64_t hi) override {
        std::lock_guard<std::mutex> lk(t_.mu);
        t_.created.emplace_back(lo, hi);
        t_.parts.partitions.push_back({"outbox_p" + std::to_string(lo), lo, hi});
    }
    store::DropOutcome drop_partition(const store::Partition& p, Millis) override {
        std::lock_guard<std::mutex> lk(t_.mu);
        const auto it = t_.outcomes.find(p.name);
        const store::DropOutcome out = it == t_.outcomes.end() ? store::DropOutcome{} : it->second;
        if (out.kind == store::DropOutcome::Kind::kDropped) {
            t_.dropped.push_back(p.name);
            auto& v = t_.parts.partitions;
            v.erase(std::remove_if(v.begin(), v.end(),
                                   [&](const store::Partition& q) { return q.name == p.name; }),
                    v.end());
        }
        return out;
    }

private:
    Table& t_;
};

class FakeAdmin final : public publish::BrokerAdmin {
public:
    explicit FakeAdmin(std::atomic<bool>& up)
        : up_(up) {}
    std::string broker_name() const override { return "kafka"; }
    std::string destination_noun() const override { return "topic"; }
    Status ping(Millis) override { return up_ ? Status{} : Status::failure("no broker answered"); }
    publish::AuditReport audit(const std::vector<std::string>&, Millis) override { return {}; }
    publish::DeclareResult declare(Millis) override { return {}; }

private:
    std::atomic<bool>& up_;
};

struct HousekeeperRig {
    ManualClock clock;
    metrics::Metrics metrics;
    health::HealthState health{clock};
    FakeHousekeepingStore::Table table;
    std::atomic<bool> broker_up{true};
    HousekeeperOptions options() {
        HousekeeperOptions o;
        o.stats_interval = 10000ms;
        o.retention_age = 60000ms;
        o.retention_batch = 10;
        o.retention_interval = 1000ms;
        o.broker_name = "kafka";
        return o;
    }
    Housekeeper make(HousekeeperOptions o) {
        return Housekeeper(
            o, HousekeeperParts{[this] {
                                    std::lock_guard<std::mutex> lk(table.mu);
                                    ++table.opened;
                                    return std::make_unique<FakeHousekeepingStore>(table);
                                },
                                [this] { return std::make_unique<FakeAdmin>(broker_up); }, metrics,
                                health});
    }
    RoundInput at(bool leading) const { return round_at(clock, leading); }
};

TEST_CASE("housekeeper: gauges and service checks every stats interval; an outage is a gauge, "
          "not an exception",
          "[unit][daemon]") {
    HousekeeperRig r;
    auto hk = r.make(r.options());
    auto next = hk.round(r.at(false));
    CHECK(r.metrics.pending_rows.value() == 7);
    CHECK(r.metrics.parked_rows.value() == 2);
    CHECK(r.metrics.oldest_pending_age_seconds.value() == 3.5);
    CHECK(r.metrics.postgres_up.value() == 1);
    CHECK(r.metrics.broker_up.value() == 1);
    CHECK(next == r.clock.now() + 10000ms); // a standby runs no retention
    r.table.pending = 9;
    r.clock.advance(5000ms);
    hk.round(r.at(false)); // not due yet
    CHECK(r.metrics.pending_rows.value() == 7);
    r.clock.advance(5000ms);
    r.table.down = true;
    r.broker_up = false;
    REQUIRE_NOTHROW(hk.round(r.at(false)));
    CHECK(r.metrics.postgres_up.value() == 0);
    CHECK(r.metrics.broker_up.value() == 0);
    CHECK_FALSE(r.health.readiness().ok);
    // A new session after the outage.
    r.table.down = false;
    r.broker_up = true;
    r.clock.advance(10000ms);
    hk.round(r.at(false));
    CHECK(r.metrics.pending_rows.value() == 9);
    CHECK(r.metrics.postgres_up.value() == 1);
    CHECK(r.table.opened == 2);
}

TEST_CASE("housekeeper: retention on the publisher only, at once on gaining the lead, in "
          "batches until one comes back short",
          "[unit][daemon]") {
    HousekeeperRig r;
    auto hk = r.make(r.options());
    r.table.old_sent = 25;
    hk.round(r.at(false));
    CHECK(r.table.deletes.empty());
    const auto next = hk.round(r.at(true));
    CHECK(r.table.deletes == std::vector<std::size_t>{10, 10, 10});
    CHECK(r.metrics.retention_deleted_rows.value() == 25);
    CHECK(next == r.clock.now() + 1000ms); // the retention interval, before the refresh
    r.table.old_sent = 3;
    r.clock.advance(1000ms);
    hk.round(r.at(true));
    CHECK(r.metrics.retention_deleted_rows.value() == 28);
}

TEST_CASE("housekeeper: a round that ends on full batches runs again at once, until retention "
          "has caught up",
          "[unit][daemon]") {
    HousekeeperRig r;
    auto hk = r.make(r.options());
    r.table.old_sent = 10 * Housekeeper::kMaxBatchesPerRound + 4;
    auto next = hk.round(r.at(true));
    CHECK(r.metrics.retention_deleted_rows.value() == 10 * Housekeeper::kMaxBatchesPerRound);
    CHECK(next == r.clock.now()); // not the interval: behind
    CHECK(r.metrics.retention_catching_up.value() == 1);
    next = hk.round(r.at(true));
    CHECK(r.table.old_sent == 0);
    CHECK(next == r.clock.now() + 1000ms);
    CHECK(r.metrics.retention_catching_up.value() == 0);
}

TEST_CASE("housekeeper: partition retention adds partitions ahead of the ids, drops those past "
          "them that are done, keeps and reports those held for a person",
          "[unit][daemon]") {
    HousekeeperRig r;
    auto o = r.options();
    o.partitions = true;
    auto hk = r.make(o);
    r.table.parts.has_default = true;
    r.table.parts.partitions = {{"outbox_p1", 1, 10001},
                                {"outbox_p10001", 10001, 20001},
                                {"outbox_p20001", 20001, 30001},
                                {"outbox_p30001", 30001, 40001}};
    r.table.parts.max_id = 35000;
    r.table.outcomes["outbox_p1"] = {store::DropOutcome::Kind::kDropped, ""};
    r.table.outcomes["outbox_p10001"] = {store::DropOutcome::Kind::kHeld, "2 at 2"};
    hk.round(r.at(true));
    // Two widths (the smallest: no rate known yet) past the newest id.
    CHECK(r.table.created
          == std::vector<std::pair<std::int64_t, std::int64_t>>{{40001, 50001}, {50001, 60001}});
    CHECK(r.table.dropped == std::vector<std::string>{"outbox_p1"});
    CHECK(r.metrics.retention_partitions_dropped.value() == 1);
    CHECK(r.metrics.retention_partitions_held.value() == 1);
    CHECK(r.metrics.retention_partitions.value() == 6); // 4 + 2 - 1, and the default
    // A minute later 600,000 more ids (past the partitions, in the default
    // one): wider partitions, starting above them.
    r.table.parts.max_id = 635000;
    r.table.parts.max_default_id = 635000;
    r.clock.advance(60000ms);
    r.table.created.clear();
    hk.round(r.at(true));
    // 10,000 ids/s over max(age / 2, interval) = 30 s: 300,000 per partition,
    // starting a tenth of a width above the newest id (ids taken meanwhile
    // go to the default partition).
    CHECK(
        r.table.created
        == std::vector<std::pair<std::int64_t, std::int64_t>>{{665001, 965001}, {965001, 1265001}});
    // A standby plans nothing.
    r.table.created.clear();
    r.clock.advance(60000ms);
    hk.round(r.at(false));
    CHECK(r.table.created.empty());
}

TEST_CASE("housekeeper: while the DELETE catches up, partitions are looked at once per interval",
          "[unit][daemon]") {
    HousekeeperRig r;
    auto o = r.options();
    o.partitions = true;
    auto hk = r.make(o);
    r.table.parts.has_default = true;
    r.table.old_sent = 3 * 10 * Housekeeper::kMaxBatchesPerRound;
    auto next = hk.round(r.at(true));
    CHECK(next == r.clock.now()); // behind
    REQUIRE(r.table.created.size() == 2);
    hk.round(r.at(true)); // at once, still behind: no second plan
    CHECK(r.table.created.size() == 2);
    r.table.parts.max_id = 25000; // ids moved on
    r.clock.advance(1000ms);      // one interval
    hk.round(r.at(true));
    CHECK(r.table.created.size() > 2);
}

TEST_CASE("housekeeper: retention stops between batches when the lead is lost", "[unit][daemon]") {
    HousekeeperRig r;
    auto hk = r.make(r.options());
    r.table.old_sent = 1000;
    auto in = r.at(true);
    int batches = 0;
    in.go_on = [&] {
        return batches++ < 2;
    };
    hk.round(in);
    CHECK(r.table.deletes.size() == 2);
}

TEST_CASE("housekeeper: a revoked DELETE is thrown, not retried at warn forever; a reload "
          "changes the intervals",
          "[unit][daemon]") {
    HousekeeperRig r;
    auto hk = r.make(r.options());
    r.table.revoked = true;
    r.table.old_sent = 5;
    CHECK_THROWS_AS(hk.round(r.at(true)), store::StoreFailure);
    CHECK(classify(store::StoreFailure("x")).kind == FailureKind::kFatal);
    r.table.revoked = false;
    auto o = r.options();
    o.retention_age = 0ms; // retention off
    o.stats_interval = 2000ms;
    hk.update(o);
    hk.reset();
    const auto next = hk.round(r.at(true));
    CHECK(next == r.clock.now() + 2000ms);
    CHECK(r.table.old_sent == 5);
}

// ---------------------------------------------------------------- confirm worker

class FakeConfirmStore final : public store::ConfirmStore {
public:
    explicit FakeConfirmStore(std::atomic<int>& unconfirmed)
        : unconfirmed_(unconfirmed) {}
    std::vector<store::SentPartition> waiting_partitions() override { return {}; }
    store::ConfirmCount confirm_offsets(const std::string&,
                                        const store::SentPartition&,
                                        std::int64_t,
                                        std::size_t) override {
        return {};
    }
    store::ConfirmCount report_consumed(std::int64_t, const std::string&) override { return {}; }
    bool report_failed(std::int64_t, const std::string&) override { return false; }
    std::vector<store::OverdueRow> overdue(Millis, std::size_t) override { return {}; }
    std::size_t resend(const std::vector<std::int64_t>&) override { return 0; }
    std::size_t park(const std::vector<std::int64_t>&, const std::vector<std::string>&) override {
        return 0;
    }
    std::int64_t unconfirmed_count(Millis, std::int64_t) override {
        if (unconfirmed_ < 0) {
            throw store::StoreUnavailable("server closed the connection");
        }
        return unconfirmed_;
    }
    std::int64_t not_confirmed_by(const std::string&, std::int64_t) override { return 1; }

private:
    std::atomic<int>& unconfirmed_;
};

TEST_CASE("confirm worker: clients only while leading, dropped on losing the lead; gauges every "
          "stats interval; a store outage is thrown for the worker to retry",
          "[unit][daemon]") {
    ManualClock clock;
    metrics::Metrics metrics;
    metrics.unconfirmed_by_consumer.set_values({"billing"}); // as the daemon does at start
    std::atomic<int> unconfirmed{4};
    int opened = 0;
    ConfirmWorkerOptions o;
    o.rules.consumers = {"billing"};
    o.interval = 1000ms;
    o.stats_interval = 10000ms;
    ConfirmWorker cw(
        o, "db/public.outbox",
        [&] {
            ++opened;
            ConfirmClients c;
            c.store = std::make_unique<FakeConfirmStore>(unconfirmed);
            return c;
        },
        metrics);
    auto at = [&](bool leading) {
        return round_at(clock, leading);
    };
    CHECK(cw.round(at(false)) == clock.now() + 1000ms);
    CHECK(opened == 0);
    cw.round(at(true));
    CHECK(opened == 1);
    CHECK(metrics.unconfirmed_rows.value() == 4);
    CHECK(metrics.unconfirmed_by_consumer.value("billing") == 1);
    unconfirmed = 6;
    clock.advance(1000ms);
    cw.round(at(true)); // the same clients; gauges not due
    CHECK(opened == 1);
    CHECK(metrics.unconfirmed_rows.value() == 4);
    cw.round(at(false)); // lead lost: clients dropped
    cw.round(at(true));
    CHECK(opened == 2);
    unconfirmed = -1;
    clock.advance(10000ms);
    CHECK_THROWS_AS(cw.round(at(true)), store::StoreUnavailable);
    CHECK(classify(store::StoreUnavailable("x")).retry());
    // A reload's new interval counts from the next round.
    unconfirmed = 1;
    o.interval = 250ms;
    cw.update(o);
    cw.reset();
    CHECK(cw.round(at(true)) == clock.now() + 250ms);
    CHECK(opened == 3);
}

// ---------------------------------------------------------------- options

TEST_CASE("each part takes its own options from its own config sections", "[unit][daemon]") {
    config::Config cfg;
    cfg.http.stats_interval = 3000ms;
    cfg.retention.sent_max_age = 86400000ms;
    cfg.retention.batch_size = 250;
    cfg.retention.interval = 30000ms;
    cfg.confirm.consumers = {"billing", "ledger"};
    cfg.confirm.ack_topic = "acks";
    cfg.confirm.deadline = 60000ms;
    cfg.confirm.batch_size = 100;
    cfg.confirm.interval = 500ms;
    cfg.relay.batch_size = 700;
    cfg.relay.max_attempts = 9;
    cfg.relay.poll_interval = 250ms;
    cfg.leader.retry_interval = 1500ms;
    cfg.relay.shutdown_timeout = 20000ms;

    const auto hk = HousekeeperOptions::from(cfg);
    CHECK(hk.stats_interval == 3000ms);
    CHECK(hk.retention_age == 86400000ms);
    CHECK(hk.retention_batch == 250);
    CHECK(hk.retention_interval == 30000ms);
    CHECK(hk.broker_name == "kafka");

    const auto cw = ConfirmWorkerOptions::from(cfg);
    CHECK(cw.rules.consumers == std::vector<std::string>{"billing", "ledger"});
    CHECK(cw.rules.deadline == 60000ms);
    CHECK(cw.batch_size == 100);
    CHECK(cw.interval == 500ms);
    CHECK(cw.stats_interval == 3000ms);
    CHECK(cw.reports_from == "reports from acks");

    const auto sv = SupervisorOptions::from(cfg, 1000000, 42);
    CHECK(sv.relay.batch_size == 700);
    CHECK(sv.relay.retry.max_attempts == 9);
    CHECK(sv.relay.poll_interval == 250ms);
    CHECK(sv.relay.max_message_bytes == 1000000);
    CHECK(sv.retry_interval == 1500ms);
    CHECK(sv.shutdown_timeout == 20000ms);
    CHECK(sv.leader_detail == "lock key 42");
    // No broker limit: none for the relay either.
    CHECK(relay::RelayOptions::from(cfg.relay, -1).max_message_bytes == 0);
}

} // namespace
} // namespace outboxd::daemon
