// The table of every configuration option: key, type, bounds, default,
// description, reload rule and where it lands in Config. The loader, the
// environment mapping, to_yaml() and the Markdown reference are all driven
// by this one table, so docs, defaults and checks cannot drift apart.
// Built once on first use and immutable afterwards; any thread may read it.
#pragma once

#include "config/config.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace outboxd::config {

enum class OptionType {
    kString,
    kBool,
    kInt,        // bounded by min/max
    kDurationMs, // a whole number of milliseconds, bounded by min/max
    kEnum,       // one of `allowed`
    kStringList,
    kStringMap, // scalar values are kept as written ("true", "5")
};

// kInt and kDurationMs both hold std::int64_t.
using OptionValue = std::variant<std::string,
                                 bool,
                                 std::int64_t,
                                 std::vector<std::string>,
                                 std::map<std::string, std::string>>;

struct Option {
    std::string key; // dotted YAML path with unit suffix: "relay.poll_interval_ms"
    OptionType type = OptionType::kString;
    // In environment-variable text form (lists comma separated); applied
    // before the file is read. Unset for options without a default.
    std::optional<std::string> default_value;
    bool required = false;
    bool reloadable = false; // a SIGHUP reload may change it without a restart
    bool secret = false;     // never echoed in problems; redacted by to_yaml
    std::int64_t min = 0;    // kInt, kDurationMs
    std::int64_t max = 0;
    std::vector<std::string> allowed; // kEnum
    std::string description;          // one line, for docs and the example file

    // Extra rule for a string or for each list element: "" when acceptable,
    // otherwise the problem's message.
    std::string (*check_text)(const std::string& text) = nullptr;
    // Extra rule for each map entry, same convention.
    std::string (*check_entry)(const std::string& key, const std::string& value) = nullptr;
    // Writes an already validated value into the Config. Null for options
    // that the loader resolves itself (postgres.dsn_file becomes the DSN).
    void (*store)(Config& config, const OptionValue& value) = nullptr;
    // Reads the effective value back (to_yaml, reload comparison). Null
    // exactly when `store` is.
    OptionValue (*load)(const Config& config) = nullptr;
};

// postgres.additional_fields entries: "column:placement[:name]" split at
// the colons; parse_additional_field takes a checked entry.
std::vector<std::string> split_additional_field(const std::string& text);
AdditionalField parse_additional_field(const std::string& text);
std::string format_additional_field(const AdditionalField& field);

// The defaults postgres.layout: debezium changes (key, value in environment
// text form), applied after the table's defaults and before any explicit
// setting (docs/debezium.md).
const std::vector<std::pair<std::string_view, std::string_view>>& debezium_layout_defaults();

// Every option, grouped by section in the order of the example file.
const std::vector<Option>& options();

// The option with this dotted key, or nullptr.
const Option* find_option(std::string_view key);

// Rules between two integer options (kInt or kDurationMs): `big` must be at
// least `small`. The loader checks them on every file, and a SIGHUP reload
// again after merging in the running restart-only values (merge_problems).
struct AtLeastRule {
    std::string_view big;
    std::string_view small;
};
const std::vector<AtLeastRule>& at_least_rules();

// The value of an integer option in `config`.
std::int64_t int_value(const Config& config, std::string_view key);

// "relay.max_attempts" -> "OUTBOXD_RELAY_MAX_ATTEMPTS".
std::string env_var_name(std::string_view key);

// kafka.properties entries come from OUTBOXD_KAFKA_PROPERTY_<NAME>, NAME
// lower-cased with '_' -> '.', because one variable cannot hold a map.
inline constexpr std::string_view kEnvPrefix = "OUTBOXD_";
inline constexpr std::string_view kPropertyEnvPrefix = "OUTBOXD_KAFKA_PROPERTY_";
// kafka.properties_files entries likewise: OUTBOXD_KAFKA_PROPERTIES_FILE_<NAME>.
inline constexpr std::string_view kPropertyFileEnvPrefix = "OUTBOXD_KAFKA_PROPERTIES_FILE_";

// The environment variable(s) of an option as the docs show them.
std::string env_var_display(const Option& option);

// The refusals that apply to every librdkafka property, however it is set:
// "" when acceptable, otherwise the problem's message. `shown` is how the
// value appears in that message: the value quoted, or, for a value read
// from a secret file, where it came from.
std::string
check_kafka_property(const std::string& key, const std::string& value, const std::string& shown);

// ASCII lower case, for keys and enum values ("JSON" -> "json").
std::string lower(std::string text);

// The rule "must not be empty", for options and for the CLI's arguments
// (CLI11 validators share the convention: "" when acceptable).
std::string check_not_empty(const std::string& text);

// The value text as written in YAML or the docs: 500, "public.outbox", [], {}.
std::string describe_default(const Option& option);

} // namespace outboxd::config
