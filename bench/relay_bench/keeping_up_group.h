// A Kafka consumer group for --confirm that keeps up with a topic.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>

namespace outboxd::bench {

// A consumer group that keeps up: every `every` it commits the high
// watermark of each partition of `topic` (everything produced so far counts
// as processed), from a thread of its own. on_commit is called after each
// commit with the committed offsets, on that thread.
class KeepingUpGroup {
public:
    using Offsets = std::map<int, std::int64_t>;
    KeepingUpGroup(std::string topic,
                   std::string group,
                   std::chrono::milliseconds every,
                   std::function<void(const Offsets&)> on_commit = {});
    ~KeepingUpGroup();
    KeepingUpGroup(const KeepingUpGroup&) = delete;
    KeepingUpGroup& operator=(const KeepingUpGroup&) = delete;
    std::string error() const;

private:
    void run();

    std::mt19937 rng_{42};
    std::string topic_;
    std::string group_;
    std::chrono::milliseconds every_;
    std::function<void(const Offsets&)> on_commit_;
    rd_kafka_t* rk_ = nullptr;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::string error_;
    std::thread thread_;
};

} // namespace outboxd::bench
