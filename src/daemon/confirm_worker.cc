#include "daemon/confirm_worker.h"

#include "common/log.h"

namespace outboxd::daemon {

ConfirmWorkerOptions ConfirmWorkerOptions::from(const config::Config& cfg) {
    const config::Confirm& c = cfg.confirm;
    ConfirmWorkerOptions o;
    o.rules.consumers = c.consumers;
    o.rules.deadline = c.deadline;
    o.rules.resend_unconfirmed = c.resend_unconfirmed;
    o.rules.max_resends = c.max_resends;
    o.batch_size = static_cast<std::size_t>(c.batch_size);
    o.interval = c.interval;
    o.stats_interval = cfg.http.stats_interval;
    if (!c.ack_topic.empty()) {
        o.reports_from = "reports from " + c.ack_topic;
    } else if (!c.ack_queue.empty()) {
        o.reports_from = "reports from queue " + c.ack_queue;
    }
    return o;
}

ConfirmWorker::ConfirmWorker(ConfirmWorkerOptions options,
                             std::string source,
                             std::function<ConfirmClients()> open,
                             metrics::Metrics& metrics)
    : source_(std::move(source))
    , open_(std::move(open))
    , metrics_(metrics)
    , options_(std::move(options)) {}

void ConfirmWorker::update(const ConfirmWorkerOptions& options) {
    std::lock_guard<std::mutex> lk(mu_);
    options_ = options;
}

ConfirmWorkerOptions ConfirmWorker::snapshot() {
    std::lock_guard<std::mutex> lk(mu_);
    return options_;
}

void ConfirmWorker::reset() {
    confirmer_.reset();
    clients_ = ConfirmClients{};
}

TimePoint ConfirmWorker::round(const RoundInput& in) {
    auto log = log::get("confirm");
    const ConfirmWorkerOptions o = snapshot();
    if (!in.leading) {
        if (confirmer_) {
            log->info("not publishing: consumer confirmation paused");
        }
        reset();
        return in.now + o.interval;
    }
    if (!confirmer_) {
        clients_ = open_();
        confirmer_ =
            std::make_unique<confirm::Confirmer>(o.rules, source_, o.batch_size, *clients_.store,
                                                 clients_.offsets.get(), clients_.reports.get());
        std::string list;
        for (const auto& n : o.rules.consumers) {
            list += (list.empty() ? "" : ", ") + n;
        }
        log->info("confirming rows for {} (deadline {} ms{}{})", list, o.rules.deadline.count(),
                  o.rules.resend_unconfirmed ? ", resend on" : "",
                  o.reports_from.empty() ? "" : ", " + o.reports_from);
    }
    confirmer_->set_options(o.rules, o.batch_size);
    const auto r = confirmer_->round();
    metrics_.consumer_confirmations.inc(r.confirmations);
    metrics_.rows_consumed.inc(r.consumed);
    metrics_.consumer_failures.inc(r.consumer_failures);
    metrics_.rows_resent.inc(r.resent);
    metrics_.rows_parked_unconfirmed.inc(r.parked);
    for (const auto& why : r.ignored) {
        metrics_.reports_ignored.with(why).inc();
    }
    if (r.consumer_failures > 0) {
        log->warn("{} rows at 4: a consumer reported it could not process them "
                  "(outboxd failed lists them)",
                  r.consumer_failures);
    }
    if (r.resent > 0) {
        log->warn("{} unconfirmed rows sent again (past confirm.deadline_ms {} ms)", r.resent,
                  o.rules.deadline.count());
    }
    if (r.parked > 0) {
        log->error("{} rows parked at 2: not confirmed after confirm.max_resends {} resends",
                   r.parked, o.rules.max_resends);
    }
    const std::string problem = r.problems.empty() ? "" : r.problems.front();
    if (problem != last_problem_) {
        if (problem.empty()) {
            log->info("consumer confirmation works again");
        } else {
            log->warn("consumer confirmation: {}", problem);
        }
        last_problem_ = problem;
    }
    if (in.now >= next_gauges_) {
        next_gauges_ = in.now + o.stats_interval;
        metrics_.unconfirmed_rows.set(
            static_cast<double>(clients_.store->unconfirmed_count(o.rules.deadline, kGaugeCap)));
        for (const auto& consumer : o.rules.consumers) {
            metrics_.unconfirmed_by_consumer.set(
                consumer,
                static_cast<double>(clients_.store->not_confirmed_by(consumer, kGaugeCap)));
        }
    }
    return in.now + o.interval;
}

} // namespace outboxd::daemon
