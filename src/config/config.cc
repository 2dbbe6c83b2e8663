#include "config/config.h"

#include "common/parse_int.h"
#include "config/dsn.h"
#include "config/options.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

namespace outboxd::config {
namespace {

constexpr std::string_view kRedacted = "*****";
// Beyond this many edits a suggestion is more likely noise than help.
constexpr std::size_t kMaxHintDistance = 2;
// Long values are cut in messages so one bad line stays one readable line.
constexpr std::size_t kMaxEchoBytes = 60;

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

std::string trim(const std::string& text) {
    const auto is_space = [](unsigned char c) {
        return std::isspace(c) != 0;
    };
    auto begin = std::find_if_not(text.begin(), text.end(), is_space);
    auto end = std::find_if_not(text.rbegin(), text.rend(), is_space).base();
    return begin < end ? std::string(begin, end) : std::string();
}

// A value as it appears in a message: quoted, control bytes escaped, cut.
std::string echo(const std::string& text) {
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i == kMaxEchoBytes) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            (void)std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// The whole file, or the reason it cannot be read (missing, a directory...).
bool read_file(const std::string& path, std::string* content, std::string* error) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        *error = std::generic_category().message(errno); // strerror is not thread-safe
        return false;
    }
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        content->append(buf, n);
    }
    const bool failed = std::ferror(f) != 0;
    const int err = errno;
    (void)std::fclose(f); // read-only: nothing left to lose
    if (failed) {
        *error = std::generic_category().message(err);
        return false;
    }
    return true;
}

