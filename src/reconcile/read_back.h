// The read-back of DESIGN.md G6 as one call: find the oldest pending row,
// read the tail of the pending rows' topics from that time, and mark sent
// the rows Kafka already holds. Run at the start of every leadership term
// and after every producer rebuild, before anything is produced.
// Blocking; one thread.
#pragma once

#include "config/config.h"
#include "store/pg_outbox_store.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace outboxd::reconcile {

// How far before the oldest pending row's created_at the read starts:
// message timestamps come from the producing host's clock, created_at from
// the database's, and the two may disagree.
inline constexpr std::chrono::milliseconds kClockSkew{60000};

struct ReadBackResult {
    bool ok = false;
    std::string error; // when !ok
    std::int64_t messages_read = 0;
    std::size_t ours = 0; // messages with this outbox's outbox-source
    int partitions = 0;
    std::size_t topics = 0;
    std::size_t marked = 0; // pending rows found in Kafka, now at status 1
};

ReadBackResult read_back(store::PgOutboxStore& store,
                         const config::Kafka& kafka,
                         const std::string& source,
                         std::chrono::milliseconds timeout,
                         const std::function<void()>& progress = {});

} // namespace outboxd::reconcile
