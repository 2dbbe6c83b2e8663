#include "options.h"

#include "amqp_clients.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <set>

namespace inventory {
namespace {

// Properties that would break the pattern the consumer exists to show, or
// that have an option of their own. Refused, not silently overridden.
const std::set<std::string>& refused_properties() {
    static const std::set<std::string> k = {
        "enable.auto.commit", // offsets are committed only after the transaction
        "enable.auto.offset.store",
        "auto.offset.reset",    // "latest" would skip what a new group has not seen
        "isolation.level",      // only committed (acknowledged) records
        "group.id",             // --group
        "group.instance.id",    // --instance-id
        "bootstrap.servers",    // --bootstrap
        "metadata.broker.list", // --bootstrap
        "acks",                 // the failure reports: acks=all and idempotence
        "enable.idempotence",
    };
    return k;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) {
        return {};
    }
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

std::vector<std::string> split_topics(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ',') {
            out.push_back(trim(cur));
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    out.push_back(trim(cur));
    return out;
}

std::optional<long> parse_long(const std::string& s) {
    if (s.empty()) {
        return std::nullopt;
    }
    errno = 0;
    char* end = nullptr;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (errno != 0 || end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    return v;
}

void add_property(Options& o,
                  std::vector<std::string>& problems,
                  const std::string& where,
                  const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || trim(text.substr(0, eq)).empty()) {
        problems.push_back(where + ": \"" + text + "\" is not KEY=VALUE");
        return;
    }
    const std::string key = trim(text.substr(0, eq));
    if (refused_properties().count(kafka_property_name(key)) != 0) {
        problems.push_back(where + ": the librdkafka property " + key
                           + " is refused: the consumer sets it itself (see --help)");
        return;
    }
    o.kafka_properties[key] = trim(text.substr(eq + 1));
}

void read_properties_file(Options& o, std::vector<std::string>& problems, const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        problems.push_back("--properties: cannot read " + path);
        return;
    }
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#') {
            continue;
        }
        add_property(o, problems, path + ":" + std::to_string(n), t);
    }
}

} // namespace

std::string kafka_property_name(const std::string& key) {
    for (const char* prefix : {"consumer.", "producer."}) {
        const std::string p(prefix);
        if (key.rfind(p, 0) == 0) {
            return key.substr(p.size());
        }
    }
    return key;
}

