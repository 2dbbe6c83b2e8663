#include "leader/lease.h"

namespace outboxd::leader {

std::int64_t lock_key_for(const std::string& schema, const std::string& table) {
    std::uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a 64 offset basis
    const std::string text = "outboxd:" + schema + "." + table;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ULL; // FNV-1a 64 prime
    }
    return static_cast<std::int64_t>(h);
}

std::int64_t effective_lock_key(const config::Leader& leader, const config::Postgres& table) {
    return leader.lock_key != 0 ? leader.lock_key : lock_key_for(table.schema, table.table);
}

} // namespace outboxd::leader
