#include "leader/pg_advisory_lease.h"

#include "store/pg_outbox_store.h"
#include "store/pg_session.h"

#include <pqxx/pqxx>

namespace outboxd::leader {

struct PgAdvisoryLease::Conn {
    pqxx::connection c;
    explicit Conn(const std::string& dsn)
        : c(dsn) {}
};

namespace {

// Advisory locks on a bigint key show in pg_locks as classid (high 32 bits)
// and objid (low 32 bits), with objsubid 1.
constexpr const char* kHolderQuery =
    "SELECT l.pid, coalesce(a.client_addr::text, 'local'), coalesce(a.application_name, '') "
    "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = "
    "'advisory' AND l.granted AND l.objsubid = 1 AND ((l.classid::bigint << 32) | "
    "l.objid::bigint) = $1 LIMIT 1";

std::string holder_text(const pqxx::result& r) {
    if (r.empty()) {
        return {};
    }
    return "backend pid " + std::string(r[0][0].c_str()) + " (client " + r[0][1].c_str()
           + ", application " + r[0][2].c_str() + ")";
}

} // namespace

std::string describe_holder(const std::string& dsn,
                            std::int64_t key,
                            std::chrono::milliseconds session_timeout) {
    pqxx::connection c(store::session_dsn(dsn, "outboxd-check", session_timeout));
    pqxx::nontransaction tx(c);
    return holder_text(tx.exec_params(kHolderQuery, key));
}

PgAdvisoryLease::PgAdvisoryLease(std::string dsn,
                                 std::int64_t key,
                                 std::chrono::milliseconds session_timeout)
    : dsn_(std::move(dsn))
    , key_(key)
    , session_timeout_(session_timeout) {}

PgAdvisoryLease::~PgAdvisoryLease() {
    release();
}

std::string PgAdvisoryLease::session_details() const {
    if (!held_) {
        return {};
    }
    std::string watch;
    for (const auto& w : watch_) {
        watch += (watch.empty() ? "" : ", ") + w;
    }
    return "session pid " + std::to_string(backend_pid_)
           + "; the server drops it if this process goes silent: " + watch;
}

// The lease's error policy (src/README.md): an outage is a failed Status
// (the supervisor stands by and tries again); a refused login, a revoked
// privilege or a bug stops the daemon with its reason.
Status PgAdvisoryLease::outage_or_throw(const std::exception& e) {
    if (dynamic_cast<const store::StoreMisconfigured*>(&e) != nullptr) {
        throw store::StoreMisconfigured(e.what());
    }
    if (const auto why = store::not_an_outage(e)) {
        throw store::StoreFailure(std::string("lock session: ") + e.what() + " (" + *why
                                  + "): not an outage, not retried");
    }
    return Status::failure(std::string("lock session failed: ") + e.what());
}

void PgAdvisoryLease::drop() {
    held_ = false;
    backend_pid_ = 0;
    conn_.reset();
}

Status PgAdvisoryLease::try_acquire() {
    held_elsewhere_ = false;
    if (held_) {
        return confirm();
    }
    try {
        if (!conn_) {
            try {
                conn_ = std::make_unique<Conn>(
                    store::session_dsn(dsn_, "outboxd-leader", session_timeout_));
            } catch (const std::exception& e) {
                store::throw_connect_failure(e); // a refused login is not an outage
            }
            // Before the lock exists: the server must be watching this
            // session from its first lock on, or a partition keeps the lock
            // for the kernel's 2 hours of keepalive silence (G5).
            watch_ = store::watch_session(conn_->c, session_timeout_);
        }
        pqxx::nontransaction tx(conn_->c);
        auto r = tx.exec_params("SELECT pg_try_advisory_lock($1), pg_backend_pid()", key_);
        if (r[0][0].as<bool>()) {
            held_ = true;
            backend_pid_ = r[0][1].as<int>();
            return {};
        }
        // Say who holds it, for the standby's log line.
        const auto who = holder_text(tx.exec_params(kHolderQuery, key_));
        held_elsewhere_ = true;
        return Status::failure(who.empty() ? "lock held by another session"
                                           : "lock held by " + who);
    } catch (const std::exception& e) {
        drop();
        return outage_or_throw(e);
    }
}

Status PgAdvisoryLease::confirm() {
    if (!held_ || !conn_) {
        return Status::failure("lock not held");
    }
    try {
        pqxx::nontransaction tx(conn_->c);
        const int pid = tx.exec("SELECT pg_backend_pid()")[0][0].as<int>();
        if (pid != backend_pid_) {
            // libpqxx reconnected behind our back: the lock died with the old session.
            const std::string why = "lock session was replaced (backend pid "
                                    + std::to_string(backend_pid_) + " -> " + std::to_string(pid)
                                    + ")";
            drop();
            return Status::failure(why);
        }
        return {};
    } catch (const std::exception& e) {
        drop();
        return outage_or_throw(e);
    }
}

void PgAdvisoryLease::release() {
    if (held_ && conn_) {
        try {
            pqxx::nontransaction tx(conn_->c);
            tx.exec_params("SELECT pg_advisory_unlock($1)", key_);
        } catch (const std::exception&) {
            // Closing the session below frees the lock anyway.
        }
    }
    drop();
}

} // namespace outboxd::leader
