#include "kafka_clients.h"

#include "log.h"

#include <cstring>
#include <vector>

namespace inventory {
namespace {

void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw KafkaConfError(std::string("librdkafka property ") + key + ": " + err);
    }
}

// librdkafka's own log lines in our format; called from its threads.
void on_log(const rd_kafka_t* /*rk*/, int level, const char* fac, const char* buf) noexcept {
    const log::Level l = level <= 3   ? log::Level::kError
                         : level <= 5 ? log::Level::kWarn
                                      : log::Level::kInfo;
    log::line(l, "librdkafka", std::string(fac) + ": " + buf);
}

// The common part of both clients' configuration; `scope` picks the
// "consumer." or "producer." properties besides the unprefixed ones.
rd_kafka_conf_t* base_conf(const Options& o, const std::string& scope) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", o.bootstrap);
    set(conf, "client.id", "outboxd-inventory-consumer");
    rd_kafka_conf_set_log_cb(conf, on_log);
    for (const auto& [key, value] : o.kafka_properties) {
        const std::string name = kafka_property_name(key);
        if (name == key || key.rfind(scope + ".", 0) == 0) {
            set(conf, name, value);
        }
    }
    return conf;
}

std::string partitions_text(const rd_kafka_topic_partition_list_t* l) {
    std::string out;
    for (int i = 0; i < l->cnt; ++i) {
        out += (i > 0 ? " " : "") + std::string(l->elems[i].topic) + "["
               + std::to_string(l->elems[i].partition) + "]";
    }
    return out.empty() ? "none" : out;
}

bool is_permanent(rd_kafka_resp_err_t err) {
    switch (err) {
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return true;
    default:
        return false;
    }
}

// A reason is read by a person and ends up in the row's last_error:
// bounded, so a huge parse error cannot make the report itself too large.
constexpr size_t kMaxReasonBytes = 1000;

} // namespace

std::optional<std::string> header(const rd_kafka_message_t& m, const char* name) {
    rd_kafka_headers_t* hdrs = nullptr;
    // rd_kafka_message_headers wants a non-const message; it only parses
    // the headers it already holds.
    if (rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(&m), &hdrs)
        != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return std::nullopt;
    }
    const void* value = nullptr;
    size_t size = 0;
    if (rd_kafka_header_get_last(hdrs, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return std::nullopt;
    }
    return value == nullptr ? std::string() : std::string(static_cast<const char*>(value), size);
}

std::string where(const rd_kafka_message_t& m) {
    return std::string(m.rkt != nullptr ? rd_kafka_topic_name(m.rkt) : "?") + "["
           + std::to_string(m.partition) + "]@" + std::to_string(m.offset);
}

// ---- OrderConsumer ---------------------------------------------------------

OrderConsumer::OrderConsumer(const Options& o)
    : topics_(o.topics) {
    rd_kafka_conf_t* conf = base_conf(o, "consumer");
    set(conf, "group.id", o.group);
    if (!o.instance_id.empty()) {
        set(conf, "group.instance.id", o.instance_id);
    }
    // The pattern (docs/consumers.md): nothing is committed, or even stored
    // for a commit, unless this program says the message is done.
    set(conf, "enable.auto.commit", "false");
    set(conf, "enable.auto.offset.store", "false");
    // A new group starts at the beginning: "latest" would skip every order
    // written before its first commit.
    set(conf, "auto.offset.reset", "earliest");
    set(conf, "isolation.level", "read_committed");
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &OrderConsumer::on_rebalance);
    rd_kafka_conf_set_error_cb(conf, &OrderConsumer::on_error);
    char err[512];
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk_ == nullptr) {
        rd_kafka_conf_destroy(conf);
        throw KafkaConfError(std::string("consumer: ") + err);
    }
    // Errors and rebalances are served by rd_kafka_consumer_poll().
    rd_kafka_poll_set_consumer(rk_);
}

OrderConsumer::~OrderConsumer() {
    if (!closed_) {
        rd_kafka_consumer_close(rk_);
    }
    rd_kafka_destroy(rk_);
}

