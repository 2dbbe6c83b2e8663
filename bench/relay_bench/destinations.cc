#include "destinations.h"

#include "amqp_client.h"
#include "common.h"
#include "services.h"

#include <stdexcept>

namespace outboxd::bench {

std::string make_destination(const Options& opt,
                             const std::string& prefix,
                             const std::map<std::string, std::string>& topic_configs) {
    std::string name = ot::unique_name(prefix);
    if (rabbit(opt)) {
        ot::AmqpClient amqp;
        amqp.exchange(name, "fanout");
        amqp.quorum_queue(name);
        amqp.bind(name, name, "");
    } else {
        ot::create_topic(ot::services().kafka_bootstrap, name, kTopicPartitions, kTopicReplication,
                         topic_configs);
    }
    return name;
}

std::map<std::string, std::string> message_size_configs(const Options& opt) {
    std::map<std::string, std::string> topic_configs;
    if (opt.max_message_bytes > 0) {
        topic_configs["max.message.bytes"] = std::to_string(opt.max_message_bytes);
    }
    return topic_configs;
}

void drop_destination(const Options& opt, const std::string& name, std::int64_t expect) {
    if (!rabbit(opt)) {
        return;
    }
    ot::AmqpClient amqp;
    const auto depth = amqp.count(name);
    if (expect >= 0 && depth != expect) {
        throw std::runtime_error("rabbitmq queue " + name + " holds " + std::to_string(depth)
                                 + " messages, " + std::to_string(expect) + " rows were sent");
    }
    if (!opt.keep_tables) {
        amqp.delete_queue(name);
        amqp.delete_exchange(name);
    }
}

std::string broker_title(const std::string& broker) {
    return broker == "rabbitmq" ? "RabbitMQ" : "Kafka";
}

std::string destination_text(const Options& opt) {
    if (rabbit(opt)) {
        return "RabbitMQ: fanout exchange -> quorum queue (1 node), confirms";
    }
    return "Kafka: topic " + std::to_string(kTopicPartitions) + " partitions RF "
           + std::to_string(kTopicReplication) + ", acks=all";
}

} // namespace outboxd::bench
