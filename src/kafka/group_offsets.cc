#include "kafka/group_offsets.h"

#include "kafka/admin_handles.h"

#include <memory>

namespace outboxd::kafka {
namespace {

struct ListDeleter {
    void operator()(rd_kafka_topic_partition_list_t* l) const {
        rd_kafka_topic_partition_list_destroy(l);
    }
};

} // namespace

GroupOffsets list_group_offsets(rd_kafka_t* rk,
                                const std::string& group,
                                const std::vector<TopicPartition>& partitions,
                                std::chrono::milliseconds timeout) {
    GroupOffsets out;
    std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter> asked(
        rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
    for (const auto& [topic, partition] : partitions) {
        rd_kafka_topic_partition_list_add(asked.get(), topic.c_str(), partition);
    }
    rd_kafka_ListConsumerGroupOffsets_t* request =
        rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), asked.get());
    std::unique_ptr<rd_kafka_queue_t, QueueDeleter> q(rd_kafka_queue_new(rk));
    rd_kafka_AdminOptions_t* opts =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    char err[256];
    (void)rd_kafka_AdminOptions_set_request_timeout(opts, static_cast<int>(timeout.count()), err,
                                                    sizeof err);
    rd_kafka_ListConsumerGroupOffsets(rk, &request, 1, opts, q.get());
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_ListConsumerGroupOffsets_destroy(request);

    std::unique_ptr<rd_kafka_event_t, EventDeleter> ev(
        rd_kafka_queue_poll(q.get(), static_cast<int>(timeout.count()) + 1000));
    const std::string what = "committed offsets of consumer group '" + group + "'";
    if (!ev) {
        out.status =
            Status::failure(what + ": no answer within " + std::to_string(timeout.count()) + " ms");
        return out;
    }
    if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        out.status = Status::failure(what + ": " + rd_kafka_event_error_string(ev.get()));
        return out;
    }
    const auto* result = rd_kafka_event_ListConsumerGroupOffsets_result(ev.get());
    std::size_t n = 0;
    const rd_kafka_group_result_t** groups =
        result != nullptr ? rd_kafka_ListConsumerGroupOffsets_result_groups(result, &n) : nullptr;
    if (groups == nullptr || n != 1) {
        out.status = Status::failure(what + ": the broker's answer names no group");
        return out;
    }
    if (const rd_kafka_error_t* e = rd_kafka_group_result_error(groups[0]); e != nullptr) {
        out.status = Status::failure(what + ": " + rd_kafka_error_string(e));
        return out;
    }
    const rd_kafka_topic_partition_list_t* got = rd_kafka_group_result_partitions(groups[0]);
    for (int i = 0; got != nullptr && i < got->cnt; ++i) {
        const rd_kafka_topic_partition_t& p = got->elems[i];
        // A partition's own error (unknown topic) or no commit (-1001):
        // nothing confirmed there, which is not a failure of the request.
        if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR || p.offset < 0) {
            continue;
        }
        out.committed[{p.topic, p.partition}] = p.offset;
    }
    return out;
}

} // namespace outboxd::kafka
