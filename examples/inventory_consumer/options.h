// The consumer's command line and environment, validated in one pass: every
// problem is collected, so an operator fixes them all at once (exit 2).
// Main thread only.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace inventory {

enum class Broker { kKafka, kRabbitmq };

struct Options {
    Broker broker = Broker::kKafka;  // --broker / INVENTORY_BROKER
    std::string bootstrap;           // --bootstrap / INVENTORY_BOOTSTRAP
    std::string group;               // --group / INVENTORY_GROUP; also `outbox-consumer`
    std::vector<std::string> topics; // --topic / INVENTORY_TOPICS
    std::string dsn;                 // --dsn / INVENTORY_DSN
    std::string schema = "public";   // --schema / INVENTORY_SCHEMA
    std::string ack_topic = "outbox.acks";
    // RabbitMQ (--broker rabbitmq): the order queue and outboxd's
    // confirm.ack_queue.
    std::string amqp_url;     // --amqp-url / INVENTORY_AMQP_URL
    std::string amqp_ca_file; // --amqp-ca-file / INVENTORY_AMQP_CA_FILE
    std::string queue;        // --queue / INVENTORY_QUEUE
    std::string ack_queue = "outbox.acks";
    std::string instance_id;         // group.instance.id (static membership); empty: none
    int commit_every = 1;            // messages per offset commit
    int summary_interval_ms = 30000; // 0: the summary only at exit
    // librdkafka properties (security and tuning), from --properties FILE
    // first, then -X KEY=VALUE (later wins). For both clients, or, with the
    // prefix "consumer." or "producer.", for that one only.
    std::map<std::string, std::string> kafka_properties;
    bool migrate_only = false; // --migrate: create what is missing, exit
    bool no_migrate = false;   // --no-migrate: create nothing, only check
    bool help = false;
};

struct ParsedOptions {
    Options options;
    std::vector<std::string> problems; // empty: valid
};

// `env` looks up an environment variable (nullopt: unset); a command-line
// value wins over the environment.
ParsedOptions parse_options(const std::vector<std::string>& args,
                            const std::function<std::optional<std::string>(const char*)>& env);

std::string usage();

// A property key without its "consumer." / "producer." prefix.
std::string kafka_property_name(const std::string& key);

} // namespace inventory
