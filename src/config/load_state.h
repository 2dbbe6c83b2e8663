// What one configuration load has gathered so far (each option's value and
// where it was set, the options already reported, the problems) and the text
// helpers its messages share. Used by the loader (config.cc) and the
// cross-checks (checks.cc); one load only, not shared between threads.
#pragma once

#include "config/config.h"
#include "config/options.h"

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace outboxd::config {

// One option's value as given, before it is stored into the Config.
struct Setting {
    OptionValue value;
    std::string origin; // dotted path or environment variable: where to point problems
    bool from_env = false;
};

// Where one kafka.properties or kafka.properties_files entry was set.
struct EntryOrigin {
    std::string origin; // dotted path or environment variable
    bool from_env = false;
};

struct LoadState {
    std::string base_dir;                             // the config file's directory; "" without one
    std::map<std::string, Setting> settings;          // option key -> value given
    std::map<std::string, EntryOrigin> entry_origins; // "kafka.properties.<name>" -> origin
    std::set<std::string> broken;                     // option keys with a reported problem
    std::vector<Problem> problems;                    // in the order found

    void add_problem(std::string path, std::string message);
    // Given, or given and reported: either way not missing.
    bool is_set(const std::string& key) const;
    // Where the option was set, or its key when it was not.
    std::string origin(const std::string& key) const;
};

bool starts_with(std::string_view text, std::string_view prefix);

// Without leading and trailing white space.
std::string trim(const std::string& text);

// A value as it appears in a message: quoted, control bytes escaped, cut.
std::string echo(const std::string& text);

// The whole file, or the reason it cannot be read (missing, a directory...).
bool read_file(const std::string& path, std::string* content, std::string* error);

} // namespace outboxd::config
