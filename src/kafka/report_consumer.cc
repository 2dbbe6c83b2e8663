#include "kafka/report_consumer.h"

#include "common/log.h"
#include "kafka/conf.h"
#include "kafka/kafka_publisher.h"

#include <librdkafka/rdkafka.h>

namespace outboxd::kafka {
namespace {

std::optional<std::string> header(rd_kafka_headers_t* hdrs, const char* name) {
    const void* val = nullptr;
    size_t size = 0;
    if (hdrs == nullptr
        || rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR
        || val == nullptr) {
        return std::nullopt;
    }
    return std::string(static_cast<const char*>(val), size);
}

void on_report_log(const rd_kafka_t* /*rk*/,
                   int /*level*/,
                   const char* fac,
                   const char* buf) noexcept {
    try {
        log::get("kafka")->debug("librdkafka reports {}: {}", fac, buf);
    } catch (...) {
    }
}

} // namespace

struct ReportConsumer::Handle {
    rd_kafka_t* rk = nullptr;
    Handle() = default;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() {
        if (rk != nullptr) {
            rd_kafka_consumer_close(rk);
            rd_kafka_destroy(rk);
        }
    }
};

ReportConsumer::ReportConsumer(const config::Kafka& cfg,
                               std::string topic,
                               const std::string& group)
    : h_(std::make_unique<Handle>())
    , topic_(std::move(topic)) {
    Properties props = consumer_properties(cfg);
    props.emplace_back("group.id", group);
    props.emplace_back("client.id", "outboxd-reports");
    props.emplace_back("enable.auto.commit", "false");
    props.emplace_back("auto.offset.reset", "earliest");
    // Only reports whose producing transaction committed.
    props.emplace_back("isolation.level", "read_committed");
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (auto set = set_properties(conf, props); !set.ok()) {
        rd_kafka_conf_destroy(conf);
        throw PublisherConfigError(set.error());
    }
    rd_kafka_conf_set_log_cb(conf, on_report_log);
    char err[512];
    h_->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (h_->rk == nullptr) {
        rd_kafka_conf_destroy(conf);
        throw PublisherConfigError(std::string("creating the report consumer: ") + err);
    }
    rd_kafka_poll_set_consumer(h_->rk);
    rd_kafka_topic_partition_list_t* subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic_.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t sub = rd_kafka_subscribe(h_->rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (sub != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw PublisherConfigError("subscribing to confirm.ack_topic " + topic_ + ": "
                                   + rd_kafka_err2str(sub));
    }
}

ReportConsumer::~ReportConsumer() = default;

Status
ReportConsumer::poll(std::size_t max, Millis wait, std::vector<publish::ConsumerReport>* out) {
    int timeout = static_cast<int>(wait.count());
    while (out->size() < max) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(h_->rk, timeout);
        timeout = 0; // only the first message is waited for
        if (m == nullptr) {
            break;
        }
        const rd_kafka_resp_err_t err = m->err;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            publish::ConsumerReport r;
            rd_kafka_headers_t* hdrs = nullptr;
            if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                hdrs = nullptr;
            }
            r.source = header(hdrs, publish::kOutboxSourceHeader);
            r.id = header(hdrs, publish::kOutboxIdHeader);
            r.consumer = header(hdrs, publish::kOutboxConsumerHeader);
            r.result = header(hdrs, publish::kOutboxResultHeader);
            if (m->payload != nullptr) {
                r.body.assign(static_cast<const char*>(m->payload), m->len);
            }
            out->push_back(std::move(r));
            uncommitted_ = true;
        }
        const std::string text =
            err == RD_KAFKA_RESP_ERR_NO_ERROR ? "" : rd_kafka_message_errstr(m);
        rd_kafka_message_destroy(m);
        if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            continue;
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            // Transient (a broker down, a topic not created yet): the
            // consumer retries by itself. Reports already read are returned
            // (the position is past them: they must be applied, then committed).
            if (!out->empty()) {
                break;
            }
            return Status::failure("reading consumer reports from " + topic_ + ": " + text);
        }
    }
    return {};
}

Status ReportConsumer::commit() {
    if (!uncommitted_) {
        return {};
    }
    // Synchronous: the positions of everything poll() returned.
    const rd_kafka_resp_err_t err = rd_kafka_commit(h_->rk, nullptr, /*async=*/0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        return Status::failure("committing consumer reports of " + topic_ + ": "
                               + rd_kafka_err2str(err));
    }
    uncommitted_ = false;
    return {};
}

} // namespace outboxd::kafka
