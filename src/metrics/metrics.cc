#include "metrics/metrics.h"

#include "common/version.h"

namespace outboxd::metrics {

Metrics::Metrics()
    : build_info(registry_,
                 "outboxd_build_info",
                 "Constant 1, labelled with the outboxd version.",
                 {{"version", kVersion}}) {
    build_info.set(1);
}

std::vector<std::string> all_sample_names() {
    const Metrics m;
    return m.sample_names();
}

} // namespace outboxd::metrics
