#include "amqp_clients.h"

#include "run_support.h"

#include <algorithm>
#include <vector>

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

namespace inventory {
namespace {

// rabbitmq-c 0.11 loads no trust store by itself.
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

timeval to_timeval(std::chrono::milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    return tv;
}

std::string text(amqp_bytes_t b) {
    return b.bytes == nullptr ? std::string()
                              : std::string(static_cast<const char*>(b.bytes), b.len);
}

amqp_bytes_t bytes(const std::string& s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())}; // NOLINT: read only by the library
}

// The reason of a failed synchronous call, "" when it succeeded.
std::string reply_text(const amqp_rpc_reply_t& r) {
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return "";
    case AMQP_RESPONSE_NONE:
        return "no reply from the broker";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            const auto* m = static_cast<const amqp_connection_close_t*>(r.reply.decoded);
            return "connection closed by the broker: " + std::to_string(m->reply_code) + " "
                   + text(m->reply_text);
        }
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            const auto* m = static_cast<const amqp_channel_close_t*>(r.reply.decoded);
            return "channel closed by the broker: " + std::to_string(m->reply_code) + " "
                   + text(m->reply_text);
        }
        return "unexpected reply from the broker";
    }
    return "unknown reply";
}

// A method frame that ends the channel or the connection: answered, then
// thrown as AmqpLost. Other methods are left to the caller.
void throw_if_closing(amqp_connection_state_t c, const amqp_frame_t& f, const std::string& what) {
    if (f.frame_type != AMQP_FRAME_METHOD) {
        return;
    }
    const auto id = f.payload.method.id;
    if (id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_channel_close_t*>(f.payload.method.decoded);
        const std::string reason = std::to_string(m->reply_code) + " " + text(m->reply_text);
        amqp_channel_close_ok_t ok{};
        amqp_send_method(c, f.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        throw AmqpLost(what + ": channel closed by the broker: " + reason);
    }
    if (id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<const amqp_connection_close_t*>(f.payload.method.decoded);
        const std::string reason = std::to_string(m->reply_code) + " " + text(m->reply_text);
        amqp_connection_close_ok_t ok{};
        amqp_send_method(c, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        throw AmqpLost(what + ": connection closed by the broker: " + reason);
    }
}

// A header as text: strings as they are, integers in decimal (producers
// other than outboxd may send outbox-id as a number).
std::optional<std::string> header(const amqp_basic_properties_t& p, const char* name) {
    if ((p._flags & AMQP_BASIC_HEADERS_FLAG) == 0) {
        return std::nullopt;
    }
    std::optional<std::string> out;
    for (int i = 0; i < p.headers.num_entries; ++i) {
        const amqp_table_entry_t& e = p.headers.entries[i];
        if (text(e.key) != name) {
            continue;
        }
        switch (e.value.kind) {
        case AMQP_FIELD_KIND_UTF8:
        case AMQP_FIELD_KIND_BYTES:
            out = text(e.value.value.bytes);
            break;
        case AMQP_FIELD_KIND_I64:
            out = std::to_string(e.value.value.i64);
            break;
        case AMQP_FIELD_KIND_U64:
            out = std::to_string(e.value.value.u64);
            break;
        case AMQP_FIELD_KIND_I32:
            out = std::to_string(e.value.value.i32);
            break;
        case AMQP_FIELD_KIND_U32:
            out = std::to_string(e.value.value.u32);
            break;
        default:
            out = "<header of AMQP field kind " + std::to_string(e.value.kind) + ">";
        }
    }
    return out;
}

} // namespace

std::optional<AmqpEndpoint> parse_amqp_url(const std::string& url, const std::string& ca_file) {
    // amqp_parse_url cuts the buffer it is given into the parts it returns.
    std::vector<char> buf(url.begin(), url.end());
    buf.push_back('\0');
    amqp_connection_info info{};
    if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) {
        return std::nullopt;
    }
    AmqpEndpoint ep;
    ep.host = info.host != nullptr ? info.host : "";
    ep.port = info.port;
    ep.user = info.user != nullptr ? info.user : "";
    ep.password = info.password != nullptr ? info.password : "";
    ep.vhost = info.vhost != nullptr && info.vhost[0] != '\0' ? info.vhost : "/";
    ep.tls = info.ssl != 0;
    ep.ca_file = ca_file;
    return ep;
}

std::string describe(const AmqpEndpoint& ep) {
    return std::string(ep.tls ? "amqps " : "") + ep.host + ":" + std::to_string(ep.port) + " vhost "
           + ep.vhost;
}

