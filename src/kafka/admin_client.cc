#include "kafka/admin_client.h"

#include "common/log.h"
#include "kafka/conf.h"
#include "kafka/kafka_publisher.h"

#include <librdkafka/rdkafka.h>

namespace outboxd::kafka {
namespace {

// librdkafka's own lines (broker connects and failures) at debug: during an
// outage the probe would repeat them every refresh, and the relay's producer
// already reports the same at its own levels.
void on_admin_log(const rd_kafka_t* /*rk*/,
                  int /*level*/,
                  const char* fac,
                  const char* buf) noexcept {
    try {
        log::get("kafka")->debug("librdkafka admin {}: {}", fac, buf);
    } catch (...) {
    }
}

} // namespace

struct AdminClient::Handle {
    rd_kafka_t* rk = nullptr;
    ~Handle() {
        if (rk != nullptr) {
            rd_kafka_destroy(rk);
        }
    }
};

AdminClient::AdminClient(const config::Kafka& cfg)
    : h_(std::make_unique<Handle>()) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The operator's properties (TLS, SASL, timeouts) apply here too; the
    // producer-only contract settings do not matter to an admin client.
    Properties props = {{"client.id", "outboxd-admin"}};
    for (const auto& [k, v] : cfg.properties) {
        props.emplace_back(k, v);
    }
    props.emplace_back("bootstrap.servers", cfg.bootstrap_servers);
    if (auto refused = set_properties(conf, props); !refused.empty()) {
        rd_kafka_conf_destroy(conf);
        throw PublisherConfigError(refused);
    }
    rd_kafka_conf_set_log_cb(conf, on_admin_log);
    h_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (h_->rk == nullptr) {
        // rd_kafka_new frees conf only on success.
        rd_kafka_conf_destroy(conf);
        throw PublisherConfigError(std::string("creating the Kafka admin client: ") + err);
    }
}

AdminClient::~AdminClient() = default;

AuditResult AdminClient::audit(const std::vector<std::string>& topics,
                               std::chrono::milliseconds timeout) {
    return audit_topics(h_->rk, topics, timeout);
}

std::string AdminClient::ping(std::chrono::milliseconds timeout) {
    return ping_cluster(h_->rk, timeout);
}

} // namespace outboxd::kafka
