// RabbitMQ for the inventory consumer (rabbitmq-c): the order queue, read
// with manual acknowledgements, and the publisher of `consumed` / `failed`
// reports to outboxd's confirm.ack_queue, in confirm mode. Each has a
// connection of its own, so waiting for the broker's confirms never has to
// set deliveries aside. Main thread only.
#pragma once

#include "options.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

struct amqp_connection_state_t_; // NOLINT(readability-identifier-naming): the C library's name

namespace inventory {

// Where --amqp-url points; the password is never printed.
struct AmqpEndpoint {
    std::string host;
    int port = 5672;
    std::string user;
    std::string password;
    std::string vhost = "/";
    bool tls = false;
    std::string ca_file; // amqps: PEM CA file; empty: the system bundle
};

// nullopt: not an AMQP URI (amqp://user:password@host:port/vhost, amqps://).
std::optional<AmqpEndpoint> parse_amqp_url(const std::string& url, const std::string& ca_file);

// "host:port vhost /", for log lines.
std::string describe(const AmqpEndpoint& ep);

// The connection is gone or the broker closed the channel (restart, network,
// a queue that does not exist yet): reconnect with back-off. Unacknowledged
// deliveries come again, and the inbox turns them away.
struct AmqpLost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One AMQP connection with channel 1 open. Throws AmqpLost.
class AmqpConnection {
public:
    AmqpConnection(const AmqpEndpoint& ep, const std::string& name);
    ~AmqpConnection();
    AmqpConnection(const AmqpConnection&) = delete;
    AmqpConnection& operator=(const AmqpConnection&) = delete;

    amqp_connection_state_t_* get() { return c_; }
    // Throws AmqpLost with `what` and the broker's reason unless the last
    // synchronous call succeeded.
    void check_rpc(const std::string& what);

private:
    amqp_connection_state_t_* c_ = nullptr;
};

struct Delivery {
    std::uint64_t tag = 0;
    bool redelivered = false;
    std::optional<std::string> source; // header outbox-source
    std::optional<std::string> id;     // header outbox-id
    std::string body;
    std::string where; // "queue#tag", for log lines
};

class OrderQueue {
public:
    // basic.qos(prefetch) and basic.consume(--queue, manual acks).
    OrderQueue(const Options& o, const AmqpEndpoint& ep);

    // The next delivery, or nullopt after `timeout` without one.
    std::optional<Delivery> next(std::chrono::milliseconds timeout);
    // basic.ack of every delivery up to and including `tag`.
    void ack_through(std::uint64_t tag);

private:
    AmqpConnection conn_;
    std::string queue_;
};

struct Report {
    std::optional<std::string> source; // copied from the message; absent: left out
    std::optional<std::string> id;
    bool consumed = true; // outbox-result: consumed or failed
    std::string reason;   // the body of a `failed` report
};

class ReportPublisher {
public:
    // confirm.select on channel 1.
    ReportPublisher(const Options& o, const AmqpEndpoint& ep);

    // Publishes a persistent, mandatory report to --ack-queue through the
    // default exchange, with headers outbox-source, outbox-id,
    // outbox-consumer (--group) and outbox-result. Not waited for here.
    void publish(const Report& r);
    // Reports published and not yet confirmed.
    std::size_t outstanding() const { return unconfirmed_.size(); }
    // Waits up to `timeout` for the broker to confirm every report published
    // so far: true once it did. A nack (the broker could not store it) is
    // AmqpLost; a returned report (--ack-queue does not exist) throws Stop.
    bool wait_confirms(std::chrono::milliseconds timeout);
    // Reads what the broker sent while nothing was published (heartbeats,
    // a connection.close), so an idle connection stays open.
    void keepalive();

private:
    // Handles one frame; false after `timeout` without one.
    bool read_frame(std::chrono::milliseconds timeout);

    AmqpConnection conn_;
    std::string ack_queue_;
    std::string consumer_;
    std::uint64_t published_ = 0;         // the last delivery tag used
    std::set<std::uint64_t> unconfirmed_; // published, not yet acked by the broker
    std::string returned_;                // the broker's reason, once a report came back unrouted
};

} // namespace inventory
