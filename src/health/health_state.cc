#include "health/health_state.h"

#include <cstdio>

namespace outboxd::health {
namespace {

std::string seconds_text(Millis d) {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1000.0);
    return {buf, n > 0 ? static_cast<std::size_t>(n) : 0};
}

// `error` empty: the reason is only in the log (see set_postgres).
std::string
service_line(const char* name, const std::optional<bool>& ok, const std::string& error) {
    if (!ok) {
        return std::string(name) + ": not checked yet";
    }
    if (*ok) {
        return std::string(name) + ": ok";
    }
    return std::string(name) + ": unreachable"
           + (error.empty() ? std::string(" (the reason is in the log)") : ": " + error);
}

} // namespace

const char* to_string(Role role) {
    switch (role) {
    case Role::kStarting:
        return "starting";
    case Role::kStandby:
        return "standby";
    case Role::kLeader:
        return "active publisher";
    case Role::kStopping:
        return "stopping";
    }
    return "unknown";
}

HealthState::HealthState(const ClockSource& clock)
    : clock_(clock)
    , last_turn_(clock.now()) {}

void HealthState::loop_turned() {
    const auto now = clock_.now();
    std::lock_guard<std::mutex> lk(mu_);
    last_turn_ = now;
}

void HealthState::set_role(Role role, std::string detail, bool able) {
    std::lock_guard<std::mutex> lk(mu_);
    role_ = role;
    role_detail_ = std::move(detail);
    able_ = able;
}

void HealthState::set_postgres(bool ok, const std::string& /*error*/) {
    std::lock_guard<std::mutex> lk(mu_);
    postgres_ok_ = ok;
    // Never kept for /readyz: libpq's message can echo parts of a malformed
    // connection string, password included, and the endpoint is
    // unauthenticated. The caller logs it.
    postgres_error_.clear();
}

void HealthState::set_broker(bool ok, std::string error) {
    std::lock_guard<std::mutex> lk(mu_);
    broker_ok_ = ok;
    broker_error_ = ok ? std::string() : std::move(error);
}

void HealthState::set_broker_name(std::string name) {
    std::lock_guard<std::mutex> lk(mu_);
    broker_name_ = std::move(name);
}

Role HealthState::role() const {
    std::lock_guard<std::mutex> lk(mu_);
    return role_;
}

Verdict HealthState::liveness(Millis stall_timeout) const {
    const auto now = clock_.now();
    std::lock_guard<std::mutex> lk(mu_);
    const auto since = std::chrono::duration_cast<Millis>(now - last_turn_);
    Verdict v;
    v.ok = since <= stall_timeout;
    v.body = v.ok ? "ok: main loop turned " + seconds_text(since) + " ago\n"
                  : "not ok: main loop has not turned for " + seconds_text(since) + " (limit "
                        + seconds_text(stall_timeout) + ")\n";
    return v;
}

Verdict HealthState::readiness() const {
    std::lock_guard<std::mutex> lk(mu_);
    Verdict v;
    const bool pg = postgres_ok_.value_or(false);
    const bool broker = broker_ok_.value_or(false);
    std::string why;
    if (role_ == Role::kStopping) {
        why = "not ready: stopping";
    } else if (role_ == Role::kStarting) {
        why = "not ready: starting";
    } else if (!postgres_ok_ || !broker_ok_) {
        why = "not ready: services not checked yet";
    } else if (!pg) {
        why = "not ready: postgres unreachable";
    } else if (!broker) {
        why = "not ready: " + broker_name_ + " unreachable";
    } else if (role_ == Role::kStandby && !able_) {
        why = "not ready: standby cannot reach its lock session";
    } else {
        v.ok = true;
        why = role_ == Role::kLeader ? "ready: active publisher" : "ready: standby";
    }
    std::string role_line = std::string("role: ") + to_string(role_);
    if (!role_detail_.empty()) {
        role_line += " (" + role_detail_ + ")";
    }
    v.body = why + "\n" + role_line + "\n" + service_line("postgres", postgres_ok_, postgres_error_)
             + "\n" + service_line(broker_name_.c_str(), broker_ok_, broker_error_) + "\n";
    return v;
}

} // namespace outboxd::health
