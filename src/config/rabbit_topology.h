// rabbitmq.declare_file: the exchanges, queues and bindings outboxd declares
// on RabbitMQ at start (docs/rabbitmq.md, "Declaring the topology"). The file
// is RabbitMQ's own definitions format (what `rabbitmqctl export_definitions`
// and the management UI's export write, JSON) or the same keys in YAML. Only
// `exchanges`, `queues` and `bindings` are declared; the other sections of an
// export (users, permissions, policies, ...) are named in `ignored` and never
// applied. Parsing is pure: the rabbitmq component does the declaring.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace outboxd::config {

// An x-argument's value as AMQP field-table types: a quoted scalar is a
// string, an unquoted one a long integer, a boolean or a double when it reads
// as one.
using AmqpValue = std::variant<std::string, std::int64_t, bool, double>;
using AmqpArguments = std::vector<std::pair<std::string, AmqpValue>>;

struct DeclaredExchange {
    std::string name;
    std::string vhost; // empty: the connection's
    std::string type;  // direct, fanout, topic, headers, or a plugin's x-...
    bool durable = true;
    bool auto_delete = false;
    bool internal = false;
    AmqpArguments arguments;
};

struct DeclaredQueue {
    std::string name;
    std::string vhost;
    bool durable = true;
    bool auto_delete = false;
    AmqpArguments arguments; // x-queue-type: quorum for a quorum queue
};

struct DeclaredBinding {
    std::string source; // an exchange
    std::string vhost;
    std::string destination;
    bool to_exchange = false; // destination_type "exchange"; default "queue"
    std::string routing_key;
    AmqpArguments arguments;
};

struct RabbitTopology {
    std::string file; // resolved path, for messages
    std::vector<DeclaredExchange> exchanges;
    std::vector<DeclaredQueue> queues;
    std::vector<DeclaredBinding> bindings;
    std::vector<std::string> ignored; // sections of an export outboxd does not apply
    bool empty() const { return exchanges.empty() && queues.empty() && bindings.empty(); }
};

// Parses the file's text. Every problem is appended to `problems` as
// "<where>: <what>" (e.g. "queues[1].durable: expected true or false");
// the topology is only meaningful when none was added.
RabbitTopology parse_rabbit_topology(const std::string& text,
                                     const std::string& file,
                                     std::vector<std::string>* problems);

// "exchange 'orders' (topic, durable)", for logs and `check`.
std::string describe(const DeclaredExchange& e);
std::string describe(const DeclaredQueue& q);
std::string describe(const DeclaredBinding& b);

} // namespace outboxd::config
