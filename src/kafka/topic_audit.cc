#include "kafka/topic_audit.h"

#include "kafka/admin_handles.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>

namespace outboxd::kafka {
namespace {

struct TopicAudit {
    std::string topic;
    bool exists = false;
    int partitions = 0;
    int replication_factor = 0; // smallest over the partitions
    int min_insync_replicas = 0;
    bool unclean_leader_election = false;
    std::vector<std::string> problems; // empty: durable as G2 asks
};

// Reads the two durability settings of each topic with DescribeConfigs.
Status describe_configs(rd_kafka_t* rk,
                        std::map<std::string, TopicAudit*>& by_name,
                        std::chrono::milliseconds timeout) {
    std::vector<rd_kafka_ConfigResource_t*> res;
    res.reserve(by_name.size());
    for (auto& [name, _] : by_name) {
        res.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
    }
    std::unique_ptr<rd_kafka_queue_t, QueueDeleter> q(rd_kafka_queue_new(rk));
    rd_kafka_AdminOptions_t* opts =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(opts, static_cast<int>(timeout.count()), err,
                                              sizeof err);
    rd_kafka_DescribeConfigs(rk, res.data(), res.size(), opts, q.get());
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_ConfigResource_destroy_array(res.data(), res.size());

    std::unique_ptr<rd_kafka_event_t, EventDeleter> ev(
        rd_kafka_queue_poll(q.get(), static_cast<int>(timeout.count()) + 1000));
    if (!ev) {
        return Status::failure("DescribeConfigs timed out");
    }
    if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::failure(std::string("DescribeConfigs: ")
                               + rd_kafka_event_error_string(ev.get()));
    }
    const auto* result = rd_kafka_event_DescribeConfigs_result(ev.get());
    size_t n = 0;
    const rd_kafka_ConfigResource_t** rs = rd_kafka_DescribeConfigs_result_resources(result, &n);
    for (size_t i = 0; i < n; ++i) {
        auto it = by_name.find(rd_kafka_ConfigResource_name(rs[i]));
        if (it == by_name.end()) {
            continue;
        }
        TopicAudit& a = *it->second;
        if (rd_kafka_ConfigResource_error(rs[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            a.problems.push_back(std::string("cannot read its configuration: ")
                                 + rd_kafka_ConfigResource_error_string(rs[i]));
            continue;
        }
        size_t cn = 0;
        const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[i], &cn);
        for (size_t j = 0; j < cn; ++j) {
            const std::string name = rd_kafka_ConfigEntry_name(entries[j]);
            const char* value = rd_kafka_ConfigEntry_value(entries[j]);
            if (value == nullptr) {
                continue;
            }
            if (name == "min.insync.replicas") {
                a.min_insync_replicas = std::atoi(value);
            } else if (name == "unclean.leader.election.enable") {
                a.unclean_leader_election = std::string(value) == "true";
            }
        }
    }
    return {};
}

} // namespace

Status ping_cluster(rd_kafka_t* rk, std::chrono::milliseconds timeout) {
    const rd_kafka_metadata_t* md = nullptr;
    // all_topics=0 and no topic handle: asks only for the topics this handle
    // already knows (none), so the answer stays small on a large cluster.
    const rd_kafka_resp_err_t err =
        rd_kafka_metadata(rk, 0, nullptr, &md, static_cast<int>(timeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::failure(std::string("cannot read cluster metadata: ")
                               + rd_kafka_err2str(err));
    }
    const int brokers = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    return brokers > 0 ? Status() : Status::failure("cluster metadata lists no broker");
}

publish::AuditReport audit_topics(rd_kafka_t* rk,
                                  const std::vector<std::string>& topics,
                                  std::chrono::milliseconds timeout) {
    publish::AuditReport report;
    struct {
        std::vector<TopicAudit> topics;
    } out;
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t err =
        rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(timeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        report.reached =
            Status::failure(std::string("cannot read cluster metadata: ") + rd_kafka_err2str(err));
        return report;
    }
    std::map<std::string, const rd_kafka_metadata_topic_t*> known;
    for (int i = 0; i < md->topic_cnt; ++i) {
        known[md->topics[i].topic] = &md->topics[i];
    }
    out.topics.reserve(topics.size());
    std::map<std::string, TopicAudit*> present;
    for (const auto& t : topics) {
        TopicAudit a;
        a.topic = t;
        auto it = known.find(t);
        if (it == known.end() || it->second->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            a.problems.emplace_back("topic does not exist");
        } else {
            a.exists = true;
            a.partitions = it->second->partition_cnt;
            int rf = -1;
            for (int p = 0; p < it->second->partition_cnt; ++p) {
                const int n = it->second->partitions[p].replica_cnt;
                rf = rf < 0 ? n : std::min(rf, n);
            }
            a.replication_factor = rf < 0 ? 0 : rf;
        }
        out.topics.push_back(std::move(a));
    }
    rd_kafka_metadata_destroy(md);
    for (auto& a : out.topics) {
        if (a.exists) {
            present[a.topic] = &a;
        }
    }
    if (!present.empty()) {
        report.complete = describe_configs(rk, present, timeout);
    }
    for (auto& a : out.topics) {
        if (!a.exists) {
            continue;
        }
        if (a.replication_factor < 2) {
            a.problems.push_back("replication factor " + std::to_string(a.replication_factor)
                                 + " < 2: one broker loss loses acknowledged messages");
        }
        if (a.min_insync_replicas < 2) {
            a.problems.push_back("min.insync.replicas " + std::to_string(a.min_insync_replicas)
                                 + " < 2: acks=all can be satisfied by a single replica");
        }
        if (a.unclean_leader_election) {
            a.problems.emplace_back(
                "unclean.leader.election.enable=true: an out-of-sync replica may become leader");
        }
    }
    for (auto& a : out.topics) {
        publish::DestinationAudit d;
        d.name = std::move(a.topic);
        d.exists = a.exists;
        if (a.exists) {
            d.summary = "partitions=" + std::to_string(a.partitions)
                        + " rf=" + std::to_string(a.replication_factor)
                        + " min.insync.replicas=" + std::to_string(a.min_insync_replicas);
        }
        d.problems = std::move(a.problems);
        report.destinations.push_back(std::move(d));
    }
    return report;
}

} // namespace outboxd::kafka