AmqpConnection::AmqpConnection(const AmqpEndpoint& ep, const std::string& name) {
    const std::string where = describe(ep);
    c_ = amqp_new_connection();
    if (c_ == nullptr) {
        throw AmqpLost("out of memory creating an AMQP connection");
    }
    amqp_socket_t* socket = nullptr;
    if (ep.tls) {
        socket = amqp_ssl_socket_new(c_);
        if (socket != nullptr) {
            amqp_ssl_socket_set_verify_peer(socket, 1);
            amqp_ssl_socket_set_verify_hostname(socket, 1);
            const std::string ca = ep.ca_file.empty() ? kSystemCaBundle : ep.ca_file;
            const int rc = amqp_ssl_socket_set_cacert(socket, ca.c_str());
            if (rc != AMQP_STATUS_OK) {
                amqp_destroy_connection(c_);
                throw Stop("cannot load the CA certificates in " + ca + ": "
                           + amqp_error_string2(rc));
            }
        }
    } else {
        socket = amqp_tcp_socket_new(c_);
    }
    if (socket == nullptr) {
        amqp_destroy_connection(c_);
        throw AmqpLost("cannot create an AMQP socket");
    }
    timeval tv = to_timeval(std::chrono::milliseconds(10000));
    const int rc = amqp_socket_open_noblock(socket, ep.host.c_str(), ep.port, &tv);
    if (rc != AMQP_STATUS_OK) {
        amqp_destroy_connection(c_);
        throw AmqpLost("connecting to " + where + ": " + amqp_error_string2(rc));
    }
    amqp_set_handshake_timeout(c_, &tv);
    amqp_set_rpc_timeout(c_, &tv);
    amqp_table_entry_t props[1];
    props[0].key = amqp_cstring_bytes("connection_name");
    props[0].value.kind = AMQP_FIELD_KIND_UTF8;
    props[0].value.value.bytes = bytes(name);
    amqp_table_t client_properties{1, props};
    // Heartbeats every 30 s: both loops call into the library well within
    // that, which is when rabbitmq-c sends and checks them.
    const amqp_rpc_reply_t login =
        amqp_login_with_properties(c_, ep.vhost.c_str(), 0, 131072, 30, &client_properties,
                                   AMQP_SASL_METHOD_PLAIN, ep.user.c_str(), ep.password.c_str());
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
        const std::string reason = reply_text(login);
        amqp_destroy_connection(c_);
        const std::string what = "logging in to " + where + " as " + ep.user + ": " + reason;
        // A login the broker answers with connection.close (403
        // ACCESS_REFUSED, a missing vhost) is an operator's problem, not an
        // outage. A broker that just drops the socket is retried.
        if (login.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
            throw Stop(what);
        }
        throw AmqpLost(what);
    }
    amqp_channel_open(c_, 1);
    try {
        check_rpc("channel.open");
    } catch (...) {
        amqp_destroy_connection(c_);
        throw;
    }
}

AmqpConnection::~AmqpConnection() {
    // Bounded by the rpc timeout; a connection already broken returns at once.
    amqp_connection_close(c_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c_);
}

void AmqpConnection::check_rpc(const std::string& what) {
    const std::string reason = reply_text(amqp_get_rpc_reply(c_));
    if (!reason.empty()) {
        throw AmqpLost(what + ": " + reason);
    }
}

OrderQueue::OrderQueue(const Options& o, const AmqpEndpoint& ep)
    : conn_(ep, "outboxd-inventory-consumer " + o.group + " orders")
    , queue_(o.queue) {
    // Enough unacknowledged deliveries for a whole --commit-every batch.
    const auto prefetch = static_cast<std::uint16_t>(std::clamp(o.commit_every * 2, 50, 65535));
    amqp_basic_qos(conn_.get(), 1, 0, prefetch, 0);
    conn_.check_rpc("basic.qos");
    amqp_basic_consume(conn_.get(), 1, bytes(queue_), amqp_empty_bytes, /*no_local=*/0,
                       /*no_ack=*/0, /*exclusive=*/0, amqp_empty_table);
    conn_.check_rpc("basic.consume from queue '" + queue_ + "'");
}

std::optional<Delivery> OrderQueue::next(std::chrono::milliseconds timeout) {
    amqp_connection_state_t c = conn_.get();
    amqp_maybe_release_buffers(c);
    amqp_envelope_t env{};
    timeval tv = to_timeval(timeout);
    const amqp_rpc_reply_t r = amqp_consume_message(c, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        Delivery d;
        d.tag = env.delivery_tag;
        d.redelivered = env.redelivered != 0;
        d.source = header(env.message.properties, "outbox-source");
        d.id = header(env.message.properties, "outbox-id");
        d.body = text(env.message.body);
        d.where = queue_ + "#" + std::to_string(env.delivery_tag);
        amqp_destroy_envelope(&env);
        return d;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) {
        return std::nullopt;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
        && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        // Something other than a delivery: read it.
        amqp_frame_t f{};
        timeval zero = to_timeval(std::chrono::milliseconds(1000));
        const int rc = amqp_simple_wait_frame_noblock(c, &f, &zero);
        if (rc != AMQP_STATUS_OK) {
            throw AmqpLost("queue '" + queue_ + "': " + amqp_error_string2(rc));
        }
        throw_if_closing(c, f, "queue '" + queue_ + "'");
        if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_CANCEL_METHOD) {
            throw AmqpLost("the broker cancelled the consumer of queue '" + queue_
                           + "' (queue deleted, or its leader moved)");
        }
        return std::nullopt;
    }
    throw AmqpLost("queue '" + queue_ + "': " + reply_text(r));
}

