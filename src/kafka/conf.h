// Building a librdkafka configuration, every rd_kafka_conf_set checked: a
// silently ignored TLS or SASL setting would be worse than not starting.
// Any thread (each call works on its own conf).
#pragma once

#include <string>
#include <utility>
#include <vector>

typedef struct rd_kafka_conf_s rd_kafka_conf_t;

namespace outboxd::kafka {

using Properties = std::vector<std::pair<std::string, std::string>>;

// Sets each property in order. "" when librdkafka took them all, else the
// first one it refused, as "kafka.properties.<key>: <why>"; `conf` is then
// partly set and the caller destroys it.
std::string set_properties(rd_kafka_conf_t* conf, const Properties& props);

} // namespace outboxd::kafka
