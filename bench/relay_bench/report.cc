#include "report.h"

#include "common.h"

#include <cstdio>

namespace outboxd::bench {

std::string with_range(const Spread& s, bool show_range) {
    if (!show_range) {
        return grouped(s.median);
    }
    return grouped(s.median) + " (" + grouped(s.min) + "-" + grouped(s.max) + ")";
}

nlohmann::json to_json(const Spread& s) {
    return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

void row(const std::string& name, const std::string& value) {
    std::printf("  %-44s %26s\n", name.c_str(), value.c_str());
}

} // namespace outboxd::bench