void OrderQueue::ack_through(std::uint64_t tag) {
    const int rc = amqp_basic_ack(conn_.get(), 1, tag, /*multiple=*/1);
    if (rc != AMQP_STATUS_OK) {
        throw AmqpLost("basic.ack on queue '" + queue_ + "': " + amqp_error_string2(rc));
    }
}

ReportPublisher::ReportPublisher(const Options& o, const AmqpEndpoint& ep)
    : conn_(ep, "outboxd-inventory-consumer " + o.group + " reports")
    , ack_queue_(o.ack_queue)
    , consumer_(o.group) {
    amqp_confirm_select(conn_.get(), 1);
    conn_.check_rpc("confirm.select");
}

void ReportPublisher::publish(const Report& r) {
    std::vector<std::pair<std::string, std::string>> h;
    if (r.source) {
        h.emplace_back("outbox-source", *r.source);
    }
    if (r.id) {
        h.emplace_back("outbox-id", *r.id);
    }
    h.emplace_back("outbox-consumer", consumer_);
    h.emplace_back("outbox-result", r.consumed ? "consumed" : "failed");
    std::vector<amqp_table_entry_t> entries(h.size());
    for (std::size_t i = 0; i < h.size(); ++i) {
        entries[i].key = bytes(h[i].first);
        entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
        entries[i].value.value.bytes = bytes(h[i].second);
    }
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
    props.delivery_mode = 2; // persistent
    props.headers.num_entries = static_cast<int>(entries.size());
    props.headers.entries = entries.data();
    // mandatory: a missing ack queue comes back (basic.return) instead of
    // the report vanishing.
    const int rc = amqp_basic_publish(conn_.get(), 1, amqp_empty_bytes, bytes(ack_queue_),
                                      /*mandatory=*/1, /*immediate=*/0, &props, bytes(r.reason));
    if (rc != AMQP_STATUS_OK) {
        throw AmqpLost("publishing a report to queue '" + ack_queue_
                       + "': " + amqp_error_string2(rc));
    }
    unconfirmed_.insert(++published_); // delivery tags count from 1 on the channel
}

bool ReportPublisher::wait_confirms(std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    while (!unconfirmed_.empty()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        if (left.count() <= 0 || !read_frame(left)) {
            return false;
        }
    }
    if (!returned_.empty()) {
        throw Stop("a report to queue '" + ack_queue_ + "' came back unrouted (" + returned_
                   + "): does the queue exist? It is confirm.ack_queue in outboxd's config");
    }
    return true;
}

void ReportPublisher::keepalive() {
    for (int i = 0; i < 100 && read_frame(std::chrono::milliseconds(0)); ++i) {
    }
}

bool ReportPublisher::read_frame(std::chrono::milliseconds timeout) {
    amqp_connection_state_t c = conn_.get();
    amqp_frame_t f{};
    timeval tv = to_timeval(timeout);
    const int rc = amqp_simple_wait_frame_noblock(c, &f, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) {
        return false;
    }
    if (rc != AMQP_STATUS_OK) {
        throw AmqpLost("reports to queue '" + ack_queue_ + "': " + amqp_error_string2(rc));
    }
    throw_if_closing(c, f, "reports to queue '" + ack_queue_ + "'");
    if (f.frame_type != AMQP_FRAME_METHOD) {
        return true;
    }
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        // Confirms usually come in publish order, but need not: a single
        // ack confirms its tag, a `multiple` one every tag up to its own.
        const auto* a = static_cast<const amqp_basic_ack_t*>(f.payload.method.decoded);
        if (a->multiple != 0) {
            unconfirmed_.erase(unconfirmed_.begin(), unconfirmed_.upper_bound(a->delivery_tag));
        } else {
            unconfirmed_.erase(a->delivery_tag);
        }
        break;
    }
    case AMQP_BASIC_NACK_METHOD:
        throw AmqpLost("the broker could not store a report to queue '" + ack_queue_
                       + "' (basic.nack)");
    case AMQP_BASIC_RETURN_METHOD: {
        const auto* m = static_cast<const amqp_basic_return_t*>(f.payload.method.decoded);
        returned_ = std::to_string(m->reply_code) + " " + text(m->reply_text);
        amqp_message_t msg{};
        const amqp_rpc_reply_t r = amqp_read_message(c, 1, &msg, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            amqp_destroy_message(&msg);
        }
        break;
    }
    default:
        break;
    }
    return true;
}

} // namespace inventory
