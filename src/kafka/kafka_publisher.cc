#include "kafka/kafka_publisher.h"

#include "common/log.h"
#include "common/parse_int.h"
#include "kafka/conf.h"
#include "kafka/error_class.h"
#include "kafka/tail_reader.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string_view>
#include <unordered_set>

#include <sys/eventfd.h>
#include <unistd.h>

namespace outboxd::kafka {

struct KafkaPublisher::State {
    rd_kafka_t* rk = nullptr;
    rd_kafka_queue_t* main = nullptr;    // what rd_kafka_poll serves; writes to wake_fd_
    std::vector<DeliveryReport> reports; // filled by the delivery callback
    bool fatal = false;
    std::string fatal_reason;
    std::shared_ptr<spdlog::logger> log = outboxd::log::get("publish");
    std::unordered_set<std::string> known_topics; // metadata already asked for
};

namespace {

// Delivery report callback: runs inside rd_kafka_poll/flush on the relay
// thread. Must not throw into C and must not block: it only records.
void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) noexcept {
    auto* st = static_cast<KafkaPublisher::State*>(opaque);
    try {
        DeliveryReport r;
        r.id = static_cast<std::int64_t>(reinterpret_cast<std::intptr_t>(msg->_private));
        r.ok = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;
        if (r.ok) {
            r.partition = msg->partition;
            r.offset = msg->offset;
        } else {
            r.error_class = classify(msg->err);
            r.reason = failure_reason(msg->err);
            r.error = std::string(rd_kafka_err2name(msg->err)) + ": " + rd_kafka_err2str(msg->err);
            if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
                st->fatal = true;
            }
        }
        st->reports.push_back(std::move(r));
    } catch (...) {
        // Out of memory: the row stays at 0 and is sent again after restart.
        st->fatal = true;
        st->fatal_reason = "out of memory recording a delivery report";
    }
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept {
    auto* st = static_cast<KafkaPublisher::State*>(opaque);
    try {
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            char buf[512];
            const auto cause = rd_kafka_fatal_error(rk, buf, sizeof buf);
            st->fatal = true;
            st->fatal_reason = std::string(rd_kafka_err2name(cause)) + ": " + buf;
            st->log->error("producer fatal error: {}", st->fatal_reason);
            return;
        }
        // Broker connection trouble is expected during outages (G3): log it,
        // librdkafka reconnects by itself.
        st->log->warn("kafka: {}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
                      reason);
    } catch (...) {
    }
}

void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) noexcept {
    auto* st = static_cast<KafkaPublisher::State*>(rd_kafka_opaque(rk));
    try {
        // Connection failures (facility FAIL) also reach error_cb, which logs
        // them once as warnings; here they would only be repeated.
        const bool repeated_by_error_cb = std::string_view(fac) == "FAIL";
        if (level <= 4 && !repeated_by_error_cb) {
            st->log->warn("librdkafka {}: {}", fac, buf);
        } else if (level <= 6 && !repeated_by_error_cb) {
            st->log->info("librdkafka {}: {}", fac, buf);
        } else {
            st->log->debug("librdkafka {}: {}", fac, buf);
        }
    } catch (...) {
    }
}

} // namespace

std::int64_t producer_max_message_bytes(const config::Kafka& kafka) {
    constexpr std::int64_t kLibrdkafkaDefault = 1000000;
    const auto it = kafka.properties.find("message.max.bytes");
    if (it == kafka.properties.end()) {
        return kLibrdkafkaDefault;
    }
    // A value librdkafka cannot take makes producer creation fail anyway.
    return to_int64(it->second).value_or(kLibrdkafkaDefault);
}

config::Kafka with_queue_limit(config::Kafka kafka, std::int64_t max_in_flight_bytes) {
    if (kafka.properties.count("queue.buffering.max.kbytes") != 0) {
        return kafka;
    }
    // librdkafka's bound for this property.
    constexpr std::int64_t kMaxKbytes = 2147483647;
    const std::int64_t bytes = max_in_flight_bytes + producer_max_message_bytes(kafka);
    kafka.properties["queue.buffering.max.kbytes"] =
        std::to_string(std::min(kMaxKbytes, bytes / 1024 + 1));
    return kafka;
}