// Optimal string alignment distance: a swapped pair of letters, the most
// common typo, counts as one edit.
std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j) {
        d[0][j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

// " (did you mean X?)" for the closest candidate, ties to the first listed.
std::string hint(const std::string& name, const std::vector<std::string>& candidates) {
    const std::string* best = nullptr;
    std::size_t best_distance = kMaxHintDistance + 1;
    for (const std::string& c : candidates) {
        const std::size_t d = edit_distance(name, c);
        if (d < best_distance) {
            best = &c;
            best_distance = d;
        }
    }
    return best == nullptr ? "" : " (did you mean " + *best + "?)";
}

std::vector<std::string> section_keys() {
    std::vector<std::string> sections;
    for (const Option& o : options()) {
        for (auto dot = o.key.find('.'); dot != std::string::npos; dot = o.key.find('.', dot + 1)) {
            std::string prefix = o.key.substr(0, dot);
            if (std::find(sections.begin(), sections.end(), prefix) == sections.end()) {
                sections.push_back(std::move(prefix));
            }
        }
    }
    return sections;
}

std::string node_kind(const YAML::Node& node) {
    if (node.IsNull()) {
        return "null";
    }
    if (node.IsSequence()) {
        return "a list";
    }
    if (node.IsMap()) {
        return "a mapping";
    }
    return echo(node.Scalar());
}

// What a value of this option must look like, as the start of a message.
std::string expectation(const Option& o) {
    switch (o.type) {
    case OptionType::kString:
        return "must be a string";
    case OptionType::kBool:
        return "must be true or false";
    case OptionType::kInt:
        return "must be an integer";
    case OptionType::kDurationMs:
        return "must be a whole number of milliseconds";
    case OptionType::kEnum: {
        std::string text = "must be one of ";
        for (std::size_t i = 0; i < o.allowed.size(); ++i) {
            text += (i == 0 ? "" : ", ") + o.allowed[i];
        }
        return text;
    }
    case OptionType::kStringList:
        return "must be a list of strings";
    case OptionType::kStringMap:
        return "must be a mapping of property names to values";
    }
    return "";
}

bool parse_int(const std::string& text, std::int64_t* out, bool* overflow) {
    const auto r = parse_int64(text, out);
    *overflow = r == IntParse::kOutOfRange;
    return r != IntParse::kNotANumber;
}

// Result of checking one value: either a value or the problem's message.
struct Parsed {
    std::optional<OptionValue> value;
    std::string error;
};

Parsed fail(std::string message) {
    return Parsed{std::nullopt, std::move(message)};
}

// Checks one scalar the same way whether it came from YAML or from the
// environment. `quoted_in_yaml`: the YAML scalar was written in quotes, which
// makes it a string even when it looks like a number or a boolean.
Parsed parse_scalar(const Option& o, const std::string& text, bool quoted_in_yaml) {
    const std::string got = o.secret ? "" : " (got " + echo(text) + ")";
    const std::string unquote_hint =
        o.secret ? "" : " (got the string " + echo(text) + "; remove the quotes)";
    switch (o.type) {
    case OptionType::kString: {
        std::string problem = o.check_text != nullptr ? o.check_text(text) : "";
        if (!problem.empty()) {
            return fail(std::move(problem));
        }
        return Parsed{OptionValue(text), ""};
    }
    case OptionType::kBool: {
        const std::string v = lower(text);
        if (v != "true" && v != "false") {
            return fail(expectation(o) + got);
        }
        if (quoted_in_yaml) {
            return fail(expectation(o) + unquote_hint);
        }
        return Parsed{OptionValue(v == "true"), ""};
    }
    case OptionType::kInt:
    case OptionType::kDurationMs: {
        std::int64_t value = 0;
        bool overflow = false;
        if (!parse_int(text, &value, &overflow)) {
            return fail(expectation(o) + got);
        }
        if (quoted_in_yaml) {
            return fail(expectation(o) + unquote_hint);
        }
        if (overflow || value < o.min || value > o.max) {
            return fail("must be between " + std::to_string(o.min) + " and " + std::to_string(o.max)
                        + " (got " + text + ")");
        }
        return Parsed{OptionValue(value), ""};
    }
    case OptionType::kEnum:
        if (std::find(o.allowed.begin(), o.allowed.end(), text) == o.allowed.end()) {
            return fail(expectation(o) + got);
        }
        return Parsed{OptionValue(text), ""};
    case OptionType::kStringList:
    case OptionType::kStringMap:
        break;
    }
    return fail(expectation(o) + got);
}

struct Setting {
    OptionValue value;
    std::string origin; // dotted path or environment variable: where to point problems
    bool from_env = false;
};

// Gathers values from YAML and the environment, then builds the Config.
// Problems are appended in the order found, which is file order for the
// YAML walk. One load only; not shared between threads.
class Loader {
public:
    explicit Loader(std::string base_dir)
        : base_dir_(std::move(base_dir))
        , sections_(section_keys()) {
        for (const Option& o : options()) {
            known_keys_.push_back(o.key);
        }
        known_keys_.insert(known_keys_.end(), sections_.begin(), sections_.end());
    }

    void read_yaml(const std::string& text) {
        std::vector<YAML::Node> docs;
        try {
            docs = YAML::LoadAll(text);
        } catch (const YAML::Exception& e) {
            std::string where;
            if (!e.mark.is_null()) {
                where = " at line " + std::to_string(e.mark.line + 1) + ", column "
                        + std::to_string(e.mark.column + 1);
            }
            add_problem("", "YAML syntax error" + where + ": " + e.msg);
            whole_ok_ = false;
            return;
        }
        if (docs.size() > 1) {
            add_problem("", "the file must hold one YAML document, found "
                                + std::to_string(docs.size()));
            whole_ok_ = false;
            return;
        }
        if (docs.empty() || docs[0].IsNull()) {
            return; // an empty file: defaults and environment only
        }
        if (!docs[0].IsMap()) {
            add_problem("", "the configuration must be a YAML mapping (got " + node_kind(docs[0])
                                + ")");
            whole_ok_ = false;
            return;
        }
        walk(docs[0], "");
    }

    void read_env(const std::vector<std::string>& env) {
        std::vector<std::pair<std::string, std::string>> vars;
        for (const std::string& entry : env) {
            const auto eq = entry.find('=');
            if (eq == std::string::npos || !starts_with(entry, kEnvPrefix)) {
                continue;
            }
            vars.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
        }
        // environ's order means nothing; sorting keeps the report stable.
        std::stable_sort(vars.begin(), vars.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        std::vector<std::string> env_names;
        for (const Option& o : options()) {
            env_names.push_back(env_var_display(o));
        }
        for (const auto& [name, value] : vars) {
            if (name == "OUTBOXD_CONFIG" || starts_with(name, "OUTBOXD_TEST_")) {
                continue; // reserved: the CLI's config path and test switches
            }
            if (starts_with(name, kPropertyEnvPrefix)) {
                env_property(*find_option("kafka.properties"), kPropertyEnvPrefix, name, value);
                continue;
            }
            if (starts_with(name, kPropertyFileEnvPrefix)) {
                env_property(*find_option("kafka.properties_files"), kPropertyFileEnvPrefix, name,
                             value);
                continue;
            }
            const Option* option = nullptr;
            for (const Option& o : options()) {
                if (o.type != OptionType::kStringMap && env_var_name(o.key) == name) {
                    option = &o;
                }
            }
            if (option == nullptr) {
                if (name == env_var_name("kafka.properties")) {
                    add_problem(name, "unknown variable (set one OUTBOXD_KAFKA_PROPERTY_<NAME> "
                                      "per property)");
                } else if (name == env_var_name("kafka.properties_files")) {
                    add_problem(name, "unknown variable (set one "
                                      "OUTBOXD_KAFKA_PROPERTIES_FILE_<NAME> per property)");
                } else {
                    add_problem(name, "unknown variable" + hint(name, env_names));
                }
                continue;
            }
            env_option(*option, name, value);
        }
    }

    LoadResult finish() {
        Config config;
        for (const Option& o : options()) {
            if (o.store == nullptr || !o.default_value) {
                continue;
            }
            Parsed parsed = parse_text(o, *o.default_value);
            if (!parsed.value) {
                // Only a wrong table can get here; the unit tests load every default.
                add_problem(o.key, "internal error: bad default: " + parsed.error);
                continue;
            }
            o.store(config, *parsed.value);
        }
        for (const Option& o : options()) {
            auto it = settings_.find(o.key);
            if (o.store != nullptr && it != settings_.end()) {
                o.store(config, it->second.value);
            }
        }
        if (whole_ok_) {
            check_whole(config);
        }
        LoadResult result;
        result.problems = std::move(problems_);
        if (result.problems.empty()) {
            result.config = std::move(config);
        }
        return result;
    }

    void add_problem(std::string path, std::string message) {
        problems_.push_back(Problem{std::move(path), std::move(message)});
    }
    void give_up_whole_checks() { whole_ok_ = false; }

private:
    void walk(const YAML::Node& map, const std::string& prefix) {
        std::map<std::string, int> first_line;
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node key = it->first; // copies: the iterator hands out a temporary pair
            const YAML::Node value = it->second;
            if (!key.IsScalar()) {
                add_problem(prefix, "keys must be plain names (got " + node_kind(key) + " at line "
                                        + std::to_string(key.Mark().line + 1) + ")");
                continue;
            }
            const std::string& name = key.Scalar();
            const std::string path = prefix.empty() ? name : prefix + "." + name;
            const auto [seen, inserted] = first_line.emplace(name, key.Mark().line + 1);
            if (!inserted) {
                add_problem(path, "duplicate key (first set at line " + std::to_string(seen->second)
                                      + ")");
                continue;
            }
            if (name.find('.') != std::string::npos) {
                // Accepting "relay.batch_size:" at the top would give every
                // option two spellings and make duplicates hard to see.
                add_problem(path, "unknown key (write sections nested, not as dotted keys)");
                continue;
            }
            if (const Option* o = find_option(path)) {
                yaml_option(*o, value, path);
                continue;
            }
            if (std::find(sections_.begin(), sections_.end(), path) != sections_.end()) {
                if (value.IsMap()) {
                    walk(value, path);
                } else if (!value.IsNull()) { // an all-commented-out section is fine
                    add_problem(path, "must be a mapping (got " + node_kind(value) + ")");
                    // Its keys are unknown, not missing: one problem is enough.
                    for (const Option& o : options()) {
                        if (starts_with(o.key, path + ".")) {
                            broken_.insert(o.key);
                        }
                    }
                }
                continue;
            }
            add_problem(path, "unknown key" + hint(path, known_keys_));
        }
    }

    void yaml_option(const Option& o, const YAML::Node& node, const std::string& path) {
        if (o.type == OptionType::kStringList) {
            yaml_list(o, node, path);
            return;
        }
        if (o.type == OptionType::kStringMap) {
            yaml_map(o, node, path);
            return;
        }
        if (!node.IsScalar()) {
            // Suggest "" only where the empty string is itself acceptable.
            const bool empty_ok = o.type == OptionType::kString
                                  && (o.check_text == nullptr || o.check_text("").empty());
            const std::string empty_hint =
                empty_ok && node.IsNull() ? "; write \"\" for empty" : "";
            bad(o, path, expectation(o) + " (got " + node_kind(node) + empty_hint + ")");
            return;
        }
        accept(o, parse_scalar(o, node.Scalar(), node.Tag() == "!"), path, false);
    }

    void yaml_list(const Option& o, const YAML::Node& node, const std::string& path) {
        std::vector<std::string> items;
        if (!node.IsNull() && !node.IsSequence()) {
            bad(o, path, expectation(o) + " (got " + node_kind(node) + ")");
            return;
        }
        bool ok = true;
        for (std::size_t i = 0; i < node.size(); ++i) {
            const YAML::Node item = node[i];
            const std::string item_path = path + "[" + std::to_string(i) + "]";
            if (!item.IsScalar()) {
                bad(o, item_path, "must be a string (got " + node_kind(item) + ")");
                ok = false;
                continue;
            }
            const std::string problem = o.check_text != nullptr ? o.check_text(item.Scalar()) : "";
            if (!problem.empty()) {
                bad(o, item_path, problem);
                ok = false;
                continue;
            }
            items.push_back(item.Scalar());
        }
        if (ok) {
            settings_[o.key] = Setting{OptionValue(std::move(items)), path, false};
        }
    }

    void yaml_map(const Option& o, const YAML::Node& node, const std::string& path) {
        std::map<std::string, std::string> entries;
        if (!node.IsNull() && !node.IsMap()) {
            bad(o, path, expectation(o) + " (got " + node_kind(node) + ")");
            return;
        }
        std::map<std::string, int> first_line;
        bool ok = true;
        for (auto it = node.begin(); it != node.end(); ++it) {
            const YAML::Node key = it->first; // copies: the iterator hands out a temporary pair
            const YAML::Node value = it->second;
            if (!key.IsScalar()) {
                bad(o, path, "property names must be strings (got " + node_kind(key) + ")");
                ok = false;
                continue;
            }
            const std::string entry_path = path + "." + key.Scalar();
            const auto [seen, inserted] = first_line.emplace(key.Scalar(), key.Mark().line + 1);
            if (!inserted) {
                bad(o, entry_path,
                    "duplicate key (first set at line " + std::to_string(seen->second) + ")");
                ok = false;
                continue;
            }
            if (!value.IsScalar()) {
                bad(o, entry_path, "must be a single value (got " + node_kind(value) + ")");
                ok = false;
                continue;
            }
            // Values reach librdkafka as text, exactly as written: true, 5, "lz4".
            const std::string problem =
                o.check_entry != nullptr ? o.check_entry(key.Scalar(), value.Scalar()) : "";
            if (!problem.empty()) {
                bad(o, entry_path, problem);
                ok = false;
                continue;
            }
            entries[key.Scalar()] = value.Scalar();
            entry_origins_[entry_path] = EntryOrigin{entry_path, false};
        }
        if (ok) {
            merge_map(o, std::move(entries), path, false);
        }
    }

    void env_option(const Option& o, const std::string& name, const std::string& value) {
        accept(o, parse_text(o, value), name, true);
    }

    void env_property(const Option& o,
                      std::string_view prefix,
                      const std::string& name,
                      const std::string& value) {
        std::string key = lower(name.substr(prefix.size()));
        std::replace(key.begin(), key.end(), '_', '.');
        const std::string problem = o.check_entry != nullptr ? o.check_entry(key, value) : "";
        if (!problem.empty()) {
            bad(o, name, problem);
            return;
        }
        entry_origins_[o.key + "." + key] = EntryOrigin{name, true};
        merge_map(o, {{key, value}}, name, true);
    }

    // Environment entries add to or replace the file's entries one by one:
    // a secret injected as OUTBOXD_KAFKA_PROPERTY_SASL_PASSWORD must not wipe
    // the TLS settings written in the file.
    void merge_map(const Option& o,
                   std::map<std::string, std::string> entries,
                   const std::string& origin,
                   bool from_env) {
        auto it = settings_.find(o.key);
        if (it == settings_.end()) {
            settings_[o.key] = Setting{OptionValue(std::move(entries)), origin, from_env};
            return;
        }
        auto& merged = std::get<std::map<std::string, std::string>>(it->second.value);
        for (auto& [k, v] : entries) {
            merged[k] = std::move(v);
        }
    }

    // Text from the environment or a default, checked like a YAML scalar.
    static Parsed parse_text(const Option& o, const std::string& text) {
        if (o.type == OptionType::kStringMap) {
            // Only the empty default arrives here: entries come one variable each.
            return text.empty() ? Parsed{OptionValue(std::map<std::string, std::string>()), ""}
                                : fail(expectation(o));
        }
        if (o.type != OptionType::kStringList) {
            return parse_scalar(o, text, false);
        }
        std::vector<std::string> items;
        std::stringstream in(text);
        for (std::string item; std::getline(in, item, ',');) {
            item = trim(item);
            if (item.empty()) {
                continue;
            }
            const std::string problem = o.check_text != nullptr ? o.check_text(item) : "";
            if (!problem.empty()) {
                return fail("item " + echo(item) + " " + problem);
            }
            items.push_back(item);
        }
        return Parsed{OptionValue(std::move(items)), ""};
    }

    void accept(const Option& o, Parsed parsed, const std::string& origin, bool from_env) {
        if (!parsed.value) {
            bad(o, origin, parsed.error);
            return;
        }
        settings_[o.key] = Setting{std::move(*parsed.value), origin, from_env};
    }

    void bad(const Option& o, const std::string& path, std::string message) {
        broken_.insert(o.key);
        add_problem(path, std::move(message));
    }

    bool is_set(const std::string& key) const {
        return settings_.count(key) != 0 || broken_.count(key) != 0;
    }

    std::string origin(const std::string& key) const {
        auto it = settings_.find(key);
        return it == settings_.end() ? key : it->second.origin;
    }

    // Checks that need the whole configuration: required keys, the DSN file,
    // and rules between options. Skipped for options already reported, so one
    // mistake yields one problem.
    void check_whole(Config& config) {
        check_dsn(config);
        check_rabbitmq_url(config);
        check_rabbitmq_ca_file(config);
        check_rabbitmq_declare_file(config);
        check_confirm(config);
        for (const Option& o : options()) {
            // The Kafka section is needed only when Kafka is the broker.
            const bool needed =
                o.key != "kafka.bootstrap_servers" || config.broker == BrokerKind::kKafka;
            if (o.required && needed && o.key != "postgres.dsn" && !is_set(o.key)) {
                add_problem(o.key,
                            "is required (set it in the file or with " + env_var_name(o.key) + ")");
            }
        }
        for (const auto& rule : at_least_rules()) {
            check_at_least(std::string(rule.big), int_value(config, rule.big),
                           std::string(rule.small), int_value(config, rule.small));
        }
        check_columns_distinct(config);
        check_property_files(config);
    }

    void check_dsn(Config& config) {
        const bool has_dsn = is_set("postgres.dsn");
        const bool has_file = is_set("postgres.dsn_file");
        if (has_dsn && has_file) {
            const std::string dsn_origin = origin("postgres.dsn");
            add_problem(origin("postgres.dsn_file"),
                        "set either postgres.dsn or postgres.dsn_file, not both"
                            + (dsn_origin == "postgres.dsn"
                                   ? std::string()
                                   : " (postgres.dsn is set by " + dsn_origin + ")"));
            return;
        }
        if (!has_dsn && !has_file) {
            add_problem("postgres.dsn",
                        "is required (set postgres.dsn or postgres.dsn_file in the file, or "
                        "OUTBOXD_POSTGRES_DSN or OUTBOXD_POSTGRES_DSN_FILE)");
            return;
        }
        auto it = settings_.find("postgres.dsn_file");
        if (it == settings_.end()) {
            // The DSN itself, or a dsn_file already reported.
            if (!config.postgres.dsn.empty()) {
                check_dsn_syntax(config.postgres.dsn, origin("postgres.dsn"));
            }
            return;
        }
        std::string file;
        const auto dsn = read_secret_file(std::get<std::string>(it->second.value),
                                          it->second.origin, it->second.from_env, &file);
        if (!dsn) {
            return;
        }
        config.postgres.dsn = *dsn;
        check_dsn_syntax(*dsn, it->second.origin);
    }

    // rabbitmq.url or rabbitmq.url_file, like the DSN: exactly one of them
    // when RabbitMQ is the broker; the file's content becomes the URL.
    void check_rabbitmq_url(Config& config) {
        const bool has_url = is_set("rabbitmq.url");
        const bool has_file = is_set("rabbitmq.url_file");
        if (has_url && has_file) {
            add_problem(origin("rabbitmq.url_file"),
                        "set either rabbitmq.url or rabbitmq.url_file, not both");
            return;
        }
        if (config.broker != BrokerKind::kRabbitMq) {
            return; // not used; its shape was checked like any option's
        }
        if (!has_url && !has_file) {
            add_problem("rabbitmq.url", "is required with broker: rabbitmq (set rabbitmq.url or "
                                        "rabbitmq.url_file in the file, or OUTBOXD_RABBITMQ_URL or "
                                        "OUTBOXD_RABBITMQ_URL_FILE)");
            return;
        }
        auto it = settings_.find("rabbitmq.url_file");
        if (it == settings_.end()) {
            return; // the URL itself, already checked
        }
        std::string file;
        const auto url = read_secret_file(std::get<std::string>(it->second.value),
                                          it->second.origin, it->second.from_env, &file);
        if (!url) {
            return;
        }
        const std::string problem = find_option("rabbitmq.url")->check_text(*url);
        if (!problem.empty()) {
            add_problem(it->second.origin, "the content of " + echo(file) + " " + problem);
            return;
        }
        config.rabbitmq.url = *url;
    }

    // A RabbitMQ file option that is set and not empty (broker: rabbitmq
    // only): its setting, and its path resolved against the config file's
    // directory (from the environment there is none to be relative to).
    const Setting*
    rabbitmq_file(const Config& config, const std::string& key, std::filesystem::path* file) const {
        auto it = settings_.find(key);
        if (it == settings_.end() || config.broker != BrokerKind::kRabbitMq) {
            return nullptr;
        }
        *file = std::filesystem::path(std::get<std::string>(it->second.value));
        if (file->empty()) {
            return nullptr;
        }
        if (file->is_relative() && !it->second.from_env && !base_dir_.empty()) {
            *file = std::filesystem::path(base_dir_) / *file;
        }
        return &it->second;
    }

    // rabbitmq.ca_file: relative to the config file (as the *_file secrets),
    // readable now, and only beside an amqps:// URL (a CA for a plain
    // connection is a mistake that would leave the link unencrypted).
    void check_rabbitmq_ca_file(Config& config) {
        std::filesystem::path file;
        const Setting* set = rabbitmq_file(config, "rabbitmq.ca_file", &file);
        if (set == nullptr) {
            return;
        }
        const std::string& where = set->origin;
        config.rabbitmq.ca_file = file.string();
        if (!config.rabbitmq.url.empty() && config.rabbitmq.url.rfind("amqps://", 0) != 0) {
            add_problem(where, "is set but rabbitmq.url is not an amqps:// URI (the CA verifies "
                               "TLS connections only)");
            return;
        }
        std::string text;
        std::string error;
        if (!read_file(config.rabbitmq.ca_file, &text, &error)) {
            add_problem(where, "cannot read " + echo(config.rabbitmq.ca_file) + ": " + error);
            return;
        }
        if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
            add_problem(where, echo(config.rabbitmq.ca_file) + " holds no PEM certificate");
            return;
        }
    }

    // confirm.*: which report channel belongs to which broker, and whether
    // there is anything to confirm.
    void check_confirm(Config& config) {
        const Confirm& c = config.confirm;
        config.postgres.confirm_consumers = c.consumers;
        std::vector<std::string> seen;
        for (const auto& name : c.consumers) {
            if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
                add_problem(origin("confirm.consumers"), "names " + echo(name) + " twice");
            }
            seen.push_back(name);
        }
        const bool rabbit = config.broker == BrokerKind::kRabbitMq;
        if (!c.ack_topic.empty() && rabbit) {
            add_problem(origin("confirm.ack_topic"),
                        "is for Kafka; with broker: rabbitmq set confirm.ack_queue");
        }
        if (!c.ack_queue.empty() && !rabbit) {
            add_problem(origin("confirm.ack_queue"),
                        "is for RabbitMQ; with broker: kafka set confirm.ack_topic");
        }
        if (c.ack_queue.size() > 255) {
            add_problem(origin("confirm.ack_queue"), "must be a queue name of 1 to 255 bytes");
        }
        if (!c.enabled()) {
            for (const char* key : {"confirm.ack_topic", "confirm.ack_queue"}) {
                const auto it = settings_.find(key);
                if (it != settings_.end() && !std::get<std::string>(it->second.value).empty()) {
                    add_problem(it->second.origin, "is set but confirm.consumers is empty "
                                                   "(nothing would be confirmed)");
                }
            }
            return;
        }
        if (rabbit && c.ack_queue.empty()) {
            add_problem("confirm.ack_queue",
                        "is required with confirm.consumers on RabbitMQ: a queue has no "
                        "committed offsets, so consumer reports are the only confirmation there "
                        "(docs/consumers.md)");
        }
    }

    // rabbitmq.declare_file: relative to the config file, read and parsed
    // now, so a malformed topology is listed with every other problem.
    void check_rabbitmq_declare_file(Config& config) {
        std::filesystem::path file;
        const Setting* set = rabbitmq_file(config, "rabbitmq.declare_file", &file);
        if (set == nullptr) {
            return;
        }
        const std::string& where = set->origin;
        std::string text;
        std::string error;
        if (!read_file(file.string(), &text, &error)) {
            add_problem(where, "cannot read " + echo(file.string()) + ": " + error);
            return;
        }
        std::vector<std::string> found;
        config.rabbitmq.declare = parse_rabbit_topology(text, file.string(), &found);
        for (const auto& f : found) {
            add_problem(where, echo(file.string()) + ": " + f);
        }
    }

    // The trimmed content of a *_file secret, or nothing after a problem at
    // `where` (messages name the file, never its content). `*resolved` gets
    // the path read: relative to the config file, like other daemons' *_file
    // options, so a config and its secret can move together; from the
    // environment there is no file to be relative to.
    std::optional<std::string> read_secret_file(const std::string& path,
                                                const std::string& where,
                                                bool from_env,
                                                std::string* resolved) {
        std::filesystem::path file(path);
        if (file.is_relative() && !from_env && !base_dir_.empty()) {
            file = std::filesystem::path(base_dir_) / file;
        }
        *resolved = file.string();
        std::string text;
        std::string error;
        if (!read_file(*resolved, &text, &error)) {
            add_problem(where, "cannot read " + echo(*resolved) + ": " + error);
            return std::nullopt;
        }
        std::string value = trim(text);
        if (value.empty()) {
            add_problem(where, "file " + echo(*resolved) + " is empty");
            return std::nullopt;
        }
        return value;
    }

    // libpq parses the DSN only when it connects, and its messages then quote
    // the text around the mistake, which may be the password (to logs, and
    // before this check to /readyz). Parse it here, and never echo the DSN.
    void check_dsn_syntax(const std::string& dsn, const std::string& where) {
        const auto params = parse_dsn(dsn);
        if (!params) {
            add_problem(where, "is not a valid libpq connection string (keyword=value pairs or a "
                               "postgresql:// URI); the parser's message is not shown because it "
                               "can quote the password");
            return;
        }
        for (const auto& [keyword, value] : *params) {
            if (keyword == "host" && value.find('@') != std::string::npos) {
                add_problem(where, "its host contains '@': write an '@' in the user name or "
                                   "password of a postgresql:// URI as %40");
            }
        }
    }

    // Each kafka.properties_files entry becomes a kafka.properties value.
    // Messages name the file but never show its content: it is a secret.
    void check_property_files(Config& config) {
        config.kafka.properties_files.clear();
        auto it = settings_.find("kafka.properties_files");
        if (it == settings_.end()) {
            return;
        }
        const auto& files = std::get<std::map<std::string, std::string>>(it->second.value);
        for (const auto& [key, path] : files) {
            const auto where = entry_origins_.find("kafka.properties_files." + key);
            const EntryOrigin entry = where == entry_origins_.end()
                                          ? EntryOrigin{it->second.origin, it->second.from_env}
                                          : where->second;
            if (config.kafka.properties.count(key) != 0) {
                const auto other = entry_origins_.find("kafka.properties." + key);
                const std::string by = other == entry_origins_.end() || !other->second.from_env
                                           ? std::string()
                                           : " (by " + other->second.origin + ")";
                add_problem(entry.origin, key + " is also set in kafka.properties" + by
                                              + "; set it in one place");
                continue;
            }
            std::string file;
            const auto value = read_secret_file(path, entry.origin, entry.from_env, &file);
            if (!value) {
                continue;
            }
            const std::string problem =
                check_kafka_property(key, *value, "the content of " + echo(file));
            if (!problem.empty()) {
                add_problem(entry.origin, problem);
                continue;
            }
            config.kafka.properties[key] = *value;
            config.kafka.properties_files[key] = file;
        }
    }

    void check_at_least(const std::string& big_key,
                        std::int64_t big,
                        const std::string& small_key,
                        std::int64_t small) {
        if (broken_.count(big_key) != 0 || broken_.count(small_key) != 0 || big >= small) {
            return;
        }
        // Point at whichever one the operator wrote; if both, at the bound.
        if (settings_.count(big_key) != 0) {
            add_problem(origin(big_key), "must be at least " + small_key + " = "
                                             + std::to_string(small) + " (got "
                                             + std::to_string(big) + ")");
        } else {
            add_problem(origin(small_key), "must be at most " + big_key + " = "
                                               + std::to_string(big) + ", its default (got "
                                               + std::to_string(small) + ")");
        }
    }

    // Two roles in one column would corrupt rows (e.g. status counted as attempts).
    void check_columns_distinct(const Config& config) {
        std::map<std::string, std::string> owner; // column name -> option key
        for (const Option& o : options()) {
            if (!starts_with(o.key, "postgres.columns.") || o.load == nullptr) {
                continue;
            }
            const std::string name = std::get<std::string>(o.load(config));
            const auto [it, inserted] = owner.emplace(name, o.key);
            if (!inserted && broken_.count(o.key) == 0 && broken_.count(it->second) == 0) {
                add_problem(origin(o.key),
                            "same column as " + it->second + " (" + echo(name) + ")");
            }
        }
    }

    std::string base_dir_;
    std::vector<std::string> sections_;       // "postgres", "postgres.columns", ...
    std::vector<std::string> known_keys_;     // options and sections, for hints
    std::map<std::string, Setting> settings_; // option key -> value given
    struct EntryOrigin {
        std::string origin; // dotted path or environment variable
        bool from_env = false;
    };
    std::map<std::string, EntryOrigin> entry_origins_; // "kafka.properties.<name>" -> origin
    std::set<std::string> broken_;                     // option keys with a reported problem
    std::vector<Problem> problems_;
    bool whole_ok_ = true; // false once the file itself could not be used
};

