#include "cli/debezium_convert.h"

#include "common/java_properties.h"
#include "common/text.h"
#include "common/topic_route.h"
#include "config/dsn.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

namespace outboxd::cli::debezium {

const std::string* Connector::find(const std::string& key) const {
    for (const Entry& e : entries) {
        if (e.key == key) {
            return &e.value;
        }
    }
    return nullptr;
}

namespace {

// ---------------------------------------------------------------------------
// Text helpers

bool starts_with(const std::string& text, const std::string& prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size()
           && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// Kafka Connect trims the values of its own options (ConfigDef) the same way.
std::string trim(const std::string& text) {
    const auto blank = [](unsigned char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    };
    std::size_t b = 0;
    std::size_t e = text.size();
    while (b < e && blank(static_cast<unsigned char>(text[b]))) {
        ++b;
    }
    while (e > b && blank(static_cast<unsigned char>(text[e - 1]))) {
        --e;
    }
    return text.substr(b, e - b);
}

// "a, b,,c" -> {"a", "b", "c"}: Connect's LIST type.
std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const auto comma = text.find(',', start);
        std::string item = trim(text.substr(start, comma - start));
        if (!item.empty()) {
            out.push_back(std::move(item));
        }
        if (comma == std::string::npos) {
            return out;
        }
        start = comma + 1;
    }
}

bool valid_utf8(const std::string& text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1Fu;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0Fu;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (i + extra >= text.size()) {
            return false;
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto d = static_cast<unsigned char>(text[i + k]);
            if ((d & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (d & 0x3Fu);
        }
        const std::uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
        if (cp < smallest[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

std::string latin1_to_utf8(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        append_utf8(out, static_cast<unsigned char>(c));
    }
    return out;
}

// A Kafka Connect config provider reference (${file:/path:key},
// ${env:NAME}): resolved by the worker, never by outboxd.
bool provider_reference(const std::string& value) {
    const auto open = value.find("${");
    if (open == std::string::npos) {
        return false;
    }
    const auto close = value.find('}', open);
    const auto colon = value.find(':', open);
    return close != std::string::npos && colon != std::string::npos && colon < close;
}

// Text that goes into a YAML comment stays on its line.
std::string one_line(const std::string& text) {
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    return out;
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        out += (i > 0 ? separator : std::string()) + parts[i];
    }
    return out;
}

// A YAML double-quoted scalar.
std::string yaml_quoted(const std::string& text) {
    static const char kHex[] = "0123456789abcdef";
    std::string out = "\"";
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            out += "\\x";
            out += kHex[u >> 4];
            out += kHex[u & 0x0F];
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

// ---------------------------------------------------------------------------
// Reading a connector's file (the Properties text itself:
// common/java_properties.h)

// Adds or replaces `key`: the last value wins, the first position stays.
void put(Connector& c, std::string key, std::string value, std::vector<std::string>& notes) {
    for (Entry& e : c.entries) {
        if (e.key == key) {
            notes.push_back(key
                            + " is set more than once: the last value is used, as Kafka "
                              "Connect does");
            e.value = std::move(value);
            return;
        }
    }
    c.entries.push_back(Entry{std::move(key), std::move(value)});
}

std::string with_bom_removed(const std::string& text) {
    return starts_with(text, "\xEF\xBB\xBF") ? text.substr(3) : text;
}

} // namespace

ParsedConnector parse_properties(const std::string& text) {
    ParsedConnector out;
    const std::string bare = with_bom_removed(text);
    // Java reads a properties stream as Latin-1; UTF-8 is kept as it is.
    const std::string input = valid_utf8(bare) ? bare : latin1_to_utf8(bare);
    for (JavaProperty& p : parse_java_properties(input)) {
        if (!p.problem.empty()) {
            out.status = Status::failure("line " + std::to_string(p.line) + ": " + p.problem);
            return out;
        }
        put(out.connector, std::move(p.key), std::move(p.value), out.notes);
    }
    if (const std::string* name = out.connector.find("name")) {
        out.connector.name = trim(*name);
    }
    return out;
}

namespace {

using OrderedJson = nlohmann::ordered_json;

// A configuration value: Connect's REST API takes strings, and Jackson
// turns numbers and booleans into their text.
Status value_text(const OrderedJson& v, std::string& out) {
    if (v.is_string()) {
        out = v.get<std::string>();
    } else if (v.is_boolean()) {
        out = v.get<bool>() ? "true" : "false";
    } else if (v.is_number()) {
        out = v.dump();
    } else {
        const std::string kind = v.is_object()  ? "an object"
                                 : v.is_array() ? "an array"
                                                : std::string("a ") + v.type_name();
        return Status::failure(kind + " where a configuration value (text) was expected");
    }
    return {};
}

} // namespace

ParsedConnector parse_json(const std::string& text) {
    ParsedConnector out;
    OrderedJson doc;
    try {
        doc = OrderedJson::parse(with_bom_removed(text));
    } catch (const std::exception& e) {
        out.status = Status::failure(std::string("not valid JSON: ") + e.what());
        return out;
    }
    if (!doc.is_object()) {
        out.status = Status::failure(std::string("the JSON is a ") + doc.type_name()
                                     + ", not an object of configuration keys");
        return out;
    }
    const bool wrapped = doc.contains("config") && doc["config"].is_object();
    const OrderedJson& keys = wrapped ? doc["config"] : doc;
    if (wrapped) {
        for (const auto& [k, v] : doc.items()) {
            if (k == "config") {
                continue;
            }
            if (k == "name" && v.is_string()) {
                out.connector.name = trim(v.get<std::string>());
                continue;
            }
            out.notes.push_back("\"" + one_line(k)
                                + "\" beside \"config\" is not part of the connector's "
                                  "configuration (the REST API's wrapper): ignored");
        }
    }
    for (const auto& [k, v] : keys.items()) {
        if (v.is_null()) {
            out.notes.push_back(k + " is null: taken as not set");
            continue;
        }
        std::string value;
        if (Status st = value_text(v, value); !st.ok()) {
            out.status = Status::failure(k + ": " + st.error());
            return out;
        }
        put(out.connector, k, std::move(value), out.notes);
    }
    if (out.connector.name.empty()) {
        if (const std::string* name = out.connector.find("name")) {
            out.connector.name = trim(*name);
        }
    }
    return out;
}

ParsedConnector parse_connector(const std::string& text, const std::string& file_name) {
    const std::string bare = with_bom_removed(text);
    const auto first = bare.find_first_not_of(" \t\r\n\f");
    ParsedConnector out;
    if (first == std::string::npos) {
        out.status = Status::failure("the file is empty");
        return out;
    }
    if (bare[first] == '{' || bare[first] == '[') {
        out = parse_json(bare);
    } else if (ends_with(lower(file_name), ".json")) {
        out.status = Status::failure(
            "the name ends in .json but the text does not start with '{' (a JSON object)");
        return out;
    } else {
        out = parse_properties(bare);
    }
    if (out.status.ok() && out.connector.entries.empty()) {
        out.status = Status::failure("no configuration keys in it");
    }
    return out;
}

// ---------------------------------------------------------------------------
// The conversion

namespace {

const char kEventRouter[] = "io.debezium.transforms.outbox.EventRouter";
const char kPostgresConnector[] = "io.debezium.connector.postgresql.PostgresConnector";
const char kStringConverter[] = "org.apache.kafka.connect.storage.StringConverter";
const char kSimpleHeaderConverter[] = "org.apache.kafka.connect.storage.SimpleHeaderConverter";
const char kJsonConverter[] = "org.apache.kafka.connect.json.JsonConverter";
const char kCloudEventsConverter[] = "io.debezium.converters.CloudEventsConverter";
const char kBinaryDataConverter[] = "io.debezium.converters.BinaryDataConverter";

const char kNotWal[] = "not needed: outboxd reads the table, not the WAL";
const char kNoSchemas[] =
    "schemas are not used: outboxd sends the payload as stored, with no Connect schema";
const char kPlaceholderServers[] = "localhost:9092";

bool byte_array_converter(const std::string& cls) {
    return cls == "org.apache.kafka.connect.converters.ByteArrayConverter"
           || cls == "io.debezium.converters.ByteArrayConverter" || cls == kBinaryDataConverter;
}

bool registry_converter(const std::string& cls) {
    return cls.find("AvroConverter") != std::string::npos
           || cls.find("ProtobufConverter") != std::string::npos
           || cls.find("JsonSchemaConverter") != std::string::npos
           || starts_with(cls, "io.apicurio.") || starts_with(cls, "io.confluent.");
}

// Keys whose values are secrets: never echoed, never copied.
bool secret_key(const std::string& key) {
    const std::string k = lower(key);
    static const char* const kWords[] = {"password",   "secret",    "jaas",         "token",
                                         "credential", "user.info", "keystore.key", "key.pem",
                                         "api.key",    "apikey"};
    return std::any_of(std::begin(kWords), std::end(kWords),
                       [&k](const char* word) { return k.find(word) != std::string::npos; });
}

// Kafka's ConfigDef BOOLEAN: true or false, any case, blanks around.
std::optional<bool> parse_bool(const std::string& text) {
    const std::string t = lower(trim(text));
    if (t == "true") {
        return true;
    }
    if (t == "false") {
        return false;
    }
    return std::nullopt;
}

// A table.include.list entry that is a plain name, not a pattern:
// "public\.outbox", "^inventory.outboxevent$" -> "public.outbox",
// "inventory.outboxevent".
std::optional<std::string> plain_table(std::string entry) {
    if (starts_with(entry, "^")) {
        entry.erase(0, 1);
    }
    if (ends_with(entry, "$") && !ends_with(entry, "\\$")) {
        entry.pop_back();
    }
    std::string out;
    for (std::size_t i = 0; i < entry.size(); ++i) {
        const char c = entry[i];
        if (c == '\\') {
            const char n = i + 1 < entry.size() ? entry[i + 1] : '\0';
            if (n != '.' && n != '$' && n != '-' && n != '_') {
                return std::nullopt;
            }
            out += n;
            ++i;
            continue;
        }
        if (std::string("*+?()[]{}|^$").find(c) != std::string::npos) {
            return std::nullopt;
        }
        out += c;
    }
    if (out.empty()) {
        return std::nullopt;
    }
    return out;
}

// One outboxd setting the connector's configuration leads to, with the key
// it comes from (the YAML's trailing comment).
struct Setting {
    std::string key;   // outboxd's key under its section ("columns.payload")
    std::string value; // YAML text, already quoted where needed
    std::string from;  // the connector key(s) it comes from
};

// What one conversion has gathered. `mapped` and `reported` are keyed by
// the connector's keys; every key ends in one of them.
class Converter {
public:
    Converter(const Connector& c, const ConvertOptions& o)
        : c_(c)
        , options_(o) {}

    Conversion run();

private:
    const std::string* get(const std::string& key) const { return c_.find(key); }
    void use(const std::string& key) { mapped_.insert(key); }
    void report(const std::string& key, std::string reason) {
        if (get(key) != nullptr && reported_.count(key) == 0) {
            reported_[key] = std::move(reason);
        }
    }
    bool handled(const std::string& key) const {
        return mapped_.count(key) != 0 || reported_.count(key) != 0;
    }
    void note(std::string text) { notes_.push_back(std::move(text)); }
    // The value to copy into the outboxd configuration: nullopt (and the key
    // reported) when it is a config provider reference outboxd cannot resolve.
    std::optional<std::string> copyable(const std::string& key, const std::string& where) {
        const std::string* v = get(key);
        if (v == nullptr) {
            return std::nullopt;
        }
        if (provider_reference(*v)) {
            report(key, "a Kafka Connect config provider reference (${provider:...}), which only "
                        "the Connect worker resolves: write the value into "
                            + where + " yourself");
            return std::nullopt;
        }
        return trim(*v);
    }

    Status check_connector_class();
    Status find_router();
    void map_database();
    void map_table();
    void map_router();
    void map_column(const char* option, const char* dflt, const char* column);
    void map_route();
    void map_additional_fields();
    void map_router_flags();
    void map_other_transforms();
    void map_predicates();
    void map_converters();
    void judge_value_converter(const std::string& cls,
                               const std::string& key,
                               const std::string& prefix);
    void judge_key_converter(const std::string& cls);
    void judge_header_converter(const std::string& cls);
    void report_converter_options(const std::string& prefix, const std::string& why);
    void map_producer_overrides();
    void map_rest();
    std::string yaml() const;

    const Connector& c_;
    const ConvertOptions& options_;
    std::set<std::string> mapped_;
    std::map<std::string, std::string> reported_;
    std::vector<std::string> notes_;

    std::vector<std::string> chain_; // transforms, in order
    std::size_t router_at_ = 0;      // the EventRouter's place in chain_
    std::string router_;             // its alias
    std::string rp_;                 // "transforms.<alias>."

    // What goes into the YAML.
    std::vector<std::string> dsn_parts_;
    std::vector<std::string> dsn_from_;
    std::string table_ = "public.outbox";
    std::string table_from_;
    std::vector<Setting> postgres_;
    std::vector<std::string> additional_;
    bool expand_ = false;
    bool envelope_fields_ = false;
    std::string route_problem_;
    std::string envelope_; // message.envelope, "" for the default
    std::string bootstrap_;
    std::string bootstrap_from_;
    std::vector<std::pair<std::string, std::string>> kafka_properties_;
    bool tracing_explicit_ = false;
};

Status Converter::check_connector_class() {
    use("connector.class");
    use("name");
    const std::string* cls = get("connector.class");
    if (cls == nullptr) {
        note("connector.class is not set: taken as Debezium's PostgreSQL connector");
        return {};
    }
    const std::string name = trim(*cls);
    if (name == kPostgresConnector) {
        return {};
    }
    return Status::failure("connector.class is " + one_line(name)
                           + ": outboxd relays outbox rows from PostgreSQL only, so it converts "
                             "the configuration of Debezium's PostgreSQL connector ("
                           + kPostgresConnector + ")");
}

Status Converter::find_router() {
    if (const std::string* t = get("transforms")) {
        chain_ = split_list(*t);
    }
    use("transforms");
    std::vector<std::string> routers;
    for (std::size_t i = 0; i < chain_.size(); ++i) {
        const std::string* type = get("transforms." + chain_[i] + ".type");
        if (type != nullptr && trim(*type) == kEventRouter) {
            routers.push_back(chain_[i]);
            if (routers.size() == 1) {
                router_at_ = i;
            }
        }
    }
    if (routers.empty()) {
        for (const Entry& e : c_.entries) {
            if (!starts_with(e.key, "transforms.") || !ends_with(e.key, ".type")) {
                continue;
            }
            const std::string alias = e.key.substr(11, e.key.size() - 16);
            const std::string type = trim(e.value);
            if (type == kEventRouter) {
                return Status::failure(
                    e.key + " names the EventRouter, but \"" + alias
                    + "\" is not in transforms, so Kafka Connect never runs it: nothing to "
                      "convert");
            }
            if (ends_with(type, ".MongoEventRouter")) {
                return Status::failure(e.key
                                       + " is MongoDB's EventRouter: outboxd relays from "
                                         "PostgreSQL only");
            }
        }
        return Status::failure(std::string("no EventRouter transform: expected transforms=<alias> "
                                           "with transforms.<alias>.type=")
                               + kEventRouter);
    }
    router_ = routers.front();
    rp_ = "transforms." + router_ + ".";
    use(rp_ + "type");
    for (std::size_t i = 1; i < routers.size(); ++i) {
        report("transforms." + routers[i] + ".type",
               "a second EventRouter: converted is the first (" + router_
                   + "); outboxd relays one table per process, so convert once per outbox "
                     "table, keeping one EventRouter in the file");
    }
    return {};
}

void Converter::map_database() {
    static const std::pair<const char*, const char*> kParts[] = {
        {"database.hostname", "host"},   {"database.port", "port"},
        {"database.dbname", "dbname"},   {"database.user", "user"},
        {"database.sslmode", "sslmode"}, {"database.sslrootcert", "sslrootcert"},
        {"database.sslcert", "sslcert"}, {"database.sslkey", "sslkey"},
    };
    for (const auto& [key, keyword] : kParts) {
        const auto v = copyable(key, "postgres.dsn");
        if (!v) {
            continue;
        }
        use(key);
        if (v->empty()) {
            continue;
        }
        dsn_parts_.push_back(config::dsn_pair(keyword, *v));
        dsn_from_.emplace_back(key);
    }
    if (get("database.sslkey") != nullptr) {
        note("database.sslkey: the JDBC driver reads a PKCS-8 DER key file, libpq a PEM one: "
             "convert the key if it is DER (openssl pkcs8 -inform DER -outform PEM)");
    }
    if (get("database.hostname") == nullptr) {
        note("database.hostname is not set: the DSN names no host, so libpq uses its default "
             "(PGHOST, or the local socket)");
    }
    report("database.password",
           "never copied (a secret): give libpq the password in ~/.pgpass (or the file "
           "PGPASSFILE names), or keep the whole DSN with its password in a file named by "
           "postgres.dsn_file");
    report("database.sslpassword",
           "never copied (a secret): put sslpassword into a DSN kept in a file named by "
           "postgres.dsn_file");
}

void Converter::map_table() {
    const char* key = get("table.include.list") != nullptr ? "table.include.list"
                      : get("table.whitelist") != nullptr  ? "table.whitelist"
                                                           : nullptr;
    if (key == nullptr) {
        note("table.include.list is not set (the connector captures every table): postgres.table "
             "is a placeholder, set it to the outbox table");
        table_from_ = "placeholder: REPLACE with the outbox table (\"schema.table\")";
        return;
    }
    const auto v = copyable(key, "postgres.table");
    if (!v) {
        table_from_ = "placeholder: REPLACE with the outbox table (\"schema.table\")";
        return;
    }
    const auto entries = split_list(*v);
    std::vector<std::string> plain;
    bool patterns = false;
    for (const std::string& e : entries) {
        if (auto p = plain_table(e)) {
            plain.push_back(*p);
        } else {
            patterns = true;
        }
    }
    std::optional<std::string> chosen;
    if (entries.size() == 1 && plain.size() == 1) {
        chosen = plain.front();
        use(key);
    } else if (!patterns && plain.size() > 1) {
        std::vector<std::string> outboxes;
        for (const std::string& t : plain) {
            if (lower(t).find("outbox") != std::string::npos) {
                outboxes.push_back(t);
            }
        }
        if (outboxes.size() == 1) {
            chosen = outboxes.front();
            report(key, "names " + std::to_string(plain.size())
                            + " tables; outboxd relays the outbox table only, taken to be "
                            + *chosen + " (its name says outbox): check postgres.table");
        }
    }
    if (!chosen) {
        report(key, patterns ? "holds a pattern, not one table's name: set postgres.table to the "
                               "outbox table"
                             : "names several tables and none is clearly the outbox table: set "
                               "postgres.table to the outbox table");
        table_from_ = "placeholder: REPLACE with the outbox table (\"schema.table\")";
        return;
    }
    std::string table = *chosen;
    if (table.find('.') == std::string::npos) {
        std::string schema = "public";
        if (const std::string* s = get("schema.include.list")) {
            const auto schemas = split_list(*s);
            if (schemas.size() == 1 && plain_table(schemas.front())) {
                schema = *plain_table(schemas.front());
                use("schema.include.list");
            }
        }
        table = schema + "." + table;
    }
    if (table != lower(table)) {
        note("Debezium matches table.include.list ignoring case, outboxd quotes postgres.table: "
             "check that "
             + table + " is spelt as the table's name is stored");
    }
    table_ = table;
    table_from_ = key;
}

void Converter::map_column(const char* option, const char* dflt, const char* column) {
    const std::string key = rp_ + option;
    const auto v = copyable(key, std::string("postgres.columns.") + column);
    if (!v) {
        return;
    }
    if (v->empty()) {
        report(key, std::string("empty: not a column (the EventRouter fails on it); outboxd keeps "
                                "its debezium default")
                        + (*dflt != '\0' ? std::string(" (") + dflt + ")" : std::string()));
        return;
    }
    use(key);
    if (*v == dflt) {
        return;
    }
    postgres_.push_back(Setting{std::string("columns.") + column, yaml_quoted(*v), option});
}

void Converter::map_route() {
    const std::string by_key = rp_ + "route.by.field";
    const std::string regex_key = rp_ + "route.topic.regex";
    const std::string repl_key = rp_ + "route.topic.replacement";
    const auto by = copyable(by_key, "postgres.route.by_column");
    const auto regex = copyable(regex_key, "postgres.route.topic_regex");
    const auto repl = copyable(repl_key, "postgres.route.topic_replacement");
    if (by) {
        if (by->empty()) {
            report(by_key, "empty: not a column (the EventRouter fails on it); outboxd keeps its "
                           "debezium default (aggregatetype)");
        } else {
            use(by_key);
            if (*by != "aggregatetype") {
                postgres_.push_back(Setting{"route.by_column", yaml_quoted(*by), "route.by.field"});
            }
        }
    }
    const std::string r = regex.value_or("(?<routedByValue>.*)");
    const std::string p = repl.value_or("outbox.event.${routedByValue}");
    auto compiled = TopicRoute::compile(r, p);
    if (const auto* err = std::get_if<std::string>(&compiled)) {
        const bool about_regex = starts_with(*err, "route.topic_regex");
        const std::string why = err->substr(err->find(": ") + 2);
        const std::string& bad = about_regex ? regex_key : repl_key;
        const std::string& other = about_regex ? repl_key : regex_key;
        report(bad, "outboxd cannot translate it: " + why
                        + "; the topics differ from Debezium's until postgres.route.* is set by "
                          "hand");
        report(other, "not written: goes with " + bad + ", which outboxd cannot translate");
        route_problem_ = bad;
        return;
    }
    if (regex) {
        use(regex_key);
        if (*regex != "(?<routedByValue>.*)") {
            postgres_.push_back(
                Setting{"route.topic_regex", yaml_quoted(*regex), "route.topic.regex"});
        }
    }
    if (repl) {
        use(repl_key);
        if (*repl != "outbox.event.${routedByValue}") {
            postgres_.push_back(
                Setting{"route.topic_replacement", yaml_quoted(*repl), "route.topic.replacement"});
        }
    }
}

void Converter::map_additional_fields() {
    const std::string key = rp_ + "table.fields.additional.placement";
    const auto v = copyable(key, "postgres.additional_fields");
    if (!v) {
        return;
    }
    std::vector<std::string> problems;
    std::set<std::string> envelope_names;
    std::optional<std::size_t> partition_at; // index in additional_ of the partition entry
    std::string event_id = "id";
    if (const std::string* id = get(rp_ + "table.field.event.id");
        id != nullptr && !trim(*id).empty()) {
        event_id = trim(*id);
    }
    for (const std::string& entry : split_list(*v)) {
        std::vector<std::string> parts;
        std::size_t start = 0;
        for (;;) {
            const auto colon = entry.find(':', start);
            parts.push_back(trim(entry.substr(start, colon - start)));
            if (colon == std::string::npos) {
                break;
            }
            start = colon + 1;
        }
        if (parts.size() < 2 || parts.size() > 3 || parts[0].empty()) {
            problems.push_back("\"" + entry
                               + "\" is not column:placement[:alias] (Debezium "
                                 "refuses it)");
            continue;
        }
        const std::string placement = lower(parts[1]);
        const std::string& column = parts[0];
        const std::string alias = parts.size() == 3 && !parts[2].empty() ? parts[2] : column;
        if (placement == "partition") {
            if (parts.size() == 3) {
                problems.push_back("\"" + entry
                                   + "\": the alias of a partition placement has "
                                     "no effect; left out");
            }
            if (partition_at) {
                problems.push_back("\"" + additional_[*partition_at]
                                   + "\" left out: the EventRouter takes the partition from "
                                     "the last partition entry, outboxd allows one");
                additional_.erase(additional_.begin() + static_cast<std::ptrdiff_t>(*partition_at));
            }
            partition_at = additional_.size();
            additional_.push_back(column + ":partition");
            continue;
        }
        if (placement == "envelope") {
            if (alias == "payload" || !envelope_names.insert(alias).second) {
                problems.push_back("\"" + entry + "\" left out: the envelope member \"" + alias
                                   + "\" is used twice (Debezium refuses that schema too)");
                continue;
            }
            envelope_fields_ = true;
            additional_.push_back(column + ":envelope" + (alias != column ? ":" + alias : ""));
            continue;
        }
        if (placement != "header") {
            problems.push_back("\"" + entry + "\": placement \"" + parts[1]
                               + "\" is none of header, envelope, partition (Debezium fails on "
                                 "it); left out");
            continue;
        }
        if (alias == "outbox-id" || alias == "outbox-source") {
            problems.push_back("\"" + entry + "\" left out: header " + alias + " is outboxd's own");
            continue;
        }
        if (alias == "id") {
            problems.push_back(
                "\"" + entry + "\" left out: the EventRouter then sends two headers named id"
                + (column == event_id ? " with the same value; outboxd sends one"
                                      : "; outboxd sends one, from table.field.event.id"));
            continue;
        }
        additional_.push_back(column + ":header" + (alias != column ? ":" + alias : ""));
    }
    if (problems.empty()) {
        use(key);
    } else {
        std::string why = "mapped in part: ";
        for (std::size_t i = 0; i < problems.size(); ++i) {
            why += (i > 0 ? "; " : "") + problems[i];
        }
        report(key, why);
    }
}

void Converter::map_router_flags() {
    const auto flag = [&](const char* option, const char* setting) -> bool {
        const std::string key = rp_ + option;
        const std::string* v = get(key);
        if (v == nullptr) {
            return false;
        }
        const auto b = parse_bool(*v);
        if (!b) {
            report(key, "not true or false (Kafka Connect refuses it): outboxd keeps false");
            return false;
        }
        use(key);
        if (*b) {
            postgres_.push_back(Setting{setting, "true", option});
        }
        return *b;
    };
    expand_ = flag("table.expand.json.payload", "expand_json_payload");
    flag("route.tombstone.on.empty.payload", "tombstone_on_empty_payload");

    const std::string missing = rp_ + "table.field.additional.missing";
    if (const std::string* v = get(missing)) {
        const std::string m = lower(trim(*v));
        if (m == "error") {
            use(missing);
        } else if (m == "ignore") {
            report(missing, "not mapped: outboxd checks at start that every column of "
                            "postgres.additional_fields exists; leave out the columns the table "
                            "lacks instead of ignoring them");
        } else {
            report(missing, "neither error nor ignore (Debezium refuses it)");
        }
    }
    const std::string nulls = rp_ + "table.json.payload.null.behavior";
    if (const std::string* v = get(nulls)) {
        const std::string m = lower(trim(*v));
        if (m == "ignore" || !expand_) {
            use(nulls); // the default, or no effect without JSON expansion
        } else {
            report(nulls, "not mapped: outboxd expands JSON as Debezium's default (ignore) does; "
                          "with optional_bytes Debezium keeps members whose value is null, "
                          "outboxd leaves them out");
        }
    }
    const std::string naming = rp_ + "field.name.adjustment.mode";
    if (const std::string* v = get(naming)) {
        const std::string m = lower(trim(*v));
        if (m == "none" || !expand_) {
            use(naming); // no effect without JSON expansion
        } else {
            report(naming, "differs: with JSON expansion Debezium renames the payload's members "
                           "that are not Avro names ("
                               + one_line(m) + "); outboxd keeps every member's name as it is");
        }
    }
    report(rp_ + "table.field.event.schema.version",
           std::string(kNoSchemas)
               + " (it sets the value schema's version, which only "
                 "schema-carrying converters write)");
    report(rp_ + "table.op.invalid.behavior",
           "not needed: outboxd sends each row once, while it is pending; an UPDATE of the row is "
           "no event to it (outboxd updates its own columns), but an UPDATE before the row is "
           "sent changes what is sent");
    report(rp_ + "tracing.operation.name",
           "not mapped: outboxd starts no span of its own; the row's trace context reaches the "
           "message as it is (postgres.columns.tracing), so the consumer's span is a child of "
           "the application's, not of a relay span");
    const std::string only = rp_ + "tracing.with.context.field.only";
    if (const std::string* v = get(only)) {
        const auto b = parse_bool(*v);
        report(only, b.value_or(true)
                         ? "not needed: outboxd starts no span; a row without trace context is "
                           "sent without traceparent, as with this setting"
                         : "differs: with OpenTelemetry on Kafka Connect's class path Debezium "
                           "starts a new trace for a row without trace context (its message "
                           "carries that traceparent); outboxd sends such a row without one");
    }
    report(rp_ + "predicate",
           "not needed: outboxd reads only postgres.table, so no other change event reaches its "
           "mapping (the predicate kept the EventRouter to the outbox table's events)");
    report(rp_ + "negate", "not needed: goes with " + rp_ + "predicate");
}

void Converter::map_router() {
    map_column("table.field.event.id", "id", "event_id");
    map_column("table.field.event.key", "aggregateid", "key");
    map_column("table.field.event.type", "type", "event_type");
    map_column("table.field.event.payload", "payload", "payload");
    map_column("table.field.event.timestamp", "", "event_timestamp");
    const std::string tracing = rp_ + "tracing.span.context.field";
    tracing_explicit_ = get(tracing) != nullptr && trim(*get(tracing)) != "tracingspancontext";
    map_column("tracing.span.context.field", "tracingspancontext", "tracing");
    if (!tracing_explicit_) {
        note("Debezium sends the trace context of tracingspancontext only with OpenTelemetry on "
             "Kafka Connect's class path; outboxd sends the traceparent (and tracestate) headers "
             "whenever the table has that column: set postgres.columns.tracing: \"\" if the "
             "worker had no OpenTelemetry and consumers must see the same headers");
    }
    map_route();
    map_additional_fields();
    map_router_flags();
    for (const Entry& e : c_.entries) {
        if (starts_with(e.key, rp_) && !handled(e.key)) {
            report(e.key, "not an option of Debezium 3.6.1's EventRouter (which ignores it too)");
        }
    }
}

void Converter::map_other_transforms() {
    for (std::size_t i = 0; i < chain_.size(); ++i) {
        const std::string& alias = chain_[i];
        if (alias == router_) {
            continue;
        }
        const std::string type_key = "transforms." + alias + ".type";
        const std::string type = get(type_key) != nullptr ? trim(*get(type_key)) : "";
        std::string why;
        if (type == "io.debezium.transforms.tracing.ActivateTracingSpan") {
            why = "not mapped: outboxd starts no span; the row's trace context reaches the message "
                  "through postgres.columns.tracing";
        } else if (i < router_at_) {
            why = "not mapped: it runs before the EventRouter, on Debezium's change events (" + type
                  + "), which outboxd does not have; check that it does not change or drop the "
                    "outbox table's events, which outboxd sends unchanged";
        } else if (type == "org.apache.kafka.connect.transforms.RegexRouter") {
            why = "not mapped: it renames the EventRouter's topics afterwards; fold that renaming "
                  "into postgres.route.topic_replacement by hand";
        } else {
            why = "not mapped: it runs after the EventRouter, on the outbox messages (" + type
                  + "); outboxd's messages do not have its changes";
        }
        report(type_key, why);
        const std::string prefix = "transforms." + alias + ".";
        for (const Entry& e : c_.entries) {
            if (starts_with(e.key, prefix) && e.key != type_key) {
                report(e.key,
                       "an option of transform " + alias + ", not mapped (see " + type_key + ")");
            }
        }
    }
    for (const Entry& e : c_.entries) {
        if (starts_with(e.key, "transforms.") && !handled(e.key)) {
            report(e.key, "its transform is not in transforms: Kafka Connect does not run it");
        }
    }
}

void Converter::map_predicates() {
    std::map<std::string, std::string> used_by; // predicate -> transform alias
    for (const std::string& alias : chain_) {
        if (const std::string* p = get("transforms." + alias + ".predicate")) {
            used_by.emplace(trim(*p), alias);
        }
    }
    if (get("predicates") != nullptr) {
        report("predicates", "not needed: see the predicates.* keys");
    }
    for (const Entry& e : c_.entries) {
        if (!starts_with(e.key, "predicates.")) {
            continue;
        }
        const std::string rest = e.key.substr(11);
        const auto dot = rest.find('.');
        const std::string name = rest.substr(0, dot);
        const auto it = used_by.find(name);
        if (it == used_by.end()) {
            report(e.key, "not needed: no transform uses predicate " + name);
        } else if (it->second == router_) {
            report(e.key, "not needed: the EventRouter's predicate (see " + rp_ + "predicate)");
        } else {
            report(e.key, "the predicate of transform " + it->second + ", which is not mapped");
        }
    }
}

void Converter::report_converter_options(const std::string& prefix, const std::string& why) {
    for (const Entry& e : c_.entries) {
        if (starts_with(e.key, prefix) && !handled(e.key)) {
            report(e.key, why);
        }
    }
}

// `key` is value.converter, or the delegate's key of a BinaryDataConverter;
// `prefix` the start of its options' keys.
void Converter::judge_value_converter(const std::string& cls,
                                      const std::string& key,
                                      const std::string& prefix) {
    const bool structured = expand_ || envelope_fields_;
    const std::string why_struct = std::string("the EventRouter's value is a struct here (")
                                   + (expand_ ? "table.expand.json.payload"
                                              : "an envelope placement in "
                                                "table.fields.additional.placement")
                                   + ")";
    if (cls == kStringConverter) {
        if (structured) {
            report(key, "differs: " + why_struct
                            + ", which StringConverter writes as Connect's Struct{...} text; "
                              "outboxd sends it as JSON");
        } else {
            use(key);
        }
        for (const Entry& e : c_.entries) {
            if (starts_with(e.key, prefix) && lower(e.key).find("encoding") != std::string::npos) {
                std::string enc = lower(trim(e.value));
                enc.erase(std::remove(enc.begin(), enc.end(), '-'), enc.end());
                if (enc == "utf8") {
                    use(e.key);
                } else {
                    report(e.key, "differs: StringConverter re-encodes text in " + one_line(e.value)
                                      + "; outboxd sends the text as the database returns it "
                                        "(UTF-8 in a UTF-8 database)");
                }
            }
        }
        report_converter_options(prefix, "a StringConverter option with no outboxd counterpart");
        return;
    }
    if (byte_array_converter(cls)) {
        if (cls == kBinaryDataConverter && structured) {
            // BinaryDataConverter hands values that are not bytes to its delegate.
            const std::string delegate_key = prefix + "delegate.converter.type";
            use(key);
            if (const std::string* d = get(delegate_key)) {
                judge_value_converter(trim(*d), delegate_key, delegate_key + ".");
                report_converter_options(prefix, "an option of BinaryDataConverter with no "
                                                 "outboxd counterpart");
            } else {
                report(key, "differs: " + why_struct
                                + ", which BinaryDataConverter without delegate.converter.type "
                                  "cannot write; outboxd sends it as JSON");
            }
            return;
        }
        if (structured) {
            report(key, "differs: " + why_struct + ", which " + cls
                            + " cannot write (Debezium fails); outboxd sends it as JSON");
        } else {
            use(key);
        }
        report_converter_options(prefix + "delegate.",
                                 "not needed: the delegate converter writes Debezium's other "
                                 "events (heartbeats, transaction metadata, other tables); "
                                 "outboxd sends only the outbox rows");
        report_converter_options(prefix, "an option of " + cls + " with no outboxd counterpart");
        return;
    }
    if (cls == kJsonConverter) {
        const std::string schemas_key = prefix + "schemas.enable";
        const std::string* s = get(schemas_key);
        const bool schemas = s == nullptr || parse_bool(*s).value_or(true);
        if (s != nullptr) {
            use(schemas_key);
        }
        if (schemas) {
            report(key, "differs: JsonConverter with schemas.enable=true (its default) wraps "
                        "every value in {\"schema\": ..., \"payload\": ...}; outboxd sends the "
                        "value alone, as schemas.enable=false does");
        } else if (!structured) {
            report(key, "differs: the value is the payload column itself here, which "
                        "JsonConverter writes as a JSON string (text in quotes, bytea in "
                        "base64); outboxd sends the text or bytes as stored");
        } else {
            use(key);
        }
        if (get(prefix + "schemas.cache.size") != nullptr) {
            use(prefix + "schemas.cache.size"); // a cache: no effect on the bytes
        }
        report_converter_options(prefix, "a JsonConverter option with no outboxd counterpart");
        return;
    }
    if (cls == kCloudEventsConverter) {
        const std::string* ser = get(prefix + "serializer.type");
        if (ser == nullptr || lower(trim(*ser)) == "json") {
            envelope_ = "cloudevents-structured";
            report(key, "mapped to message.envelope: cloudevents-structured (a CloudEvents JSON "
                        "envelope); the attributes (id, source, type) are outboxd's, not those "
                        "of Debezium's CloudEventsConverter: docs/debezium.md");
            if (ser != nullptr) {
                use(prefix + "serializer.type");
            }
        } else {
            report(key, "not mapped: CloudEvents serialised as " + one_line(trim(*ser))
                            + "; outboxd writes CloudEvents as JSON only (message.envelope)");
        }
        report_converter_options(prefix, "an option of Debezium's CloudEventsConverter, not "
                                         "mapped (outboxd's CloudEvents: message.cloudevents.*)");
        return;
    }
    if (registry_converter(cls)) {
        report(key, "differs: " + cls
                        + " writes Schema Registry framed values (magic byte, schema id, "
                          "encoded data); outboxd uses no schema registry and sends the payload "
                          "as stored (store framed bytes in a bytea payload to keep that format)");
        report_converter_options(prefix, "an option of " + cls + ", not used");
        return;
    }
    report(key, "differs: an unknown converter (" + cls
                    + "); outboxd sends the payload as stored: compare the messages by hand");
    report_converter_options(prefix, "an option of " + cls + ", not used");
}

void Converter::judge_key_converter(const std::string& cls) {
    if (cls == kStringConverter) {
        use("key.converter");
        report_converter_options("key.converter.",
                                 "a StringConverter option with no outboxd counterpart");
        return;
    }
    std::string why;
    if (cls == kJsonConverter) {
        const std::string* s = get("key.converter.schemas.enable");
        if (s != nullptr) {
            use("key.converter.schemas.enable");
        }
        why = s == nullptr || parse_bool(*s).value_or(true)
                  ? "differs: JsonConverter with schemas.enable=true wraps the key in "
                    "{\"schema\": ..., \"payload\": ...}; outboxd sends the key column's text"
                  : "differs: JsonConverter writes a text key as a JSON string (in quotes); "
                    "outboxd sends the key column's text";
    } else if (byte_array_converter(cls)) {
        why = "differs unless the key column is bytea: " + cls
              + " writes bytes only (a text key makes Debezium fail); outboxd sends the key "
                "column's text or bytes";
    } else if (registry_converter(cls)) {
        why = "differs: " + cls
              + " writes Schema Registry framed keys; outboxd sends the key "
                "column's text";
    } else {
        why = "differs: an unknown converter (" + cls
              + "); outboxd sends the key column's text: compare the keys by hand";
    }
    report("key.converter", why);
    report_converter_options("key.converter.", "an option of " + cls + ", not used");
}

void Converter::judge_header_converter(const std::string& cls) {
    if (cls == kSimpleHeaderConverter || cls == kStringConverter) {
        use("header.converter");
    } else if (cls == kJsonConverter) {
        report("header.converter", "differs: JsonConverter writes each header value as JSON (the "
                                   "id header in quotes, with schemas.enable=true inside an "
                                   "envelope); outboxd writes header values as text");
    } else {
        report("header.converter", "differs: " + cls
                                       + " is not Connect's SimpleHeaderConverter; outboxd "
                                         "writes header values as text");
    }
    report_converter_options("header.converter.", "an option of " + cls + ", not used");
}

void Converter::map_converters() {
    if (const std::string* v = get("value.converter")) {
        judge_value_converter(trim(*v), "value.converter", "value.converter.");
    } else {
        note("value.converter is not set: the Connect worker's value.converter applied. "
             "outboxd's values equal StringConverter's (ByteArrayConverter's for bytea), or "
             "JsonConverter's with schemas.enable=false where table.expand.json.payload or an "
             "envelope field makes the value a JSON object: check the worker's setting");
        report_converter_options("value.converter.",
                                 "an option of the worker's value.converter, not used");
    }
    if (const std::string* v = get("key.converter")) {
        judge_key_converter(trim(*v));
    } else {
        note("key.converter is not set: the Connect worker's key.converter applied; outboxd's "
             "keys equal StringConverter's: check the worker's setting");
        report_converter_options("key.converter.",
                                 "an option of the worker's key.converter, not used");
    }
    if (const std::string* v = get("header.converter")) {
        judge_header_converter(trim(*v));
    } else {
        report_converter_options("header.converter.",
                                 "an option of the worker's header.converter, not used");
    }
}

void Converter::map_producer_overrides() {
    static const char* const kSameInLibrdkafka[] = {
        "compression.type", "linger.ms",         "batch.size",
        "client.id",        "security.protocol", "sasl.mechanism",
    };
    const std::string prefix = "producer.override.";
    for (const Entry& e : c_.entries) {
        if (!starts_with(e.key, prefix)) {
            continue;
        }
        const std::string name = e.key.substr(prefix.size());
        const bool same =
            std::find(std::begin(kSameInLibrdkafka), std::end(kSameInLibrdkafka), name)
            != std::end(kSameInLibrdkafka);
        if (secret_key(name)) {
            report(e.key, "never copied (a secret): put the librdkafka equivalent in "
                          "kafka.properties_files");
            continue;
        }
        if (!same && (starts_with(name, "ssl.") || starts_with(name, "sasl."))) {
            report(e.key, "a Java TLS or SASL setting: set the librdkafka equivalent in "
                          "kafka.properties (secrets in kafka.properties_files)");
            continue;
        }
        if (name == "bootstrap.servers") {
            if (const auto v = copyable(e.key, "kafka.bootstrap_servers")) {
                use(e.key);
                bootstrap_ = *v;
                bootstrap_from_ = e.key;
            }
            continue;
        }
        if (name == "acks") {
            const std::string v = lower(trim(e.value));
            if (v == "all" || v == "-1") {
                use(e.key);
            } else {
                report(e.key, "not mapped: outboxd always produces with acks=all");
            }
            continue;
        }
        if (name == "enable.idempotence") {
            if (parse_bool(e.value).value_or(false)) {
                use(e.key);
            } else {
                report(e.key, "not mapped: outboxd's producer is always idempotent");
            }
            continue;
        }
        if (name == "transactional.id") {
            report(e.key, "not mapped: outboxd's producer is idempotent, not transactional; a row "
                          "is marked sent only after Kafka acknowledged it");
            continue;
        }
        if (!same) {
            report(e.key, "a Java producer setting: set its librdkafka equivalent in "
                          "kafka.properties if you need it");
            continue;
        }
        if (const auto v = copyable(e.key, "kafka.properties")) {
            use(e.key);
            kafka_properties_.emplace_back(name, *v);
        }
    }
}

// Why a key no mapping above took is not carried over.
std::string rest_reason(const std::string& key) {
    struct Rule {
        const char* key;
        bool prefix;
        const char* reason;
    };
    static const Rule kRules[] = {
        {"tasks.max", false,
         "not needed: one outboxd publishes from a table at a time (leader.enabled); more "
         "processes wait as standbys"},
        {"tasks.max.enforce", false, "not needed: see tasks.max"},
        {"slot.name", false,
         "not needed: outboxd reads the table, not the WAL; once Debezium is retired, drop its "
         "replication slot (SELECT pg_drop_replication_slot(...)): an abandoned slot keeps WAL "
         "without bound"},
        {"publication.name", false,
         "not needed: outboxd reads the table, not the WAL; once Debezium is retired, drop "
         "its publication (DROP PUBLICATION ...)"},
        {"heartbeat.", true,
         "not needed: outboxd reads the table, not the WAL, and holds no replication slot that "
         "heartbeats would move on"},
        {"plugin.name", false, kNotWal},
        {"slot.", true, kNotWal},
        {"publication.", true, kNotWal},
        {"snapshot.", true, kNotWal},
        {"incremental.snapshot.", true, kNotWal},
        {"legacy.snapshot.", true, kNotWal},
        {"signal.", true, kNotWal},
        {"xmin.fetch.interval.ms", false, kNotWal},
        {"status.update.interval.ms", false, kNotWal},
        {"lsn.flush.", true, kNotWal},
        {"flush.lsn.source", false, kNotWal},
        {"offset.mismatch.strategy", false, kNotWal},
        {"replica.identity.autoset.values", false, kNotWal},
        {"publish.via.partition.root", false, kNotWal},
        {"message.prefix.", true, kNotWal},
        {"schema.refresh.mode", false, kNotWal},
        {"read.only", false, kNotWal},
        {"streaming.delay.ms", false, kNotWal},
        {"provide.transaction.metadata", false, kNotWal},
        {"transaction.metadata.factory", false, kNotWal},
        {"skipped.operations", false, kNotWal},
        {"skip.messages.without.change", false, kNotWal},
        {"include.schema.changes", false, kNotWal},
        {"include.schema.comments", false, kNotWal},
        {"offsets.storage.topic", false,
         "not needed: outboxd keeps its progress in the table's status columns, not in Connect "
         "offsets"},
        {"tombstones.on.delete", false,
         "not needed: the EventRouter drops deletes and their tombstones; outboxd sends nothing "
         "when a row is deleted"},
        {"topic.prefix", false,
         "not needed: it names the connector's own topics (other tables, heartbeats); the "
         "EventRouter's topics come from route.topic.replacement"},
        {"database.server.name", false,
         "not needed: the old name of topic.prefix, which the EventRouter's topics do not use"},
        {"topic.creation.", true,
         "not mapped: outboxd creates no topics; create them before the switch "
         "(kafka.require_durable_topics refuses weak ones)"},
        {"topic.", true,
         "not needed: it shapes the connector's own topic names, not the EventRouter's"},
        {"table.exclude.list", false,
         "not needed: outboxd reads the one table postgres.table names"},
        {"table.blacklist", false, "not needed: outboxd reads the one table postgres.table names"},
        {"table.ignore.builtin", false,
         "not needed: outboxd reads the one table postgres.table names"},
        {"schema.include.list", false,
         "not needed: outboxd reads the one table postgres.table names"},
        {"schema.whitelist", false, "not needed: outboxd reads the one table postgres.table names"},
        {"schema.exclude.list", false,
         "not needed: outboxd reads the one table postgres.table names"},
        {"schema.blacklist", false, "not needed: outboxd reads the one table postgres.table names"},
        {"database.include.list", false,
         "not needed: outboxd reads the database postgres.dsn names"},
        {"database.exclude.list", false,
         "not needed: outboxd reads the database postgres.dsn names"},
        {"column.include.list", false, "not needed: outboxd reads only the columns it maps"},
        {"column.exclude.list", false, "not needed: outboxd reads only the columns it maps"},
        {"column.whitelist", false, "not needed: outboxd reads only the columns it maps"},
        {"column.blacklist", false, "not needed: outboxd reads only the columns it maps"},
        {"message.key.columns", false,
         "not needed: the EventRouter replaces the change event's key with "
         "table.field.event.key"},
        {"database.tcpKeepAlive", false,
         "not needed: outboxd sets TCP keepalives on every session itself "
         "(leader.session_timeout_ms)"},
        {"database.initial.statements", false,
         "not mapped: outboxd runs no statements of yours when it connects; set them on the role "
         "instead (ALTER ROLE ... SET ...)"},
        {"database.query.timeout.ms", false,
         "not mapped: a JDBC statement time-out; set statement_timeout on the role if you need "
         "one"},
        {"database.sslfactory", false,
         "not needed: a Java SSL socket factory; libpq's sslmode, sslrootcert, sslcert and "
         "sslkey in postgres.dsn do that work"},
        {"database.history", true, "not needed: the PostgreSQL connector keeps no schema history"},
        {"schema.history.", true, "not needed: the PostgreSQL connector keeps no schema history"},
        {"database.", true,
         "a JDBC driver property: if libpq has an equivalent, add it to postgres.dsn"},
        {"driver.", true,
         "a JDBC driver property: if libpq has an equivalent, add it to postgres.dsn"},
        {"max.batch.size", false,
         "not mapped: a size of Debezium's queue of WAL changes; outboxd's relay.batch_size "
         "keeps its default"},
        {"max.queue.size", false,
         "not mapped: a size of Debezium's queue of WAL changes; outboxd's relay.max_in_flight "
         "keeps its default"},
        {"max.queue.size.in.bytes", false,
         "not mapped: a size of Debezium's queue of WAL changes; outboxd's "
         "relay.max_in_flight_bytes keeps its default"},
        {"poll.interval.ms", false,
         "not mapped: Debezium's pause between reads of its queue; outboxd's "
         "relay.poll_interval_ms keeps its default (inserts wake it through NOTIFY)"},
        {"query.fetch.size", false, "not needed: outboxd fetches relay.batch_size rows at a time"},
        {"queue.provider.type", false, "not needed: Debezium's internal queue"},
        {"decimal.handling.mode", false,
         "not needed: it changes how Debezium encodes column values in change events; outboxd "
         "sends the mapped columns as stored (a header from a non-text column is its text)"},
        {"time.precision.mode", false,
         "not needed: it changes how Debezium encodes times in change events; outboxd reads "
         "table.field.event.timestamp's column as a timestamp itself"},
        {"hstore.handling.mode", false,
         "not needed: it changes how Debezium encodes column values in change events; outboxd "
         "sends the mapped columns as stored"},
        {"interval.handling.mode", false,
         "not needed: it changes how Debezium encodes column values in change events; outboxd "
         "sends the mapped columns as stored"},
        {"money.fraction.digits", false,
         "not needed: it changes how Debezium encodes column values in change events; outboxd "
         "sends the mapped columns as stored"},
        {"include.unknown.datatypes", false,
         "not needed: it changes how Debezium encodes column values in change events; outboxd "
         "sends the mapped columns as stored"},
        {"unavailable.value.placeholder", false,
         "not needed: outboxd reads whole rows, so no value is ever unavailable"},
        {"datatype.propagate.source.type", false, kNoSchemas},
        {"column.", true,
         "not needed: it changes how Debezium writes column values into change events (masks, "
         "truncation, schema parameters); outboxd sends the mapped columns as stored"},
        {"converters", false,
         "not mapped: custom converters change how Debezium encodes column values; outboxd "
         "sends the mapped columns as stored"},
        {"field.name.adjustment.mode", false,
         "not needed: it renames fields in change events; outboxd reads the columns by name"},
        {"schema.name.adjustment.mode", false, kNoSchemas},
        {"sanitize.field.names", false,
         "not needed: it renames fields in change events; outboxd reads the columns by name"},
        {"event.processing.failure.handling.mode", false,
         "not mapped: outboxd's own failure handling applies: a row that cannot be sent is "
         "retried relay.max_attempts times, then set aside at status 2 (outboxd failed)"},
        {"event.converting.failure.handling.mode", false,
         "not mapped: outboxd's own failure handling applies (relay.max_attempts, status 2)"},
        {"errors.", true,
         "not mapped: outboxd's own failure handling applies: a row that cannot be sent is "
         "retried relay.max_attempts times, then set aside at status 2 (outboxd failed)"},
        {"retriable.restart.connector.wait.ms", false,
         "not needed: outboxd waits out database and broker outages itself, without bound"},
        {"exactly.once.support", false,
         "not needed: outboxd's producer is idempotent with acks=all and a row is marked sent "
         "only after Kafka acknowledged it (docs/reliability.md)"},
        {"transaction.boundary", true,
         "not needed: outboxd's producer is idempotent with acks=all and a row is marked sent "
         "only after Kafka acknowledged it (docs/reliability.md)"},
        {"consumer.override.", true,
         "not needed: outboxd's own Kafka clients are set in kafka.properties"},
        {"admin.override.", true,
         "not needed: outboxd's own Kafka clients are set in kafka.properties"},
        {"config.action.reload", false,
         "not needed: outboxd reloads on SIGHUP (docs/operations.md)"},
        {"notification.", true, "not needed: Debezium's notifications of its snapshots"},
        {"custom.metric.tags", false,
         "not mapped: Debezium's JMX metric tags; outboxd's metrics are Prometheus "
         "(docs/metrics.md)"},
        {"statistics.metrics.enabled", false,
         "not mapped: Debezium's JMX metrics; outboxd's are Prometheus (docs/metrics.md)"},
        {"openlineage.", true, "not mapped: outboxd reports no OpenLineage events"},
        {"guardrail.", true,
         "not needed: outboxd reads one table, so there is no number of tables to guard"},
        {"post.processors", false,
         "not mapped: Debezium's post processors change its change events, which outboxd does "
         "not have"},
        {"sourceinfo.struct.maker", false,
         "not needed: the EventRouter's messages carry no source block"},
        {"connection.validation.timeout.ms", false,
         "not needed: outboxd bounds every session itself (leader.session_timeout_ms)"},
        {"executor.shutdown.timeout.ms", false,
         "not needed: outboxd's shutdown is bounded by relay.shutdown_timeout_ms"},
        {"extended.headers.enabled", false, ""}, // decided in run()
        {"plugin.version", false, "not needed: outboxd is one binary"},
        {"custom.sanitize.pattern", false, "not needed: outboxd redacts its own secrets"},
    };
    for (const Rule& r : kRules) {
        if (r.prefix ? starts_with(key, r.key) : key == r.key) {
            return r.reason;
        }
    }
    if (ends_with(key, ".plugin.version")) {
        return "not needed: outboxd is one binary";
    }
    return "not a key outboxd knows how to map: check it by hand";
}

void Converter::map_rest() {
    const std::string ext = "extended.headers.enabled";
    const std::string* v = get(ext);
    if (v != nullptr && !parse_bool(*v).value_or(true)) {
        use(ext);
    } else {
        const std::string text = "differs: Debezium 3.6.1 adds its context headers "
                                 "(__debezium.context.connectorLogicalName, taskId, "
                                 "connectorName, runId) to every message; outboxd's messages "
                                 "carry the id header and its own outbox-id and outbox-source";
        if (v != nullptr) {
            report(ext, text);
        } else {
            note("extended.headers.enabled is not set (true): " + text.substr(9));
        }
    }
    const std::string binary = "binary.handling.mode";
    if (const std::string* mode = get(binary)) {
        if (lower(trim(*mode)) == "bytes") {
            use(binary);
        } else {
            report(binary, "differs: with this mode Debezium writes bytea columns (a bytea payload "
                           "too) as base64 or hex text; outboxd sends bytea as stored");
        }
    }
    // Custom converters (converters=a,b) take their options under a.*, b.*.
    std::vector<std::string> custom;
    if (const std::string* names = get("converters")) {
        custom = split_list(*names);
    }
    for (const Entry& e : c_.entries) {
        if (handled(e.key)) {
            continue;
        }
        const auto dot = e.key.find('.');
        const std::string head = e.key.substr(0, dot);
        if (dot != std::string::npos
            && std::find(custom.begin(), custom.end(), head) != custom.end()) {
            report(e.key,
                   "an option of custom converter " + head + ", not mapped (see converters)");
            continue;
        }
        report(e.key, rest_reason(e.key));
    }
}

Conversion Converter::run() {
    Conversion out;
    if (Status st = check_connector_class(); !st.ok()) {
        out.status = st;
        return out;
    }
    if (Status st = find_router(); !st.ok()) {
        out.status = st;
        return out;
    }
    map_database();
    map_table();
    map_router();
    map_other_transforms();
    map_predicates();
    map_converters();
    map_producer_overrides();
    if (!options_.bootstrap_servers.empty()) {
        if (!bootstrap_.empty() && bootstrap_ != options_.bootstrap_servers) {
            note("--bootstrap-servers is used instead of " + bootstrap_from_);
        }
        bootstrap_ = options_.bootstrap_servers;
        bootstrap_from_ = "--bootstrap-servers";
    } else if (bootstrap_.empty()) {
        note("kafka.bootstrap_servers is a placeholder (" + std::string(kPlaceholderServers)
             + "): a connector's configuration does not name the Kafka cluster (it is the "
               "Connect worker's bootstrap.servers); replace it, or pass --bootstrap-servers");
    }
    map_rest();
    const std::string slot = get("slot.name") != nullptr ? trim(*get("slot.name")) : "debezium";
    const std::string publication =
        get("publication.name") != nullptr ? trim(*get("publication.name")) : "dbz_publication";
    note("after the switch, drop Debezium's replication slot " + one_line(slot)
         + " and its publication " + one_line(publication)
         + ": an abandoned slot keeps WAL without bound");
    for (const Entry& e : c_.entries) {
        if (const auto it = reported_.find(e.key); it != reported_.end()) {
            out.unmapped.push_back(Unmapped{e.key, it->second});
        }
    }
    out.notes = notes_;
    out.yaml = yaml();
    return out;
}

// ---------------------------------------------------------------------------
// The YAML

std::string Converter::yaml() const {
    std::string y;
    const auto line = [&y](const std::string& text) {
        y += text + "\n";
    };
    // `text` as comment lines of at most 80 columns, broken at blanks.
    const auto comment = [&line](const std::string& lead, const std::string& text) {
        std::string rest = one_line(text);
        while (lead.size() + rest.size() > 80) {
            const auto cut = rest.rfind(' ', 80 - lead.size());
            if (cut == std::string::npos || cut == 0) {
                break;
            }
            line(lead + rest.substr(0, cut));
            rest = rest.substr(cut + 1);
        }
        line(lead + rest);
    };
    const std::string who = c_.name.empty()
                                ? std::string("a Debezium connector")
                                : "the Debezium connector \"" + one_line(c_.name) + "\"";
    comment("# ",
            "outboxd configuration made by `outboxd convert-debezium` from " + who
                + (options_.source_name.empty() ? std::string() : " (" + options_.source_name + ")")
                + ".");
    line("# The keys it could not carry over were listed on stderr, each with the reason.");
    line("#");
    line("# Before the switch: `outboxd migrate` adds outboxd's columns and index to the");
    line("# existing table and leaves Debezium's as they are. The id header lets consumers");
    line("# drop a message both relays sent while they overlap. An application that deletes");
    line("# each row in the transaction that inserts it (Quarkus's remove-after-insert)");
    line("# leaves nothing for outboxd to read: turn that off first. Cut-over steps:");
    line("# docs/debezium.md.");
    line("");
    line("postgres:");
    comment("  # ", "From "
                        + (dsn_from_.empty()
                               ? std::string("nothing: REPLACE, the connector names no server")
                               : joined(dsn_from_, ", "))
                        + ".");
    line("  # The password is not copied: give it to libpq in ~/.pgpass (or the file");
    line("  # PGPASSFILE names), or keep the whole DSN with its password in a file and");
    line("  # replace this line with `dsn_file: /path/to/that/file`.");
    std::string dsn = joined(dsn_parts_, " ");
    if (dsn.empty()) {
        dsn = "dbname=postgres"; // libpq needs a non-empty DSN here; the connector named none
    }
    line("  dsn: " + yaml_quoted(dsn));
    line("  table: " + yaml_quoted(table_) + "  # " + one_line(table_from_));
    line("  # Debezium's outbox table as it is, messages as the EventRouter makes them with");
    line("  # its defaults: topic outbox.event.<aggregatetype>, key aggregateid, header id");
    line("  # from column id, value from payload, event type in type, the W3C trace context");
    line("  # from tracingspancontext when the table has that column.");
    line("  layout: debezium");
    if (!postgres_.empty() || !additional_.empty()) {
        line("  # Where this connector differs from those defaults (transforms." + router_
             + ".*):");
    }
    std::string section;
    for (const Setting& s : postgres_) {
        const auto dot = s.key.find('.');
        if (dot == std::string::npos) {
            continue;
        }
        const std::string sec = s.key.substr(0, dot);
        if (sec != section) {
            line("  " + sec + ":");
            section = sec;
        }
        std::string text = "    " + s.key.substr(dot + 1) + ": " + s.value + "  # " + s.from;
        line(text);
        if (s.key == "columns.tracing" && tracing_explicit_) {
            line("    # (named explicitly, so outboxd requires the column to exist)");
        }
    }
    if (!route_problem_.empty()) {
        line("  # " + route_problem_ + " could not be translated: the topics keep the debezium");
        line("  # defaults until postgres.route.* is set by hand (see stderr).");
    }
    if (!additional_.empty()) {
        line("  additional_fields:  # table.fields.additional.placement");
        for (const std::string& a : additional_) {
            line("    - " + yaml_quoted(a));
        }
    }
    for (const Setting& s : postgres_) {
        if (s.key.find('.') == std::string::npos) {
            line("  " + s.key + ": " + s.value + "  # " + s.from);
        }
    }
    if (!envelope_.empty()) {
        line("");
        line("message:");
        line("  envelope: " + envelope_ + "  # value.converter=CloudEventsConverter");
    }
    line("");
    line("broker: kafka");
    line("kafka:");
    if (bootstrap_from_.empty()) {
        line("  # REPLACE: a connector's configuration does not name the Kafka cluster; it is");
        line("  # the Connect worker's bootstrap.servers (connect-distributed.properties).");
        line("  bootstrap_servers: " + yaml_quoted(kPlaceholderServers));
    } else {
        line("  bootstrap_servers: " + yaml_quoted(bootstrap_) + "  # " + bootstrap_from_);
    }
    line("  # The worker's producer security (security.protocol, sasl.*, ssl.*) is not in the");
    line("  # connector's configuration either: set the librdkafka equivalents here under");
    line("  # properties, and secrets under properties_files.");
    if (!kafka_properties_.empty()) {
        line("  properties:  # producer.override.*");
        for (const auto& [k, v] : kafka_properties_) {
            line("    " + yaml_quoted(k) + ": " + yaml_quoted(v));
        }
    }
    return y;
}

} // namespace

Conversion convert(const Connector& connector, const ConvertOptions& options) {
    Converter converter(connector, options);
    return converter.run();
}

} // namespace outboxd::cli::debezium
