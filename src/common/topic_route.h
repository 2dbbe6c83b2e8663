// The topic of a row made from a column's text through a regular expression
// and a replacement (postgres.route.*, docs/debezium.md): the value must match
// the whole expression; then the first match is replaced by the replacement
// with $N and ${name} standing for the groups, and a value that does not
// match is the topic as it is. Expressions are written in Java's syntax, as
// Debezium's configurations hold them: named groups (?<name>...) are
// accepted and run as ECMAScript groups; Java-only constructs (lookbehind,
// possessive and atomic groups, inline flags, \p{...}) are refused when the
// configuration is loaded. No I/O; an instance is immutable and any thread
// may use it.
#pragma once

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <variant>

namespace outboxd {

class TopicRoute {
public:
    // The compiled route, or why the expression or the replacement cannot be used.
    static std::variant<TopicRoute, std::string> compile(const std::string& java_regex,
                                                         const std::string& replacement);

    std::string apply(const std::string& value) const;

private:
    // One piece of the replacement: literal text, or a group's number.
    struct Piece {
        std::string text;
        int group = -1;
    };
    std::shared_ptr<const std::regex> regex_;
    std::vector<Piece> pieces_;
};

} // namespace outboxd
