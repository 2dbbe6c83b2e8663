#include "config/dsn.h"

#include <algorithm>
#include <memory>

#include <libpq-fe.h>

namespace outboxd::config {

std::optional<DsnParams> parse_dsn(const std::string& dsn) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
    if (err != nullptr) {
        // Never shown: libpq's message can quote the password.
        PQfreemem(err);
    }
    if (opts == nullptr) {
        return std::nullopt;
    }
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> guard(opts, &PQconninfoFree);
    DsnParams out;
    for (const PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
        if (o->val != nullptr) {
            out.emplace_back(o->keyword, o->val);
        }
    }
    return out;
}

std::optional<std::string> dsn_value(const std::string& dsn, const std::string& keyword) {
    const auto params = parse_dsn(dsn);
    if (!params) {
        return std::nullopt;
    }
    for (const auto& [k, v] : *params) {
        if (k == keyword) {
            return v;
        }
    }
    return std::nullopt;
}

std::string dsn_pair(const std::string& keyword, const std::string& value) {
    std::string out = keyword + "='";
    for (const char c : value) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '\'';
    return out;
}

std::string dsn_with_defaults(const std::string& dsn, const DsnParams& defaults) {
    auto params = parse_dsn(dsn);
    if (!params) {
        return dsn;
    }
    for (const auto& entry : defaults) {
        const bool set = std::any_of(params->begin(), params->end(),
                                     [&](const auto& p) { return p.first == entry.first; });
        if (!set) {
            params->push_back(entry);
        }
    }
    std::string out;
    for (const auto& [k, v] : *params) {
        if (!out.empty()) {
            out += ' ';
        }
        out += dsn_pair(k, v);
    }
    return out;
}

} // namespace outboxd::config
