// The state the daemon's threads share, exercised the way `run` shares it:
// the main loop writes Metrics and HealthState while the HTTP thread renders
// them for /metrics and /readyz and a housekeeping-like thread refreshes
// gauges and service checks. Real threads and sockets, so it belongs to the
// net tier; under `scripts/test.sh --tsan` ThreadSanitizer checks every
// access here (the daemon itself cannot run under TSan: see docs/testing.md).
#include "common/clock.h"
#include "health/health_state.h"
#include "http/client.h"
#include "http/server.h"
#include "metrics/metrics.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using outboxd::http::Response;

TEST_CASE("metrics and health written by two threads while HTTP renders them", "[net][threads]") {
    outboxd::SteadyClock clock;
    outboxd::metrics::Metrics metrics;
    outboxd::health::HealthState health(clock);
    outboxd::http::Routes routes;
    routes["/metrics"] = [&metrics] {
        return Response{200, outboxd::metrics::kContentType, metrics.render()};
    };
    routes["/readyz"] = [&health] {
        const auto v = health.readiness();
        return Response{v.ok ? 200 : 503, "text/plain", v.body};
    };
    outboxd::http::Server server("127.0.0.1:0", routes);
    const std::string addr = "127.0.0.1:" + std::to_string(server.port());

    std::atomic<bool> stop{false};
    constexpr int kRows = 20000;
    std::thread main_loop([&] {
        for (int i = 0; i < kRows; ++i) {
            metrics.rows_sent.inc(1);
            metrics.batch_size_rows.observe(static_cast<double>(i % 500));
            metrics.in_flight_messages.set(static_cast<double>(i % 100));
            health.loop_turned();
            if (i % 1000 == 0) {
                health.set_role(i % 2000 == 0 ? outboxd::health::Role::kLeader
                                              : outboxd::health::Role::kStandby,
                                "round " + std::to_string(i));
            }
        }
    });
    std::thread housekeeper([&] {
        int n = 0;
        while (!stop.load()) {
            health.set_postgres(n % 3 != 0, n % 3 != 0 ? "" : "postgres down");
            health.set_broker(true);
            metrics.leader.set(n % 2);
            ++n;
            std::this_thread::sleep_for(1ms);
        }
    });
    int scrapes = 0;
    bool saw_metric = false;
    while (scrapes < 50) {
        const auto m = outboxd::http::get(addr, "/metrics", 2s);
        REQUIRE(m.status == 200);
        saw_metric = saw_metric || m.body.find("outboxd_rows_sent_total") != std::string::npos;
        const auto r = outboxd::http::get(addr, "/readyz", 2s);
        CHECK((r.status == 200 || r.status == 503));
        CHECK(r.body.find("role: ") != std::string::npos);
        ++scrapes;
    }
    main_loop.join();
    stop = true;
    housekeeper.join();
    CHECK(saw_metric);
    // Every increment from the other thread is counted, none lost.
    CHECK(metrics.render().find("outboxd_rows_sent_total " + std::to_string(kRows))
          != std::string::npos);
}
