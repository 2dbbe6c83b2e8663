// The daemon's life cycle (daemon::Supervisor) with fakes for every part and
// a manual clock: take-over, fencing, read-back retries, producer rebuilds,
// stops in each state, broken lock sessions, database outages.
#include "common/log.h"
#include "daemon/supervisor.h"
#include "fakes.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <set>
#include <utility>

using namespace outboxd;
using daemon::State;
using outboxd::test::FakePublisher;
using outboxd::test::FakeStore;
using outboxd::test::FixedRandom;

namespace {

// A lock that another process may hold, on a session that may break.
class FakeLease final : public leader::Lease {
public:
    bool free = true;       // nobody else holds the lock
    bool session_ok = true; // the lock session answers
    int acquires = 0;
    int confirms = 0;
    int releases = 0;

    Status try_acquire() override {
        ++acquires;
        held_elsewhere_ = false;
        if (held_) {
            return confirm();
        }
        if (!session_ok) {
            return Status::failure("lock session failed: fake broken");
        }
        if (!free) {
            held_elsewhere_ = true;
            return Status::failure("lock held by backend pid 7");
        }
        held_ = true;
        return {};
    }
    Status confirm() override {
        ++confirms;
        if (!held_) {
            return Status::failure("lock not held");
        }
        if (!session_ok) {
            held_ = false;
            return Status::failure("lock session failed: fake broken");
        }
        return {};
    }
    void release() override {
        ++releases;
        held_ = false;
    }
    bool held() const override { return held_; }
    bool held_elsewhere() const override { return held_elsewhere_; }
    std::string session_details() const override { return held_ ? "session pid 1" : ""; }

private:
    bool held_ = false;
    bool held_elsewhere_ = false;
};

// Records each read-back and what had been produced before it; answers
// from a script of results (ok once the script is empty).
class FakeReconciler final : public reconcile::Reconciler {
public:
    explicit FakeReconciler(std::function<std::size_t()> produced)
        : produced_(std::move(produced)) {}
    reconcile::ReadBackResult read_back() override {
        produced_before.push_back(produced_());
        reconcile::ReadBackResult r;
        const bool ok = script.empty() ? true : script.front();
        if (!script.empty()) {
            script.pop_front();
        }
        if (!ok) {
            r.status = Status::failure("fake: broker unreachable");
        }
        return r;
    }
    std::deque<bool> script;
    std::vector<std::size_t> produced_before; // messages produced so far, per call

private:
    std::function<std::size_t()> produced_;
};

// Hands the supervisor a proxy and keeps the fake itself, so a test can look
// at a term's producer after the supervisor dropped it.
class SharedPublisher final : public publish::Publisher {
public:
    explicit SharedPublisher(std::shared_ptr<FakePublisher> p)
        : p_(std::move(p)) {}
    publish::ProduceResult produce(const publish::Message& m) override { return p_->produce(m); }
    std::vector<publish::DeliveryReport> poll(Millis t) override { return p_->poll(t); }
    bool fatal() const override { return p_->fatal(); }
    std::string fatal_reason() const override { return p_->fatal_reason(); }
    std::vector<publish::DeliveryReport> rebuild(Millis t) override { return p_->rebuild(t); }
    std::vector<publish::DeliveryReport> drain(Millis t) override { return p_->drain(t); }
    void purge_queued() override { p_->purge_queued(); }

private:
    std::shared_ptr<FakePublisher> p_;
};

class FakePublishers final : public daemon::PublisherFactory {
public:
    explicit FakePublishers(ManualClock& clock)
        : clock_(clock) {}
    std::unique_ptr<publish::Publisher> make() override {
        auto p = std::make_shared<FakePublisher>(clock_);
        p->auto_ack = auto_ack;
        made.push_back(p);
        return std::make_unique<SharedPublisher>(p);
    }
    // The producer of the newest term.
    FakePublisher& current() { return *made.back(); }
    std::size_t produced() const {
        std::size_t n = 0;
        for (const auto& p : made) {
            n += p->produced.size();
        }
        return n;
    }
    bool auto_ack = false;
    std::vector<std::shared_ptr<FakePublisher>> made;

private:
    ManualClock& clock_;
};

class FakeWaiter final : public daemon::Waiter {
public:
    explicit FakeWaiter(ManualClock& clock)
        : clock_(clock) {}
    void wait(Millis d) override {
        clock_.advance(d);
        waited += d;
    }
    Millis waited{0};

private:
    ManualClock& clock_;
};

// Every transition the supervisor may make (supervisor.cc, above step()).
bool allowed(State from, State to) {
    static const std::set<std::pair<State, State>> kAllowed = {
        {State::kStandby, State::kAcquiring},      {State::kStandby, State::kReadingBack},
        {State::kAcquiring, State::kReadingBack},  {State::kAcquiring, State::kStandby},
        {State::kReadingBack, State::kPublishing}, {State::kReadingBack, State::kStandby},
        {State::kReadingBack, State::kFenced},     {State::kPublishing, State::kFenced},
        {State::kPublishing, State::kRebuilding},  {State::kRebuilding, State::kReadingBack},
        {State::kFenced, State::kStandby},         {State::kDraining, State::kStopped},
    };
    return to == State::kDraining ? from != State::kStopped : kAllowed.count({from, to}) == 1;
}

struct Role {
    health::Role role;
    std::string detail;
    bool able;
};

class RecordingListener final : public daemon::Listener {
public:
    void on_role(health::Role role, const std::string& detail, bool able) override {
        roles.push_back({role, detail, able});
    }
    void on_transition(State from, State to) override {
        INFO(daemon::to_string(from) << " -> " << daemon::to_string(to));
        CHECK(allowed(from, to));
        path.push_back(to);
    }
    void on_term_started() override { ++terms; }
    std::vector<Role> roles;
    std::vector<State> path;
    int terms = 0;
};

struct World {
    ManualClock clock;
    FakeStore store{clock};
    FakeLease lease;
    FakePublishers pubs{clock};
    FakeReconciler reconciler{[this] {
        return pubs.produced();
    }};
    FixedRandom random;
    FakeWaiter waiter{clock};
    RecordingListener listener;
    daemon::SupervisorOptions opts;
    std::unique_ptr<daemon::Supervisor> sup;