void OrderConsumer::subscribe() {
    rd_kafka_topic_partition_list_t* l =
        rd_kafka_topic_partition_list_new(static_cast<int>(topics_.size()));
    for (const auto& t : topics_) {
        rd_kafka_topic_partition_list_add(l, t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw std::runtime_error(std::string("subscribe: ") + rd_kafka_err2str(err));
    }
}

MessagePtr OrderConsumer::poll(int timeout_ms) {
    return MessagePtr(rd_kafka_consumer_poll(rk_, timeout_ms));
}

void OrderConsumer::done(const rd_kafka_message_t& m) {
    done_[{rd_kafka_topic_name(m.rkt), m.partition}] = m.offset + 1;
    ++uncommitted_;
}

bool OrderConsumer::commit() {
    if (done_.empty()) {
        return true;
    }
    rd_kafka_topic_partition_list_t* l =
        rd_kafka_topic_partition_list_new(static_cast<int>(done_.size()));
    for (const auto& [tp, offset] : done_) {
        rd_kafka_topic_partition_list_add(l, tp.first.c_str(), tp.second)->offset = offset;
    }
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_, l, 0 /* synchronous */);
    std::string failed;
    for (int i = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && i < l->cnt; ++i) {
        if (l->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            err = l->elems[i].err;
            failed = std::string(" (") + l->elems[i].topic + "["
                     + std::to_string(l->elems[i].partition) + "])";
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        // Safe to carry on: the messages are applied, and if their offsets
        // never get committed they come again and hit the inbox.
        log::warn("kafka") << "offset commit failed: " << rd_kafka_err2str(err) << failed
                           << "; trying again with the next commit";
        return false;
    }
    done_.clear();
    uncommitted_ = 0;
    return true;
}

void OrderConsumer::close() {
    if (closed_) {
        return;
    }
    commit();
    // Leaves the group (unless --instance-id: static members keep their
    // partitions until session.timeout.ms, waiting for their restart).
    const rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_);
    closed_ = true;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log::warn("kafka") << "closing the consumer: " << rd_kafka_err2str(err);
    }
}

void OrderConsumer::on_rebalance(rd_kafka_t* /*rk*/,
                                 rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t* partitions,
                                 void* opaque) noexcept {
    try {
        static_cast<OrderConsumer*>(opaque)->rebalance(err, partitions);
    } catch (const std::exception& e) {
        log::error("kafka") << "rebalance: " << e.what();
    }
}

void OrderConsumer::rebalance(rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t* partitions) {
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk_), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log::info("kafka") << "assigned: " << partitions_text(partitions);
        if (cooperative) {
            rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, partitions);
            if (e != nullptr) {
                log::error("kafka") << "assign: " << rd_kafka_error_string(e);
                rd_kafka_error_destroy(e);
            }
        } else {
            rd_kafka_assign(rk_, partitions);
        }
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        // Commit what is done before another member takes the partitions,
        // so it starts where this one stopped; a lost assignment cannot
        // commit any more (its messages come again, to the inbox).
        if (rd_kafka_assignment_lost(rk_) == 0) {
            commit();
        }
        for (int i = 0; i < partitions->cnt; ++i) {
            done_.erase({partitions->elems[i].topic, partitions->elems[i].partition});
        }
        if (done_.empty()) {
            uncommitted_ = 0;
        }
        log::info("kafka") << "revoked: " << partitions_text(partitions);
        if (cooperative) {
            rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, partitions);
            if (e != nullptr) {
                rd_kafka_error_destroy(e);
            }
        } else {
            rd_kafka_assign(rk_, nullptr);
        }
        return;
    }
    log::error("kafka") << "rebalance error: " << rd_kafka_err2str(err);
    rd_kafka_assign(rk_, nullptr);
}

void OrderConsumer::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept {
    try {
        auto* self = static_cast<OrderConsumer*>(opaque);
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            char text[512];
            const rd_kafka_resp_err_t cause = rd_kafka_fatal_error(rk, text, sizeof text);
            self->fatal_ = std::string(rd_kafka_err2name(cause)) + ": " + text;
            return;
        }
        // Transport errors, brokers down: librdkafka retries by itself.
        log::warn("kafka") << "consumer: " << reason;
    } catch (...) {
        // Never unwind into librdkafka.
    }
}

