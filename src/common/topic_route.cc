#include "common/topic_route.h"

#include <cctype>

namespace outboxd {
namespace {

struct Translated {
    std::string ecmascript;
    std::map<std::string, int> names; // group name -> number
    int groups = 0;
};

// Java regex text -> ECMAScript regex text, numbering the capturing groups
// as Java does (by their opening parenthesis, named or not).
std::variant<Translated, std::string> translate(const std::string& java) {
    Translated out;
    bool in_class = false;
    for (std::size_t i = 0; i < java.size(); ++i) {
        const char c = java[i];
        if (c == '\\') {
            if (i + 1 >= java.size()) {
                return std::string("the expression ends with a lone backslash");
            }
            const char n = java[i + 1];
            if (n == 'p' || n == 'P' || n == 'Q' || n == 'E' || n == 'A' || n == 'Z' || n == 'z'
                || n == 'G' || n == 'h' || n == 'H' || n == 'R' || n == 'X' || n == 'k') {
                return std::string("\\") + n + " is Java-only and not supported";
            }
            out.ecmascript += c;
            out.ecmascript += n;
            ++i;
            continue;
        }
        if (in_class) {
            if (c == ']') {
                in_class = false;
            }
            out.ecmascript += c;
            continue;
        }
        if (c == '[') {
            in_class = true;
            out.ecmascript += c;
            if (i + 1 < java.size() && java[i + 1] == '^') {
                out.ecmascript += '^';
                ++i;
            }
            if (i + 1 < java.size() && java[i + 1] == ']') {
                out.ecmascript += "\\]";
                ++i;
            }
            continue;
        }
        if ((c == '+' || c == '*' || c == '?' || c == '}') && i + 1 < java.size()
            && java[i + 1] == '+') {
            return std::string("possessive quantifiers (") + c
                   + "+) are Java-only and not supported";
        }
        if (c != '(') {
            out.ecmascript += c;
            continue;
        }
        if (i + 1 < java.size() && java[i + 1] == '?') {
            const char k = i + 2 < java.size() ? java[i + 2] : '\0';
            if (k == ':' || k == '=' || k == '!') {
                out.ecmascript += "(?";
                out.ecmascript += k;
                i += 2;
                continue;
            }
            if (k == '<' && i + 3 < java.size() && java[i + 3] != '=' && java[i + 3] != '!') {
                const auto close = java.find('>', i + 3);
                if (close == std::string::npos) {
                    return std::string("a named group (?<name>...) is not closed");
                }
                const std::string name = java.substr(i + 3, close - i - 3);
                bool ok = !name.empty() && std::isalpha(static_cast<unsigned char>(name[0])) != 0;
                for (char ch : name) {
                    ok = ok && std::isalnum(static_cast<unsigned char>(ch)) != 0;
                }
                if (!ok) {
                    return "group name \"" + name
                           + "\" must be a letter followed by letters or digits";
                }
                if (!out.names.emplace(name, out.groups + 1).second) {
                    return "group name \"" + name + "\" is used twice";
                }
                ++out.groups;
                out.ecmascript += '(';
                i = close;
                continue;
            }
            return std::string("(?") + k
                   + "...) is not supported (lookbehind, atomic groups and inline flags are "
                     "Java-only)";
        }
        ++out.groups;
        out.ecmascript += '(';
    }
    if (in_class) {
        return std::string("a character class [...] is not closed");
    }
    return out;
}

} // namespace

std::variant<TopicRoute, std::string> TopicRoute::compile(const std::string& java_regex,
                                                          const std::string& replacement) {
    auto t = translate(java_regex);
    if (auto* err = std::get_if<std::string>(&t)) {
        return "route.topic_regex: " + *err;
    }
    auto& tr = std::get<Translated>(t);
    TopicRoute route;
    try {
        route.regex_ = std::make_shared<const std::regex>(tr.ecmascript, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        return std::string("route.topic_regex: not a valid regular expression (") + e.what() + ")";
    }
    // Java's replacement syntax: $N (the longest group number that exists),
    // ${name}, and a backslash quoting the next character.
    std::string literal;
    for (std::size_t i = 0; i < replacement.size(); ++i) {
        const char c = replacement[i];
        if (c == '\\') {
            if (i + 1 >= replacement.size()) {
                return std::string("route.topic_replacement: ends with a lone backslash");
            }
            literal += replacement[++i];
            continue;
        }
        if (c != '$') {
            literal += c;
            continue;
        }
        int group = -1;
        if (i + 1 < replacement.size() && replacement[i + 1] == '{') {
            const auto close = replacement.find('}', i + 2);
            if (close == std::string::npos) {
                return std::string("route.topic_replacement: ${ is not closed");
            }
            const std::string name = replacement.substr(i + 2, close - i - 2);
            const auto it = tr.names.find(name);
            if (it == tr.names.end()) {
                return "route.topic_replacement: no group named \"" + name
                       + "\" in route.topic_regex";
            }
            group = it->second;
            i = close;
        } else if (i + 1 < replacement.size()
                   && std::isdigit(static_cast<unsigned char>(replacement[i + 1])) != 0) {
            group = replacement[++i] - '0';
            if (group > tr.groups) {
                return "route.topic_replacement: no group " + std::to_string(group)
                       + " in route.topic_regex";
            }
            while (i + 1 < replacement.size()
                   && std::isdigit(static_cast<unsigned char>(replacement[i + 1])) != 0) {
                const int longer = group * 10 + (replacement[i + 1] - '0');
                if (longer > tr.groups) {
                    break;
                }
                group = longer;
                ++i;
            }
        } else {
            return std::string(
                "route.topic_replacement: $ must be followed by a group number or {name} (write "
                "\\$ for a dollar sign)");
        }
        route.pieces_.push_back(Piece{std::move(literal), -1});
        literal.clear();
        route.pieces_.push_back(Piece{"", group});
    }
    route.pieces_.push_back(Piece{std::move(literal), -1});
    return route;
}

std::string TopicRoute::apply(const std::string& value) const {
    if (!std::regex_match(value, *regex_)) {
        return value;
    }
    // As Java's Matcher.replaceFirst: the first match found from the start
    // is replaced, whatever follows it is kept.
    std::smatch m;
    if (!std::regex_search(value, m, *regex_)) {
        return value;
    }
    std::string out = m.prefix().str();
    for (const Piece& p : pieces_) {
        if (p.group < 0) {
            out += p.text;
        } else if (static_cast<std::size_t>(p.group) < m.size() && m[p.group].matched) {
            out += m[p.group].str();
        }
    }
    out += m.suffix().str();
    return out;
}

} // namespace outboxd
