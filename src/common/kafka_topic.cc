#include "common/kafka_topic.h"

namespace outboxd {

std::string kafka_topic_problem(const std::string& name) {
    if (name.empty()) {
        return "topic is empty";
    }
    if (name.size() > kMaxTopicBytes) {
        return "topic name is longer than 249 characters";
    }
    if (name == "." || name == "..") {
        return R"(topic name cannot be "." or "..")";
    }
    for (const unsigned char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                        || c == '.' || c == '_' || c == '-';
        if (!ok) {
            return "topic name \"" + name
                   + "\" has a character Kafka does not allow (only a-z A-Z 0-9 . _ -)";
        }
    }
    return {};
}

} // namespace outboxd