// ---- FailureReporter -------------------------------------------------------

FailureReporter::FailureReporter(const Options& o)
    : options_(o) {
    create();
}

FailureReporter::~FailureReporter() {
    destroy();
}

void FailureReporter::create() {
    rd_kafka_conf_t* conf = base_conf(options_, "producer");
    // A report must not be lost once the offset moves past its message.
    set(conf, "acks", "all");
    set(conf, "enable.idempotence", "true");
    if (options_.kafka_properties.count("message.timeout.ms") == 0
        && options_.kafka_properties.count("producer.message.timeout.ms") == 0) {
        set(conf, "message.timeout.ms", "30000");
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_dr_msg_cb(conf, &FailureReporter::on_delivery);
    char err[512];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk_ == nullptr) {
        rd_kafka_conf_destroy(conf);
        throw KafkaConfError(std::string("report producer: ") + err);
    }
}

void FailureReporter::destroy() {
    if (rk_ == nullptr) {
        return;
    }
    // Only at shutdown or after a fatal error: an undelivered report is
    // sent again for the redelivered message by the next run.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_, 5000);
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
}

void FailureReporter::on_delivery(rd_kafka_t* /*rk*/,
                                  const rd_kafka_message_t* m,
                                  void* opaque) noexcept {
    auto* self = static_cast<FailureReporter*>(opaque);
    self->delivery_.done = true;
    self->delivery_.err = m->err;
}

ReportOutcome FailureReporter::send(const FailureReport& r, const std::function<bool()>& stop) {
    ReportOutcome out;
    if (rk_ == nullptr) {
        create();
    }
    std::string reason = r.reason;
    if (reason.size() > kMaxReasonBytes) {
        size_t cut = kMaxReasonBytes;
        while (cut > 0 && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) {
            --cut; // not inside a UTF-8 sequence
        }
        reason.resize(cut);
    }
    // Keyed by the row, so the reports about one row stay in order on one
    // partition of the ack topic.
    std::string key = r.source.value_or("") + "/" + r.id.value_or("");
    static const std::string kFailed = "failed";

    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(4);
    auto add_header = [hdrs](const char* name, const std::string& value) {
        rd_kafka_header_add(hdrs, name, -1, value.data(), static_cast<ssize_t>(value.size()));
    };
    if (r.source) {
        add_header("outbox-source", *r.source);
    }
    if (r.id) {
        add_header("outbox-id", *r.id);
    }
    add_header("outbox-consumer", options_.group);
    add_header("outbox-result", kFailed);

    delivery_ = Delivery{};
    // rd_kafka_producev with a headers object of our own, not
    // rd_kafka_produceva: in librdkafka 2.0.2 produceva frees the headers
    // twice when the produce call itself fails (an unknown topic does
    // that), and crashes. The RD_KAFKA_V_* macros paste their arguments
    // unparenthesised: plain variables only.
    const char* topic = options_.ack_topic.c_str();
    void* key_ptr = key.data();
    const size_t key_len = key.size();
    void* value_ptr = reason.data();
    const size_t value_len = reason.size();
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(key_ptr, key_len), RD_KAFKA_V_VALUE(value_ptr, value_len),
                          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs); // still ours: librdkafka takes it only on success
        out.error = rd_kafka_err2str(err);
        out.permanent = is_permanent(err);
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            destroy(); // the next send builds a new producer
        }
        return out;
    }
    while (!delivery_.done) {
        if (stop()) {
            out.stopped = true;
            return out;
        }
        rd_kafka_poll(rk_, 200);
    }
    if (delivery_.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        out.delivered = true;
        return out;
    }
    out.error = rd_kafka_err2str(delivery_.err);
    out.permanent = is_permanent(delivery_.err);
    char text[512];
    if (rd_kafka_fatal_error(rk_, text, sizeof text) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        // The idempotent producer's fatal state (librdkafka 2.0.2 can reach
        // it after a disconnect): only a new producer recovers.
        out.error += std::string(" (fatal: ") + text + "; the producer is rebuilt)";
        destroy();
    }
    return out;
}

} // namespace inventory
