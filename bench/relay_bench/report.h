// The pieces of the printed table: the spread of a figure over the rounds,
// its text, its JSON, and one labelled row.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace outboxd::bench {

// Median and range of one figure over the rounds: a single 3-second drain on
// a shared 2-core machine swings by +-20 %, the median of several does not.
struct Spread {
    double median = 0;
    double min = 0;
    double max = 0;
};

template <typename T, typename F>
Spread spread(const std::vector<T>& runs, F field) {
    std::vector<double> v;
    v.reserve(runs.size());
    for (const auto& r : runs) {
        v.push_back(field(r));
    }
    std::sort(v.begin(), v.end());
    Spread s;
    if (v.empty()) {
        return s;
    }
    const std::size_t n = v.size();
    s.median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.min = v.front();
    s.max = v.back();
    return s;
}

// The median, grouped, with "(min-max)" after it when `show_range`.
std::string with_range(const Spread& s, bool show_range);

nlohmann::json to_json(const Spread& s);

// One line of the table: a label and its value, in columns.
void row(const std::string& name, const std::string& value);

} // namespace outboxd::bench
