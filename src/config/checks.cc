#include "config/checks.h"

#include "common/topic_route.h"
#include "config/dsn.h"
#include "config/options.h"
#include "config/rabbit_topology.h"
#include "console/tokens.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace outboxd::config {
namespace {

// The trimmed content of a *_file secret, or nothing after a problem at
// `where` (messages name the file, never its content). `*resolved` gets
// the path read: relative to the config file, like other daemons' *_file
// options, so a config and its secret can move together; from the
// environment there is no file to be relative to.
std::optional<std::string> read_secret_file(LoadState& state,
                                            const std::string& path,
                                            const std::string& where,
                                            bool from_env,
                                            std::string* resolved) {
    std::filesystem::path file(path);
    if (file.is_relative() && !from_env && !state.base_dir.empty()) {
        file = std::filesystem::path(state.base_dir) / file;
    }
    *resolved = file.string();
    std::string text;
    std::string error;
    if (!read_file(*resolved, &text, &error)) {
        state.add_problem(where, "cannot read " + echo(*resolved) + ": " + error);
        return std::nullopt;
    }
    std::string value = trim(text);
    if (value.empty()) {
        state.add_problem(where, "file " + echo(*resolved) + " is empty");
        return std::nullopt;
    }
    return value;
}

// libpq parses the DSN only when it connects, and its messages then quote
// the text around the mistake, which may be the password (to logs, and
// before this check to /readyz). Parse it here, and never echo the DSN.
void check_dsn_syntax(LoadState& state, const std::string& dsn, const std::string& where) {
    const auto params = parse_dsn(dsn);
    if (!params) {
        state.add_problem(where, "is not a valid libpq connection string (keyword=value pairs or a "
                                 "postgresql:// URI); the parser's message is not shown because it "
                                 "can quote the password");
        return;
    }
    for (const auto& [keyword, value] : *params) {
        if (keyword == "host" && value.find('@') != std::string::npos) {
            state.add_problem(where, "its host contains '@': write an '@' in the user name or "
                                     "password of a postgresql:// URI as %40");
        }
    }
}

void check_dsn(LoadState& state, Config& config) {
    const bool has_dsn = state.is_set("postgres.dsn");
    const bool has_file = state.is_set("postgres.dsn_file");
    if (has_dsn && has_file) {
        const std::string dsn_origin = state.origin("postgres.dsn");
        state.add_problem(state.origin("postgres.dsn_file"),
                          "set either postgres.dsn or postgres.dsn_file, not both"
                              + (dsn_origin == "postgres.dsn"
                                     ? std::string()
                                     : " (postgres.dsn is set by " + dsn_origin + ")"));
        return;
    }
    if (!has_dsn && !has_file) {
        state.add_problem("postgres.dsn",
                          "is required (set postgres.dsn or postgres.dsn_file in the file, or "
                          "OUTBOXD_POSTGRES_DSN or OUTBOXD_POSTGRES_DSN_FILE)");
        return;
    }
    auto it = state.settings.find("postgres.dsn_file");
    if (it == state.settings.end()) {
        // The DSN itself, or a dsn_file already reported.
        if (!config.postgres.dsn.empty()) {
            check_dsn_syntax(state, config.postgres.dsn, state.origin("postgres.dsn"));
        }
        return;
    }
    std::string file;
    const auto dsn = read_secret_file(state, std::get<std::string>(it->second.value),
                                      it->second.origin, it->second.from_env, &file);
    if (!dsn) {
        return;
    }
    config.postgres.dsn = *dsn;
    check_dsn_syntax(state, *dsn, it->second.origin);
}

// rabbitmq.url or rabbitmq.url_file, like the DSN: exactly one of them
// when RabbitMQ is the broker; the file's content becomes the URL.
void check_rabbitmq_url(LoadState& state, Config& config) {
    const bool has_url = state.is_set("rabbitmq.url");
    const bool has_file = state.is_set("rabbitmq.url_file");
    if (has_url && has_file) {
        state.add_problem(state.origin("rabbitmq.url_file"),
                          "set either rabbitmq.url or rabbitmq.url_file, not both");
        return;
    }
    if (config.broker != BrokerKind::kRabbitMq) {
        return; // not used; its shape was checked like any option's
    }
    if (!has_url && !has_file) {
        state.add_problem("rabbitmq.url",
                          "is required with broker: rabbitmq (set rabbitmq.url or "
                          "rabbitmq.url_file in the file, or OUTBOXD_RABBITMQ_URL or "
                          "OUTBOXD_RABBITMQ_URL_FILE)");
        return;
    }
    auto it = state.settings.find("rabbitmq.url_file");
    if (it == state.settings.end()) {
        return; // the URL itself, already checked
    }
    std::string file;
    const auto url = read_secret_file(state, std::get<std::string>(it->second.value),
                                      it->second.origin, it->second.from_env, &file);
    if (!url) {
        return;
    }
    const std::string problem = find_option("rabbitmq.url")->check_text(*url);
    if (!problem.empty()) {
        state.add_problem(it->second.origin, "the content of " + echo(file) + " " + problem);
        return;
    }
    config.rabbitmq.url = *url;
}

// A RabbitMQ file option that is set and not empty (broker: rabbitmq
// only): its setting, and its path resolved against the config file's
// directory (from the environment there is none to be relative to).
const Setting* rabbitmq_file(const LoadState& state,
                             const Config& config,
                             const std::string& key,
                             std::filesystem::path* file) {
    auto it = state.settings.find(key);
    if (it == state.settings.end() || config.broker != BrokerKind::kRabbitMq) {
        return nullptr;
    }
    *file = std::filesystem::path(std::get<std::string>(it->second.value));
    if (file->empty()) {
        return nullptr;
    }
    if (file->is_relative() && !it->second.from_env && !state.base_dir.empty()) {
        *file = std::filesystem::path(state.base_dir) / *file;
    }
    return &it->second;
}

// rabbitmq.ca_file: relative to the config file (as the *_file secrets),
// readable now, and only beside an amqps:// URL (a CA for a plain
// connection is a mistake that would leave the link unencrypted).
void check_rabbitmq_ca_file(LoadState& state, Config& config) {
    std::filesystem::path file;
    const Setting* set = rabbitmq_file(state, config, "rabbitmq.ca_file", &file);
    if (set == nullptr) {
        return;
    }
    const std::string& where = set->origin;
    config.rabbitmq.ca_file = file.string();
    if (!config.rabbitmq.url.empty() && config.rabbitmq.url.rfind("amqps://", 0) != 0) {
        state.add_problem(where, "is set but rabbitmq.url is not an amqps:// URI (the CA verifies "
                                 "TLS connections only)");
        return;
    }
    std::string text;
    std::string error;
    if (!read_file(config.rabbitmq.ca_file, &text, &error)) {
        state.add_problem(where, "cannot read " + echo(config.rabbitmq.ca_file) + ": " + error);
        return;
    }
    if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        state.add_problem(where, echo(config.rabbitmq.ca_file) + " holds no PEM certificate");
        return;
    }
}

