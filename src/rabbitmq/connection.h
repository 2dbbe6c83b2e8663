// One AMQP 0-9-1 connection (rabbitmq-c) as a small RAII type, and the
// parsed broker address. Nothing outside rabbitmq/ includes amqp.h; this
// header only forward-declares the library's handle. One thread per instance.
#pragma once

#include "common/clock.h"
#include "common/status.h"

#include <cstdint>
#include <string>

struct amqp_connection_state_t_; // NOLINT(readability-identifier-naming): the C library's name

namespace outboxd::rabbitmq {

// An amqp:// or amqps:// URI, split. `password` is a secret: describe()
// never shows it.
struct Endpoint {
    std::string host;
    int port = 5672;
    std::string user = "guest";
    std::string password = "guest";
    std::string vhost = "/";
    bool tls = false;
    std::string ca_file; // amqps: PEM CA file; empty: kSystemCaBundle
};

// The CAs an amqps:// connection trusts when rabbitmq.ca_file is empty
// (Debian's ca-certificates bundle, installed in the image).
inline constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

// The URI's parts, or a message that never quotes the URI (it holds the
// password). `ca_file` is copied into the endpoint for TLS.
Status parse_url(const std::string& url, Endpoint* out, const std::string& ca_file = {});

// "127.0.0.1:5672 vhost /", for logs and `check`.
std::string describe(const Endpoint& ep);

class Connection {
public:
    Connection() = default;
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // TCP (or TLS) connect, AMQP handshake and login, each bounded by
    // `timeout`; every later synchronous call (channel.open, declare) too.
    // `heartbeat_s` 0: none.
    Status open(const Endpoint& ep, Millis timeout, int heartbeat_s);

    // Opens `channel`; with `confirms` also confirm.select on it.
    Status open_channel(std::uint16_t channel, bool confirms);

    // exchange.declare passive on `channel`: does `exchange` exist? The
    // broker answers "no" (404) or "not yours" (403) by closing the channel;
    // this acknowledges the close, so the caller opens the channel again
    // before its next use. kUnknown: no answer (the connection may be gone).
    enum class Exchange { kExists, kMissing, kRefused, kUnknown };
    struct ExchangeAnswer {
        Exchange answer = Exchange::kUnknown;
        std::string text; // the broker's reply for kMissing, kRefused, kUnknown
    };
    ExchangeAnswer check_exchange(std::uint16_t channel, const std::string& exchange);

    bool is_open() const { return state_ != nullptr; }
    amqp_connection_state_t_* get() const { return state_; }

    // connection.close when the link still works, then frees everything.
    void close();
    // Frees everything without a handshake: the socket is known broken.
    void abandon();

private:
    amqp_connection_state_t_* state_ = nullptr;
};

} // namespace outboxd::rabbitmq
