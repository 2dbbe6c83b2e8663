#include "relay/encode.h"

#include "common/kafka_topic.h"

#include <nlohmann/json.hpp>

namespace outboxd::relay {

std::variant<Encoded, std::string> encode(const store::PendingRow& row) {
    if (auto err = kafka_topic_problem(row.topic); !err.empty()) {
        return err;
    }
    Encoded out;
    if (!row.headers) {
        return out;
    }
    nlohmann::ordered_json j =
        nlohmann::ordered_json::parse(*row.headers, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
        return std::string("malformed headers: not valid JSON");
    }
    if (j.is_null()) {
        return out;
    }
    if (!j.is_object()) {
        return std::string(R"(malformed headers: expected a JSON object {"name": "value"}, got )")
               + j.type_name();
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& name = it.key();
        if (name.empty()) {
            return std::string("malformed headers: empty header name");
        }
        if (name == kOutboxIdHeader) {
            return std::string("malformed headers: \"outbox-id\" is reserved for the row id");
        }
        if (name == kOutboxSourceHeader) {
            return std::string(
                "malformed headers: \"outbox-source\" is reserved for the outbox's name");
        }
        if (it->is_string()) {
            out.headers.push_back({name, it->get<std::string>()});
        } else if (it->is_null()) {
            out.headers.push_back({name, std::string()});
        } else {
            return "malformed headers: value of \"" + name + "\" must be a string, got "
                   + it->type_name();
        }
    }
    return out;
}

} // namespace outboxd::relay