// confirm.*: which report channel belongs to which broker, and whether
// there is anything to confirm.
void check_confirm(LoadState& state, Config& config) {
    const Confirm& c = config.confirm;
    config.postgres.confirm_consumers = c.consumers;
    std::vector<std::string> seen;
    for (const auto& name : c.consumers) {
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
            state.add_problem(state.origin("confirm.consumers"), "names " + echo(name) + " twice");
        }
        seen.push_back(name);
    }
    const bool rabbit = config.broker == BrokerKind::kRabbitMq;
    if (!c.ack_topic.empty() && rabbit) {
        state.add_problem(state.origin("confirm.ack_topic"),
                          "is for Kafka; with broker: rabbitmq set confirm.ack_queue");
    }
    if (!c.ack_queue.empty() && !rabbit) {
        state.add_problem(state.origin("confirm.ack_queue"),
                          "is for RabbitMQ; with broker: kafka set confirm.ack_topic");
    }
    if (c.ack_queue.size() > 255) {
        state.add_problem(state.origin("confirm.ack_queue"),
                          "must be a queue name of 1 to 255 bytes");
    }
    if (!c.enabled()) {
        for (const char* key : {"confirm.ack_topic", "confirm.ack_queue"}) {
            const auto it = state.settings.find(key);
            if (it != state.settings.end() && !std::get<std::string>(it->second.value).empty()) {
                state.add_problem(it->second.origin, "is set but confirm.consumers is empty "
                                                     "(nothing would be confirmed)");
            }
        }
        return;
    }
    if (rabbit && c.ack_queue.empty()) {
        state.add_problem("confirm.ack_queue",
                          "is required with confirm.consumers on RabbitMQ: a queue has no "
                          "committed offsets, so consumer reports are the only confirmation there "
                          "(docs/consumers.md)");
    }
}

