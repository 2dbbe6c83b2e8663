#include "daemon/supervisor.h"

#include "common/log.h"

#include <algorithm>

namespace outboxd::daemon {

SupervisorOptions SupervisorOptions::from(const config::Config& cfg,
                                          std::int64_t max_message_bytes,
                                          std::int64_t lock_key) {
    SupervisorOptions o;
    o.relay = relay::RelayOptions::from(cfg.relay, max_message_bytes);
    o.relay.mapping = relay::MappingOptions::from(cfg);
    o.retry_interval = cfg.leader.retry_interval;
    o.shutdown_timeout = cfg.relay.shutdown_timeout;
    o.leader_detail = "lock key " + std::to_string(lock_key);
    return o;
}

const char* to_string(State s) {
    switch (s) {
    case State::kStandby:
        return "standby";
    case State::kAcquiring:
        return "acquiring";
    case State::kReadingBack:
        return "reading back";
    case State::kPublishing:
        return "publishing";
    case State::kFenced:
        return "fenced";
    case State::kRebuilding:
        return "rebuilding";
    case State::kDraining:
        return "draining";
    case State::kStopped:
        return "stopped";
    }
    return "unknown";
}

Supervisor::Supervisor(SupervisorOptions options, Parts parts)
    : options_(std::move(options))
    , parts_(parts)
    , next_try_(parts.clock.now())
    , next_report_(parts.clock.now() + options_.report_interval) {
    parts_.listener.on_role(health::Role::kStandby,
                            parts_.lease != nullptr ? "taking the lock" : "", true);
    // Until this process publishes, its data session has nothing to do.
    parts_.store.disconnect();
}

Supervisor::~Supervisor() = default;

void Supervisor::set_options(const SupervisorOptions& options) {
    options_ = options;
    if (relay_) {
        relay_->set_options(options_.relay);
    }
}

std::size_t Supervisor::in_flight() const {
    return relay_ ? relay_->in_flight() : 0;
}

relay::RelayStats Supervisor::totals() const {
    relay::RelayStats t = ended_terms_;
    if (relay_) {
        t += relay_->stats();
    }
    return t;
}

void Supervisor::enter(State next) {
    if (next == state_) {
        return;
    }
    const State from = state_;
    state_ = next;
    parts_.listener.on_transition(from, next);
}

// The transitions, all of them:
//   standby      -> acquiring (retry due) | reading back (no lease)
//   acquiring    -> reading back (lock taken) | standby (held elsewhere, error)
//   reading back -> publishing (read-back done) | reading back (failed: retried
//                   after read_back_retry, nothing produced) | standby (lease
//                   lost first; a rebuilt term is fenced)
//   publishing   -> fenced (lease lost) | rebuilding (producer fatal)
//   rebuilding   -> reading back (the same term, with the rebuilt producer)
//   fenced       -> standby
//   any but stopped: stop asked -> draining -> stopped
void Supervisor::step() {
    if (stop_requested_ && state_ != State::kDraining && state_ != State::kStopped) {
        stopped_in_ = state_;
        enter(State::kDraining);
    }
    switch (state_) {
    case State::kStandby:
        standby();
        return;
    case State::kAcquiring:
        acquire();
        return;
    case State::kReadingBack:
        read_back();
        return;
    case State::kPublishing:
        publish();
        return;
    case State::kFenced:
        fence();
        return;
    case State::kRebuilding:
        // The relay rebuilt the producer inside its step; rows that were in
        // flight on the dead one may be in the broker: read back first.
        log::get("relay")->warn("producer rebuilt; reading back before producing again");
        enter(State::kReadingBack);
        return;
    case State::kDraining:
        drain();
        return;
    case State::kStopped:
        return;
    }
}

void Supervisor::standby() {
    if (parts_.lease == nullptr) {
        enter(State::kReadingBack);
        return;
    }
    const auto now = parts_.clock.now();
    if (now >= next_try_) {
        enter(State::kAcquiring);
        return;
    }
    parts_.waiter.wait(
        std::min(Millis(100), std::chrono::duration_cast<Millis>(next_try_ - now) + Millis(1)));
}

void Supervisor::acquire() {
    auto log = log::get("leader");
    leader::Lease& lease = *parts_.lease;
    const Status acquired = lease.try_acquire();
    if (acquired.ok()) {
        log->info("leader: lock acquired ({})", lease.session_details());
        last_standby_reason_.clear();
        enter(State::kReadingBack);
        return;
    }
    if (acquired.error() != last_standby_reason_) {
        last_standby_reason_ = acquired.error();
        log->info("standby: {}; retrying every {} ms", last_standby_reason_,
                  options_.retry_interval.count());
        // Only "lock held by ..." is shown by /readyz and STATUS; a session
        // error's text stays in the log.
        const bool held_elsewhere = lease.held_elsewhere();
        parts_.listener.on_role(health::Role::kStandby,
                                held_elsewhere ? last_standby_reason_
                                               : "lock session unavailable (see the log)",
                                held_elsewhere);
    }
    next_try_ = parts_.clock.now() + options_.retry_interval;
    enter(State::kStandby);
}

void Supervisor::read_back() {
    if (const Status held = parts_.lease != nullptr ? parts_.lease->confirm() : Status();
        !held.ok()) {
        log::get("leader")->error("leadership lost ({}) before publishing", held.error());
        if (relay_) {
            // A rebuilt term: its relay holds outcomes and in-flight rows
            // (fence() counts the loss).
            enter(State::kFenced);
            return;
        }
        parts_.listener.on_leadership_lost();
        next_try_ = parts_.clock.now();
        enter(State::kStandby);
        return;
    }
    auto log = log::get("readback");
    const auto r = parts_.reconciler.read_back();
    parts_.listener.on_read_back(r);
    if (!r.status.ok()) {
        log->warn("read-back failed, not producing yet: {}", r.status.error());
        parts_.waiter.wait(options_.read_back_retry);
        return;
    }
    if (!r.skipped.empty()) {
        log->info("no read-back: {}", r.skipped);
    } else if (r.topics == 0) {
        log->info("nothing pending: no read-back needed");
    } else {
        log->info("read back {} messages ({} ours) from {} partitions of {} topics; {} pending "
                  "rows were already in Kafka and are now marked sent",
                  r.messages_read, r.ours, r.partitions, r.topics, r.marked);
    }
    if (relay_) {
        relay_->read_back_done();
    } else {
        start_term();
    }
    enter(State::kPublishing);
}

void Supervisor::start_term() {
    publisher_ = parts_.publishers.make();
    std::function<bool()> fence;
    if (parts_.lease != nullptr) {
        // Asked before every batch: a process that lost its lock stops
        // producing before it reads another row.
        fence = [this] {
            Status held = parts_.lease->confirm();
            if (!held.ok()) {
                fence_reason_ = held.error();
            }
            return held.ok();
        };
    }
    relay_ = std::make_unique<relay::Relay>(options_.relay, parts_.store, *publisher_, parts_.clock,
                                            parts_.random, parts_.observer, std::move(fence));
    last_report_ = relay::RelayStats{};
    next_report_ = parts_.clock.now() + options_.report_interval;
    parts_.listener.on_term_started();
    parts_.listener.on_role(
        health::Role::kLeader,
        parts_.lease != nullptr ? options_.leader_detail : "leader election off", true);
}

void Supervisor::publish() {
    relay_->step();
    if (relay_->fenced()) {
        enter(State::kFenced);
        return;
    }
    if (relay_->awaiting_read_back()) {
        enter(State::kRebuilding);
        return;
    }
    parts_.listener.on_in_flight(relay_->in_flight(), relay_->in_flight_bytes());
    if (parts_.clock.now() >= next_report_) {
        const auto& s = relay_->stats();
        if (s.sent != last_report_.sent || s.failed_attempts != last_report_.failed_attempts
            || relay_->in_flight() > 0) {
            log::get("relay")->info(
                "sent={} (+{}) failed_attempts={} parked={} in_flight={} transient_errors={} "
                "rebuilds={} db_errors={}",
                s.sent, s.sent - std::min(s.sent, last_report_.sent), s.failed_attempts, s.parked,
                relay_->in_flight(), s.transient_errors, s.producer_rebuilds, s.db_errors);
        }
        last_report_ = s;
        next_report_ = parts_.clock.now() + options_.report_interval;
    }
}

void Supervisor::fence() {
    log::get("leader")->error("leadership lost ({}): stopped producing, now standby",
                              fence_reason_.empty() ? std::string("fence") : fence_reason_);
    fence_reason_.clear();
    parts_.listener.on_leadership_lost();
    // Unsent messages must not leave after the lock is gone.
    publisher_->purge_queued();
    end_term(options_.fence_drain);
    parts_.store.disconnect();
    parts_.listener.on_role(health::Role::kStandby, "leadership lost", true);
    last_standby_reason_.clear();
    next_try_ = parts_.clock.now();
    enter(State::kStandby);
}

void Supervisor::drain() {
    auto log = log::get("main");
    parts_.listener.on_role(health::Role::kStopping, stop_reason_, true);
    if (relay_) {
        log->info("{} received: stopping fetch, waiting up to {} ms for {} in-flight rows",
                  stop_reason_, options_.shutdown_timeout.count(), relay_->in_flight());
        end_term(options_.shutdown_timeout);
    } else {
        log->info("{} received while {}: nothing in flight", stop_reason_, to_string(stopped_in_));
    }
    if (parts_.lease != nullptr) {
        parts_.lease->release();
    }
    enter(State::kStopped);
}

void Supervisor::end_term(Millis timeout) {
    relay_->begin_shutdown();
    const auto unknown = relay_->finish_shutdown(timeout);
    ended_terms_ += relay_->stats();
    relay_.reset();
    publisher_.reset();
    parts_.listener.on_in_flight(0, 0);
    if (unknown > 0) {
        log::get("main")->warn("{} rows of unknown outcome stay at status 0; the next publisher "
                               "sends them again",
                               unknown);
    }
}

} // namespace outboxd::daemon
