#include "config/rabbit_topology.h"

#include "common/parse_int.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>

namespace outboxd::config {
namespace {

// Sections of a definitions export that outboxd reads past: applying users,
// permissions or policies is the broker operator's business, not a relay's.
const std::set<std::string>& export_sections() {
    static const std::set<std::string> kSections{"rabbit_version", "rabbitmq_version",
                                                 "product_name",   "product_version",
                                                 "users",          "vhosts",
                                                 "permissions",    "topic_permissions",
                                                 "parameters",     "global_parameters",
                                                 "policies",       "explanation"};
    return kSections;
}

class Parser {
public:
    explicit Parser(std::vector<std::string>* problems)
        : problems_(problems) {}

    void problem(const std::string& where, const std::string& what) {
        problems_->push_back(where + ": " + what);
    }

    std::string text(const YAML::Node& n, const std::string& where, bool required) {
        if (!n || n.IsNull()) {
            if (required) {
                problem(where, "is required");
            }
            return {};
        }
        if (!n.IsScalar()) {
            problem(where, "expected a string");
            return {};
        }
        return n.Scalar();
    }

    bool flag(const YAML::Node& n, const std::string& where, bool fallback) {
        if (!n || n.IsNull()) {
            return fallback;
        }
        if (n.IsScalar()) {
            const std::string& v = n.Scalar();
            if (v == "true") {
                return true;
            }
            if (v == "false") {
                return false;
            }
        }
        problem(where, "expected true or false");
        return fallback;
    }

    AmqpArguments arguments(const YAML::Node& n, const std::string& where) {
        AmqpArguments out;
        if (!n || n.IsNull()) {
            return out;
        }
        if (!n.IsMap()) {
            problem(where, "expected a map of x-arguments");
            return out;
        }
        for (const auto& kv : n) {
            const std::string name = kv.first.Scalar();
            const std::string at = where + "." + name;
            const YAML::Node& v = kv.second;
            if (!v.IsScalar()) {
                problem(at, "only strings, numbers and booleans are supported as arguments");
                continue;
            }
            out.emplace_back(name, scalar_value(v));
        }
        return out;
    }

    // A quoted scalar stays a string ("1000" is text); a plain one is a
    // number or boolean when it reads as one.
    static AmqpValue scalar_value(const YAML::Node& v) {
        const std::string& s = v.Scalar();
        if (v.Tag() == "!") {
            return s;
        }
        if (s == "true" || s == "false") {
            return s == "true";
        }
        if (const auto i = to_int64(s)) {
            return *i;
        }
        if (!s.empty()) {
            char* end = nullptr;
            errno = 0;
            const double d = std::strtod(s.c_str(), &end);
            if (errno == 0 && end == s.c_str() + s.size()) {
                return d;
            }
        }
        return s;
    }

    // Fields of an entry other than `known` are problems: a misspelt
    // "durabel" must not silently declare a default.
    void
    only(const YAML::Node& entry, const std::string& where, const std::vector<std::string>& known) {
        for (const auto& kv : entry) {
            const std::string key = kv.first.Scalar();
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                std::string list;
                for (const auto& k : known) {
                    list += (list.empty() ? "" : ", ") + k;
                }
                problem(where + "." + key, "unknown field (known: " + list + ")");
            }
        }
    }

    template <typename F>
    void each(const YAML::Node& root, const std::string& section, F f) {
        const YAML::Node list = root[section];
        if (!list || list.IsNull()) {
            return;
        }
        if (!list.IsSequence()) {
            problem(section, "expected a list");
            return;
        }
        for (std::size_t i = 0; i < list.size(); ++i) {
            const std::string where = section + "[" + std::to_string(i) + "]";
            if (!list[i].IsMap()) {
                problem(where, "expected a map");
                continue;
            }
            f(list[i], where);
        }
    }

private:
    std::vector<std::string>* problems_;
};

std::string flags(bool durable, bool auto_delete) {
    std::string out = durable ? "durable" : "not durable";
    if (auto_delete) {
        out += ", auto-delete";
    }
    return out;
}

std::string queue_type(const AmqpArguments& args) {
    for (const auto& [name, value] : args) {
        if (name == "x-queue-type" && std::holds_alternative<std::string>(value)) {
            return std::get<std::string>(value);
        }
    }
    return "classic";
}

} // namespace

