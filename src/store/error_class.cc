// The store's error classes that need no database library: which SQLSTATEs
// are outages, which refused logins are misconfiguration (outbox_store.h).
#include "store/outbox_store.h"

namespace outboxd::store {

bool is_outage_sqlstate(const std::string& state) {
    if (state.empty()) {
        return true;
    }
    const std::string cls = state.substr(0, 2);
    return cls == "08" || cls == "53" || cls == "58" || state == "57P01" || state == "57P02"
           || state == "57P03" || state == "57014" || state == "40001" || state == "40P01"
           || state == "55P03" || state == "25006";
}

std::optional<std::string> refused_connection(const std::string& message) {
    struct Refusal {
        const char* text;
        const char* why;
    };
    // The server's FATAL texts (PostgreSQL 15, src/backend/libpq/auth.c
    // and utils/init/postinit.c) for SQLSTATEs 28P01, 28000, 3D000, 42501.
    static constexpr Refusal kRefusals[] = {
        {"password authentication failed", "wrong password, SQLSTATE 28P01"},
        {"no pg_hba.conf entry", "no pg_hba.conf entry for this login, SQLSTATE 28000"},
        {"authentication failed for user", "authentication failed, SQLSTATE 28000"},
        {"permission denied for database", "no CONNECT privilege, SQLSTATE 42501"},
        {"must be superuser to connect", "login refused, SQLSTATE 42501"},
        {"is not permitted to log in", "the role may not log in, SQLSTATE 28000"},
    };
    for (const auto& r : kRefusals) {
        if (message.find(r.text) != std::string::npos) {
            return std::string(r.why);
        }
    }
    // 'role "x" does not exist' (28000), 'database "x" does not exist' (3D000)
    if (message.find("does not exist") != std::string::npos) {
        if (message.find("role \"") != std::string::npos) {
            return std::string("unknown role, SQLSTATE 28000");
        }
        if (message.find("database \"") != std::string::npos) {
            return std::string("unknown database, SQLSTATE 3D000");
        }
    }
    return std::nullopt;
}

} // namespace outboxd::store
