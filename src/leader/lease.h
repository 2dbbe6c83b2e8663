// Leadership for one outbox table (docs/design.md G5): exactly one outboxd process
// publishes at a time. PgAdvisoryLease implements it with a PostgreSQL
// session advisory lock on a dedicated connection; tests use a fake.
// One thread only (the main loop).
#pragma once

#include "common/status.h"
#include "config/config.h"

#include <cstdint>
#include <string>

namespace outboxd::leader {

class Lease {
public:
    virtual ~Lease() = default;

    // Tries once to become the publisher. Ok if this process holds the
    // lease now (also when it already did); else why not, for the log
    // ("lock held by pid 42 ...", "lock session failed: ...").
    virtual Status try_acquire() = 0;

    // Ok only if the lease is still held, proven by a round trip on the
    // session that holds it. Any doubt (error, new session) drops the lease
    // and fails with the reason: the caller must stop producing at once.
    virtual Status confirm() = 0;

    // Gives the lease up (shutdown), so a standby can take over at once.
    virtual void release() = 0;

    virtual bool held() const = 0;

    // The last try_acquire failed only because another session holds the
    // lease; this lease's own session works (a healthy standby).
    virtual bool held_elsewhere() const = 0;

    // The session holding this lease, for the log once it is taken
    // ("session pid 42; ..."); empty while not held.
    virtual std::string session_details() const = 0;
};

// The advisory-lock key for a table: a stable 64-bit hash (FNV-1a) of
// "outboxd:" + schema + "." + table, so every process on the same table
// agrees without configuration, and different tables never share a lease.
std::int64_t lock_key_for(const std::string& schema, const std::string& table);

// leader.lock_key, or lock_key_for(the table) when it is 0.
std::int64_t effective_lock_key(const config::Leader& leader, const config::Postgres& table);

} // namespace outboxd::leader
