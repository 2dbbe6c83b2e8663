#include "kafka/conf.h"

#include <librdkafka/rdkafka.h>

namespace outboxd::kafka {

Status set_properties(rd_kafka_conf_t* conf, const Properties& props) {
    char err[512];
    for (const auto& [k, v] : props) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            return Status::failure("kafka.properties." + k + ": " + err);
        }
    }
    return {};
}

} // namespace outboxd::kafka
