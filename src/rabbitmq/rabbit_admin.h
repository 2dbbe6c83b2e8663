// RabbitMQ's publish::BrokerAdmin: the health probe (open a connection and
// log in) and the durability audit (G2) of exchanges. Existence comes from a
// passive exchange.declare; durability, and the queues bound to each
// exchange, from the management HTTP API when rabbitmq.management_url is
// set (AMQP cannot tell). Each call opens a connection of its own, so the
// relay's publisher serves only the relay. One thread per instance.
#pragma once

#include "config/config.h"
#include "publish/broker_admin.h"
#include "rabbitmq/connection.h"

#include <string>
#include <vector>

namespace outboxd::rabbitmq {

class RabbitAdmin final : public publish::BrokerAdmin {
public:
    // Throws std::invalid_argument for a URL that cannot be parsed.
    explicit RabbitAdmin(config::RabbitMq cfg);

    std::string broker_name() const override { return "rabbitmq"; }
    std::string destination_noun() const override { return "exchange"; }
    Status ping(Millis timeout) override;
    publish::AuditReport audit(const std::vector<std::string>& names, Millis timeout) override;
    // rabbitmq.declare_file: exchanges, then queues, then bindings, on one
    // connection of its own; stops at the first refusal (a 406 mismatch, a
    // 403), which is no reason to retry.
    publish::DeclareResult declare(Millis timeout) override;

private:
    // Adds what the management API says about `d` (exchange and bound
    // queues); a failed request is returned, not thrown.
    Status audit_with_management(publish::DestinationAudit& d, Millis timeout) const;

    config::RabbitMq cfg_;
    Endpoint endpoint_;
};

// Percent-encodes one path segment of a management API URL ("/" -> "%2F").
std::string encode_path_segment(const std::string& text);

// rabbitmq.management_url (http://user:password@host:port/prefix) split,
// the credentials percent-decoded into a Basic authorization header; the
// config loader already checked the scheme.
struct ManagementUrl {
    std::string host_port;
    std::string prefix; // "" or "/something"
    std::string authorization;
};
ManagementUrl parse_management_url(const std::string& url);

} // namespace outboxd::rabbitmq