    explicit World(bool with_lease = true) {
        log::setup("error", log::Format::kText); // transitions log at info: keep the output short
        opts.relay.batch_size = 100;
        opts.relay.max_in_flight = 1000;
        opts.relay.poll_interval = Millis(1000);
        // The fake clock moves by this per step while rows are in flight;
        // the step budgets below (step_until's 500) are sized for 5 ms.
        opts.relay.report_wait = Millis(5);
        opts.retry_interval = Millis(2000);
        opts.leader_detail = "lock key 42";
        sup = std::make_unique<daemon::Supervisor>(
            opts, daemon::Parts{store, with_lease ? &lease : nullptr, pubs, reconciler, clock,
                                random, waiter, listener});
    }
    template <typename P>
    bool step_until(P pred, int n = 500) {
        for (int i = 0; i < n; ++i) {
            if (pred()) {
                return true;
            }
            sup->step();
        }
        return pred();
    }
    bool reach(State s) {
        return step_until([&] { return sup->state() == s; });
    }
    // Publishing, with one row produced and its report not yet in.
    std::int64_t publish_one_row() {
        REQUIRE(reach(State::kPublishing));
        const auto id = store.insert("k");
        REQUIRE(step_until([&] { return pubs.current().produced.size() == 1; }));
        return id;
    }
    // How many times the supervisor passed through `s`.
    int visits(State s) const {
        return static_cast<int>(std::count(listener.path.begin(), listener.path.end(), s));
    }
};

} // namespace

