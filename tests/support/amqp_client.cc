#include "amqp_client.h"

#include "http/client.h"
#include "rabbitmq/rabbit_admin.h"
#include "services.h"
#include "store/sql.h"

#include <stdexcept>
#include <vector>

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

namespace outboxd::testing {
namespace {

std::string str(amqp_bytes_t b) {
    return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

amqp_bytes_t bytes(const std::string& s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

} // namespace

std::pair<int, std::string> rabbitmq_api(const std::string& path) {
    // http://user:pass@host:port, as services.sh writes it.
    const std::string& url = services().rabbitmq_management_url;
    if (url.rfind("http://", 0) != 0) {
        throw std::runtime_error("rabbitmq_api: no http:// management URL (services.sh env)");
    }
    const auto m = rabbitmq::parse_management_url(url);
    const auto r =
        http::get(m.host_port, m.prefix + path, std::chrono::milliseconds(10000), m.authorization);
    return {r.status, r.body};
}

AmqpClient::AmqpClient(const std::string& url_in) {
    const std::string url = url_in.empty() ? services().rabbitmq_url : url_in;
    if (url.empty()) {
        throw std::runtime_error("test AMQP client: no RabbitMQ URL (services.sh env)");
    }
    std::vector<char> buf(url.begin(), url.end());
    buf.push_back('\0');
    amqp_connection_info info{};
    if (amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) {
        throw std::runtime_error("test AMQP client: bad URL");
    }
    c_ = amqp_new_connection();
    amqp_socket_t* s = amqp_tcp_socket_new(c_);
    timeval tv{10, 0};
    if (amqp_socket_open_noblock(s, info.host, info.port, &tv) != AMQP_STATUS_OK) {
        amqp_destroy_connection(c_);
        throw std::runtime_error("test AMQP client: cannot connect to " + std::string(info.host)
                                 + ":" + std::to_string(info.port));
    }
    amqp_set_rpc_timeout(c_, &tv);
    const amqp_rpc_reply_t r =
        amqp_login(c_, info.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        amqp_destroy_connection(c_);
        throw std::runtime_error("test AMQP client: login failed");
    }
    amqp_channel_open(c_, 1);
    check("channel.open");
}

AmqpClient::~AmqpClient() {
    amqp_channel_close(c_, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c_);
}

void AmqpClient::check(const std::string& what) {
    const amqp_rpc_reply_t r = amqp_get_rpc_reply(c_);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        throw std::runtime_error("test AMQP client: " + what + " failed (reply type "
                                 + std::to_string(r.reply_type) + ")");
    }
}

void AmqpClient::exchange(const std::string& name, const std::string& type, bool durable) {
    amqp_exchange_declare(c_, 1, bytes(name), bytes(type), 0, durable ? 1 : 0, 0, 0,
                          amqp_empty_table);
    check("exchange.declare " + name);
}

void AmqpClient::classic_queue(const std::string& name) {
    amqp_queue_declare(c_, 1, bytes(name), 0, /*durable=*/0, 0, 0, amqp_empty_table);
    check("queue.declare " + name);
}

void AmqpClient::delete_queue(const std::string& name) {
    amqp_queue_delete(c_, 1, bytes(name), 0, 0);
    check("queue.delete " + name);
}

void AmqpClient::delete_exchange(const std::string& name) {
    amqp_exchange_delete(c_, 1, bytes(name), 0);
    check("exchange.delete " + name);
}

void AmqpClient::quorum_queue(const std::string& name) {
    amqp_table_entry_t type;
    type.key = amqp_cstring_bytes("x-queue-type");
    type.value.kind = AMQP_FIELD_KIND_UTF8;
    type.value.value.bytes = amqp_cstring_bytes("quorum");
    amqp_table_t args{1, &type};
    amqp_queue_declare(c_, 1, bytes(name), 0, 1, 0, 0, args);
    check("queue.declare " + name);
}

void AmqpClient::bind(const std::string& queue,
                      const std::string& exchange,
                      const std::string& key) {
    amqp_queue_bind(c_, 1, bytes(queue), bytes(exchange), bytes(key), amqp_empty_table);
    check("queue.bind " + queue);
}

void AmqpClient::publish(const std::string& exchange,
                         const std::string& routing_key,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         const std::string& body) {
    if (!confirming_) {
        amqp_confirm_select(c_, 1);
        check("confirm.select");
        confirming_ = true;
    }
    std::vector<amqp_table_entry_t> entries(headers.size());
    for (std::size_t i = 0; i < headers.size(); ++i) {
        entries[i].key = bytes(headers[i].first);
        entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
        entries[i].value.value.bytes = bytes(headers[i].second);
    }
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
    props.delivery_mode = 2;
    props.headers.num_entries = static_cast<int>(entries.size());
    props.headers.entries = entries.data();
    if (amqp_basic_publish(c_, 1, bytes(exchange), bytes(routing_key), 1, 0, &props, bytes(body))
        != AMQP_STATUS_OK) {
        throw std::runtime_error("basic.publish to '" + exchange + "' failed");
    }
    // The broker's basic.ack (a return would come first).
    for (;;) {
        amqp_frame_t frame;
        timeval tv{10, 0};
        if (amqp_simple_wait_frame_noblock(c_, &frame, &tv) != AMQP_STATUS_OK) {
            throw std::runtime_error("no confirm for a message to '" + exchange + "'");
        }
        if (frame.frame_type != AMQP_FRAME_METHOD) {
            continue;
        }
        if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            return;
        }
        throw std::runtime_error("message to '" + exchange + "' not confirmed (method "
                                 + std::to_string(frame.payload.method.id) + ")");
    }
}

std::int64_t AmqpClient::count(const std::string& queue) {
    auto* ok = amqp_queue_declare(c_, 1, bytes(queue), 1, 0, 0, 0, amqp_empty_table);
    check("queue.declare (passive) " + queue);
    return ok->message_count;
}

std::vector<AmqpMessage> AmqpClient::drain(const std::string& queue) {
    std::vector<AmqpMessage> out;
    const std::int64_t n = count(queue);
    if (n == 0) {
        return out;
    }
    amqp_basic_qos(c_, 1, 0, 2000, 0);
    check("basic.qos");
    amqp_basic_consume(c_, 1, bytes(queue), amqp_empty_bytes, 0, /*no_ack=*/1, 0, amqp_empty_table);
    check("basic.consume " + queue);
    out.reserve(static_cast<std::size_t>(n));
    while (static_cast<std::int64_t>(out.size()) < n) {
        amqp_envelope_t env;
        amqp_maybe_release_buffers(c_);
        timeval tv{10, 0};
        const amqp_rpc_reply_t r = amqp_consume_message(c_, &env, &tv, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            throw std::runtime_error("test AMQP client: consuming " + queue + " stopped after "
                                     + std::to_string(out.size()) + " of " + std::to_string(n)
                                     + " messages");
        }
        AmqpMessage m;
        m.routing_key = str(env.routing_key);
        m.body = str(env.message.body);
        const auto& p = env.message.properties;
        if ((p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) != 0) {
            m.content_type = str(p.content_type);
        }
        if ((p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0) {
            m.message_id = str(p.message_id);
        }
        if ((p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) != 0) {
            m.delivery_mode = p.delivery_mode;
        }
        m.has_timestamp = (p._flags & AMQP_BASIC_TIMESTAMP_FLAG) != 0 && p.timestamp > 0;
        if ((p._flags & AMQP_BASIC_HEADERS_FLAG) != 0) {
            for (int i = 0; i < p.headers.num_entries; ++i) {
                const auto& e = p.headers.entries[i];
                if (e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES) {
                    m.headers[str(e.key)] = str(e.value.value.bytes);
                }
            }
        }
        if (m.headers.count("outbox-id") != 0) {
            m.outbox_id = std::stoll(m.headers["outbox-id"]);
        }
        amqp_destroy_envelope(&env);
        out.push_back(std::move(m));
    }
    // Closing the channel ends the consumer; a fresh channel for later calls.
    amqp_channel_close(c_, 1, AMQP_REPLY_SUCCESS);
    amqp_channel_open(c_, 1);
    check("channel.open");
    return out;
}

QueueTally tally_queue(const std::vector<AmqpMessage>& messages,
                       const std::string& dsn,
                       const config::Postgres& table) {
    QueueTally t;
    std::map<std::string, std::int64_t> last_per_key;
    for (const auto& m : messages) {
        const int c = ++t.copies[m.outbox_id];
        if (c > 1) {
            ++t.duplicates;
            continue;
        }
        auto [it, first] = last_per_key.emplace(m.routing_key, m.outbox_id);
        if (!first) {
            if (m.outbox_id < it->second) {
                ++t.order_violations;
            }
            it->second = std::max(it->second, m.outbox_id);
        }
    }
    for (const auto& [id, st] : row_states(dsn, table)) {
        ++t.rows;
        if (st.status != 1) {
            ++t.not_sent;
            ++t.lost;
        } else if (t.copies.count(id) == 0) {
            ++t.lost;
        }
    }
    return t;
}

std::set<std::int64_t> pending_ids(const std::string& dsn, const config::Postgres& table) {
    std::set<std::int64_t> out;
    for (const auto& r : sql(dsn, "SELECT " + store::quote_ident(table.columns.id) + " FROM "
                                      + store::qualified_table(table) + " WHERE "
                                      + store::quote_ident(table.columns.status) + " = 0")) {
        out.insert(std::stoll(r[0]));
    }
    return out;
}

} // namespace outboxd::testing
