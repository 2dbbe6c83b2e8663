#include "rabbitmq/declare.h"

#include "rabbitmq/amqp_text.h"

#include <vector>

#include <amqp.h>

namespace outboxd::rabbitmq {
namespace {

// The x-arguments as an AMQP field table; the entries point into `args`,
// which outlives the call that sends them.
class ArgumentTable {
public:
    explicit ArgumentTable(const config::AmqpArguments& args) {
        entries_.reserve(args.size());
        for (const auto& [name, value] : args) {
            amqp_table_entry_t e{};
            e.key = as_bytes(name);
            if (const auto* s = std::get_if<std::string>(&value)) {
                e.value.kind = AMQP_FIELD_KIND_UTF8;
                e.value.value.bytes = as_bytes(*s);
            } else if (const auto* i = std::get_if<std::int64_t>(&value)) {
                e.value.kind = AMQP_FIELD_KIND_I64;
                e.value.value.i64 = *i;
            } else if (const auto* b = std::get_if<bool>(&value)) {
                e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
                e.value.value.boolean = *b ? 1 : 0;
            } else {
                e.value.kind = AMQP_FIELD_KIND_F64;
                e.value.value.f64 = std::get<double>(value);
            }
            entries_.push_back(e);
        }
    }
    amqp_table_t get() {
        amqp_table_t t;
        t.num_entries = static_cast<int>(entries_.size());
        t.entries = entries_.empty() ? nullptr : entries_.data();
        return t;
    }

private:
    std::vector<amqp_table_entry_t> entries_;
};

bool other_vhost(const std::string& entry, const std::string& ours) {
    return !entry.empty() && entry != ours;
}

} // namespace

publish::DeclareResult declare_topology(Connection& conn,
                                        std::uint16_t channel,
                                        const config::RabbitTopology& topology,
                                        const std::string& vhost) {
    publish::DeclareResult out;
    if (const Status st = conn.open_channel(channel, /*confirms=*/false); !st.ok()) {
        out.status = Status::failure("opening a channel to declare: " + st.error());
        out.retry = true;
        return out;
    }
    // One reply check for every declaration: a refusal is the broker's
    // answer (no retry), anything else a link that failed (retry).
    auto answered = [&](const std::string& what) {
        const amqp_rpc_reply_t reply = amqp_get_rpc_reply(conn.get());
        if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
            out.declared.push_back(what);
            return true;
        }
        const std::string text = reply_text(reply, "declaring " + what);
        if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION
            && reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_ok_t ok{};
            amqp_send_method(conn.get(), channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
            const auto* m = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
            std::string hint;
            if (m->reply_code == AMQP_PRECONDITION_FAILED) {
                hint = " (the broker already holds it with other settings: change " + topology.file
                       + " to match, or delete and re-create it on the broker)";
            }
            out.status = Status::failure(text + hint);
        } else {
            out.status = Status::failure(text);
            out.retry = reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION;
        }
        return false;
    };
    auto skip = [&](const std::string& what, const std::string& entry_vhost) {
        out.skipped.push_back(what + ": virtual host '" + entry_vhost + "', not the URL's '" + vhost
                              + "'");
    };
    for (const auto& e : topology.exchanges) {
        const std::string what = config::describe(e);
        if (other_vhost(e.vhost, vhost)) {
            skip(what, e.vhost);
            continue;
        }
        ArgumentTable args(e.arguments);
        amqp_exchange_declare(conn.get(), channel, as_bytes(e.name), as_bytes(e.type),
                              /*passive=*/0, e.durable ? 1 : 0, e.auto_delete ? 1 : 0,
                              e.internal ? 1 : 0, args.get());
        if (!answered(what)) {
            return out;
        }
    }
    for (const auto& q : topology.queues) {
        const std::string what = config::describe(q);
        if (other_vhost(q.vhost, vhost)) {
            skip(what, q.vhost);
            continue;
        }
        ArgumentTable args(q.arguments);
        amqp_queue_declare(conn.get(), channel, as_bytes(q.name), /*passive=*/0, q.durable ? 1 : 0,
                           /*exclusive=*/0, q.auto_delete ? 1 : 0, args.get());
        if (!answered(what)) {
            return out;
        }
    }
    for (const auto& b : topology.bindings) {
        const std::string what = config::describe(b);
        if (other_vhost(b.vhost, vhost)) {
            skip(what, b.vhost);
            continue;
        }
        ArgumentTable args(b.arguments);
        if (b.to_exchange) {
            amqp_exchange_bind(conn.get(), channel, as_bytes(b.destination), as_bytes(b.source),
                               as_bytes(b.routing_key), args.get());
        } else {
            amqp_queue_bind(conn.get(), channel, as_bytes(b.destination), as_bytes(b.source),
                            as_bytes(b.routing_key), args.get());
        }
        if (!answered(what)) {
            return out;
        }
    }
    return out;
}

} // namespace outboxd::rabbitmq
