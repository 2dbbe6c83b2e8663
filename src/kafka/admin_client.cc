#include "kafka/admin_client.h"

#include "common/log.h"
#include "kafka/conf.h"
#include "kafka/kafka_publisher.h"
#include "kafka/topic_audit.h"

#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <mutex>
#include <string>

namespace outboxd::kafka {

struct AdminClient::Handle {
    rd_kafka_t* rk = nullptr;
    Handle() = default;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    // The last error librdkafka logged for a broker connection (a failed
    // TLS handshake, a refused SASL login), written by librdkafka's threads:
    // "Broker transport failure" alone does not tell an operator that the
    // CA, the host name or the password is wrong.
    std::mutex mu;
    std::string last_error;
    // The last certificate the verify callback refused, in words: a later
    // generic "certificate verify failed" line must not hide it.
    std::string last_cert_error;
    ~Handle() {
        if (rk != nullptr) {
            rd_kafka_destroy(rk);
        }
    }
    // `problem` with the last broker error appended; a success forgets it.
    std::string with_last_error(const std::string& problem) {
        std::lock_guard<std::mutex> lock(mu);
        if (problem.empty()) {
            last_error.clear();
            last_cert_error.clear();
            return problem;
        }
        std::string out = problem;
        if (!last_error.empty()) {
            out += " (last broker error: " + last_error + ")";
        }
        if (!last_cert_error.empty() && last_error.find(last_cert_error) == std::string::npos) {
            out += " (certificate: " + last_cert_error + ")";
        }
        return out;
    }
};

namespace {

// librdkafka's own lines (broker connects and failures) at debug: during an
// outage the probe would repeat them every refresh, and the relay's producer
// already reports the same at its own levels. Errors (level <= 3) are kept
// for the next failed ping or audit.
void on_admin_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) noexcept {
    try {
        log::get("kafka")->debug("librdkafka admin {}: {}", fac, buf);
        if (level <= 3) {
            auto* h = static_cast<AdminClient::Handle*>(rd_kafka_opaque(rk));
            if (h != nullptr) {
                std::lock_guard<std::mutex> lock(h->mu);
                h->last_error = buf;
            }
        }
    } catch (...) {
    }
}

// OpenSSL's verification codes (<openssl/x509_vfy.h>, stable numbers) that
// a misconfigured client meets, in words: librdkafka 2.0.2 only says
// "certificate verify failed" for all of them.
const char* x509_error_text(int code) {
    switch (code) {
    case 2:
    case 20:
        return "issuer certificate not found: the broker's certificate was not signed by a CA "
               "in ssl.ca.location";
    case 18:
    case 19:
        return "self-signed certificate not trusted (check ssl.ca.location)";
    case 9:
        return "certificate not yet valid";
    case 10:
        return "certificate has expired";
    case 62:
        return "host name mismatch: the broker's certificate does not name the host in "
               "bootstrap.servers / the advertised listener";
    case 64:
        return "IP address mismatch: the broker's certificate does not name this address";
    default:
        return nullptr;
    }
}

// Keeps OpenSSL's verdict (host name checking included) and only words the
// failure, so check and /readyz tell a wrong CA from a wrong host name.
int on_admin_cert_verify(
    rd_kafka_t* /*rk*/,
    const char* broker_name,
    int32_t /*broker_id*/,
    int* x509_error, // NOLINT(readability-non-const-parameter): librdkafka's callback type
    int /*depth*/,
    const char* /*buf*/,
    size_t /*size*/,
    char* errstr,
    size_t errstr_size,
    void* opaque) noexcept {
    if (*x509_error == 0) {
        return 1;
    }
    const char* text = x509_error_text(*x509_error);
    if (text != nullptr) {
        (void)std::snprintf(errstr, errstr_size, "broker %s: %s (X509 error %d)", broker_name, text,
                            *x509_error);
    } else {
        (void)std::snprintf(errstr, errstr_size, "broker %s: certificate rejected (X509 error %d)",
                            broker_name, *x509_error);
    }
    try {
        auto* h = static_cast<AdminClient::Handle*>(opaque);
        std::lock_guard<std::mutex> lock(h->mu);
        h->last_cert_error = errstr;
    } catch (...) {
    }
    return 0;
}

} // namespace

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
    rd_kafka_conf_set_opaque(conf, h_.get());
    // Fails only in a build without TLS, where no certificate is checked.
    rd_kafka_conf_set_ssl_cert_verify_cb(conf, on_admin_cert_verify);
    h_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (h_->rk == nullptr) {
        // rd_kafka_new frees conf only on success.
        rd_kafka_conf_destroy(conf);
        throw PublisherConfigError(std::string("creating the Kafka admin client: ") + err);
    }
}

AdminClient::~AdminClient() = default;

publish::AuditReport AdminClient::audit(const std::vector<std::string>& names, Millis timeout) {
    publish::AuditReport r = audit_topics(h_->rk, names, timeout);
    if (!r.reached.ok()) {
        r.reached = Status::failure(h_->with_last_error(r.reached.error()));
    } else if (!r.complete.ok()) {
        r.complete = Status::failure(h_->with_last_error(r.complete.error()));
    } else {
        (void)h_->with_last_error({});
    }
    return r;
}

GroupOffsets AdminClient::committed_offsets(const std::string& group,
                                            const std::vector<TopicPartition>& partitions,
                                            Millis timeout) {
    GroupOffsets r = list_group_offsets(h_->rk, group, partitions, timeout);
    if (!r.status.ok()) {
        r.status = Status::failure(h_->with_last_error(r.status.error()));
    }
    return r;
}

Status AdminClient::ping(Millis timeout) {
    const Status s = ping_cluster(h_->rk, timeout);
    const std::string text = h_->with_last_error(s.error());
    return s.ok() ? Status() : Status::failure(text);
}

} // namespace outboxd::kafka
