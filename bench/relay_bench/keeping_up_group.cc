#include "keeping_up_group.h"

#include "common.h"
#include "services.h"

#include <stdexcept>

namespace outboxd::bench {

KeepingUpGroup::KeepingUpGroup(std::string topic,
                               std::string group,
                               std::chrono::milliseconds every,
                               std::function<void(const Offsets&)> on_commit)
    : topic_(std::move(topic))
    , group_(std::move(group))
    , every_(every)
    , on_commit_(std::move(on_commit)) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", ot::services().kafka_bootstrap.c_str(), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "group.id", group_.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk_ == nullptr) {
        throw std::runtime_error(std::string("bench consumer: ") + err);
    }
    thread_ = std::thread([this] { run(); });
}

KeepingUpGroup::~KeepingUpGroup() {
    stop_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
    rd_kafka_destroy(rk_);
}

std::string KeepingUpGroup::error() const {
    std::lock_guard<std::mutex> lk(mu_);
    return error_;
}

void KeepingUpGroup::run() {
    while (!stop_) {
        const auto next = Clock::now() + every_;
        Offsets offsets;
        for (int p = 0; p < kTopicPartitions; ++p) {
            std::int64_t low = 0;
            std::int64_t high = 0;
            if (rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), p, &low, &high, 5000)
                    == RD_KAFKA_RESP_ERR_NO_ERROR
                && high > 0) {
                offsets[p] = high;
            }
        }
        if (!offsets.empty()) {
            rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(3);
            for (const auto& [p, o] : offsets) {
                rd_kafka_topic_partition_list_add(list, topic_.c_str(), p)->offset = o;
            }
            const auto rc = rd_kafka_commit(rk_, list, /*async=*/0);
            rd_kafka_topic_partition_list_destroy(list);
            if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
                std::lock_guard<std::mutex> lk(mu_);
                error_ = rd_kafka_err2str(rc);
            } else if (on_commit_) {
                on_commit_(offsets);
            }
        }
        if (on_commit_) {
            // A measuring caller blocks until its rows are confirmed, which
            // lines the next commit up with the confirmer's round: start
            // it at a random point of the round instead.
            std::this_thread::sleep_for(std::chrono::milliseconds(rng_() % 1000));
        } else {
            std::this_thread::sleep_until(next);
        }
    }
}

} // namespace outboxd::bench
