// Start-up check of the target topics' durability (DESIGN.md G2): reads the
// replication factor from metadata and min.insync.replicas and
// unclean.leader.election.enable from the brokers' topic configuration.
// Blocking; called before the relay loop starts, from one thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

typedef struct rd_kafka_s rd_kafka_t;

namespace outboxd::kafka {

struct TopicAudit {
    std::string topic;
    bool exists = false;
    int partitions = 0;
    int replication_factor = 0; // smallest over the partitions
    int min_insync_replicas = 0;
    bool unclean_leader_election = false;
    std::vector<std::string> problems; // empty: durable as G2 asks
};

struct AuditResult {
    bool reached_cluster = false;
    std::string error; // set when the cluster could not be asked
    std::vector<TopicAudit> topics;
};

AuditResult audit_topics(rd_kafka_t* rk,
                         const std::vector<std::string>& topics,
                         std::chrono::milliseconds timeout);

// One light metadata round trip (no topic list), for the health refresh:
// "" when a broker answered within `timeout`, else why not.
std::string ping_cluster(rd_kafka_t* rk, std::chrono::milliseconds timeout);

} // namespace outboxd::kafka
