#include "config/print_config.h"

#include "config/config.h"
#include "config/options.h"
#include "config/redact.h"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace outboxd::config {
namespace {

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
