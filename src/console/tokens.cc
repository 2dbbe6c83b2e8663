#include "console/tokens.h"

#include <cctype>
#include <cerrno>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include <sys/stat.h>

namespace outboxd::console {

const char* to_string(Access access) {
    switch (access) {
    case Access::kNone:
        return "none";
    case Access::kRead:
        return "read";
    case Access::kWrite:
        return "write";
    }
    return "none";
}

ParsedTokens parse_tokens(const std::string& text) {
    ParsedTokens out;
    std::set<std::string> names;
    std::set<std::string> secrets;
    std::istringstream in(text);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        std::istringstream fields(line);
        std::string name;
        std::string role;
        std::string secret;
        std::string extra;
        if (!(fields >> name) || name[0] == '#') {
            continue;
        }
        const std::string at = "line " + std::to_string(number) + ": ";
        if (!(fields >> role >> secret)) {
            out.problems.push_back(at + "expected NAME ROLE SECRET");
            continue;
        }
        if (fields >> extra) {
            out.problems.push_back(at
                                   + "expected NAME ROLE SECRET, found more (no spaces in a "
                                     "secret)");
            continue;
        }
        Token t;
        t.name = name;
        t.secret = secret;
        bool ok = true;
        if (role == "read") {
            t.access = Access::kRead;
        } else if (role == "write") {
            t.access = Access::kWrite;
        } else {
            out.problems.push_back(at + "role must be read or write, not '" + role + "'");
            ok = false;
        }
        // The secret itself is never repeated in a problem: the log may be
        // read by more people than the file.
        if (secret.size() < kMinSecretLength) {
            out.problems.push_back(at + "the secret of " + name + " is shorter than "
                                   + std::to_string(kMinSecretLength) + " characters");
            ok = false;
        }
        if (!names.insert(name).second) {
            out.problems.push_back(at + "the name " + name + " is used twice");
            ok = false;
        }
        if (!secrets.insert(secret).second) {
            out.problems.push_back(at + "the secret of " + name + " is used twice");
            ok = false;
        }
        if (ok) {
            out.tokens.push_back(std::move(t));
        }
    }
    return out;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
    // Walk the longer length; a differing length still costs a full walk.
    const std::size_t n = a.size() > b.size() ? a.size() : b.size();
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    // Keep the compiler from turning the loop into an early exit.
    volatile unsigned char result = diff;
    return result == 0;
}

std::optional<Token> authenticate(const std::vector<Token>& tokens,
                                  const std::string& authorization) {
    static const std::string kScheme = "Bearer ";
    if (authorization.size() <= kScheme.size()) {
        return std::nullopt;
    }
    // The scheme is case-insensitive (RFC 9110 11.1).
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i]))
            != std::tolower(static_cast<unsigned char>(kScheme[i]))) {
            return std::nullopt;
        }
    }
    const std::string secret = authorization.substr(kScheme.size());
    std::optional<Token> found;
    // No early exit: every token is compared whatever matched.
    for (const auto& t : tokens) {
        if (constant_time_equal(t.secret, secret) && !found) {
            found = t;
        }
    }
    return found;
}

std::string tokens_mode_problem(unsigned mode, unsigned owner_uid) {
    const bool others = (mode & 007) != 0;
    const bool group_write = (mode & 020) != 0;
    const bool group_read = (mode & 050) != 0;
    if (!others && !group_write && (!group_read || owner_uid == 0)) {
        return {};
    }
    std::ostringstream octal;
    octal << std::oct << (mode & 0777);
    return "mode " + octal.str()
           + " lets others read or change the tokens: chmod 600 (or 640 with the file owned by "
             "root and its group the daemon's)";
}

ParsedTokens load_tokens_file(const std::string& path) {
    ParsedTokens out;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        out.problems.push_back(path + ": " + std::generic_category().message(errno));
        return out;
    }
    if (!S_ISREG(st.st_mode)) {
        out.problems.push_back(path + ": not a regular file");
        return out;
    }
    if (const auto why = tokens_mode_problem(st.st_mode, st.st_uid); !why.empty()) {
        out.problems.push_back(path + ": " + why);
        return out;
    }
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        out.problems.push_back(path + ": " + std::generic_category().message(errno));
        return out;
    }
    std::ostringstream text;
    text << f.rdbuf();
    out = parse_tokens(text.str());
    for (auto& p : out.problems) {
        p = path + ": " + p;
    }
    if (out.problems.empty() && out.tokens.empty()) {
        out.problems.push_back(path + ": no token (NAME ROLE SECRET per line)");
    }
    return out;
}

} // namespace outboxd::console