LoadResult load(const std::optional<std::string>& yaml_text,
                const std::string& base_dir,
                const std::vector<std::string>& env,
                const std::string& source_name,
                const std::string& read_error) {
    try {
        Loader loader(base_dir);
        if (yaml_text) {
            loader.read_yaml(*yaml_text);
        } else {
            loader.add_problem(source_name, read_error);
            loader.give_up_whole_checks();
        }
        loader.read_env(env);
        return loader.finish();
    } catch (const std::exception& e) {
        // A bug here must still reach the operator as a problem, not a crash.
        LoadResult result;
        result.problems.push_back(Problem{source_name, std::string("internal error: ") + e.what()});
        return result;
    }
}

// libpq parameters whose values are secrets: the login password and the
// passphrase of the client's TLS key.
bool is_dsn_secret_keyword(const std::string& keyword) {
    return keyword == "password" || keyword == "sslpassword";
}

// URI query keys may be percent-encoded ("pass%77ord"); libpq decodes them.
std::string percent_decoded(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()
            && std::isxdigit(static_cast<unsigned char>(text[i + 1])) != 0
            && std::isxdigit(static_cast<unsigned char>(text[i + 2])) != 0) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

// Replaces the value of `password=` (and `sslpassword=`) in a libpq keyword/value string, keeping
// the rest verbatim. Follows libpq's conninfo_parse: optional spaces around
// '=', values bare or in single quotes with backslash escapes.
std::string redact_keyword_dsn(const std::string& dsn) {
    std::string out;
    std::size_t i = 0;
    const std::size_t n = dsn.size();
    const auto is_space = [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) != 0;
    };
    while (i < n) {
        while (i < n && is_space(dsn[i])) {
            out += dsn[i++];
        }
        if (i == n) {
            break;
        }
        const std::size_t key_start = i;
        while (i < n && dsn[i] != '=' && !is_space(dsn[i])) {
            ++i;
        }
        const std::string keyword = dsn.substr(key_start, i - key_start);
        out += keyword;
        while (i < n && is_space(dsn[i])) {
            out += dsn[i++];
        }
        if (i == n || dsn[i] != '=') {
            // Not something libpq accepts; hide the rest rather than guess.
            if (i < n) {
                out += kRedacted;
            }
            return out;
        }
        out += dsn[i++];
        while (i < n && is_space(dsn[i])) {
            out += dsn[i++];
        }
        const std::size_t value_start = i;
        if (i < n && dsn[i] == '\'') {
            ++i;
            while (i < n && dsn[i] != '\'') {
                i += (dsn[i] == '\\' && i + 1 < n) ? 2 : 1;
            }
            if (i < n) {
                ++i; // closing quote
            }
        } else {
            while (i < n && !is_space(dsn[i])) {
                i += (dsn[i] == '\\' && i + 1 < n) ? 2 : 1;
            }
        }
        if (is_dsn_secret_keyword(keyword)) {
            out += kRedacted;
        } else {
            out += dsn.substr(value_start, i - value_start);
        }
    }
    return out;
}