TEST_CASE("supervisor: a standby takes over once the holder dies, reading back before "
          "producing",
          "[unit][supervisor]") {
    World w;
    w.lease.free = false;
    const auto id = w.store.insert("k");
    w.sup->step(); // standby -> acquiring
    w.sup->step(); // acquiring -> standby: held elsewhere
    CHECK(w.sup->state() == State::kStandby);
    REQUIRE_FALSE(w.listener.roles.empty());
    CHECK(w.listener.roles.back().role == health::Role::kStandby);
    CHECK(w.listener.roles.back().detail == "lock held by backend pid 7");
    CHECK(w.listener.roles.back().able);
    // Tries again only every retry interval, and publishes nothing meanwhile.
    const auto t0 = w.clock.now();
    w.step_until([&] { return w.clock.now() - t0 >= Millis(10000); });
    CHECK(w.lease.acquires >= 5);
    CHECK(w.lease.acquires <= 7);
    CHECK(w.pubs.made.empty());
    CHECK(w.store.status(id) == 0);

    w.lease.free = true; // the holder died; its lock is gone
    w.pubs.auto_ack = true;
    REQUIRE(w.reach(State::kPublishing));
    CHECK(w.clock.now() - t0 <= Millis(10000) + w.opts.retry_interval + Millis(200));
    REQUIRE(w.reconciler.produced_before.size() == 1);
    CHECK(w.reconciler.produced_before[0] == 0); // read back before the first produce
    CHECK(w.listener.roles.back().role == health::Role::kLeader);
    CHECK(w.listener.roles.back().detail == "lock key 42");
    CHECK(w.listener.terms == 1);
    REQUIRE(w.step_until([&] { return w.store.status(id) == 1; }));
}

TEST_CASE("supervisor: fenced mid-batch, unsent messages are dropped and not marked; the "
          "process becomes a standby",
          "[unit][supervisor]") {
    World w;
    REQUIRE(w.reach(State::kPublishing));
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(w.store.insert("k" + std::to_string(i)));
    }
    REQUIRE(w.step_until([&] { return w.pubs.current().produced.size() == 5; }));
    // Two reached the broker before the lock went; three were still queued.
    auto& pub = w.pubs.current();
    const std::vector<std::int64_t> queued(pub.outstanding.begin() + 2, pub.outstanding.end());
    pub.ready.push_back({ids[0], true, publish::ErrorClass::kTransient, ""});
    pub.ready.push_back({ids[1], true, publish::ErrorClass::kTransient, ""});
    pub.outstanding.erase(pub.outstanding.begin(), pub.outstanding.begin() + 2);
    w.lease.session_ok = false; // the lock session broke: the lease is gone
    const auto disconnects = w.store.disconnects;
    w.store.insert("late");
    REQUIRE(w.reach(State::kFenced));
    REQUIRE(w.reach(State::kStandby));
    CHECK(pub.purged == queued);
    // Acknowledged rows are in the broker and recorded; purged ones stay at 0
    // for the next publisher; nothing else was produced after the fence.
    CHECK(w.store.status(ids[0]) == 1);
    CHECK(w.store.status(ids[1]) == 1);
    for (auto id : queued) {
        CHECK(w.store.status(id) == 0);
        CHECK(w.store.mark_count[id] == 0);
    }
    CHECK(w.pubs.produced() == 5);
    CHECK(w.store.disconnects == disconnects + 1);
    CHECK(w.listener.roles.back().role == health::Role::kStandby);
    CHECK(w.listener.roles.back().detail == "leadership lost");
    CHECK(w.sup->in_flight() == 0);
    // It retries the lock at once and, once it has it again, reads back first.
    w.lease.session_ok = true;
    REQUIRE(w.reach(State::kPublishing));
    CHECK(w.pubs.made.size() == 2);
    CHECK(w.reconciler.produced_before.back() == 5);
}

