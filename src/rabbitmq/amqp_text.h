// Helpers shared by the rabbitmq/*.cc files that include amqp.h: the text
// of the library's replies and bytes as strings. Internal to rabbitmq/.
#pragma once

#include <string>

#include <amqp.h>

namespace outboxd::rabbitmq {

inline std::string to_string(amqp_bytes_t b) {
    return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

inline amqp_bytes_t as_bytes(const std::string& s) {
    amqp_bytes_t b;
    b.len = s.size();
    b.bytes = const_cast<char*>(s.data()); // rabbitmq-c only reads it
    return b;
}

// "404 NOT_FOUND - no exchange 'x' in vhost '/'" from a synchronous call's
// reply; `what` names the call ("channel.open").
std::string reply_text(const amqp_rpc_reply_t& reply, const std::string& what);

} // namespace outboxd::rabbitmq
