#include "config/options_markdown.h"

#include "config/options.h"

#include <sstream>
#include <string>

namespace outboxd::config {
namespace {

std::string type_text(const Option& o) {
    switch (o.type) {
    case OptionType::kString:
        return "string";
    case OptionType::kBool:
        return "bool";
    case OptionType::kInt:
        return "int, " + std::to_string(o.min) + " to " + std::to_string(o.max);
    case OptionType::kDurationMs:
        return "milliseconds, " + std::to_string(o.min) + " to " + std::to_string(o.max);
    case OptionType::kEnum: {
        std::string text = "one of";
        for (std::size_t i = 0; i < o.allowed.size(); ++i) {
            text += (i == 0 ? " `" : ", `") + o.allowed[i] + "`";
        }
        return text;
    }
    case OptionType::kStringList:
        return "list of strings";
    case OptionType::kStringMap:
        return "map of string to scalar";
    }
    return "";
}

std::string markdown_cell(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|') {
            out += "\\|";
        } else {
            out += c;
        }
    }
    return out;
}

std::string section_of(const std::string& key) {
    return key.substr(0, key.find('.'));
}

} // namespace

std::string options_markdown() {
    std::ostringstream out;
    out << "# Configuration reference\n"
           "\n"
           "<!-- Generated from the option table in src/config/options.cc by\n"
           "     outboxd::config::options_markdown(); edit the table, not this file.\n"
           "     The unit test \"docs/configuration.md matches the option table\" fails\n"
           "     when the two differ; run it with OUTBOXD_TEST_UPDATE_DOCS=1 to rewrite\n"
           "     this file. -->\n"
           "\n"
           "outboxd reads one YAML file (`--config FILE`), then applies `OUTBOXD_*`\n"
           "environment variables on top. `config/outboxd.example.yaml` is an annotated\n"
           "example.\n"
           "\n"
           "- Every problem is reported at once, each with its dotted key or variable\n"
           "  name: unknown keys (with a \"did you mean\" hint), wrong types, values out\n"
           "  of range, missing required keys. Any problem stops the process.\n"
           "- Durations are whole milliseconds; their keys end in `_ms`.\n"
           "- Environment variable: `OUTBOXD_` then the key upper-cased with dots\n"
           "  replaced by underscores (`relay.max_attempts` is\n"
           "  `OUTBOXD_RELAY_MAX_ATTEMPTS`). Lists are comma separated. Values go\n"
           "  through the same checks as the file.\n"
           "- `kafka.properties` entries come from `OUTBOXD_KAFKA_PROPERTY_<NAME>`, with\n"
           "  NAME lower-cased and `_` read as `.`: `OUTBOXD_KAFKA_PROPERTY_SASL_PASSWORD`\n"
           "  sets `sasl.password`.\n"
           "- `kafka.properties_files` entries likewise come from\n"
           "  `OUTBOXD_KAFKA_PROPERTIES_FILE_<NAME>`; a relative path given there is\n"
           "  taken from the working directory.\n"
           "- Secrets (the DSN password, secret-looking `kafka.properties` values, the\n"
           "  content of `kafka.properties_files`) never appear in problems, logs or\n"
           "  `print-config` output; see docs/security.md.\n"
           "- Any other `OUTBOXD_*` variable is an error, except `OUTBOXD_CONFIG` and\n"
           "  `OUTBOXD_TEST_*`.\n"
           "- Reloadable options may change on SIGHUP; the others need a restart.\n";
    std::string current_section;
    for (const Option& o : options()) {
        const std::string section = section_of(o.key);
        if (section != current_section) {
            current_section = section;
            out << "\n## " << section << "\n\n"
                << "| key | type | default | environment variable | reloadable | description |\n"
                << "| --- | --- | --- | --- | --- | --- |\n";
        }
        std::string def = describe_default(o);
        def = o.required ? "required" : def.empty() ? "none" : "`" + def + "`";
        const std::string env = env_var_display(o);
        out << "| `" << o.key << "` | " << markdown_cell(type_text(o)) << " | "
            << markdown_cell(def) << " | `" << env << "` | " << (o.reloadable ? "yes" : "no")
            << " | " << markdown_cell(o.description) << " |\n";
    }
    return out.str();
}

} // namespace outboxd::config