TEST_CASE("supervisor: a failed read-back is retried, and nothing is produced until one "
          "succeeds",
          "[unit][supervisor]") {
    World w;
    w.store.insert("k");
    w.reconciler.script = {false, false, false};
    REQUIRE(w.reach(State::kPublishing));
    REQUIRE(w.reconciler.produced_before.size() == 4);
    for (auto n : w.reconciler.produced_before) {
        CHECK(n == 0);
    }
    CHECK(w.waiter.waited >= 3 * w.opts.read_back_retry);
    CHECK(w.visits(State::kReadingBack) == 1); // retried in place
    CHECK(w.pubs.made.size() == 1);
    CHECK(w.lease.confirms >= 4); // the lease is proven before each attempt
}

TEST_CASE("supervisor: the lease lost during the read-back means standby, not publishing",
          "[unit][supervisor]") {
    World w;
    w.reconciler.script = {false};
    REQUIRE(w.reach(State::kReadingBack));
    w.sup->step(); // the failed read-back
    w.lease.session_ok = false;
    REQUIRE(w.reach(State::kStandby));
    CHECK(w.pubs.made.empty());
    CHECK(w.reconciler.produced_before.size() == 1);
}

TEST_CASE("supervisor: a fatal producer error rebuilds, reads back, then publishes again",
          "[unit][supervisor]") {
    World w;
    const auto a = w.store.insert("k");
    const auto b = w.store.insert("k");
    REQUIRE(w.reach(State::kPublishing));
    REQUIRE(w.step_until([&] { return w.pubs.current().produced.size() == 2; }));
    w.pubs.current().set_fatal();
    REQUIRE(w.reach(State::kRebuilding));
    CHECK(w.pubs.current().rebuilds == 1);
    REQUIRE(w.reach(State::kReadingBack));
    // Nothing produced on the rebuilt producer before the read-back.
    CHECK(w.pubs.current().produced.size() == 2);
    REQUIRE(w.reach(State::kPublishing));
    REQUIRE(w.reconciler.produced_before.size() == 2);
    CHECK(w.reconciler.produced_before[1] == 2);
    w.pubs.current().auto_ack = true;
    REQUIRE(w.step_until([&] { return w.store.status(b) == 1; }));
    CHECK(w.store.status(a) == 1);
    // The same term and producer: rows resent in id order.
    CHECK(w.pubs.made.size() == 1);
    const auto ids = w.pubs.current().produced_ids();
    REQUIRE(ids.size() == 4);
    CHECK(ids[2] == a);
    CHECK(ids[3] == b);
    CHECK(w.listener.terms == 1);
    CHECK(w.sup->totals().producer_rebuilds == 1);
}

TEST_CASE("supervisor: a stop in each state drains what is in flight, releases the lock, "
          "stops",
          "[unit][supervisor]") {
    const auto stop_in = [](State where, const std::function<void(World&)>& setup) {
        World w;
        setup(w);
        INFO("stop while " << daemon::to_string(where));
        REQUIRE(w.reach(where));
        w.sup->request_stop("signal 15");
        REQUIRE(w.step_until([&] { return w.sup->state() == State::kStopped; }, 5));
        CHECK(w.lease.releases == 1);
        CHECK(w.listener.roles.back().role == health::Role::kStopping);
        CHECK(w.listener.roles.back().detail == "signal 15");
        CHECK(w.sup->in_flight() == 0);
        // Stopped stays stopped.
        w.sup->step();
        CHECK(w.sup->state() == State::kStopped);
        return w.pubs.produced();
    };
    CHECK(stop_in(State::kStandby, [](World& w) { w.lease.free = false; }) == 0);
    CHECK(stop_in(State::kAcquiring, [](World& w) { w.store.insert("k"); }) == 0);
    CHECK(stop_in(State::kReadingBack,
                  [](World& w) {
                      w.store.insert("k");
                      w.reconciler.script = {false, false};
                  })
          == 0);
    CHECK(stop_in(State::kFenced,
                  [](World& w) {
                      w.store.insert("k");
                      REQUIRE(w.reach(State::kPublishing));
                      w.lease.session_ok = false;
                  })
          <= 1);
    CHECK(stop_in(State::kRebuilding,
                  [](World& w) {
                      w.store.insert("k");
                      REQUIRE(w.reach(State::kPublishing));
                      REQUIRE(w.step_until([&] { return w.pubs.produced() == 1; }));
                      w.pubs.current().set_fatal();
                  })
          == 1);

    // Publishing with rows in flight: their reports are awaited and recorded.
    World w;
    REQUIRE(w.reach(State::kPublishing));
    const auto id = w.store.insert("k");
    REQUIRE(w.step_until([&] { return w.pubs.current().produced.size() == 1; }));
    w.pubs.current().auto_ack = true;
    w.sup->request_stop("signal 15");
    w.sup->step();
    CHECK(w.sup->state() == State::kStopped);
    CHECK(w.store.status(id) == 1);
    CHECK(w.sup->totals().sent == 1);
    CHECK(w.lease.releases == 1);
}

