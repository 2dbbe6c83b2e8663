// The store's error classification: which database errors are outages
// (StoreUnavailable, retried) and which are not (StoreFailure,
// StoreMisconfigured), for the error policy of outbox_store.h.
#include "store/pg_internal.h"

#include <pqxx/pqxx>

namespace outboxd::store {
namespace {

template <typename T>
bool is(const std::exception& e) {
    return dynamic_cast<const T*>(&e) != nullptr;
}

struct NamedFailure {
    bool (*matches)(const std::exception&);
    const char* why;
};

// libpqxx 6.4 maps the common SQLSTATEs to exception classes and then leaves
// sqlstate() empty; only the generic sql_error carries its code. Subclasses
// before their base.
constexpr NamedFailure kNamedFailures[] = {
    {is<pqxx::insufficient_privilege>, "insufficient privilege, SQLSTATE 42501"},
    {is<pqxx::undefined_table>, "undefined table, SQLSTATE 42P01"},
    {is<pqxx::undefined_column>, "undefined column, SQLSTATE 42703"},
    {is<pqxx::syntax_error>, "syntax error or access rule violation, SQLSTATE class 42"},
    {is<pqxx::integrity_constraint_violation>, "integrity constraint violation, SQLSTATE class 23"},
    {is<pqxx::data_exception>, "data exception, SQLSTATE class 22"},
    {is<pqxx::feature_not_supported>, "feature not supported, SQLSTATE class 0A"},
    {is<pqxx::plpgsql_error>, "PL/pgSQL error (a trigger?), SQLSTATE class P0"},
};

} // namespace

std::optional<std::string> not_an_outage(const std::exception& e) {
    if (is<pqxx::broken_connection>(e) || is<pqxx::in_doubt_error>(e)
        || is<pqxx::transaction_rollback>(e) || is<pqxx::insufficient_resources>(e)
        || is<StoreUnavailable>(e)) {
        return std::nullopt;
    }
    for (const auto& f : kNamedFailures) {
        if (f.matches(e)) {
            return std::string(f.why);
        }
    }
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
        if (is_outage_sqlstate(sql->sqlstate())) {
            return std::nullopt;
        }
        return "SQLSTATE " + sql->sqlstate();
    }
    // conversion_error, usage_error, bad_alloc...: a bug, never an outage.
    return std::string("not a database error");
}

[[noreturn]] void throw_connect_failure(const std::exception& e) {
    const std::string what = std::string("connecting to PostgreSQL: ") + e.what();
    if (const auto why = refused_connection(e.what())) {
        throw StoreMisconfigured(what + " (" + *why + "): not an outage, not retried");
    }
    throw StoreUnavailable(what);
}

[[noreturn]] void throw_session_failure(const std::string& what, const pqxx::sql_error& e) {
    // An outage while a new session checks the table (a restart, a
    // statement_timeout) is retried like any other outage; anything else
    // means the table or the grants are not what the config says.
    if (is_outage_sqlstate(e.sqlstate())) {
        throw StoreUnavailable(what + ": " + e.what());
    }
    throw StoreMisconfigured(what + ": " + e.what());
}

void PgOutboxStore::fail(const std::string& what, const std::exception& e) {
    // Drop the session whatever the error was: a fresh one is the only state
    // we can reason about (LISTEN registrations and locks die with the old).
    session_.reset();
    if (const auto why = not_an_outage(e)) {
        throw StoreFailure(what + ": " + e.what() + " (" + *why + "): not an outage, not retried");
    }
    throw StoreUnavailable(what + ": " + e.what());
}

} // namespace outboxd::store
