#include "common/java_properties.h"

#include "common/text.h"

#include <cstddef>
#include <cstdint>

namespace outboxd {
namespace {

constexpr std::uint32_t kReplacement = 0xFFFD;

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\f';
}

std::string_view without_leading_blanks(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) {
        s.remove_prefix(1);
    }
    return s;
}

bool ends_in_odd_backslashes(std::string_view s) {
    std::size_t slashes = 0;
    while (slashes < s.size() && s[s.size() - 1 - slashes] == '\\') {
        ++slashes;
    }
    return slashes % 2 == 1;
}

// The natural lines of a text, each without its terminator and leading
// blanks, counted from 1.
class NaturalLines {
public:
    explicit NaturalLines(std::string_view text)
        : text_(text) {}

    bool next(std::string_view& line) {
        if (pos_ >= text_.size()) {
            return false;
        }
        std::size_t end = text_.find_first_of("\r\n", pos_);
        if (end == std::string_view::npos) {
            end = text_.size();
        }
        line = without_leading_blanks(text_.substr(pos_, end - pos_));
        pos_ = end;
        if (pos_ < text_.size()) {
            const bool crlf =
                text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n';
            pos_ += crlf ? 2 : 1;
        }
        ++number_;
        return true;
    }

    int number() const { return number_; }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
    int number_ = 0;
};

// The four hex digits of a \u escape, from raw[at], into `unit`; false
// when there are not four.
bool read_hex4(std::string_view raw, std::size_t at, std::uint32_t& unit) {
    if (raw.size() < at + 4) {
        return false;
    }
    unit = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
        const int v = hex_digit_value(raw[k]);
        if (v < 0) {
            return false;
        }
        unit = unit * 16 + static_cast<std::uint32_t>(v);
    }
    return true;
}

// Resolves the escapes of a key or a value (Properties.loadConvert) into
// `out`; false for a malformed \u escape.
bool unescape(std::string_view raw, std::string& out) {
    out.clear();
    out.reserve(raw.size());
    std::uint32_t high = 0; // a pending high surrogate; 0: none
    const auto flush_high = [&] {
        if (high != 0) {
            append_utf8(out, kReplacement);
            high = 0;
        }
    };
    std::size_t i = 0;
    while (i < raw.size()) {
        const char c = raw[i++];
        if (c != '\\') {
            flush_high();
            out += c;
            continue;
        }
        if (i == raw.size()) {
            break; // a lone backslash at the very end: dropped
        }
        const char e = raw[i++];
        if (e != 'u') {
            flush_high();
            switch (e) {
            case 't':
                out += '\t';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 'f':
                out += '\f';
                break;
            default:
                out += e;
            }
            continue;
        }
        std::uint32_t unit = 0;
        if (!read_hex4(raw, i, unit)) {
            return false;
        }
        i += 4;
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            flush_high();
            high = unit;
        } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
            if (high != 0) {
                append_utf8(out, 0x10000 + ((high - 0xD800) << 10U) + (unit - 0xDC00));
                high = 0;
            } else {
                append_utf8(out, kReplacement);
            }
        } else {
            flush_high();
            append_utf8(out, unit);
        }
    }
    flush_high();
    return true;
}

std::string malformed(const char* where) {
    return std::string("malformed \\uXXXX escape in the ") + where
           + " (four hexadecimal digits expected after \\u)";
}

// One logical line (continuations joined) split into its key and value.
JavaProperty entry_of(std::string_view logical, int line) {
    std::size_t key_end = 0;
    bool escaped = false;
    for (; key_end < logical.size(); ++key_end) {
        const char c = logical[key_end];
        if (escaped) {
            escaped = false;
        } else if (c == '\\') {
            escaped = true;
        } else if (c == '=' || c == ':' || is_blank(c)) {
            break;
        }
    }
    std::size_t value_start = key_end;
    bool separator = false;
    while (value_start < logical.size()) {
        const char c = logical[value_start];
        if (is_blank(c)) {
            ++value_start;
        } else if (!separator && (c == '=' || c == ':')) {
            separator = true;
            ++value_start;
        } else {
            break;
        }
    }
    JavaProperty p;
    p.line = line;
    if (!unescape(logical.substr(0, key_end), p.key)) {
        p.key.clear();
        p.problem = malformed("key");
    } else if (!unescape(logical.substr(value_start), p.value)) {
        p.value.clear();
        p.problem = malformed("value");
    }
    return p;
}

} // namespace

std::vector<JavaProperty> parse_java_properties(std::string_view text) {
    std::vector<JavaProperty> entries;
    NaturalLines lines(text);
    std::string_view natural;
    std::string logical;
    while (lines.next(natural)) {
        if (natural.empty() || natural.front() == '#' || natural.front() == '!') {
            continue; // blank or comment; a comment line never continues
        }
        const int first_line = lines.number();
        logical.assign(natural);
        while (ends_in_odd_backslashes(logical)) {
            logical.pop_back();
            if (!lines.next(natural)) {
                break;
            }
            logical.append(natural);
        }
        entries.push_back(entry_of(logical, first_line));
    }
    return entries;
}

} // namespace outboxd