// postgresql://user:secret@host/db?password=secret -> both secrets hidden.
std::string redact_uri_dsn(const std::string& dsn) {
    std::string out = dsn;
    const std::size_t scheme_end = out.find("://") + 3;
    // libpq takes the credentials up to the first '@' before any '/'.
    const std::size_t at = out.find_first_of("@/", scheme_end);
    std::size_t rest = scheme_end;
    if (at != std::string::npos && out[at] == '@') {
        const std::size_t colon = out.find(':', scheme_end);
        if (colon != std::string::npos && colon < at) {
            out.replace(colon + 1, at - colon - 1, kRedacted);
            rest = colon + 1 + kRedacted.size() + 1;
        } else {
            rest = at + 1;
        }
    }
    const std::size_t query = out.find('?', rest);
    if (query == std::string::npos) {
        return out;
    }
    std::size_t p = query + 1;
    while (p < out.size()) {
        std::size_t end = out.find('&', p);
        if (end == std::string::npos) {
            end = out.size();
        }
        const std::size_t eq = out.find('=', p);
        if (eq != std::string::npos && eq < end
            && is_dsn_secret_keyword(percent_decoded(out.substr(p, eq - p)))) {
            out.replace(eq + 1, end - eq - 1, kRedacted);
            end = eq + 1 + kRedacted.size();
        }
        p = end + 1;
    }
    return out;
}