RabbitTopology parse_rabbit_topology(const std::string& text,
                                     const std::string& file,
                                     std::vector<std::string>* problems) {
    RabbitTopology t;
    t.file = file;
    Parser p(problems);
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        p.problem("file", std::string("not valid JSON or YAML: ") + e.what());
        return t;
    }
    if (!root.IsMap()) {
        p.problem("file", "expected a map with exchanges, queues and bindings (RabbitMQ's "
                          "definitions format)");
        return t;
    }
    for (const auto& kv : root) {
        const std::string key = kv.first.Scalar();
        if (key == "exchanges" || key == "queues" || key == "bindings") {
            continue;
        }
        if (export_sections().count(key) != 0) {
            t.ignored.push_back(key);
        } else {
            p.problem(key, "unknown section (outboxd declares exchanges, queues and bindings)");
        }
    }
    p.each(root, "exchanges", [&](const YAML::Node& e, const std::string& where) {
        p.only(e, where,
               {"name", "vhost", "type", "durable", "auto_delete", "internal", "arguments"});
        DeclaredExchange x;
        x.name = p.text(e["name"], where + ".name", true);
        if (e["name"] && x.name.empty()) {
            p.problem(where + ".name", "the default exchange cannot be declared");
        }
        x.vhost = p.text(e["vhost"], where + ".vhost", false);
        x.type = p.text(e["type"], where + ".type", true);
        static const std::set<std::string> kTypes{"direct", "fanout", "topic", "headers"};
        if (!x.type.empty() && kTypes.count(x.type) == 0 && x.type.rfind("x-", 0) != 0) {
            p.problem(where + ".type", "'" + x.type
                                           + "' is not an exchange type (direct, fanout, topic, "
                                             "headers, or a plugin's x-...)");
        }
        x.durable = p.flag(e["durable"], where + ".durable", true);
        x.auto_delete = p.flag(e["auto_delete"], where + ".auto_delete", false);
        x.internal = p.flag(e["internal"], where + ".internal", false);
        x.arguments = p.arguments(e["arguments"], where + ".arguments");
        t.exchanges.push_back(std::move(x));
    });
    p.each(root, "queues", [&](const YAML::Node& e, const std::string& where) {
        p.only(e, where, {"name", "vhost", "type", "durable", "auto_delete", "arguments"});
        DeclaredQueue q;
        q.name = p.text(e["name"], where + ".name", true);
        if (e["name"] && q.name.empty()) {
            p.problem(where + ".name", "must not be empty (a server-named queue is not a "
                                       "topology)");
        }
        q.vhost = p.text(e["vhost"], where + ".vhost", false);
        q.durable = p.flag(e["durable"], where + ".durable", true);
        q.auto_delete = p.flag(e["auto_delete"], where + ".auto_delete", false);
        q.arguments = p.arguments(e["arguments"], where + ".arguments");
        // Newer exports also carry the type as a field of its own.
        const std::string type = p.text(e["type"], where + ".type", false);
        if (!type.empty()) {
            const auto it = std::find_if(q.arguments.begin(), q.arguments.end(),
                                         [](const auto& a) { return a.first == "x-queue-type"; });
            if (it == q.arguments.end()) {
                q.arguments.emplace_back("x-queue-type", type);
            } else if (!std::holds_alternative<std::string>(it->second)
                       || std::get<std::string>(it->second) != type) {
                p.problem(where + ".type", "'" + type + "' contradicts arguments.x-queue-type");
            }
        }
        t.queues.push_back(std::move(q));
    });
    p.each(root, "bindings", [&](const YAML::Node& e, const std::string& where) {
        p.only(e, where,
               {"source", "vhost", "destination", "destination_type", "routing_key", "arguments"});
        DeclaredBinding b;
        b.source = p.text(e["source"], where + ".source", true);
        if (e["source"] && b.source.empty()) {
            p.problem(where + ".source", "the default exchange takes no bindings");
        }
        b.vhost = p.text(e["vhost"], where + ".vhost", false);
        b.destination = p.text(e["destination"], where + ".destination", true);
        const std::string type = p.text(e["destination_type"], where + ".destination_type", false);
        if (type == "exchange") {
            b.to_exchange = true;
        } else if (!type.empty() && type != "queue") {
            p.problem(where + ".destination_type", "expected queue or exchange");
        }
        b.routing_key = p.text(e["routing_key"], where + ".routing_key", false);
        b.arguments = p.arguments(e["arguments"], where + ".arguments");
        t.bindings.push_back(std::move(b));
    });
    if (problems->empty() && t.empty()) {
        p.problem("file", "declares nothing (no exchanges, queues or bindings)");
    }
    return t;
}

std::string describe(const DeclaredExchange& e) {
    return "exchange '" + e.name + "' (" + e.type + ", " + flags(e.durable, e.auto_delete)
           + (e.internal ? ", internal" : "") + ")";
}

std::string describe(const DeclaredQueue& q) {
    return "queue '" + q.name + "' (" + queue_type(q.arguments) + ", "
           + flags(q.durable, q.auto_delete) + ")";
}

std::string describe(const DeclaredBinding& b) {
    return "binding '" + b.source + "' -> " + (b.to_exchange ? "exchange '" : "queue '")
           + b.destination + "' (routing key '" + b.routing_key + "')";
}

} // namespace outboxd::config