TEST_CASE("supervisor: a standby whose lock session breaks says it cannot take over, and "
          "recovers",
          "[unit][supervisor]") {
    World w;
    w.lease.session_ok = false;
    w.sup->step();
    w.sup->step();
    REQUIRE(w.sup->state() == State::kStandby);
    CHECK(w.listener.roles.back().role == health::Role::kStandby);
    CHECK(w.listener.roles.back().detail == "lock session unavailable (see the log)");
    CHECK_FALSE(w.listener.roles.back().able);
    w.lease.session_ok = true;
    w.lease.free = false;
    REQUIRE(w.step_until([&] { return w.listener.roles.back().able; }));
    CHECK(w.listener.roles.back().detail == "lock held by backend pid 7");
    w.lease.free = true;
    REQUIRE(w.reach(State::kPublishing));
}

TEST_CASE("supervisor: a database outage while publishing keeps the role and the outcomes",
          "[unit][supervisor]") {
    World w;
    const auto id = w.publish_one_row();
    w.store.down = true;
    w.pubs.current().ack_all();
    for (int i = 0; i < 50; ++i) {
        w.sup->step();
        REQUIRE(w.sup->state() == State::kPublishing);
    }
    CHECK(w.store.status(id) == 0);
    w.store.down = false;
    REQUIRE(w.step_until([&] { return w.store.status(id) == 1; }));
    CHECK(w.sup->state() == State::kPublishing);
    CHECK(w.pubs.produced() == 1);
    CHECK(w.visits(State::kStandby) == 0);
    CHECK(w.visits(State::kFenced) == 0);
}

TEST_CASE("supervisor: a database outage that takes the lock session with it fences at once",
          "[unit][supervisor]") {
    World w;
    const auto id = w.publish_one_row();
    w.store.down = true;
    w.lease.session_ok = false;
    w.pubs.current().ack_all();
    w.sup->step();
    CHECK(w.sup->state() == State::kFenced);
    REQUIRE(w.reach(State::kStandby));
    CHECK(w.store.status(id) == 0); // could not be written; the successor reads it back
}

TEST_CASE("supervisor: with leader election off it reads back and publishes at once",
          "[unit][supervisor]") {
    World w(/*with_lease=*/false);
    const auto id = w.store.insert("k");
    w.pubs.auto_ack = true;
    REQUIRE(w.reach(State::kPublishing));
    CHECK(w.listener.path.front() == State::kReadingBack);
    CHECK(w.listener.roles.back().detail == "leader election off");
    REQUIRE(w.step_until([&] { return w.store.status(id) == 1; }));
    w.sup->request_stop("signal 2");
    w.sup->step();
    CHECK(w.sup->state() == State::kStopped);
}
