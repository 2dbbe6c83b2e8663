#include "cli/brokers.h"

#include "kafka/admin_client.h"
#include "kafka/kafka_publisher.h"
#include "reconcile/read_back.h"

namespace outboxd::cli {
namespace {

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

// The read-back waits at most this long before the term gives up and
// retries (the supervisor's read_back_retry).
constexpr Millis kReadBackTimeout{60000};

} // namespace

std::unique_ptr<publish::BrokerAdmin> make_broker_admin(const config::Config& cfg) {
    return std::make_unique<kafka::AdminClient>(cfg.kafka);
}

BrokerParts make_broker_parts(const config::Config& cfg,
                              store::PgOutboxStore& store,
                              const std::string& source,
                              std::function<void()> progress) {
    BrokerParts parts;
    parts.publishers =
        std::make_unique<KafkaPublishers>(cfg.kafka, cfg.relay.max_in_flight_bytes, source);
    parts.reconciler = std::make_unique<reconcile::KafkaReadBack>(
        store, cfg.kafka, source, kReadBackTimeout, std::move(progress));
    return parts;
}

std::int64_t max_message_bytes(const config::Config& cfg) {
    return kafka::producer_max_message_bytes(cfg.kafka);
}

std::string broker_target(const config::Config& cfg) {
    return "kafka " + cfg.kafka.bootstrap_servers;
}

} // namespace outboxd::cli
