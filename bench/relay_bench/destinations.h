// Where the relayed rows go: a Kafka topic, or a RabbitMQ fanout exchange
// bound to a quorum queue, one per run.
#pragma once

#include "options.h"

#include <cstdint>
#include <map>
#include <string>

namespace outboxd::bench {

// A Kafka topic, or a RabbitMQ fanout exchange bound to a quorum queue of
// the same name; returns the name the rows' topic column carries.
std::string make_destination(const Options& opt,
                             const std::string& prefix,
                             const std::map<std::string, std::string>& topic_configs = {});

// The topic configs of --max-message-bytes: max.message.bytes when it is set.
std::map<std::string, std::string> message_size_configs(const Options& opt);

// RabbitMQ: every row confirmed is in the queue (the count is checked
// when `expect` >= 0), then the queue and exchange go: 200 MB per run.
void drop_destination(const Options& opt, const std::string& name, std::int64_t expect);

// "Kafka" or "RabbitMQ", for headings.
std::string broker_title(const std::string& broker);

// The destination of opt.broker, described for the table.
std::string destination_text(const Options& opt);

} // namespace outboxd::bench
