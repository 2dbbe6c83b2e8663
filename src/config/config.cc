#include "config/config.h"

#include "common/parse_int.h"
#include "config/checks.h"
#include "config/load_state.h"
#include "config/options.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace outboxd::config {
namespace {

// Beyond this many edits a suggestion is more likely noise than help.
constexpr std::size_t kMaxHintDistance = 2;

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

// Gathers values from YAML and the environment, then builds the Config.
// Problems are appended in the order found, which is file order for the
// YAML walk. One load only; not shared between threads.
class Loader {
public:
    explicit Loader(std::string base_dir)
        : sections_(section_keys()) {
        state_.base_dir = std::move(base_dir);
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
        apply_layout(config);
        for (const Option& o : options()) {
            auto it = state_.settings.find(o.key);
            if (o.store != nullptr && it != state_.settings.end()) {
                o.store(config, it->second.value);
            }
        }
        if (config.postgres.layout == Layout::kDebezium
            && config.kafka.properties.count("partitioner") == 0) {
            // Java's default partitioner: a key lands on the partition
            // Debezium put it on, so its order survives the switch.
            config.kafka.properties["partitioner"] = "murmur2_random";
        }
        if (whole_ok_) {
            check_whole(state_, config);
        }
        LoadResult result;
        result.problems = std::move(state_.problems);
        if (result.problems.empty()) {
            result.config = std::move(config);
        }
        return result;
    }

    // postgres.layout: debezium moves the defaults of the options it names
    // (debezium_layout_defaults); explicit settings are stored after this.
    void apply_layout(Config& config) {
        const auto it = state_.settings.find("postgres.layout");
        if (it == state_.settings.end() || std::get<std::string>(it->second.value) != "debezium") {
            return;
        }
        for (const auto& [key, text] : debezium_layout_defaults()) {
            const Option* o = find_option(key);
            Parsed parsed =
                o != nullptr ? parse_text(*o, std::string(text)) : fail("no such option");
            if (!parsed.value) {
                add_problem(std::string(key),
                            "internal error: bad layout default: " + parsed.error);
                continue;
            }
            o->store(config, *parsed.value);
        }
        config.postgres.tracing_optional = state_.settings.count("postgres.columns.tracing") == 0;
    }

    void add_problem(std::string path, std::string message) {
        state_.add_problem(std::move(path), std::move(message));
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
                            state_.broken.insert(o.key);
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
            state_.settings[o.key] = Setting{OptionValue(std::move(items)), path, false};
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
            state_.entry_origins[entry_path] = EntryOrigin{entry_path, false};
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
        state_.entry_origins[o.key + "." + key] = EntryOrigin{name, true};
        merge_map(o, {{key, value}}, name, true);
    }

    // Environment entries add to or replace the file's entries one by one:
    // a secret injected as OUTBOXD_KAFKA_PROPERTY_SASL_PASSWORD must not wipe
    // the TLS settings written in the file.
    void merge_map(const Option& o,
                   std::map<std::string, std::string> entries,
                   const std::string& origin,
                   bool from_env) {
        auto it = state_.settings.find(o.key);
        if (it == state_.settings.end()) {
            state_.settings[o.key] = Setting{OptionValue(std::move(entries)), origin, from_env};
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
        state_.settings[o.key] = Setting{std::move(*parsed.value), origin, from_env};
    }

    void bad(const Option& o, const std::string& path, std::string message) {
        state_.broken.insert(o.key);
        add_problem(path, std::move(message));
    }

    LoadState state_;
    std::vector<std::string> sections_;   // "postgres", "postgres.columns", ...
    std::vector<std::string> known_keys_; // options and sections, for hints
    bool whole_ok_ = true;                // false once the file itself could not be used
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

const char* broker_name(BrokerKind kind) {
    return kind == BrokerKind::kRabbitMq ? "rabbitmq" : "kafka";
}

} // namespace outboxd::config