void emit_value(YAML::Emitter& out, const Option& o, const OptionValue& value, bool redact) {
    switch (o.type) {
    case OptionType::kEnum:
        out << std::get<std::string>(value);
        break;
    case OptionType::kString: {
        std::string text = std::get<std::string>(value);
        if (redact && o.secret) {
            text = o.key == "postgres.dsn" ? redact_dsn(text)
                   : o.key == "rabbitmq.url" || o.key == "rabbitmq.management_url"
                       ? redact_url(text)
                       : std::string(kRedacted);
        }
        out << YAML::DoubleQuoted << text;
        break;
    }
    case OptionType::kBool:
        out << (std::get<bool>(value) ? "true" : "false");
        break;
    case OptionType::kInt:
    case OptionType::kDurationMs:
        out << std::get<std::int64_t>(value);
        break;
    case OptionType::kStringList: {
        const auto& items = std::get<std::vector<std::string>>(value);
        out << YAML::Flow << YAML::BeginSeq;
        for (const std::string& item : items) {
            out << YAML::DoubleQuoted << item;
        }
        out << YAML::EndSeq;
        break;
    }
    case OptionType::kStringMap: {
        const auto& entries = std::get<std::map<std::string, std::string>>(value);
        if (entries.empty()) {
            out << YAML::Flow;
        }
        out << YAML::BeginMap;
        // kafka.properties_files holds paths, which are not secret.
        const bool secret_values = o.key == "kafka.properties";
        for (const auto& [k, v] : entries) {
            out << YAML::Key << k << YAML::Value << YAML::DoubleQuoted
                << (redact && secret_values && is_secret_property(k) ? std::string(kRedacted) : v);
        }
        out << YAML::EndMap;
        break;
    }
    }
}

} // namespace

