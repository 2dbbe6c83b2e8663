// The daemon's background work beside the relay, assembled in one place
// from the configuration: the housekeeper always, the confirm worker when
// confirm.consumers is set, each on a LeadingWorker of its own. The main
// loop tells it the role, reloads and the stop, and asks it for a failure
// that must stop the daemon.
//
// Threads: every call from the main loop's thread.
#pragma once

#include "config/config.h"
#include "daemon/confirm_worker.h"
#include "daemon/housekeeper.h"
#include "daemon/leading_worker.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace outboxd::daemon {

struct BackgroundParts {
    HousekeeperParts housekeeping;
    // Consumer confirmation's clients; unused while confirmation is off.
    std::function<ConfirmClients()> open_confirm;
    std::string source; // this outbox's outbox-source
    metrics::Metrics& metrics;
    const ClockSource& clock;
};

class Background {
public:
    Background(const config::Config& cfg, BackgroundParts parts);
    ~Background(); // stops
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;
    Background(Background&&) = delete;
    Background& operator=(Background&&) = delete;

    void start();
    // Retention and confirmation run on the active publisher only.
    void set_leading(bool leading);
    // SIGHUP: the reloadable settings of http, retention and confirm.
    void update(const config::Config& cfg);
    void stop();
    // A worker's round failed with something that is not an outage.
    std::optional<Failure> failure() const;

private:
    Housekeeper housekeeper_;
    LeadingWorker housekeeping_;
    std::unique_ptr<ConfirmWorker> confirmer_;
    std::unique_ptr<LeadingWorker> confirming_;
};

} // namespace outboxd::daemon