ParsedOptions parse_options(const std::vector<std::string>& args,
                            const std::function<std::optional<std::string>(const char*)>& env) {
    ParsedOptions r;
    Options& o = r.options;
    auto& problems = r.problems;

    std::optional<std::string> broker, bootstrap, group, topics, dsn, schema, ack_topic,
        instance_id, commit_every, summary_interval, properties_file, amqp_url, amqp_ca_file, queue,
        ack_queue;
    std::vector<std::string> x_props;
    std::vector<std::string> topic_args;

    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        // --name=value and --name value both work.
        std::string name = a;
        std::optional<std::string> inline_value;
        if (a.rfind("--", 0) == 0) {
            const auto eq = a.find('=');
            if (eq != std::string::npos) {
                name = a.substr(0, eq);
                inline_value = a.substr(eq + 1);
            }
        }
        auto value = [&]() -> std::optional<std::string> {
            if (inline_value) {
                return inline_value;
            }
            if (i + 1 >= args.size()) {
                problems.push_back(name + " needs a value");
                return std::nullopt;
            }
            return args[++i];
        };
        if (name == "-h" || name == "--help") {
            o.help = true;
        } else if (name == "--migrate") {
            o.migrate_only = true;
        } else if (name == "--no-migrate") {
            o.no_migrate = true;
        } else if (name == "--broker") {
            broker = value();
        } else if (name == "--amqp-url") {
            amqp_url = value();
        } else if (name == "--amqp-ca-file") {
            amqp_ca_file = value();
        } else if (name == "--queue") {
            queue = value();
        } else if (name == "--ack-queue") {
            ack_queue = value();
        } else if (name == "--bootstrap") {
            bootstrap = value();
        } else if (name == "--group") {
            group = value();
        } else if (name == "--topic") {
            if (auto v = value()) {
                topic_args.push_back(*v);
            }
        } else if (name == "--dsn") {
            dsn = value();
        } else if (name == "--schema") {
            schema = value();
        } else if (name == "--ack-topic") {
            ack_topic = value();
        } else if (name == "--instance-id") {
            instance_id = value();
        } else if (name == "--commit-every") {
            commit_every = value();
        } else if (name == "--summary-interval-ms") {
            summary_interval = value();
        } else if (name == "--properties") {
            properties_file = value();
        } else if (name == "-X" || name == "--property") {
            if (auto v = value()) {
                x_props.push_back(*v);
            }
        } else {
            problems.push_back("unknown argument \"" + a + "\"");
        }
    }
    if (o.help) {
        return r;
    }

    // Options of the other broker, given on the command line: refused, so a
    // mixed-up invocation is not silently half ignored.
    std::vector<std::string> kafka_only, rabbitmq_only;
    for (const auto& [flag, given] :
         std::vector<std::pair<std::string, bool>>{{"--bootstrap", bootstrap.has_value()},
                                                   {"--topic", !topic_args.empty()},
                                                   {"--ack-topic", ack_topic.has_value()},
                                                   {"--instance-id", instance_id.has_value()},
                                                   {"--properties", properties_file.has_value()},
                                                   {"-X", !x_props.empty()}}) {
        if (given) {
            kafka_only.push_back(flag);
        }
    }
    for (const auto& [flag, given] :
         std::vector<std::pair<std::string, bool>>{{"--amqp-url", amqp_url.has_value()},
                                                   {"--amqp-ca-file", amqp_ca_file.has_value()},
                                                   {"--queue", queue.has_value()},
                                                   {"--ack-queue", ack_queue.has_value()}}) {
        if (given) {
            rabbitmq_only.push_back(flag);
        }
    }

    auto pick = [&](const std::optional<std::string>& arg, const char* var) {
        if (arg) {
            return arg;
        }
        return env(var);
    };
    broker = pick(broker, "INVENTORY_BROKER");
    if (broker && trim(*broker) == "rabbitmq") {
        o.broker = Broker::kRabbitmq;
    } else if (broker && trim(*broker) != "kafka") {
        problems.push_back("--broker \"" + *broker + "\" must be kafka or rabbitmq");
    }
    group = pick(group, "INVENTORY_GROUP");
    dsn = pick(dsn, "INVENTORY_DSN");
    schema = pick(schema, "INVENTORY_SCHEMA");
    commit_every = pick(commit_every, "INVENTORY_COMMIT_EVERY");
    summary_interval = pick(summary_interval, "INVENTORY_SUMMARY_INTERVAL_MS");

    // What both brokers need.
    if (!group || trim(*group).empty()) {
        problems.push_back(o.broker == Broker::kKafka
                               ? "--group (or INVENTORY_GROUP) is required: the consumer group id"
                               : "--group (or INVENTORY_GROUP) is required: the consumer's name "
                                 "in its reports");
    } else {
        o.group = trim(*group);
    }
    if (!dsn || trim(*dsn).empty()) {
        problems.push_back("--dsn (or INVENTORY_DSN) is required: a PostgreSQL connection string");
    } else {
        o.dsn = *dsn;
    }
    if (schema) {
        if (trim(*schema).empty()) {
            problems.push_back("--schema must not be empty");
        } else {
            o.schema = trim(*schema);
        }
    }
    if (commit_every) {
        const auto v = parse_long(*commit_every);
        if (!v || *v < 1 || *v > 100000) {
            problems.push_back("--commit-every \"" + *commit_every
                               + "\" must be an integer from 1 to 100000");
        } else {
            o.commit_every = static_cast<int>(*v);
        }
    }
    if (summary_interval) {
        const auto v = parse_long(*summary_interval);
        if (!v || *v < 0 || *v > INT_MAX) {
            problems.push_back("--summary-interval-ms \"" + *summary_interval
                               + "\" must be a non-negative integer (0: only at exit)");
        } else {
            o.summary_interval_ms = static_cast<int>(*v);
        }
    }
    if (o.migrate_only && o.no_migrate) {
        problems.push_back("--migrate and --no-migrate exclude each other");
    }

    if (o.broker == Broker::kRabbitmq) {
        for (const auto& flag : kafka_only) {
            problems.push_back(flag + " is for --broker kafka");
        }
        amqp_url = pick(amqp_url, "INVENTORY_AMQP_URL");
        amqp_ca_file = pick(amqp_ca_file, "INVENTORY_AMQP_CA_FILE");
        queue = pick(queue, "INVENTORY_QUEUE");
        ack_queue = pick(ack_queue, "INVENTORY_ACK_QUEUE");
        if (amqp_ca_file) {
            o.amqp_ca_file = trim(*amqp_ca_file);
        }
        if (!amqp_url || trim(*amqp_url).empty()) {
            problems.push_back("--amqp-url (or INVENTORY_AMQP_URL) is required: "
                               "amqp://user:password@host:port/vhost");
        } else if (!parse_amqp_url(trim(*amqp_url), o.amqp_ca_file)) {
            // Not quoted: it holds the password.
            problems.push_back("--amqp-url is not an AMQP URI (amqp://user:password@host:port/"
                               "vhost or amqps://...)");
        } else {
            o.amqp_url = trim(*amqp_url);
        }
        if (!queue || trim(*queue).empty()) {
            problems.push_back("--queue (or INVENTORY_QUEUE) is required: the order queue");
        } else {
            o.queue = trim(*queue);
        }
        if (ack_queue) {
            if (trim(*ack_queue).empty()) {
                problems.push_back("--ack-queue must not be empty");
            } else {
                o.ack_queue = trim(*ack_queue);
            }
        }
        if (!o.queue.empty() && o.queue == o.ack_queue) {
            problems.push_back("--queue " + o.queue
                               + " is also the --ack-queue: reports are not orders");
        }
        return r;
    }

    for (const auto& flag : rabbitmq_only) {
        problems.push_back(flag + " is for --broker rabbitmq");
    }
    bootstrap = pick(bootstrap, "INVENTORY_BOOTSTRAP");
    ack_topic = pick(ack_topic, "INVENTORY_ACK_TOPIC");
    instance_id = pick(instance_id, "INVENTORY_INSTANCE_ID");
    properties_file = pick(properties_file, "INVENTORY_PROPERTIES");
    if (topic_args.empty()) {
        if (auto t = env("INVENTORY_TOPICS")) {
            topic_args.push_back(*t);
        }
    }
    if (!bootstrap || trim(*bootstrap).empty()) {
        problems.push_back(
            "--bootstrap (or INVENTORY_BOOTSTRAP) is required: Kafka host:port[,...]");
    } else {
        o.bootstrap = trim(*bootstrap);
    }
    for (const auto& t : topic_args) {
        for (const auto& name : split_topics(t)) {
            if (name.empty()) {
                problems.push_back("--topic \"" + t + "\" names an empty topic");
            } else {
                o.topics.push_back(name);
            }
        }
    }
    if (topic_args.empty()) {
        problems.push_back("--topic (or INVENTORY_TOPICS) is required: the order topic(s)");
    }
    if (ack_topic) {
        if (trim(*ack_topic).empty()) {
            problems.push_back("--ack-topic must not be empty");
        } else {
            o.ack_topic = trim(*ack_topic);
        }
    }
    for (const auto& t : o.topics) {
        if (t == o.ack_topic) {
            problems.push_back("--topic " + t
                               + " is also the --ack-topic: failure reports are not orders");
        }
    }
    if (instance_id) {
        o.instance_id = trim(*instance_id);
    }
    if (properties_file) {
        read_properties_file(o, problems, *properties_file);
    }
    for (const auto& p : x_props) {
        add_property(o, problems, "-X", p);
    }
    return r;
}

