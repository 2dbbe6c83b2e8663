// Start-up check of the target topics' durability (docs/design.md G2): reads the
// replication factor from metadata and min.insync.replicas and
// unclean.leader.election.enable from the brokers' topic configuration.
// Blocking; called before the relay loop starts, from one thread.
#pragma once

#include "publish/broker_admin.h"

#include <chrono>
#include <string>
#include <vector>

// NOLINTNEXTLINE(readability-identifier-naming): the C library's name
using rd_kafka_t = struct rd_kafka_s;

namespace outboxd::kafka {

// Metadata and DescribeConfigs for every topic in `topics`, in that order:
// replication factor and min.insync.replicas >= 2, no unclean election.
publish::AuditReport audit_topics(rd_kafka_t* rk,
                                  const std::vector<std::string>& topics,
                                  std::chrono::milliseconds timeout);

// One light metadata round trip (no topic list), for the health refresh.
Status ping_cluster(rd_kafka_t* rk, std::chrono::milliseconds timeout);

} // namespace outboxd::kafka