std::vector<std::pair<std::string, std::string>> consumer_properties(const config::Kafka& cfg) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& [k, v] : producer_properties(cfg)) {
        if (k == "enable.idempotence" || k == "acks" || k == "linger.ms"
            || k == "message.timeout.ms") {
            continue;
        }
        out.emplace_back(std::move(k), std::move(v));
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> producer_properties(const config::Kafka& cfg) {
    std::vector<std::pair<std::string, std::string>> p;
    // Defaults the user may change. linger.ms 0: a row alone goes at once,
    // and under load batches fill by themselves while requests are in
    // flight (docs/benchmarks.md: with the marks written in the background
    // the drain rate of 0 and 1 is the same within the noise, and 0 halves
    // p50 latency; librdkafka's own default is 5).
    p.emplace_back("linger.ms", "0");
    // 0 = never time out: during an outage messages wait in the queue and
    // the relay stops reading (back-pressure) instead of failing rows.
    p.emplace_back("message.timeout.ms", "0");
    p.emplace_back("client.id", "outboxd");
    for (const auto& [k, v] : cfg.properties) {
        p.emplace_back(k, v);
    }
    // The contract (G2); config validation already refused weaker values.
    p.emplace_back("bootstrap.servers", cfg.bootstrap_servers);
    p.emplace_back("enable.idempotence", "true");
    p.emplace_back("acks", "all");
    return p;
}

KafkaPublisher::KafkaPublisher(config::Kafka cfg, std::string source)
    : cfg_(std::move(cfg))
    , source_(std::move(source)) {
    // Without it the relay simply waits in poll(): a wake-up source, never
    // a condition for relaying.
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    create();
}

KafkaPublisher::~KafkaPublisher() {
    destroy();
    if (wake_fd_ >= 0) {
        ::close(wake_fd_);
    }
}

int KafkaPublisher::wakeup_fd() {
    if (wake_fd_ < 0 || !state_ || state_->main == nullptr) {
        return -1;
    }
    // librdkafka writes only when an event lands on an empty queue, so a
    // queue left non-empty would never signal again: empty the eventfd,
    // then signal it ourselves if something is waiting already.
    std::uint64_t n = 0;
    while (::read(wake_fd_, &n, sizeof n) > 0) {
    }
    if (rd_kafka_queue_length(state_->main) > 0) {
        n = 1;
        if (::write(wake_fd_, &n, sizeof n) < 0 && errno != EAGAIN) {
            return -1;
        }
    }
    return wake_fd_;
}

void KafkaPublisher::create() {
    auto st = std::make_unique<State>();
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (const auto set = set_properties(conf, producer_properties(cfg_)); !set.ok()) {
        rd_kafka_conf_destroy(conf);
        throw PublisherConfigError(set.error());
    }
    rd_kafka_conf_set_opaque(conf, st.get());
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    st->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (st->rk == nullptr) {
        // rd_kafka_new takes conf over only when it succeeds.
        rd_kafka_conf_destroy(conf);
        throw PublisherConfigError(std::string("creating the Kafka producer: ") + err);
    }
    // Warm the metadata cache. Without it, a topic first produced to while
    // the producer's initial brokers-only metadata request is in flight
    // waits for librdkafka's 1 s refresh tick (seen with 2.0.2): every new
    // producer's first delivery took a second longer. Best effort: with the
    // cluster down this returns after the time-out and producing waits anyway.
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(st->rk, 1, nullptr, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_metadata_destroy(md);
    }
    if (wake_fd_ >= 0) {
        // An eventfd takes 8-byte writes; librdkafka keeps its own copy.
        static const std::uint64_t kOne = 1;
        st->main = rd_kafka_queue_get_main(st->rk);
        rd_kafka_queue_io_event_enable(st->main, wake_fd_, &kOne, sizeof kOne);
    }
    state_ = std::move(st);
}

void KafkaPublisher::destroy() {
    if (!state_ || state_->rk == nullptr) {
        return;
    }
    // Anything still queued has no report: its row stays at 0.
    rd_kafka_purge(state_->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(state_->rk, 0);
    if (state_->main != nullptr) {
        rd_kafka_queue_io_event_enable(state_->main, -1, nullptr, 0);
        rd_kafka_queue_destroy(state_->main);
        state_->main = nullptr;
    }
    rd_kafka_destroy(state_->rk);
    state_->rk = nullptr;
}

void KafkaPublisher::purge_queued() {
    rd_kafka_purge(state_->rk, RD_KAFKA_PURGE_F_QUEUE);
}

rd_kafka_t* KafkaPublisher::handle() const {
    return state_->rk;
}

int KafkaPublisher::outstanding() const {
    return rd_kafka_outq_len(state_->rk);
}

bool KafkaPublisher::fatal() const {
    return state_->fatal;
}

std::string KafkaPublisher::fatal_reason() const {
    return state_->fatal_reason;
}

ProduceResult KafkaPublisher::produce(const Message& m) {
    ProduceResult res;
    rd_kafka_headers_t* hdrs =
        rd_kafka_headers_new(1 + (m.headers != nullptr ? m.headers->size() : 0));
    if (m.headers != nullptr) {
        for (const auto& h : *m.headers) {
            rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()),
                                h.null_value ? nullptr : h.value.data(),
                                h.null_value ? 0 : static_cast<ssize_t>(h.value.size()));
        }
    }
    const std::string id = std::to_string(m.id);
    rd_kafka_header_add(hdrs, kOutboxIdHeader, -1, id.data(), static_cast<ssize_t>(id.size()));
    if (!source_.empty()) {
        rd_kafka_header_add(hdrs, kOutboxSourceHeader, -1, source_.data(),
                            static_cast<ssize_t>(source_.size()));
    }
    const std::string topic(m.topic);
    if (state_->known_topics.insert(topic).second) {
        // First message to this topic from this producer: ask for its
        // metadata now. Otherwise librdkafka 2.0.2 may look the topic up only
        // on its 1 s refresh tick, and the first message waits that long.
        rd_kafka_topic_t* rkt = rd_kafka_topic_new(state_->rk, topic.c_str(), nullptr);
        const rd_kafka_metadata_t* md = nullptr;
        if (rkt != nullptr
            && rd_kafka_metadata(state_->rk, 0, rkt, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_metadata_destroy(md);
        }
        if (rkt != nullptr) {
            rd_kafka_topic_destroy(rkt);
        }
    }
    // The RD_KAFKA_V_* macros paste their arguments unparenthesised: keep
    // them plain variables.
    void* key = m.key ? const_cast<char*>(m.key->data()) : nullptr;
    const std::size_t key_len = m.key ? m.key->size() : 0;
    void* value = m.payload ? const_cast<char*>(m.payload->data()) : nullptr;
    const std::size_t value_len = m.payload ? m.payload->size() : 0;
    // The row id travels as the message opaque; on_delivery turns it back.
    // NOLINTNEXTLINE(performance-no-int-to-ptr): an id, never dereferenced
    void* opaque = reinterpret_cast<void*>(static_cast<std::intptr_t>(m.id));
    const std::int32_t partition = m.partition >= 0 ? m.partition : RD_KAFKA_PARTITION_UA;
    const std::int64_t timestamp = m.timestamp_ms;
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        state_->rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_TIMESTAMP(timestamp), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        res.accepted = true; // librdkafka owns hdrs now
        return res;
    }
    rd_kafka_headers_destroy(hdrs);
    res.error_class = classify(err);
    res.reason = failure_reason(err);
    res.error = std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err);
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        // Refused locally, before any broker saw it: say which limit.
        std::size_t size = key_len + value_len;
        if (m.headers != nullptr) {
            for (const auto& h : *m.headers) {
                size += h.name.size() + h.value.size();
            }
        }
        res.error = "MSG_SIZE_TOO_LARGE: message of about " + std::to_string(size)
                    + " bytes (key + value + headers) exceeds the producer's message.max.bytes";
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        state_->fatal = true;
        if (state_->fatal_reason.empty()) {
            char buf[512];
            const auto cause = rd_kafka_fatal_error(state_->rk, buf, sizeof buf);
            state_->fatal_reason = std::string(rd_kafka_err2name(cause)) + ": " + buf;
        }
    }
    return res;
}

std::vector<DeliveryReport> KafkaPublisher::poll(std::chrono::milliseconds timeout) {
    rd_kafka_poll(state_->rk, static_cast<int>(timeout.count()));
    // Serve whatever else is already queued, without waiting again.
    for (int i = 0; i < 1000 && rd_kafka_poll(state_->rk, 0) > 0; ++i) {
    }
    std::vector<DeliveryReport> out;
    out.swap(state_->reports);
    return out;
}

std::vector<DeliveryReport> KafkaPublisher::drain(std::chrono::milliseconds timeout) {
    rd_kafka_flush(state_->rk, static_cast<int>(timeout.count()));
    rd_kafka_purge(state_->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(state_->rk, 0);
    std::vector<DeliveryReport> out;
    out.swap(state_->reports);
    return out;
}

std::vector<DeliveryReport> KafkaPublisher::rebuild(std::chrono::milliseconds timeout) {
    auto out = drain(timeout);
    destroy();
    state_.reset();
    create();
    return out;
}

void KafkaPublisher::inject_fatal_for_test(const std::string& reason) {
    rd_kafka_test_fatal_error(state_->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                              reason.c_str());
}

} // namespace outboxd::kafka
