#include "daemon/background.h"

namespace outboxd::daemon {

Background::Background(const config::Config& cfg, BackgroundParts parts)
    : housekeeper_(HousekeeperOptions::from(cfg), std::move(parts.housekeeping))
    , housekeeping_("housekeeping", housekeeper_, parts.clock, cfg.http.stats_interval) {
    if (cfg.confirm.enabled()) {
        confirmer_ = std::make_unique<ConfirmWorker>(ConfirmWorkerOptions::from(cfg), parts.source,
                                                     std::move(parts.open_confirm), parts.metrics);
        confirming_ = std::make_unique<LeadingWorker>("confirm", *confirmer_, parts.clock,
                                                      cfg.confirm.interval);
    }
}

Background::~Background() {
    stop();
}

void Background::start() {
    housekeeping_.start();
    if (confirming_) {
        confirming_->start();
    }
}

void Background::set_leading(bool leading) {
    housekeeping_.set_leading(leading);
    if (confirming_) {
        confirming_->set_leading(leading);
    }
}

void Background::update(const config::Config& cfg) {
    housekeeper_.update(HousekeeperOptions::from(cfg));
    housekeeping_.wake();
    if (confirmer_) {
        confirmer_->update(ConfirmWorkerOptions::from(cfg));
        confirming_->wake();
    }
}

void Background::stop() {
    housekeeping_.stop();
    if (confirming_) {
        confirming_->stop();
    }
}

std::optional<Failure> Background::failure() const {
    if (auto f = housekeeping_.failure()) {
        return f;
    }
    if (confirming_) {
        return confirming_->failure();
    }
    return std::nullopt;
}

} // namespace outboxd::daemon
