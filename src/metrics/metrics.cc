#include "metrics/metrics.h"

#include "common/version.h"

namespace outboxd::metrics {

Metrics::Metrics()
    : build_info(registry_,
                 "outboxd_build_info",
                 "Constant 1, labelled with the outboxd release and the commit it was built from.",
                 {{"version", kVersion}, {"commit", build_commit()}}) {
    build_info.set(1);
}

std::vector<std::string> all_sample_names() {
    const Metrics m;
    return m.sample_names();
}

std::string Metrics::markdown() const {
    return "# Metrics reference\n"
           "\n"
           "<!-- Generated from the declarations in src/metrics/metrics.h by\n"
           "     outboxd::metrics::Metrics::markdown(); edit those, not this file.\n"
           "     The unit test \"docs/metrics.md matches the declared metrics\" fails when\n"
           "     the two differ; run it with OUTBOXD_TEST_UPDATE_DOCS=1 to rewrite it. -->\n"
           "\n"
           "`GET /metrics` on `http.listen` (default `127.0.0.1:9187`) serves these in\n"
           "the Prometheus text format 0.0.4. Every process serves its own: the\n"
           "active publisher's counters move, a standby's stay at 0, and every process\n"
           "refreshes the table gauges (`outboxd_pending_rows`, `outboxd_parked_rows`,\n"
           "`outboxd_oldest_pending_age_seconds`) and the `*_up` gauges every\n"
           "`http.stats_interval_ms`. While PostgreSQL does not answer\n"
           "(`outboxd_postgres_up` 0) the table gauges keep their last value. The\n"
           "two counts stop at 1,000,000 (they walk the partial indexes), and the\n"
           "oldest pending age is that of the lowest pending id.\n"
           "Counters start at 0 when the process starts; use `rate()`/`increase()`.\n"
           "Labels have fixed value sets, so the number of series never grows.\n"
           "Alert rules and a dashboard built on them are in `deploy/prometheus/` and\n"
           "`deploy/grafana/`.\n"
           "\n"
           "| metric | type | labels | meaning |\n"
           "| --- | --- | --- | --- |\n"
           + registry_.markdown_rows();
}

} // namespace outboxd::metrics
