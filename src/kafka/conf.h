// Building a librdkafka configuration, every rd_kafka_conf_set checked: a
// silently ignored TLS or SASL setting would be worse than not starting.
// Any thread (each call works on its own conf).
#pragma once

#include "common/status.h"

#include <string>
#include <utility>
#include <vector>

// NOLINTNEXTLINE(readability-identifier-naming): the C library's name
using rd_kafka_conf_t = struct rd_kafka_conf_s;

namespace outboxd::kafka {

using Properties = std::vector<std::pair<std::string, std::string>>;

// Sets each property in order. A failure names the first one librdkafka
// refused, as "kafka.properties.<key>: <why>"; `conf` is then partly set and
// the caller destroys it.
Status set_properties(rd_kafka_conf_t* conf, const Properties& props);

} // namespace outboxd::kafka