std::string usage() {
    return R"(Usage: outboxd-inventory-consumer [OPTIONS]

The reference idempotent consumer (docs/consumers.md): reads orders that
outboxd relays to Kafka or RabbitMQ and reserves stock in PostgreSQL exactly
once. Each message is applied in one transaction together with a row in the
inbox table (outbox-source, outbox-id); a redelivered message changes
nothing. A message it cannot process is reported as failed, then skipped.

Kafka: the offset is committed only after the transaction committed (that
commit is what confirms the row to outboxd); failures go to the ack topic.
RabbitMQ (--broker rabbitmq): every message is answered on the ack queue,
`consumed` after its transaction committed (a redelivery too) or `failed`;
the delivery is acknowledged only once the broker confirmed that report.

Message: headers outbox-source and outbox-id (outboxd sets both), payload
  {"sku": "A-1", "qty": 3}   sku: non-empty string; qty: integer, 1..2147483647

Options (a command-line value wins over its environment variable):
  --broker kafka|rabbitmq  the broker (default kafka)           INVENTORY_BROKER
  --group ID               consumer group id (Kafka); on both   INVENTORY_GROUP
                           brokers the name in reports
                           (outbox-consumer) and the name
                           outboxd's confirm.consumers lists
  --dsn DSN                PostgreSQL connection string         INVENTORY_DSN
                           (libpq: keyword=value or URI; PGPASSWORD/PGPASSFILE work)
  --schema NAME            schema of inventory and              INVENTORY_SCHEMA
                           inventory_inbox (default public)
  --commit-every N         commit offsets (Kafka) or            INVENTORY_COMMIT_EVERY
                           acknowledge deliveries (RabbitMQ)
                           every N messages, or after 1 s,
                           whichever comes first (default 1;
                           larger is faster and safe:
                           redeliveries hit the inbox)
  --summary-interval-ms MS summary line period (default 30000;  INVENTORY_SUMMARY_INTERVAL_MS
                           0: only at exit)
  --migrate                create the schema and tables if missing, then exit
  --no-migrate             create nothing at start, only check the tables exist
                           (default: create what is missing, then consume)
  -h, --help               this text

Kafka:
  --bootstrap HOSTS        Kafka bootstrap servers              INVENTORY_BOOTSTRAP
  --topic NAME[,NAME]      order topic(s); repeatable           INVENTORY_TOPICS
  --ack-topic NAME         topic for failure reports            INVENTORY_ACK_TOPIC
                           (default outbox.acks; must exist)
  --instance-id ID         static group membership              INVENTORY_INSTANCE_ID
                           (group.instance.id): a restart with
                           the same id gets its partitions back
                           without a rebalance; one per process
  --properties FILE        librdkafka properties, KEY=VALUE     INVENTORY_PROPERTIES
                           lines (TLS, SASL, tuning), for both
                           the consumer and the report producer;
                           a key prefixed consumer. or producer.
                           is for that client only
  -X, --property KEY=VALUE one librdkafka property; repeatable, wins over --properties.
                           Refused: enable.auto.commit, enable.auto.offset.store,
                           auto.offset.reset, isolation.level, group.id,
                           group.instance.id, bootstrap.servers, acks,
                           enable.idempotence

RabbitMQ (--broker rabbitmq):
  --amqp-url URL           amqp://user:password@host:port/vhost INVENTORY_AMQP_URL
                           or amqps://...
  --amqp-ca-file FILE      amqps: PEM CA file (default: the     INVENTORY_AMQP_CA_FILE
                           system bundle)
  --queue NAME             the order queue (waited for while    INVENTORY_QUEUE
                           it does not exist)
  --ack-queue NAME         queue for reports, outboxd's         INVENTORY_ACK_QUEUE
                           confirm.ack_queue (default
                           outbox.acks; must exist)

Exit codes: 0 stopped by SIGTERM/SIGINT (current message finished, offsets
committed) or --migrate done; 1 a runtime problem that is not an outage (a
database error such as a missing privilege, a report the broker refuses,
a fatal Kafka error, a refused AMQP login); 2 bad arguments. PostgreSQL and
RabbitMQ unreachable are retried with back-off; Kafka clients retry by
themselves.
)";
}

} // namespace inventory
