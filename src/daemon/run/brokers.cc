#include "daemon/run/brokers.h"

#include "kafka/admin_client.h"
#include "kafka/kafka_publisher.h"
#include "kafka/report_consumer.h"
#include "rabbitmq/connection.h"
#include "rabbitmq/rabbit_admin.h"
#include "rabbitmq/rabbit_publisher.h"
#include "rabbitmq/report_consumer.h"
#include "reconcile/read_back.h"
#include "store/pg_outbox_store.h"

namespace outboxd::daemon {
namespace {

// Each committed-offsets request waits at most this long.
constexpr Millis kOffsetsTimeout{5000};

class KafkaOffsets final : public confirm::OffsetSource {
public:
    explicit KafkaOffsets(const config::Kafka& cfg)
        : admin_(cfg) {}
    Status committed(const std::string& group,
                     const std::vector<confirm::Partition>& partitions,
                     confirm::CommittedOffsets* out) override {
        std::vector<kafka::TopicPartition> asked;
        asked.reserve(partitions.size());
        for (const auto& p : partitions) {
            asked.emplace_back(p.topic, p.partition);
        }
        auto got = admin_.committed_offsets(group, asked, kOffsetsTimeout);
        if (!got.status.ok()) {
            return got.status;
        }
        for (const auto& [tp, offset] : got.committed) {
            (*out)[confirm::Partition{tp.first, tp.second}] = offset;
        }
        return {};
    }

private:
    kafka::AdminClient admin_;
};

class KafkaReports final : public confirm::ReportSource {
public:
    KafkaReports(const config::Kafka& cfg, const std::string& topic, const std::string& group)
        : consumer_(cfg, topic, group) {}
    Status take(std::size_t max, std::vector<confirm::Report>* out) override {
        return consumer_.poll(max, Millis(0), out);
    }
    Status done() override { return consumer_.commit(); }

private:
    kafka::ReportConsumer consumer_;
};

class RabbitReports final : public confirm::ReportSource {
public:
    RabbitReports(const config::RabbitMq& cfg, const std::string& queue)
        : consumer_(cfg, queue) {}
    Status take(std::size_t max, std::vector<confirm::Report>* out) override {
        return consumer_.poll(max, out);
    }
    Status done() override { return consumer_.ack(); }

private:
    rabbitmq::ReportConsumer consumer_;
};

// The background workers' sessions never LISTEN: they would receive every
// insert's notification and, read only between rounds, hold back
// PostgreSQL's notification queue for every other listener.
config::Postgres worker_store_config(const config::Config& cfg) {
    config::Postgres pg = cfg.postgres;
    pg.notify_channel.clear();
    return pg;
}

class KafkaPublishers final : public daemon::PublisherFactory {
public:
    // The producer's own queue follows the in-flight byte budget.
    KafkaPublishers(config::Kafka kafka, std::int64_t max_in_flight_bytes, std::string source)
        : kafka_(kafka::with_queue_limit(std::move(kafka), max_in_flight_bytes))
        , source_(std::move(source)) {}
    std::unique_ptr<publish::Publisher> make() override {
        return std::make_unique<kafka::KafkaPublisher>(kafka_, source_);
    }

private:
    config::Kafka kafka_;
    std::string source_;
};

class RabbitPublishers final : public daemon::PublisherFactory {
public:
    RabbitPublishers(config::RabbitMq rabbitmq, std::string source)
        : rabbitmq_(std::move(rabbitmq))
        , source_(std::move(source)) {}
    std::unique_ptr<publish::Publisher> make() override {
        return std::make_unique<rabbitmq::RabbitPublisher>(rabbitmq_, source_);
    }

private:
    config::RabbitMq rabbitmq_;
    std::string source_;
};

// RabbitMQ queues cannot be read without consuming them, so there is no
// read-back (docs/rabbitmq.md, "Duplicates"): rows whose confirm a crash
// lost are published again, and consumers deduplicate by message_id.
class NoReadBack final : public reconcile::Reconciler {
public:
    reconcile::ReadBackResult read_back() override {
        reconcile::ReadBackResult r;
        r.skipped = "RabbitMQ queues cannot be read back; rows left unconfirmed by a previous "
                    "publisher are published again (consumers deduplicate by message_id / "
                    "outbox-id)";
        return r;
    }
};

// The read-back waits at most this long before the term gives up and
// retries (the supervisor's read_back_retry).
constexpr Millis kReadBackTimeout{60000};

} // namespace

std::unique_ptr<publish::BrokerAdmin> make_broker_admin(const config::Config& cfg) {
    if (cfg.broker == config::BrokerKind::kRabbitMq) {
        return std::make_unique<rabbitmq::RabbitAdmin>(cfg.rabbitmq);
    }
    return std::make_unique<kafka::AdminClient>(cfg.kafka);
}

BrokerParts make_broker_parts(const config::Config& cfg,
                              store::PgOutboxStore& store,
                              const std::string& source,
                              std::function<bool()> progress) {
    BrokerParts parts;
    if (cfg.broker == config::BrokerKind::kRabbitMq) {
        parts.publishers = std::make_unique<RabbitPublishers>(cfg.rabbitmq, source);
        parts.reconciler = std::make_unique<NoReadBack>();
        return parts;
    }
    parts.publishers =
        std::make_unique<KafkaPublishers>(cfg.kafka, cfg.relay.max_in_flight_bytes, source);
    parts.reconciler = std::make_unique<reconcile::KafkaReadBack>(
        store, cfg.kafka, source, kReadBackTimeout, std::move(progress));
    return parts;
}

std::int64_t max_message_bytes(const config::Config& cfg) {
    if (cfg.broker == config::BrokerKind::kRabbitMq) {
        return rabbitmq::kMaxMessageBytes;
    }
    return kafka::producer_max_message_bytes(cfg.kafka);
}

std::string broker_address(const config::Config& cfg) {
    if (cfg.broker == config::BrokerKind::kRabbitMq) {
        rabbitmq::Endpoint ep;
        if (!rabbitmq::parse_url(cfg.rabbitmq.url, &ep).ok()) {
            return "(unparsable rabbitmq.url)";
        }
        return rabbitmq::describe(ep);
    }
    return cfg.kafka.bootstrap_servers;
}

std::string declare_summary(const config::Config& cfg) {
    if (cfg.broker != config::BrokerKind::kRabbitMq || cfg.rabbitmq.declare.empty()) {
        return {};
    }
    const auto& t = cfg.rabbitmq.declare;
    auto count = [](std::size_t n, const char* noun) {
        return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
    };
    std::string out = t.file + ": " + count(t.exchanges.size(), "exchange") + ", "
                      + count(t.queues.size(), "queue") + ", "
                      + count(t.bindings.size(), "binding");
    if (!t.ignored.empty()) {
        out += "; not applied:";
        for (const auto& section : t.ignored) {
            out += " " + section;
        }
    }
    return out;
}

std::string broker_target(const config::Config& cfg) {
    return std::string(config::broker_name(cfg.broker)) + " " + broker_address(cfg);
}

AuditPolicy audit_policy(const config::Config& cfg) {
    AuditPolicy p;
    if (cfg.broker == config::BrokerKind::kRabbitMq) {
        p.configured = cfg.rabbitmq.audit_exchanges;
        p.require_durable = cfg.rabbitmq.require_durable;
        p.require_key = "rabbitmq.require_durable";
        p.requirement = "an exchange is missing or not durable, or a queue bound to it is not a "
                        "durable quorum queue that keeps its messages";
        return p;
    }
    p.configured = cfg.kafka.audit_topics;
    p.require_durable = cfg.kafka.require_durable_topics;
    p.require_key = "kafka.require_durable_topics";
    p.requirement = "a target topic is not durable (replication.factor >= 2, "
                    "min.insync.replicas >= 2, no unclean election)";
    return p;
}

std::unique_ptr<store::HousekeepingStore> open_housekeeping_store(const config::Config& cfg) {
    return std::make_unique<store::PgOutboxStore>(worker_store_config(cfg));
}

std::string report_group(const std::string& source) {
    return "outboxd-reports:" + source;
}

daemon::ConfirmClients make_confirm_clients(const config::Config& cfg, const std::string& source) {
    daemon::ConfirmClients c;
    c.store = std::make_unique<store::PgOutboxStore>(worker_store_config(cfg));
    if (cfg.broker == config::BrokerKind::kKafka) {
        c.offsets = std::make_unique<KafkaOffsets>(cfg.kafka);
        if (!cfg.confirm.ack_topic.empty()) {
            c.reports = std::make_unique<KafkaReports>(cfg.kafka, cfg.confirm.ack_topic,
                                                       report_group(source));
        }
    } else {
        // A queue has no committed offsets: reports only.
        c.reports = std::make_unique<RabbitReports>(cfg.rabbitmq, cfg.confirm.ack_queue);
    }
    return c;
}

} // namespace outboxd::daemon
