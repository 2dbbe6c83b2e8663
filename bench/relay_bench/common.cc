#include "common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace outboxd::bench {

void progress(const std::string& text) {
    std::cerr << "[bench] " << text << std::endl;
}

double wall_now_s() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string grouped(double v) {
    const auto n = static_cast<long long>(std::llround(v));
    std::string digits = std::to_string(n < 0 ? -n : n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return n < 0 ? "-" + out : out;
}

std::string fixed(double v, int decimals) {
    char buf[64];
    (void)std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

double quantile(const std::vector<double>& sorted, double q) {
    return sorted.empty()
               ? 0.0
               : sorted[std::min(sorted.size() - 1,
                                 static_cast<std::size_t>(q * static_cast<double>(sorted.size())))];
}

} // namespace outboxd::bench