// http.console and http.tokens_file: the console needs the endpoint; the
// tokens file (relative to the config file) is read and parsed now, so a
// reload with a bad one is refused as a whole and the old tokens stay.
void check_console(LoadState& state, Config& config) {
    auto& http = config.http;
    if (http.console && http.listen.empty()) {
        state.add_problem(state.origin("http.console"),
                          "needs the HTTP endpoint, but http.listen is empty");
    }
    const auto it = state.settings.find("http.tokens_file");
    if (it == state.settings.end() || http.tokens_file.empty()) {
        return;
    }
    const std::string& where = it->second.origin;
    if (!http.console) {
        state.add_problem(where, "is set but http.console is false (no console would use it)");
        return;
    }
    std::filesystem::path file(http.tokens_file);
    if (file.is_relative() && !it->second.from_env && !state.base_dir.empty()) {
        file = std::filesystem::path(state.base_dir) / file;
    }
    http.tokens_file = file.string();
    auto loaded = console::load_tokens_file(http.tokens_file);
    for (const auto& p : loaded.problems) {
        state.add_problem(where, p);
    }
    http.tokens = std::move(loaded.tokens);
}

// rabbitmq.declare_file: relative to the config file, read and parsed
// now, so a malformed topology is listed with every other problem.
void check_rabbitmq_declare_file(LoadState& state, Config& config) {
    std::filesystem::path file;
    const Setting* set = rabbitmq_file(state, config, "rabbitmq.declare_file", &file);
    if (set == nullptr) {
        return;
    }
    const std::string& where = set->origin;
    std::string text;
    std::string error;
    if (!read_file(file.string(), &text, &error)) {
        state.add_problem(where, "cannot read " + echo(file.string()) + ": " + error);
        return;
    }
    std::vector<std::string> found;
    config.rabbitmq.declare = parse_rabbit_topology(text, file.string(), &found);
    for (const auto& f : found) {
        state.add_problem(where, echo(file.string()) + ": " + f);
    }
}

// Each kafka.properties_files entry becomes a kafka.properties value.
// Messages name the file but never show its content: it is a secret.
void check_property_files(LoadState& state, Config& config) {
    config.kafka.properties_files.clear();
    auto it = state.settings.find("kafka.properties_files");
    if (it == state.settings.end()) {
        return;
    }
    const auto& files = std::get<std::map<std::string, std::string>>(it->second.value);
    for (const auto& [key, path] : files) {
        const auto where = state.entry_origins.find("kafka.properties_files." + key);
        const EntryOrigin entry = where == state.entry_origins.end()
                                      ? EntryOrigin{it->second.origin, it->second.from_env}
                                      : where->second;
        if (config.kafka.properties.count(key) != 0) {
            const auto other = state.entry_origins.find("kafka.properties." + key);
            const std::string by = other == state.entry_origins.end() || !other->second.from_env
                                       ? std::string()
                                       : " (by " + other->second.origin + ")";
            state.add_problem(entry.origin, key + " is also set in kafka.properties" + by
                                                + "; set it in one place");
            continue;
        }
        std::string file;
        const auto value = read_secret_file(state, path, entry.origin, entry.from_env, &file);
        if (!value) {
            continue;
        }
        const std::string problem =
            check_kafka_property(key, *value, "the content of " + echo(file));
        if (!problem.empty()) {
            state.add_problem(entry.origin, problem);
            continue;
        }
        config.kafka.properties[key] = *value;
        config.kafka.properties_files[key] = file;
    }
}

void check_at_least(LoadState& state,
                    const std::string& big_key,
                    std::int64_t big,
                    const std::string& small_key,
                    std::int64_t small) {
    if (state.broken.count(big_key) != 0 || state.broken.count(small_key) != 0 || big >= small) {
        return;
    }
    // Point at whichever one the operator wrote; if both, at the bound.
    if (state.settings.count(big_key) != 0) {
        state.add_problem(state.origin(big_key), "must be at least " + small_key + " = "
                                                     + std::to_string(small) + " (got "
                                                     + std::to_string(big) + ")");
    } else {
        state.add_problem(state.origin(small_key), "must be at most " + big_key + " = "
                                                       + std::to_string(big) + ", its default (got "
                                                       + std::to_string(small) + ")");
    }
}

// Two roles in one column would corrupt rows (e.g. status counted as
// attempts). Columns outboxd only reads may share a column with another
// read-only role (a Debezium table may key its messages by their id).
void check_columns_distinct(LoadState& state, const Config& config) {
    static const char* const kReadOnly[] = {"topic",    "key",        "payload",         "headers",
                                            "event_id", "event_type", "event_timestamp", "tracing"};
    const auto read_only = [](const std::string& key) {
        return std::any_of(std::begin(kReadOnly), std::end(kReadOnly), [&](const char* k) {
            return key == std::string("postgres.columns.") + k;
        });
    };
    std::map<std::string, std::string> owner; // column name -> option key
    for (const Option& o : options()) {
        if (!starts_with(o.key, "postgres.columns.") || o.load == nullptr) {
            continue;
        }
        const std::string name = std::get<std::string>(o.load(config));
        if (name.empty()) {
            continue;
        }
        const auto [it, inserted] = owner.emplace(name, o.key);
        if (!inserted && state.broken.count(o.key) == 0 && state.broken.count(it->second) == 0
            && !(read_only(o.key) && read_only(it->second))) {
            state.add_problem(state.origin(o.key),
                              "same column as " + it->second + " (" + echo(name) + ")");
        }
    }
}

