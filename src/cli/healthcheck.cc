// `outboxd healthcheck`: one GET against the daemon's own HTTP endpoint, for
// container HEALTHCHECKs in images that carry no curl.
#include "cli/commands.h"
#include "common/host_port.h"
#include "http/client.h"

#include <chrono>
#include <iostream>

namespace outboxd::cli {
namespace {

// Shorter than any sensible HEALTHCHECK --timeout (Docker's default is 30 s),
// so the orchestrator sees our message rather than its own kill.
constexpr std::chrono::milliseconds kTimeout{5000};

} // namespace

int cmd_healthcheck(const config::Config& cfg, const std::string& path) {
    if (path.empty() || path.front() != '/') {
        std::cerr << "outboxd healthcheck: --path must start with '/', got '" << path << "'\n";
        return kExitUsage;
    }
    if (cfg.http.listen.empty()) {
        std::cerr << "outboxd healthcheck: http.listen is empty, so the daemon serves no HTTP "
                     "endpoint to check; set http.listen (e.g. 127.0.0.1:9187)\n";
        return kExitUsage;
    }
    std::string target;
    try {
        target = local_address(cfg.http.listen);
    } catch (const std::exception& e) {
        std::cerr << "outboxd healthcheck: http.listen " << e.what() << "\n";
        return kExitUsage;
    }
    try {
        const auto res = http::get(target, path, kTimeout);
        auto& out = res.status == 200 ? std::cout : std::cerr;
        out << "HTTP " << res.status << " from http://" << target << path << ": " << res.body;
        if (res.body.empty() || res.body.back() != '\n') {
            out << "\n";
        }
        return res.status == 200 ? kExitOk : kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "outboxd healthcheck: " << e.what() << "\n";
        return kExitFailure;
    }
}

} // namespace outboxd::cli
