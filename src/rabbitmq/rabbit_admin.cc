#include "rabbitmq/rabbit_admin.h"

#include "common/text.h"
#include "http/client.h"
#include "rabbitmq/amqp_text.h"
#include "rabbitmq/declare.h"
#include "rabbitmq/durability_rules.h"

#include <set>
#include <stdexcept>

#include <amqp.h>
#include <nlohmann/json.hpp>

namespace outboxd::rabbitmq {
namespace {

std::string percent_decode(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex_digit_value(text[i + 1]) >= 0
            && hex_digit_value(text[i + 2]) >= 0) {
            out +=
                static_cast<char>(hex_digit_value(text[i + 1]) * 16 + hex_digit_value(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// GET of a management API path as JSON, or the reason it failed (never the
// password: only host, port and path are named).
Status
get_json(const ManagementUrl& m, const std::string& path, Millis timeout, nlohmann::json* out) {
    const std::string what = "management API GET " + m.host_port + m.prefix + path;
    try {
        const auto res = http::get(m.host_port, m.prefix + path, timeout, m.authorization);
        if (res.status == 404) {
            return Status::failure(what + ": not found (404)");
        }
        if (res.status != 200) {
            return Status::failure(what + ": HTTP " + std::to_string(res.status)
                                   + (res.status == 401 ? " (check the user and password in "
                                                          "rabbitmq.management_url)"
                                                        : ""));
        }
        *out = nlohmann::json::parse(res.body);
        return {};
    } catch (const std::exception& e) {
        return Status::failure(what + ": " + e.what());
    }
}

} // namespace

ManagementUrl parse_management_url(const std::string& url) {
    ManagementUrl m;
    std::string rest = url.substr(std::string("http://").size());
    const auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    if (slash != std::string::npos) {
        m.prefix = rest.substr(slash);
        while (!m.prefix.empty() && m.prefix.back() == '/') {
            m.prefix.pop_back();
        }
    }
    const auto at = authority.rfind('@');
    if (at != std::string::npos) {
        m.authorization = "Basic " + base64(percent_decode(authority.substr(0, at)));
        authority = authority.substr(at + 1);
    }
    m.host_port = authority;
    return m;
}

std::string encode_path_segment(const std::string& text) {
    static const char* const kHex = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                           || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
                           || c == '~';
        if (plain) {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4U];
            out += kHex[c & 15U];
        }
    }
    return out;
}

RabbitAdmin::RabbitAdmin(config::RabbitMq cfg)
    : cfg_(std::move(cfg)) {
    if (const Status parsed = parse_url(cfg_.url, &endpoint_, cfg_.ca_file); !parsed.ok()) {
        throw std::invalid_argument(parsed.error());
    }
}

publish::DeclareResult RabbitAdmin::declare(Millis timeout) {
    if (cfg_.declare.empty()) {
        return {};
    }
    Connection conn;
    if (Status st = conn.open(endpoint_, timeout, 0); !st.ok()) {
        publish::DeclareResult out;
        out.status = std::move(st);
        out.retry = true;
        return out;
    }
    auto out = declare_topology(conn, 1, cfg_.declare, endpoint_.vhost);
    conn.close();
    return out;
}

Status RabbitAdmin::ping(Millis timeout) {
    Connection conn;
    Status st = conn.open(endpoint_, timeout, 0);
    conn.close();
    return st;
}

publish::AuditReport RabbitAdmin::audit(const std::vector<std::string>& names, Millis timeout) {
    publish::AuditReport report;
    Connection conn;
    report.reached = conn.open(endpoint_, timeout, 0);
    if (!report.reached.ok()) {
        return report;
    }
    std::uint16_t channel = 0;
    std::string incomplete;
    for (const std::string& name : names) {
        publish::DestinationAudit d;
        d.name = name;
        // A fresh channel for each: a failed passive declare closes it.
        ++channel;
        if (const Status st = conn.open_channel(channel, false); !st.ok()) {
            report.complete = Status::failure("asking for exchange '" + name + "': " + st.error());
            break;
        }
        amqp_exchange_declare(conn.get(), channel, as_bytes(name), amqp_cstring_bytes("direct"),
                              /*passive=*/1, /*durable=*/0, /*auto_delete=*/0, /*internal=*/0,
                              amqp_empty_table);
        const amqp_rpc_reply_t reply = amqp_get_rpc_reply(conn.get());
        if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
            d.exists = true;
            amqp_channel_close(conn.get(), channel, AMQP_REPLY_SUCCESS);
        } else if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION
                   && reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);
            amqp_channel_close_ok_t ok{};
            amqp_send_method(conn.get(), channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
            if (close->reply_code == AMQP_NOT_FOUND) {
                d.problems.push_back("exchange does not exist in vhost '" + endpoint_.vhost + "'");
            } else {
                d.problems.push_back("cannot be checked: "
                                     + reply_text(reply, "passive exchange.declare"));
            }
            report.destinations.push_back(std::move(d));
            continue;
        } else {
            report.complete =
                Status::failure(reply_text(reply, "passive exchange.declare of '" + name + "'"));
            report.destinations.push_back(std::move(d));
            break;
        }
        if (cfg_.management_url.empty()) {
            d.summary = "exists; durability not checked (set rabbitmq.management_url)";
            if (cfg_.require_durable) {
                incomplete = "exchange and queue durability cannot be checked without "
                             "rabbitmq.management_url";
            }
        } else if (const Status st = audit_with_management(d, timeout); !st.ok()) {
            incomplete = st.error();
        }
        report.destinations.push_back(std::move(d));
    }
    conn.close();
    if (report.complete.ok() && !incomplete.empty()) {
        report.complete = Status::failure(incomplete);
    }
    return report;
}

Status RabbitAdmin::audit_with_management(publish::DestinationAudit& d, Millis timeout) const {
    const ManagementUrl m = parse_management_url(cfg_.management_url);
    const std::string vhost = encode_path_segment(endpoint_.vhost);
    const std::string name = encode_path_segment(d.name);
    nlohmann::json exchange;
    if (Status st = get_json(m, "/api/exchanges/" + vhost + "/" + name, timeout, &exchange);
        !st.ok()) {
        return st;
    }
    d.problems = exchange_problems(exchange);
    nlohmann::json bindings;
    if (Status st = get_json(m, "/api/exchanges/" + vhost + "/" + name + "/bindings/source",
                             timeout, &bindings);
        !st.ok()) {
        return st;
    }
    d.summary = std::string(exchange.value("durable", false) ? "durable " : "transient ")
                + exchange.value("type", std::string("?")) + " exchange; queues:";
    // A queue bound with several routing keys is one queue: audited and
    // listed once.
    std::set<std::string> seen;
    for (const auto& b : bindings) {
        const std::string dest = b.value("destination", std::string());
        if (!seen.insert(b.value("destination_type", std::string()) + "/" + dest).second) {
            continue;
        }
        if (b.value("destination_type", std::string()) != "queue") {
            d.summary += " exchange " + dest + " (not followed)";
            continue;
        }
        nlohmann::json queue;
        if (Status st = get_json(m, "/api/queues/" + vhost + "/" + encode_path_segment(dest),
                                 timeout, &queue);
            !st.ok()) {
            return st;
        }
        d.summary += " " + queue_summary(queue);
        for (auto& p : queue_problems(queue)) {
            d.problems.push_back(std::move(p));
        }
    }
    if (bindings.empty()) {
        d.summary += " none";
        d.problems.emplace_back("no queue is bound: every message would be unroutable");
    }
    return {};
}

} // namespace outboxd::rabbitmq
