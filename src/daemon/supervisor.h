// The daemon's life cycle (DESIGN.md G5, G6) as one state machine: standby,
// take the lock, read back, publish, and what happens when leadership is
// lost, the producer dies or a stop is asked for. Every transition is
// written in Supervisor::step(); every part it drives is an interface (the
// lease, the outbox store, the publisher factory, the read-back, a clock, a
// way to wait), so each transition is unit-tested with fakes and a manual
// clock (tests/unit/supervisor_test.cc). daemon/run/ only builds the parts.
//
// One thread only: the daemon's main loop.
#pragma once

#include "common/clock.h"
#include "health/health_state.h"
#include "leader/lease.h"
#include "publish/publisher.h"
#include "reconcile/reconciler.h"
#include "relay/relay.h"
#include "store/outbox_store.h"

#include <functional>
#include <memory>
#include <string>

namespace outboxd::daemon {

enum class State {
    kStandby,     // not publishing; tries the lock every leader.retry_interval_ms
    kAcquiring,   // asking for the lock now
    kReadingBack, // lock held: settling the ack-to-mark gap before producing (G6)
    kPublishing,  // the relay runs; the lease is confirmed before every batch
    kFenced,      // the lease is gone: drop unsent messages, record what is known
    kRebuilding,  // the producer died and was rebuilt: read back before producing again
    kDraining,    // stop asked: no more reads; wait (bounded) for in-flight reports
    kStopped,     // done; the lock is released
};

const char* to_string(State s);

// Makes the producer of a publishing term (one per term: a fresh idempotent
// producer left idle was seen to deliver its first message a second later).
class PublisherFactory {
public:
    virtual ~PublisherFactory() = default;
    virtual std::unique_ptr<publish::Publisher> make() = 0;
};

// How the supervisor waits when it has nothing to do (standby, a read-back
// retry). Production sleeps; tests advance a manual clock.
class Waiter {
public:
    virtual ~Waiter() = default;
    virtual void wait(Millis d) = 0;
};

// What the outside world learns: the role for /readyz, STATUS= and the
// metrics, and the in-flight count. Called on the supervisor's thread.
class Listener {
public:
    virtual ~Listener() = default;
    virtual void on_role(health::Role role, const std::string& detail, bool able) = 0;
    virtual void on_transition(State /*from*/, State /*to*/) {}
    virtual void on_in_flight(std::size_t /*rows*/, std::size_t /*bytes*/) {}
    // A publishing term begins (after its read-back): the wiring logs it.
    virtual void on_term_started() {}
    // The lock was lost while this process held it (it stops producing).
    virtual void on_leadership_lost() {}
    // A read-back ended, failed or not (counted by result for the metrics).
    virtual void on_read_back(const reconcile::ReadBackResult& /*result*/) {}
};

struct SupervisorOptions {
    relay::RelayOptions relay;
    Millis retry_interval{2000};    // leader.retry_interval_ms
    Millis read_back_retry{1000};   // after a failed read-back
    Millis fence_drain{2000};       // reports awaited after leadership is lost
    Millis shutdown_timeout{10000}; // relay.shutdown_timeout_ms
    Millis report_interval{10000};  // the "sent=... (+...)" log line
    std::string leader_detail;      // role text while publishing ("lock key 42")

    // Its sections of the configuration (relay, leader); the broker's
    // largest message and the effective lock key come from their owners.
    static SupervisorOptions
    from(const config::Config& cfg, std::int64_t max_message_bytes, std::int64_t lock_key);
};

struct Parts {
    store::OutboxStore& store;
    leader::Lease* lease = nullptr; // null: leader election off, this process always publishes
    PublisherFactory& publishers;
    reconcile::Reconciler& reconciler;
    ClockSource& clock;
    RandomSource& random;
    Waiter& waiter;
    Listener& listener;
    relay::RelayObserver* observer = nullptr; // each term's relay reports to it (facts, log lines)
};

class Supervisor {
public:
    Supervisor(SupervisorOptions options, Parts parts);
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // One transition or one turn of the current state; may block for one
    // relay step, one lease round trip or one read-back.
    void step();
    // Asks for a stop (SIGTERM): the next step starts draining. `reason`
    // ("signal 15") goes to the log and /readyz.
    void request_stop(std::string reason) {
        if (!stop_requested_) {
            stop_requested_ = true;
            stop_reason_ = std::move(reason);
        }
    }
    State state() const { return state_; }

    // SIGHUP: new relay options and retry interval, from the next step.
    void set_options(const SupervisorOptions& options);

    std::size_t in_flight() const;
    // Counters over every term of this process, the current one included.
    relay::RelayStats totals() const;

private:
    void enter(State next);
    void standby();
    void acquire();
    void read_back();
    void publish();
    void fence();
    void drain();
    void start_term();
    // Ends the term: reports awaited up to `timeout`, outcomes recorded.
    void end_term(Millis timeout);

    SupervisorOptions options_;
    Parts parts_;
    State state_ = State::kStandby;
    bool stop_requested_ = false;
    std::string stop_reason_;
    State stopped_in_ = State::kStandby; // the state the stop request found
    TimePoint next_try_;
    TimePoint next_report_;
    std::string last_standby_reason_;
    std::string fence_reason_; // why the relay's fence last failed, for the log
    std::unique_ptr<publish::Publisher> publisher_;
    std::unique_ptr<relay::Relay> relay_;
    relay::RelayStats ended_terms_{};
    relay::RelayStats last_report_{};
};

} // namespace outboxd::daemon