// The mapping of another layout's table (docs/debezium.md): the route's
// expression and replacement, the additional fields' names.
void check_mapping(LoadState& state, const Config& config) {
    const Postgres& pg = config.postgres;
    if (!pg.route.by_column.empty() && state.broken.count("postgres.route.topic_regex") == 0
        && state.broken.count("postgres.route.topic_replacement") == 0) {
        auto route = TopicRoute::compile(pg.route.topic_regex, pg.route.topic_replacement);
        if (auto* err = std::get_if<std::string>(&route)) {
            const bool about_regex = starts_with(*err, "route.topic_regex");
            state.add_problem(state.origin(about_regex ? "postgres.route.topic_regex"
                                                       : "postgres.route.topic_replacement"),
                              err->substr(err->find(": ") + 2));
        }
    }
    if (!pg.route.by_column.empty() && config.confirm.enabled()
        && config.broker == BrokerKind::kKafka) {
        // Offsets confirm rows by (topic, partition, offset), and the table
        // holds the value the topic is made from, not the topic.
        state.add_problem(state.origin("confirm.consumers"),
                          "confirmation by Kafka consumer offsets needs the topic in the table; "
                          "with postgres.route.by_column set it is not supported yet");
    }
    if (state.broken.count("postgres.additional_fields") != 0) {
        return;
    }
    const std::string where = state.origin("postgres.additional_fields");
    int partitions = 0;
    std::map<std::string, int> envelope_names;
    for (const AdditionalField& f : pg.additional_fields) {
        switch (f.placement) {
        case Placement::kPartition:
            if (++partitions == 2) {
                state.add_problem(where, "at most one column can give the partition");
            }
            if (config.broker == BrokerKind::kRabbitMq) {
                state.add_problem(where, "a partition placement needs broker: kafka ("
                                             + echo(f.column) + ")");
            }
            break;
        case Placement::kEnvelope:
            if (f.alias == "payload" || ++envelope_names[f.alias] == 2) {
                state.add_problem(where, "envelope member " + echo(f.alias)
                                             + " is used twice (\"payload\" holds the payload)");
            }
            break;
        case Placement::kHeader:
            if (f.alias == "outbox-id" || f.alias == "outbox-source"
                || (f.alias == "id" && !pg.columns.event_id.empty())) {
                state.add_problem(where,
                                  "header " + echo(f.alias)
                                      + " is outboxd's own (outbox-id, outbox-source, and id "
                                        "with postgres.columns.event_id)");
            }
            break;
        }
    }
    const std::string& source = config.message.ce_source;
    for (char c : source) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            state.add_problem(state.origin("message.cloudevents.source"),
                              "must be a URI reference without spaces or control characters");
            break;
        }
    }
}

// retention.mode partition: the table's DDL and the drop rule need both.
void check_retention(LoadState& state, const Config& config) {
    const Postgres& pg = config.postgres;
    if (pg.retention_mode == RetentionMode::kPartition) {
        const std::string mode = state.origin("retention.mode");
        if (config.retention.sent_max_age.count() == 0) {
            state.add_problem(mode, "partition needs retention.sent_max_age_ms > 0 (the age after "
                                    "which a partition of sent rows is dropped)");
        }
        if (pg.layout == Layout::kDebezium) {
            state.add_problem(mode, "partition needs postgres.layout outboxd: an adopted "
                                    "Debezium table is not partitioned by outboxd's id");
        }
    }
}

} // namespace

void check_whole(LoadState& state, Config& config) {
    check_dsn(state, config);
    check_rabbitmq_url(state, config);
    check_rabbitmq_ca_file(state, config);
    check_console(state, config);
    check_rabbitmq_declare_file(state, config);
    check_confirm(state, config);
    for (const Option& o : options()) {
        // The Kafka section is needed only when Kafka is the broker.
        const bool needed =
            o.key != "kafka.bootstrap_servers" || config.broker == BrokerKind::kKafka;
        if (o.required && needed && o.key != "postgres.dsn" && !state.is_set(o.key)) {
            state.add_problem(o.key, "is required (set it in the file or with "
                                         + env_var_name(o.key) + ")");
        }
    }
    for (const auto& rule : at_least_rules()) {
        check_at_least(state, std::string(rule.big), int_value(config, rule.big),
                       std::string(rule.small), int_value(config, rule.small));
    }
    check_columns_distinct(state, config);
    check_mapping(state, config);
    check_retention(state, config);
    check_property_files(state, config);
}

} // namespace outboxd::config
