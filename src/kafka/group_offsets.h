// Committed offsets of a Kafka consumer group (ListConsumerGroupOffsets):
// what consumer confirmation (confirm/) reads to tell which rows a group has
// processed. One request per group (librdkafka 2.0.2 takes one group per
// call). Any thread that owns `rk`.
#pragma once

#include "common/status.h"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace outboxd::kafka {

using TopicPartition = std::pair<std::string, std::int32_t>;

struct GroupOffsets {
    Status status; // failure: the group's offsets could not be read
    // The next offset the group will read, per partition; partitions where
    // the group has committed nothing are absent.
    std::map<TopicPartition, std::int64_t> committed;
};

GroupOffsets list_group_offsets(rd_kafka_t* rk,
                                const std::string& group,
                                const std::vector<TopicPartition>& partitions,
                                std::chrono::milliseconds timeout);

} // namespace outboxd::kafka
