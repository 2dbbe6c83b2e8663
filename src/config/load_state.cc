#include "config/load_state.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <system_error>
#include <utility>

namespace outboxd::config {
namespace {

// Long values are cut in messages so one bad line stays one readable line.
constexpr std::size_t kMaxEchoBytes = 60;

} // namespace

void LoadState::add_problem(std::string path, std::string message) {
    problems.push_back(Problem{std::move(path), std::move(message)});
}

bool LoadState::is_set(const std::string& key) const {
    return settings.count(key) != 0 || broken.count(key) != 0;
}

std::string LoadState::origin(const std::string& key) const {
    auto it = settings.find(key);
    return it == settings.end() ? key : it->second.origin;
}

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

} // namespace outboxd::config
