// Reads back the recent tail of target topics to find messages this outbox
// already delivered but could not mark (the gap between Kafka's ack and the
// status update, docs/design.md G6). Blocking; used between leadership terms and
// after a producer rebuild, never while producing. One thread.
#pragma once

#include "common/status.h"
#include "config/config.h"
#include "publish/publisher.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace outboxd::kafka {

// The broker boundary this component implements (publish/publisher.h).
using publish::kOutboxIdHeader;
using publish::kOutboxSourceHeader;

struct FoundMessage {
    std::string topic;
    std::int64_t id = 0;
    std::optional<std::string> key;
    std::int32_t partition = -1;
    std::int64_t offset = -1;
};

struct TailReadResult {
    Status status;                   // failure: the tail could not be read completely
    std::vector<FoundMessage> found; // messages carrying our outbox-source
    std::int64_t messages_read = 0;  // all messages looked at, ours or not
    int partitions = 0;
};

// Every message of `topics` whose timestamp is at or after `since_ms` (Unix
// milliseconds), up to each partition's end at the time of the call.
// `timeout` bounds the whole read, every broker request included;
// `progress` is called at least every 200 ms while it waits, so the caller's
// liveness signals (the systemd watchdog, /healthz) keep turning, even when
// no broker answers (each broker request waits at most kRequestSlice, then
// is asked again); when it returns false (a stop was asked for) the read
// ends at once with a failed status whose error is kReadStopped.
inline constexpr const char* kReadStopped = "stopped before the read finished";
inline constexpr std::chrono::milliseconds kRequestSlice{200};
using Progress = std::function<bool()>;
TailReadResult read_tail(const config::Kafka& cfg,
                         const std::vector<std::string>& topics,
                         std::int64_t since_ms,
                         const std::string& source,
                         std::chrono::milliseconds timeout,
                         const Progress& progress = {});

} // namespace outboxd::kafka