LoadResult load_config(const std::string& path, const std::vector<std::string>& env) {
    std::string text;
    std::string error;
    if (!read_file(path, &text, &error)) {
        return load(std::nullopt, "", env, path, "cannot read the configuration file: " + error);
    }
    return load(text, std::filesystem::path(path).parent_path().string(), env, path, "");
}

LoadResult load_config_text(const std::string& yaml_text,
                            const std::string& source_name,
                            const std::vector<std::string>& env) {
    // No file, so a relative postgres.dsn_file is taken from the working directory.
    return load(yaml_text, "", env, source_name, "");
}

std::string format_problem(const Problem& p) {
    return p.path.empty() ? p.message : p.path + ": " + p.message;
}

bool is_secret_property(const std::string& key) {
    constexpr const char* kSecretParts[] = {
        "password",    "secret",  "token", "credential", "sasl.oauthbearer.config",
        "ssl.key.pem", "ssl_key",
    };
    const std::string k = lower(key);
    return std::any_of(std::begin(kSecretParts), std::end(kSecretParts),
                       [&k](const char* part) { return k.find(part) != std::string::npos; });
}

const char* broker_name(BrokerKind kind) {
    return kind == BrokerKind::kRabbitMq ? "rabbitmq" : "kafka";
}

std::string redact_url(const std::string& url) {
    const std::size_t scheme = url.find("://");
    if (scheme == std::string::npos) {
        return url;
    }
    const std::size_t start = scheme + 3;
    // The credentials end at the last '@' before the path.
    const std::size_t slash = url.find('/', start);
    const std::size_t at = url.rfind('@', slash == std::string::npos ? url.size() : slash);
    if (at == std::string::npos || at < start) {
        return url;
    }
    const std::size_t colon = url.find(':', start);
    if (colon == std::string::npos || colon > at) {
        return url; // a user name only
    }
    return url.substr(0, colon + 1) + std::string(kRedacted) + url.substr(at);
}

