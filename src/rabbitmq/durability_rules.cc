#include "rabbitmq/durability_rules.h"

namespace outboxd::rabbitmq {
namespace {

bool flag(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
}

// A queue setting from its arguments ("x-message-ttl") or, failing that,
// from the policy in effect ("message-ttl"); null when neither sets it.
nlohmann::json setting(const nlohmann::json& queue, const std::string& name) {
    const auto args = queue.find("arguments");
    if (args != queue.end() && args->is_object() && args->contains("x-" + name)) {
        return (*args)["x-" + name];
    }
    const auto policy = queue.find("effective_policy_definition");
    if (policy != queue.end() && policy->is_object() && policy->contains(name)) {
        return (*policy)[name];
    }
    return nullptr;
}

std::string text(const nlohmann::json& v) {
    return v.is_string() ? v.get<std::string>() : v.dump();
}

} // namespace

std::vector<std::string> exchange_problems(const nlohmann::json& exchange) {
    std::vector<std::string> out;
    if (!flag(exchange, "durable")) {
        out.emplace_back("exchange is not durable: it and its bindings are gone after a broker "
                         "restart, and then every message is refused");
    }
    if (flag(exchange, "auto_delete")) {
        out.emplace_back("exchange is auto-delete: it disappears with its last binding");
    }
    return out;
}

std::vector<std::string> queue_problems(const nlohmann::json& queue) {
    std::vector<std::string> out;
    const std::string name = "queue '" + queue.value("name", std::string("?")) + "'";
    if (!flag(queue, "durable")) {
        out.push_back(name + " is not durable: its messages are lost when the broker restarts");
    }
    if (flag(queue, "auto_delete")) {
        out.push_back(name
                      + " is auto-delete: it and its messages go when its last consumer "
                        "leaves");
    }
    if (flag(queue, "exclusive")) {
        out.push_back(name + " is exclusive: it and its messages go with its connection");
    }
    const std::string type = queue.value("type", std::string("classic"));
    if (type != "quorum") {
        out.push_back(name + " is a " + type
                      + " queue: it lives on one node's disk; a quorum queue replicates every "
                        "confirmed message");
    }
    const auto dlx = setting(queue, "dead-letter-exchange");
    const auto ttl = setting(queue, "message-ttl");
    if (!ttl.is_null() && dlx.is_null()) {
        out.push_back(name + " drops messages after " + text(ttl)
                      + " ms (message-ttl without a dead-letter exchange)");
    }
    const auto max_length = setting(queue, "max-length");
    const auto max_bytes = setting(queue, "max-length-bytes");
    const auto overflow = setting(queue, "overflow");
    // drop-head is RabbitMQ's default overflow behaviour.
    const bool drops_head = overflow.is_null() || text(overflow) == "drop-head";
    if ((!max_length.is_null() || !max_bytes.is_null()) && drops_head && dlx.is_null()) {
        out.push_back(name + " drops its oldest messages when full (max-length "
                      + (max_length.is_null() ? text(max_bytes) + " bytes" : text(max_length))
                      + " with overflow drop-head and no dead-letter exchange)");
    }
    return out;
}

std::string queue_summary(const nlohmann::json& queue) {
    return queue.value("name", std::string("?")) + " ("
           + queue.value("type", std::string("classic"))
           + (flag(queue, "durable") ? " durable" : " transient") + ")";
}

} // namespace outboxd::rabbitmq
