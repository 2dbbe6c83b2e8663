// The read-back of docs/design.md G6 as one call: find the oldest pending row,
// read the tail of the pending rows' topics from that time, and mark sent
// the rows Kafka already holds. Run at the start of every leadership term
// and after every producer rebuild, before anything is produced.
// Blocking; one thread.
#pragma once

#include "config/config.h"
#include "reconcile/reconciler.h"
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

ReadBackResult read_back(store::PgOutboxStore& store,
                         const config::Kafka& kafka,
                         const std::string& source,
                         std::chrono::milliseconds timeout,
                         const std::function<bool()>& progress = {});

// The Reconciler the daemon uses: read_back() with a fixed time budget,
// ticking `progress` so the watchdog sees the loop alive meanwhile; it
// returns false to abandon the read (a stop was asked for).
class KafkaReadBack final : public Reconciler {
public:
    KafkaReadBack(store::PgOutboxStore& store,
                  config::Kafka kafka,
                  std::string source,
                  std::chrono::milliseconds timeout,
                  std::function<bool()> progress)
        : store_(store)
        , kafka_(std::move(kafka))
        , source_(std::move(source))
        , timeout_(timeout)
        , progress_(std::move(progress)) {}

    ReadBackResult read_back() override {
        return reconcile::read_back(store_, kafka_, source_, timeout_, progress_);
    }

private:
    store::PgOutboxStore& store_;
    config::Kafka kafka_;
    std::string source_;
    std::chrono::milliseconds timeout_;
    std::function<bool()> progress_;
};

} // namespace outboxd::reconcile
