// The console's tokens (http.tokens_file, docs/console.md): who may read and
// who may change rows. Parsing and matching are pure; load_tokens_file does
// the file's I/O and refuses a file others may read.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace outboxd::console {

enum class Access { kNone, kRead, kWrite };
const char* to_string(Access access);

struct Token {
    std::string name;
    Access access = Access::kRead;
    std::string secret;
};

// Shortest secret accepted: a guessable token is no token.
inline constexpr std::size_t kMinSecretLength = 16;

struct ParsedTokens {
    std::vector<Token> tokens;
    std::vector<std::string> problems; // "line 3: ..."; any problem refuses the whole file
};

// `NAME ROLE SECRET` per line, ROLE read or write; blank lines and lines
// starting with '#' are skipped. Names and secrets must be unique.
ParsedTokens parse_tokens(const std::string& text);

// The token a request's Authorization field ("Bearer SECRET") names, or
// nullopt. Every secret is compared, each in time independent of where
// the bytes differ, so the answer's timing tells nothing about a secret.
std::optional<Token> authenticate(const std::vector<Token>& tokens,
                                  const std::string& authorization);

// Equal strings, compared in time that depends only on their lengths.
bool constant_time_equal(const std::string& a, const std::string& b);

// Why a tokens file of this mode and owner is refused, or "": no
// permission for others, no group write, and group read only on a file
// root owns (root:outboxd 0640, as the package installs its config, or a
// Kubernetes secret mounted with fsGroup and mode 0440). The rule
// PostgreSQL applies to its server key.
std::string tokens_mode_problem(unsigned mode, unsigned owner_uid);

// Reads and parses `path`. Problems (besides the parse's): the file cannot
// be read, is not a regular file, or its mode or owner fail
// tokens_mode_problem.
ParsedTokens load_tokens_file(const std::string& path);

} // namespace outboxd::console