std::string redact_dsn(const std::string& dsn) {
    if (starts_with(dsn, "postgresql://") || starts_with(dsn, "postgres://")) {
        return redact_uri_dsn(dsn);
    }
    return redact_keyword_dsn(dsn);
}

std::string to_yaml(const Config& config, bool redact) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    std::vector<std::string> open; // sections currently open, outermost first
    for (const Option& o : options()) {
        if (o.load == nullptr) {
            continue; // postgres.dsn_file: its content is already the DSN
        }
        OptionValue value = o.load(config);
        if (!o.default_value && !o.required && o.type == OptionType::kString
            && std::get<std::string>(value).empty()) {
            continue; // rabbitmq.url with broker: kafka: unset, and "" would not read back
        }
        if (o.required && o.type == OptionType::kString && std::get<std::string>(value).empty()) {
            continue; // kafka.bootstrap_servers with broker: rabbitmq
        }
        std::vector<std::string> parts;
        std::stringstream in(o.key);
        for (std::string part; std::getline(in, part, '.');) {
            parts.push_back(part);
        }
        const std::string leaf = parts.back();
        parts.pop_back();
        std::size_t common = 0;
        while (common < open.size() && common < parts.size() && open[common] == parts[common]) {
            ++common;
        }
        while (open.size() > common) {
            out << YAML::EndMap;
            open.pop_back();
        }
        for (std::size_t i = common; i < parts.size(); ++i) {
            out << YAML::Key << parts[i] << YAML::Value << YAML::BeginMap;
            open.push_back(parts[i]);
        }
        out << YAML::Key << leaf << YAML::Value;
        if (o.key == "kafka.properties") {
            // Values read from kafka.properties_files are shown as their
            // files (below), never as the secret, and reading the output
            // back must not find them set twice.
            auto& entries = std::get<std::map<std::string, std::string>>(value);
            for (const auto& entry : config.kafka.properties_files) {
                entries.erase(entry.first);
            }
        }
        emit_value(out, o, value, redact);
    }
    while (!open.empty()) {
        out << YAML::EndMap;
        open.pop_back();
    }
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

} // namespace outboxd::config
