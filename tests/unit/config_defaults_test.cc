// A default is written once (issue 22): the option table in
// src/config/options.cc holds it, and config/outboxd.example.yaml must show
// that same value, so an operator who copies the example gets the code's
// defaults. Checked here: every value the example writes (uncommented, or a
// commented-out `# key: value` line), every "Default: X" it states, and the
// producer default it shows for linger.ms.
//
// docs/configuration.md needs no check of its own: it is generated from the
// table, and "docs/configuration.md matches the option table"
// (config_test.cc) compares the whole file.
#include "config/options.h"

#include <catch2/catch.hpp>
// yaml-cpp 0.7's node code, inlined at -O2 by GCC 12, trips
// -Wdangling-pointer inside the library's headers (as in src/CMakeLists.txt).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include <yaml-cpp/yaml.h>
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;
namespace outboxd::config {
namespace {

const char* const kExample = "config/outboxd.example.yaml";

// Keys the example gives a value that is not the table's default, on
// purpose. Anything else that differs is drift.
const std::map<std::string, std::string> kDeliberate = {
    {"postgres.dsn", "required, no default: a local DSN for the operator to edit"},
    {"postgres.dsn_file", "no default: a commented sample path of a mounted secret"},
    {"kafka.bootstrap_servers", "required with broker: kafka, no default: a local broker"},
    {"rabbitmq.url", "no default (required with broker: rabbitmq): a commented sample URI"},
    {"rabbitmq.url_file", "no default: a commented sample path of a mounted secret"},
    {"http.port_file", "no default: a commented sample path for a supervisor to read"},
    {"http.tokens_file", "no default: a commented sample path of the console's tokens"},
};

fs::path source_dir() {
    return fs::path(OUTBOXD_SOURCE_DIR);
}

std::vector<std::string> read_lines(const fs::path& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// The text a value shows in the docs: what describe_default() gives for the
// table's default, "none" for no default.
std::string shown(const std::string& text) {
    return text.empty() ? "none" : text;
}

// A YAML value as describe_default() would write it.
std::string describe_node(const Option& o, const YAML::Node& node) {
    if (node.IsScalar()) {
        return o.type == OptionType::kString ? "\"" + node.Scalar() + "\"" : node.Scalar();
    }
    if (node.IsSequence()) {
        std::string text;
        for (std::size_t i = 0; i < node.size(); ++i) {
            text += (i == 0 ? "" : ",") + YAML::Dump(node[i]);
        }
        return "[" + text + "]";
    }
    if (node.IsMap()) {
        return node.size() == 0 ? "{}" : "{" + YAML::Dump(node) + "}";
    }
    return "null";
}

// The value after "Default: " (up to the first blank, without a trailing
// '.' or ','), as describe_default() would write it.
std::string describe_stated(const Option& o, std::string token) {
    while (!token.empty() && (token.back() == '.' || token.back() == ',')) {
        token.pop_back();
    }
    if (token == "none") {
        return "";
    }
    if (o.type == OptionType::kString && (token.empty() || token.front() != '"')) {
        return "\"" + token + "\"";
    }
    return token;
}

std::int64_t unit_bytes(const std::string& unit) {
    if (unit == "KiB") {
        return 1024;
    }
    if (unit == "MiB") {
        return std::int64_t{1024} * 1024;
    }
    return std::int64_t{1024} * 1024 * 1024;
}

// One place the example shows an option: a key line or a commented-out one.
struct Sighting {
    std::string key;
    int line = 0;           // 1-based
    bool commented = false; // "# key: value"
    std::string value;      // as describe_default() would write it
    std::string comment;    // the comment block above it plus its inline comment
};

// The node at a dotted path; undefined when absent. Const all the way, so
// nothing is inserted on the way down.
YAML::Node at(const YAML::Node& node, const std::string& path) {
    const auto dot = path.find('.');
    if (dot == std::string::npos) {
        return node[path];
    }
    return at(node[path.substr(0, dot)], path.substr(dot + 1));
}

// Walks the example line by line: YAML paths from indentation, the comment
// block above each key (since the last key or blank line), and its inline
// comment. Values of written keys come from yaml-cpp, of commented-out ones
// from parsing the rest of the line.
std::vector<Sighting> sightings(const std::vector<std::string>& lines, const YAML::Node& root) {
    static const std::regex key_line(R"(^( *)([A-Za-z_][A-Za-z0-9_]*):(.*)$)");
    static const std::regex commented_key(R"(^( *)# ([a-z_][a-z0-9_]*): (.*)$)");
    static const std::regex comment_line(R"(^ *#(.*)$)");
    std::vector<Sighting> out;
    std::vector<std::pair<std::size_t, std::string>> stack; // (indent, name)
    std::string block;
    auto path_at = [&stack](std::size_t indent, const std::string& name) {
        std::string path;
        for (const auto& [i, n] : stack) {
            if (i < indent) {
                path += n + ".";
            }
        }
        return path + name;
    };
    for (std::size_t n = 0; n < lines.size(); ++n) {
        const std::string& line = lines[n];
        std::smatch m;
        if (line.find_first_not_of(' ') == std::string::npos) {
            block.clear();
            continue;
        }
        if (std::regex_match(line, m, commented_key)) {
            const std::string path = path_at(m[1].length(), m[2]);
            const Option* o = find_option(path);
            if (o != nullptr) {
                Sighting s;
                s.key = path;
                s.line = static_cast<int>(n + 1);
                s.commented = true;
                s.value = describe_node(*o, YAML::Load(m[3].str()));
                s.comment = block;
                out.push_back(s);
                block.clear();
                continue;
            }
        }
        if (std::regex_match(line, m, comment_line)) {
            block += m[1].str() + " ";
            continue;
        }
        if (!std::regex_match(line, m, key_line)) {
            continue;
        }
        const auto indent = static_cast<std::size_t>(m[1].length());
        while (!stack.empty() && stack.back().first >= indent) {
            stack.pop_back();
        }
        const std::string path = path_at(indent, m[2]);
        stack.emplace_back(indent, m[2]);
        const Option* o = find_option(path);
        if (o != nullptr) {
            Sighting s;
            s.key = path;
            s.line = static_cast<int>(n + 1);
            s.value = describe_node(*o, at(root, path));
            const std::string tail = m[3].str();
            const auto hash = tail.find(" #");
            s.comment = block + (hash == std::string::npos ? "" : tail.substr(hash + 2));
            out.push_back(s);
        }
        block.clear();
    }
    return out;
}

} // namespace

TEST_CASE("example: every value and stated default is the option table's default",
          "[unit][config][defaults]") {
    const fs::path example = source_dir() / kExample;
    const std::vector<std::string> lines = read_lines(example);
    REQUIRE_FALSE(lines.empty());
    const YAML::Node root = YAML::LoadFile(example.string());
    const std::vector<Sighting> seen = sightings(lines, root);

    static const std::regex stated(R"(Default: (\S+)( \((\d+) (KiB|MiB|GiB)\))?)");
    std::set<std::string> valued;     // keys the example gives a value
    std::set<std::string> documented; // keys whose default is shown (value or statement)
    for (const Sighting& s : seen) {
        const Option& o = *find_option(s.key);
        const std::string def = describe_default(o);
        const std::string where =
            std::string(kExample) + ":" + std::to_string(s.line) + " (" + s.key + ")";
        const bool deliberate = kDeliberate.count(s.key) != 0;
        valued.insert(s.key);
        if (s.value == def) {
            documented.insert(s.key);
            if (deliberate) {
                FAIL_CHECK(where << " is listed as deliberately not the default, yet shows the "
                                    "default "
                                 << shown(def) << ": drop it from kDeliberate");
            }
        } else if (!deliberate) {
            FAIL_CHECK(where << ": the example " << (s.commented ? "shows # " : "writes ")
                             << s.value << ", the option table's default is " << shown(def));
        }
        for (std::sregex_iterator it(s.comment.begin(), s.comment.end(), stated), end; it != end;
             ++it) {
            const std::smatch& m = *it;
            const std::string value = describe_stated(o, m[1].str());
            documented.insert(s.key);
            if (value != def) {
                FAIL_CHECK(where << ": its comment says \"" << m[0].str()
                                 << "\", the option table's default is " << shown(def));
            } else if (m[2].matched) {
                const std::int64_t scaled = std::stoll(m[3].str()) * unit_bytes(m[4].str());
                if (std::to_string(scaled) != def) {
                    FAIL_CHECK(where << ": its comment says \"" << m[0].str() << "\", but " << def
                                     << " is not " << m[3].str() << " " << m[4].str());
                }
            }
        }
    }
    for (const auto& [key, reason] : kDeliberate) {
        INFO(key << ": " << reason);
        CHECK(find_option(key) != nullptr);
        CHECK(valued.count(key) == 1); // else the entry is stale
    }
    // Every option with a default shows it, as a value or a "Default:".
    for (const Option& o : options()) {
        if (o.default_value && documented.count(o.key) == 0) {
            FAIL_CHECK(kExample << " shows no default for " << o.key << " (the table's is "
                                << describe_default(o) << ")");
        }
    }
}

TEST_CASE("example: the linger.ms it shows is the one outboxd's producer sets",
          "[unit][config][defaults]") {
    // Not an option of the table: a producer default in kafka_publisher.cc,
    // which unit_tests does not link, so its source is read.
    const std::string source = read_text(source_dir() / "src/kafka/kafka_publisher.cc");
    std::smatch code;
    static const std::regex set_by_code(R"re(emplace_back\("linger\.ms", "(\d+)"\))re");
    REQUIRE(std::regex_search(source, code, set_by_code));

    const std::string text = read_text(source_dir() / kExample);
    std::smatch shown_value;
    static const std::regex shown_in_example(R"(#\s*linger\.ms: (\d+))");
    REQUIRE(std::regex_search(text, shown_value, shown_in_example));
    INFO(kExample << " shows linger.ms: " << shown_value[1].str()
                  << ", src/kafka/kafka_publisher.cc sets " << code[1].str());
    CHECK(shown_value[1].str() == code[1].str());
    // And no comment claims another value ("outboxd sets 1").
    std::smatch claim;
    static const std::regex claimed(R"(outboxd sets (\d+))");
    if (std::regex_search(text, claim, claimed)) {
        INFO(kExample << " says \"" << claim[0].str() << "\"");
        CHECK(claim[1].str() == code[1].str());
    }
}

} // namespace outboxd::config
