// Declares rabbitmq.declare_file's topology on an open connection: the
// exchanges, then the queues, then the bindings, each with exactly the flags
// and x-arguments the file gives. Declaring what already exists the same way
// changes nothing (AMQP declarations are idempotent); a declaration the
// broker holds differently closes the channel with 406 PRECONDITION_FAILED,
// which is reported and stops the rest. Entries of another virtual host than
// the connection's are skipped. Internal to rabbitmq/.
#pragma once

#include "config/rabbit_topology.h"
#include "publish/broker_admin.h"
#include "rabbitmq/connection.h"

#include <cstdint>
#include <string>

namespace outboxd::rabbitmq {

publish::DeclareResult declare_topology(Connection& conn,
                                        std::uint16_t channel,
                                        const config::RabbitTopology& topology,
                                        const std::string& vhost);

} // namespace outboxd::rabbitmq
