#include "kafka/admin_client.h"

#include "common/log.h"
#include "kafka/conf.h"
#include "kafka/kafka_publisher.h"
#include "kafka/topic_audit.h"

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
    Handle() = default;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
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
    if (const auto set = set_properties(conf, props); !set.ok()) {
        rd_kafka_conf_destroy(conf);
        throw PublisherConfigError(set.error());
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

publish::AuditReport AdminClient::audit(const std::vector<std::string>& names, Millis timeout) {
    return audit_topics(h_->rk, names, timeout);
}

Status AdminClient::ping(Millis timeout) {
    return ping_cluster(h_->rk, timeout);
}

} // namespace outboxd::kafka
