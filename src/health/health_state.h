// What /healthz and /readyz answer, kept apart from the HTTP server and from
// the I/O that feeds it, so the rules are unit-tested with a manual clock.
//
// Liveness (/healthz): the main loop turned recently. A loop stuck in a call
// that never returns is the one failure a restart fixes.
// Readiness (/readyz): both services answered the last health refresh, and
// this process is either the active publisher or a standby able to take over.
//
// Threads: the main loop and the housekeeping thread write; the HTTP thread
// reads. Every method locks one mutex briefly and never blocks otherwise.
#pragma once

#include "common/clock.h"

#include <mutex>
#include <optional>
#include <string>

namespace outboxd::health {

enum class Role {
    kStarting, // configuration read, services not verified yet
    kStandby,  // another process holds the lease; this one waits to take over
    kLeader,   // this process publishes
    kStopping, // SIGTERM received
};

const char* to_string(Role role);

struct Verdict {
    bool ok = false;
    std::string body; // first line says why; then one line per fact
};

class HealthState {
public:
    explicit HealthState(const ClockSource& clock);

    // The main loop calls this every turn (and from its start-up waits).
    void loop_turned();
    // `detail`: for a standby, who holds the lease; for a leader, the lock.
    // It is shown by /readyz, so it must never carry error text from a
    // driver (a libpq message can echo parts of a malformed DSN).
    // `able`: false for a standby that cannot take over now (its lock
    // session fails): such a standby is not ready.
    void set_role(Role role, std::string detail = {}, bool able = true);
    // From the housekeeping thread's refresh: ok, or the error text.
    void set_postgres(bool ok, const std::string& error = {});
    // The broker's reachability (Kafka or RabbitMQ, named by set_broker_name).
    void set_broker(bool ok, std::string error = {});
    // "kafka" (the default) or "rabbitmq": how /readyz names the broker.
    void set_broker_name(std::string name);

    // `stall_timeout`: how long the loop may go without turning.
    Verdict liveness(Millis stall_timeout) const;
    Verdict readiness() const;

    Role role() const;

private:
    const ClockSource& clock_;
    mutable std::mutex mu_;
    TimePoint last_turn_;
    Role role_ = Role::kStarting;
    std::string role_detail_;
    bool able_ = true;
    std::optional<bool> postgres_ok_; // unset: not checked yet
    std::string postgres_error_;
    std::optional<bool> broker_ok_;
    std::string broker_error_;
    std::string broker_name_ = "kafka";
};

} // namespace outboxd::health
