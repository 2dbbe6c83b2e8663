// The tests' own AMQP client (rabbitmq-c) for the RabbitMQ fault tests:
// declares the topology, counts and consumes a queue, and tallies what a
// run delivered against the outbox table. Test-thread only.
#pragma once

#include "config/config.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

struct amqp_connection_state_t_; // NOLINT(readability-identifier-naming): the C library's name

namespace outboxd::testing {

// One message as consumed.
struct AmqpMessage {
    std::string routing_key;
    std::string body;
    std::string message_id;
    std::string content_type; // the content-type property; "" when not set
    int delivery_mode = 0;
    bool has_timestamp = false;
    std::map<std::string, std::string> headers; // the string-valued ones
    std::int64_t outbox_id = -1;                // header outbox-id, -1 if absent
};

class AmqpClient {
public:
    // Plain AMQP to `url` (default: the shared test node), channel 1.
    explicit AmqpClient(const std::string& url = {});
    ~AmqpClient();
    AmqpClient(const AmqpClient&) = delete;
    AmqpClient& operator=(const AmqpClient&) = delete;

    // `type` direct, fanout, topic...
    void exchange(const std::string& name, const std::string& type = "direct", bool durable = true);
    void quorum_queue(const std::string& name);  // durable, x-queue-type quorum
    void classic_queue(const std::string& name); // classic, not durable
    void delete_queue(const std::string& name);
    void delete_exchange(const std::string& name);
    void bind(const std::string& queue, const std::string& exchange, const std::string& key);
    // A persistent message with string headers, to `exchange` ("" : the
    // default exchange, routing_key = the queue), waited for (confirms).
    void publish(const std::string& exchange,
                 const std::string& routing_key,
                 const std::vector<std::pair<std::string, std::string>>& headers,
                 const std::string& body);
    // The queue's ready messages (queue.declare passive).
    std::int64_t count(const std::string& queue);
    // Consumes (no-ack) every message in `queue` now, in queue order.
    std::vector<AmqpMessage> drain(const std::string& queue);

private:
    void check(const std::string& what);
    amqp_connection_state_t_* c_ = nullptr;
    bool confirming_ = false;
};

// A queue's content against the table: lost = rows at 1 not in the queue
// plus rows not at 1; duplicates = extra copies; order violations = per
// routing key, first copies out of id order.
struct QueueTally {
    int rows = 0;
    int lost = 0;
    int duplicates = 0;
    int order_violations = 0;
    int not_sent = 0;                   // rows not at status 1
    std::map<std::int64_t, int> copies; // outbox id -> copies in the queue
};
QueueTally tally_queue(const std::vector<AmqpMessage>& messages,
                       const std::string& dsn,
                       const config::Postgres& table);

// GET <management API><path> ("/api/queues/%2F/orders") on the test node's
// management plugin, logged in with the credentials of its URL: status and
// body (JSON). 404: no such object. Throws when no connection can be made.
std::pair<int, std::string> rabbitmq_api(const std::string& path);

// Ids at status 0 now (rows not yet marked: possibly published, unconfirmed).
std::set<std::int64_t> pending_ids(const std::string& dsn, const config::Postgres& table);

} // namespace outboxd::testing
