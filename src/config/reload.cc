#include "config/reload.h"

#include "config/config.h"
#include "config/options.h"

#include <cstdint>
#include <string>
#include <vector>

namespace outboxd::config {

std::vector<std::string> merge_problems(const Config& merged) {
    std::vector<std::string> problems;
    for (const auto& rule : at_least_rules()) {
        const std::string big_key(rule.big);
        const std::string small_key(rule.small);
        const std::int64_t big_value = int_value(merged, rule.big);
        const std::int64_t small_value = int_value(merged, rule.small);
        if (big_value >= small_value) {
            continue;
        }
        const auto big = std::to_string(big_value);
        const auto small = std::to_string(small_value);
        // The file passed on its own, so a restart-only side holds the
        // running value; name the side the file changed.
        if (!find_option(rule.big)->reloadable) {
            problems.push_back(small_key + " " + small + " is above the running " + big_key + " "
                               + big + " (restart to change " + big_key + ")");
        } else if (!find_option(rule.small)->reloadable) {
            problems.push_back(big_key + " " + big + " is below the running " + small_key + " "
                               + small + " (restart to change " + small_key + ")");
        } else {
            problems.push_back(big_key + " " + big + " is below " + small_key + " " + small);
        }
    }
    return problems;
}

void keep_restart_only(Config& reloaded, const Config& running) {
    for (const Option& o : options()) {
        if (!o.reloadable && o.load != nullptr) {
            o.store(reloaded, o.load(running));
        }
    }
    // The store's copy of confirm.consumers (restart-only) follows the kept
    // list: a worker's session opened after the reload must confirm for the
    // same consumers as the running daemon.
    reloaded.postgres.confirm_consumers = reloaded.confirm.consumers;
}

std::vector<std::string> restart_only_changes(const Config& running, const Config& reloaded) {
    std::vector<std::string> changed;
    for (const Option& o : options()) {
        if (!o.reloadable && o.load != nullptr && o.load(running) != o.load(reloaded)) {
            changed.push_back(o.key);
        }
    }
    return changed;
}
} // namespace outboxd::config
