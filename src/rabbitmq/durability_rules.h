// The RabbitMQ side of the durability audit (docs/design.md G2) as plain rules
// over what the management API answers (GET /api/exchanges/..., /api/queues/
// ...). No I/O, so every rule is unit-tested. Any thread.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace outboxd::rabbitmq {

// Problems of an exchange as /api/exchanges/<vhost>/<name> describes it.
std::vector<std::string> exchange_problems(const nlohmann::json& exchange);

// Problems of a queue as /api/queues/<vhost>/<name> describes it: not
// durable, auto-delete, exclusive, not a quorum queue (a classic queue lives
// on one node's disk), messages dropped silently (x-message-ttl without a
// dead-letter exchange, a length limit whose overflow is drop-head),
// whether set by arguments or by a policy.
std::vector<std::string> queue_problems(const nlohmann::json& queue);

// "quorum durable", for the audit's summary.
std::string queue_summary(const nlohmann::json& queue);

} // namespace outboxd::rabbitmq
