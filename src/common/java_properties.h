// Java Properties text, read as java.util.Properties.load reads it: the
// connector files `outboxd convert-debezium` takes and the tracing column's
// text. Pure; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace outboxd {

// One key/value line of Properties text.
struct JavaProperty {
    std::string key;   // escapes resolved
    std::string value; // escapes resolved, continuation lines joined
    int line = 0;      // the 1-based natural line the entry starts on
    // "" or why the entry could not be read (a malformed \uXXXX escape,
    // which Java refuses). Then `value` is "", and so is `key` when the
    // escape is in the key. Whether that fails the whole text is the
    // caller's choice.
    std::string problem;
};

// Every entry of `text`, in order; a repeated key is listed each time (in
// Java the last one wins). The rules of Properties.load:
//  - natural lines end at \n, \r or \r\n; leading blanks (' ', \t, \f) are
//    dropped; blank lines and lines starting with '#' or '!' are skipped;
//  - a line ending in an odd number of backslashes continues on the next
//    natural line, whose leading blanks are dropped (a comment line never
//    continues; a last line ending so just loses the backslash);
//  - the key ends at the first unescaped '=', ':' or blank; the blanks after
//    it, one '=' or ':' and the blanks after that separate it from the
//    value; trailing blanks belong to the value;
//  - escapes in keys and values: \t \n \r \f, \uXXXX (a UTF-16 surrogate
//    pair of two \u escapes is one character, a lone surrogate becomes
//    U+FFFD), and a backslash before any other character stands for that
//    character.
// Bytes are taken as they stand: which encoding the text is in (Java reads
// a stream as Latin-1) is the caller's business, like a byte-order mark.
std::vector<JavaProperty> parse_java_properties(std::string_view text);

} // namespace outboxd
