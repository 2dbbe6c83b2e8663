// The table and JSON of a full run (run_all): what phases 1-6 measured,
// per round and per broker, summarised as medians and ranges.
#pragma once

#include "ceiling.h"
#include "confirm_lag.h"
#include "latency.h"
#include "options.h"
#include "publish_ceiling.h"
#include "throughput.h"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace outboxd::bench {

// What phases 2-5 measured for one broker.
struct BrokerRuns {
    std::vector<PublishCeilingResult> publish;
    std::vector<ThroughputResult> tputs;
    std::vector<ThroughputResult> tputs_confirm; // --confirm: the same drain, confirmation on
    std::optional<LatencyResult> lat;
    std::optional<ConfirmLagResult> confirm_lag;
};

// Everything a full run measured.
struct Measurements {
    std::map<std::size_t, std::vector<CeilingResult>> ceilings; // by batch size
    std::map<std::string, BrokerRuns> runs;                     // by broker
};

// Prints the table to stdout and adds its figures to `out`.
void print_summary(const Options& opt, Measurements& m, nlohmann::json& out);

} // namespace outboxd::bench
