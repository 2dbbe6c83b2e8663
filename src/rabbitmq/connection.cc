#include "rabbitmq/connection.h"

#include "rabbitmq/amqp_text.h"

#include <vector>

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

namespace outboxd::rabbitmq {
namespace {

timeval to_timeval(Millis t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    return tv;
}

} // namespace

std::string reply_text(const amqp_rpc_reply_t& reply, const std::string& what) {
    switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return "";
    case AMQP_RESPONSE_NONE:
        return what + ": no reply from the broker";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return what + ": " + amqp_error_string2(reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            const auto* m = static_cast<const amqp_connection_close_t*>(reply.reply.decoded);
            return what + ": connection closed by the broker: " + std::to_string(m->reply_code)
                   + " " + to_string(m->reply_text);
        }
        if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
            return what + ": channel closed by the broker: " + std::to_string(m->reply_code) + " "
                   + to_string(m->reply_text);
        }
        return what + ": unexpected broker reply";
    }
    return what + ": unknown reply";
}

Status parse_url(const std::string& url, Endpoint* out, const std::string& ca_file) {
    // amqp_parse_url cuts the buffer it is given into the parts it returns.
    std::vector<char> buf(url.begin(), url.end());
    buf.push_back('\0');
    amqp_connection_info info{};
    if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) {
        return Status::failure("rabbitmq.url is not a valid AMQP URI (amqp://user:password@host:"
                               "port/vhost; the URI is not shown because it holds the password)");
    }
    out->host = info.host != nullptr ? info.host : "";
    out->port = info.port;
    out->user = info.user != nullptr ? info.user : "";
    out->password = info.password != nullptr ? info.password : "";
    out->vhost = info.vhost != nullptr && info.vhost[0] != '\0' ? info.vhost : "/";
    out->tls = info.ssl != 0;
    out->ca_file = ca_file;
    return {};
}

std::string describe(const Endpoint& ep) {
    return std::string(ep.tls ? "amqps " : "") + ep.host + ":" + std::to_string(ep.port) + " vhost "
           + ep.vhost;
}

Connection::~Connection() {
    close();
}

Status Connection::open(const Endpoint& ep, Millis timeout, int heartbeat_s) {
    abandon();
    amqp_connection_state_t conn = amqp_new_connection();
    if (conn == nullptr) {
        return Status::failure("out of memory creating an AMQP connection");
    }
    state_ = conn;
    amqp_socket_t* socket = nullptr;
    if (ep.tls) {
        socket = amqp_ssl_socket_new(conn);
        if (socket != nullptr) {
            // Never a TLS link to a broker whose certificate is unchecked.
            amqp_ssl_socket_set_verify_peer(socket, 1);
            amqp_ssl_socket_set_verify_hostname(socket, 1);
            // rabbitmq-c 0.11 loads no trust store of its own: without a
            // CA file every certificate would fail to verify.
            const std::string ca = ep.ca_file.empty() ? kSystemCaBundle : ep.ca_file;
            const int rc = amqp_ssl_socket_set_cacert(socket, ca.c_str());
            if (rc != AMQP_STATUS_OK) {
                abandon();
                return Status::failure(
                    (ep.ca_file.empty() ? "the system CA bundle " : "rabbitmq.ca_file ") + ca
                    + ": cannot load the CA certificates: " + amqp_error_string2(rc));
            }
        }
    } else {
        socket = amqp_tcp_socket_new(conn);
    }
    if (socket == nullptr) {
        abandon();
        return Status::failure("cannot create the AMQP socket");
    }
    timeval tv = to_timeval(timeout);
    const std::string where = describe(ep);
    const int rc = amqp_socket_open_noblock(socket, ep.host.c_str(), ep.port, &tv);
    if (rc != AMQP_STATUS_OK) {
        abandon();
        std::string text = "connecting to " + where + ": " + amqp_error_string2(rc);
        if (ep.tls && rc <= AMQP_STATUS_SSL_ERROR && rc >= AMQP_STATUS_SSL_SET_ENGINE_FAILED) {
            text +=
                " (is the broker's certificate signed by "
                + (ep.ca_file.empty() ? "a CA of the system bundle " + std::string(kSystemCaBundle)
                                      : "the CA in " + ep.ca_file)
                + ", for host name " + ep.host + "?)";
        }
        return Status::failure(text);
    }
    amqp_set_handshake_timeout(conn, &tv);
    amqp_set_rpc_timeout(conn, &tv);
    // Advertise connection.blocked so a memory or disk alarm is announced
    // instead of silently stalling the socket (publisher: flow control).
    amqp_table_entry_t capabilities[1];
    capabilities[0].key = amqp_cstring_bytes("connection.blocked");
    capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[0].value.value.boolean = 1;
    amqp_table_entry_t props[2];
    props[0].key = amqp_cstring_bytes("capabilities");
    props[0].value.kind = AMQP_FIELD_KIND_TABLE;
    props[0].value.value.table.num_entries = 1;
    props[0].value.value.table.entries = capabilities;
    props[1].key = amqp_cstring_bytes("connection_name");
    props[1].value.kind = AMQP_FIELD_KIND_UTF8;
    props[1].value.value.bytes = amqp_cstring_bytes("outboxd");
    amqp_table_t client_properties{2, props};
    const amqp_rpc_reply_t login = amqp_login_with_properties(
        conn, ep.vhost.c_str(), 0, 131072, heartbeat_s, &client_properties, AMQP_SASL_METHOD_PLAIN,
        ep.user.c_str(), ep.password.c_str());
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
        const std::string text = reply_text(login, "logging in to " + where + " as " + ep.user);
        abandon();
        return Status::failure(text);
    }
    return {};
}

Status Connection::open_channel(std::uint16_t channel, bool confirms) {
    amqp_channel_open(state_, channel);
    std::string text = reply_text(amqp_get_rpc_reply(state_), "channel.open");
    if (text.empty() && confirms) {
        amqp_confirm_select(state_, channel);
        text = reply_text(amqp_get_rpc_reply(state_), "confirm.select");
    }
    return text.empty() ? Status() : Status::failure(text);
}

Connection::ExchangeAnswer Connection::check_exchange(std::uint16_t channel,
                                                      const std::string& exchange) {
    ExchangeAnswer out;
    amqp_exchange_declare(state_, channel, as_bytes(exchange), amqp_empty_bytes, /*passive=*/1,
                          /*durable=*/0, /*auto_delete=*/0, /*internal=*/0, amqp_empty_table);
    const amqp_rpc_reply_t reply = amqp_get_rpc_reply(state_);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
        out.answer = Exchange::kExists;
        return out;
    }
    out.text = reply_text(reply, "exchange.declare (passive) of '" + exchange + "'");
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION
        && reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
        amqp_channel_close_ok_t ok{};
        amqp_send_method(state_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        if (m->reply_code == AMQP_NOT_FOUND) {
            out.answer = Exchange::kMissing;
        } else if (m->reply_code == AMQP_ACCESS_REFUSED) {
            out.answer = Exchange::kRefused;
        }
    }
    return out;
}

void Connection::close() {
    if (state_ == nullptr) {
        return;
    }
    // Bounded by the rpc timeout set in open().
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    abandon();
}

void Connection::abandon() {
    if (state_ == nullptr) {
        return;
    }
    amqp_destroy_connection(state_);
    state_ = nullptr;
}

} // namespace outboxd::rabbitmq
