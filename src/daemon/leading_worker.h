// One implementation of the daemon's background threads: a worker that runs
// rounds of a WorkerTask on its own thread, knows whether this process is
// the active publisher, and wakes for the first of: the round's own next
// time, a change of lead (either way), wake() (a reload), stop(). The
// housekeeper and the confirm worker are WorkerTasks; their rules live in
// the task, the thread and its timing here, once (docs/design.md §4).
//
// A round that throws is classified by daemon/failure.h: an outage is
// logged once per distinct text and the round is tried again after
// `retry_after`; anything else ends the worker's rounds and is kept in
// failure(), which the daemon's main loop turns into a stop with that
// reason (exit 1): a revoked privilege is named once, not retried forever.
//
// Threads: start/stop/set_leading/wake/failure from any one owning thread
// (the main loop); round() and on_lead_lost() only on the worker's thread.
// The clock is injected: tests pass a ManualClock, advance it and wake().
#pragma once

#include "common/clock.h"
#include "daemon/failure.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace outboxd::daemon {

struct RoundInput {
    bool leading = false; // this process is the active publisher now
    TimePoint now;        // the worker's clock when the round began
    // False once a stop was asked for or the lead changed: a long round
    // (retention's batches) ends early and leaves the rest for later.
    std::function<bool()> go_on;
};

class WorkerTask {
public:
    virtual ~WorkerTask() = default;
    // One round; returns when it wants the next (the worker may wake
    // sooner). May throw: see the header comment.
    virtual TimePoint round(const RoundInput& in) = 0;
    // After a failed round (outage): drop sessions and clients, so the next
    // round starts from new ones.
    virtual void reset() {}
};

class LeadingWorker {
public:
    // `name`: the logger ("housekeeping", "confirm").
    LeadingWorker(std::string name, WorkerTask& task, const ClockSource& clock, Millis retry_after);
    ~LeadingWorker(); // stops and joins
    LeadingWorker(const LeadingWorker&) = delete;
    LeadingWorker& operator=(const LeadingWorker&) = delete;

    void start();
    void set_leading(bool leading);
    // Look again now (a reload changed the task's settings).
    void wake();
    // Asks the running round to end, then joins. Idempotent.
    void stop();

    // Set once a round failed with something that is not an outage; no
    // round runs after it.
    std::optional<Failure> failure() const;
    // Rounds finished (failed ones included): for tests and metrics.
    std::uint64_t rounds() const { return rounds_.load(); }
    // Waits up to `timeout` (real time) until rounds() > `after`; for tests.
    bool wait_rounds_above(std::uint64_t after, Millis timeout) const;

private:
    void run();

    const std::string name_;
    WorkerTask& task_;
    const ClockSource& clock_;
    const Millis retry_after_;
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    bool stop_ = false;              // guarded by mu_
    bool poke_ = false;              // guarded by mu_: look again now
    bool leading_ = false;           // guarded by mu_
    std::uint64_t lead_changes_ = 0; // guarded by mu_: for go_on()
    std::optional<Failure> failure_; // guarded by mu_
    std::atomic<std::uint64_t> rounds_{0};
    std::thread thread_;
};

} // namespace outboxd::daemon
