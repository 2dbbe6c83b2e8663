// How the admin commands print: table cells, JSON, ages, store errors.
// Pure text helpers; main thread only (they write to std::cout / cerr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace outboxd::cli {

using Json = nlohmann::json;

// "4.2 s", "3725 s (1h 2m 5s)": seconds for scripts that grep, the split for
// the person on call.
std::string human_age(double seconds);

// Code points in UTF-8 text (continuation bytes do not count).
std::size_t width(const std::string& text);

// One table cell: control characters (newlines in error texts) become
// spaces, runs of spaces collapse, and text longer than `max` code points is
// cut at a character boundary and ends in "...".
std::string cell(const std::string& text, std::size_t max);

// `text` padded with spaces to `to` code points.
std::string pad(const std::string& text, std::size_t to);

// Indented JSON; bytes that are not UTF-8 (a key or error text written by
// some other tool) are replaced, not thrown on.
std::string dump(const Json& j);

// "outboxd: <command> failed: <why>" on stderr; returns exit code 1.
int store_error(const std::string& command, const std::exception& e);

// Prints a table: the header, then the rows, each column padded to its
// widest cell but the last.
void print_table(const std::vector<std::string>& head,
                 const std::vector<std::vector<std::string>>& rows);

// "4711 4712 4713": the first `shown` ids, then "..." when there are more.
std::string id_list(const std::vector<std::int64_t>& ids, std::size_t shown);

} // namespace outboxd::cli
