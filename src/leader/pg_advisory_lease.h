// Lease on a PostgreSQL session advisory lock (pg_try_advisory_lock), held on
// its own connection. The server is asked to watch that session
// (store/pg_session.h), so a holder that vanished or was cut off by a
// partition loses the lock within `session_timeout`, and the client side
// gives the lease up within the same bound. libpqxx 6.4 silently reconnects a broken connection as
// a NEW session (without the lock), so confirm() compares the backend pid with the one that took
// the lock and gives the lease up on any difference or error. One thread only.
#pragma once

#include "leader/lease.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace outboxd::leader {

class PgAdvisoryLease final : public Lease {
public:
    PgAdvisoryLease(std::string dsn, std::int64_t key, std::chrono::milliseconds session_timeout);
    ~PgAdvisoryLease() override;
    PgAdvisoryLease(const PgAdvisoryLease&) = delete;
    PgAdvisoryLease& operator=(const PgAdvisoryLease&) = delete;

    Status try_acquire() override;
    Status confirm() override;
    void release() override;
    bool held() const override { return held_; }
    bool held_elsewhere() const override { return held_elsewhere_; }
    // "session pid 42; the server drops it if this process goes silent: ..."
    std::string session_details() const override;

    // pid of the PostgreSQL session holding this lease's lock, or 0.
    int backend_pid() const { return backend_pid_; }

    // The lock session's server-side link settings, one line each
    // ("tcp_keepalives_idle=4 (outboxd)"), for the log; empty before the
    // first session.
    const std::vector<std::string>& server_watch() const { return watch_; }

private:
    void drop();
    static Status outage_or_throw(const std::exception& e);

    std::string dsn_;
    std::int64_t key_;
    std::chrono::milliseconds session_timeout_;
    std::vector<std::string> watch_;
    struct Conn;
    std::unique_ptr<Conn> conn_;
    bool held_ = false;
    int backend_pid_ = 0;
    bool held_elsewhere_ = false;
};

// Who holds the lease for `key` now, for `outboxd check`: "backend pid 42
// (client 10.0.0.5, application outboxd-leader)", or "" when nobody does.
// Throws std::exception when the database cannot be asked.
std::string describe_holder(const std::string& dsn,
                            std::int64_t key,
                            std::chrono::milliseconds session_timeout);

} // namespace outboxd::leader
