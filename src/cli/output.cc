#include "cli/output.h"

#include "common/exit_codes.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <sstream>

namespace outboxd::cli {

std::string human_age(double seconds) {
    std::ostringstream out;
    if (seconds < 60) {
        out.setf(std::ios::fixed);
        out.precision(1);
        out << seconds << " s";
        return out.str();
    }
    const auto total = static_cast<std::int64_t>(std::floor(seconds));
    out << total << " s (";
    const std::int64_t d = total / 86400;
    const std::int64_t h = total % 86400 / 3600;
    const std::int64_t m = total % 3600 / 60;
    const std::int64_t s = total % 60;
    if (d > 0) {
        out << d << "d ";
    }
    if (d > 0 || h > 0) {
        out << h << "h ";
    }
    out << m << "m " << s << "s)";
    return out.str();
}

std::size_t width(const std::string& text) {
    std::size_t n = 0;
    for (const char c : text) {
        n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

std::string cell(const std::string& text, std::size_t max) {
    std::string flat;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        const bool space = u < 0x20 || u == 0x7F || c == ' ';
        if (space) {
            if (!flat.empty() && flat.back() != ' ') {
                flat += ' ';
            }
        } else {
            flat += c;
        }
    }
    while (!flat.empty() && flat.back() == ' ') {
        flat.pop_back();
    }
    if (width(flat) <= max) {
        return flat;
    }
    std::string out;
    std::size_t n = 0;
    for (const char c : flat) {
        const bool starts_char = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        if (starts_char && ++n > max - 3) {
            break;
        }
        out += c;
    }
    return out + "...";
}

std::string pad(const std::string& text, std::size_t to) {
    const std::size_t w = width(text);
    return w >= to ? text : text + std::string(to - w, ' ');
}

std::string dump(const Json& j) {
    return j.dump(2, ' ', false, Json::error_handler_t::replace);
}

int store_error(const std::string& command, const std::exception& e) {
    std::cerr << "outboxd: " << command << " failed: " << e.what() << "\n";
    return kExitFailure;
}

void print_table(const std::vector<std::string>& head,
                 const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> w;
    w.reserve(head.size());
    for (const auto& h : head) {
        w.push_back(width(h));
    }
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) {
            w[i] = std::max(w[i], width(r[i]));
        }
    }
    const auto print = [&](const std::vector<std::string>& r) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            const bool last = i + 1 == r.size();
            std::cout << (last ? r[i] : pad(r[i], w[i]) + "  ");
        }
        std::cout << "\n";
    };
    print(head);
    for (const auto& r : rows) {
        print(r);
    }
}

std::string id_list(const std::vector<std::int64_t>& ids, std::size_t shown) {
    std::string out;
    for (std::size_t i = 0; i < ids.size() && i < shown; ++i) {
        out += (i == 0 ? "" : " ") + std::to_string(ids[i]);
    }
    if (ids.size() > shown) {
        out += " ...";
    }
    return out;
}

} // namespace outboxd::cli
