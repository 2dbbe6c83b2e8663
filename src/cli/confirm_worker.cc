#include "cli/confirm_worker.h"

#include "common/log.h"
#include "confirm/confirmer.h"
#include "kafka/admin_client.h"
#include "kafka/report_consumer.h"
#include "rabbitmq/report_consumer.h"
#include "store/pg_outbox_store.h"

#include <algorithm>
#include <map>
#include <memory>

namespace outboxd::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The gauges count up to this many rows (a gauge, not an audit).
constexpr std::int64_t kGaugeCap = 1000000;
// Each committed-offsets request waits at most this long.
constexpr Millis kOffsetsTimeout{5000};

class KafkaOffsets final : public confirm::OffsetSource {
public:
    explicit KafkaOffsets(const config::Kafka& cfg)
        : admin_(cfg) {}
    Status committed(const std::string& group,
                     const std::vector<confirm::Partition>& partitions,
                     confirm::CommittedOffsets* out) override {
        std::vector<kafka::TopicPartition> asked;
        asked.reserve(partitions.size());
        for (const auto& p : partitions) {
            asked.emplace_back(p.topic, p.partition);
        }
        auto got = admin_.committed_offsets(group, asked, kOffsetsTimeout);
        if (!got.status.ok()) {
            return got.status;
        }
        for (const auto& [tp, offset] : got.committed) {
            (*out)[confirm::Partition{tp.first, tp.second}] = offset;
        }
        return {};
    }

private:
    kafka::AdminClient admin_;
};

class KafkaReports final : public confirm::ReportSource {
public:
    KafkaReports(const config::Kafka& cfg, const std::string& topic, const std::string& group)
        : consumer_(cfg, topic, group) {}
    Status take(std::size_t max, std::vector<confirm::Report>* out) override {
        return consumer_.poll(max, Millis(0), out);
    }
    Status done() override { return consumer_.commit(); }

private:
    kafka::ReportConsumer consumer_;
};

class RabbitReports final : public confirm::ReportSource {
public:
    RabbitReports(const config::RabbitMq& cfg, const std::string& queue)
        : consumer_(cfg, queue) {}
    Status take(std::size_t max, std::vector<confirm::Report>* out) override {
        return consumer_.poll(max, out);
    }
    Status done() override { return consumer_.ack(); }

private:
    rabbitmq::ReportConsumer consumer_;
};

// What one process needs while it leads; dropped when it stops leading.
struct Clients {
    std::unique_ptr<store::PgOutboxStore> store;
    std::unique_ptr<confirm::OffsetSource> offsets;
    std::unique_ptr<confirm::ReportSource> reports;
    std::unique_ptr<confirm::Confirmer> confirmer;
};

config::Postgres worker_store_config(const config::Config& cfg) {
    config::Postgres pg = cfg.postgres;
    pg.notify_channel.clear(); // it never waits for inserts
    return pg;
}

} // namespace

std::string report_group(const std::string& source) {
    return "outboxd-reports:" + source;
}

confirm::Options confirm_options(const config::Confirm& c) {
    confirm::Options o;
    o.consumers = c.consumers;
    o.deadline = c.deadline;
    o.resend_unconfirmed = c.resend_unconfirmed;
    o.max_resends = c.max_resends;
    return o;
}

ConfirmWorker::ConfirmWorker(config::Config cfg, std::string source, metrics::Metrics& metrics)
    : cfg_(std::move(cfg))
    , source_(std::move(source))
    , metrics_(metrics) {
    thread_ = std::thread([this] { run(); });
}

ConfirmWorker::~ConfirmWorker() {
    stop();
}

void ConfirmWorker::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void ConfirmWorker::set_leading(bool leading) {
    const bool was = leading_.exchange(leading);
    if (leading != was) {
        std::lock_guard<std::mutex> lk(mu_);
        poke_ = true;
        cv_.notify_all();
    }
}

void ConfirmWorker::update(const config::Config& cfg) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        cfg_.confirm = cfg.confirm;
        cfg_.http = cfg.http;
        poke_ = true;
    }
    cv_.notify_all();
}

void ConfirmWorker::run() {
    auto log = log::get("confirm");
    Clients c;
    auto next_gauges = Clock::now();
    std::string last_problem;
    std::unique_lock<std::mutex> lk(mu_);
    while (!stop_) {
        const config::Config cfg = cfg_;
        lk.unlock();
        if (!leading_.load()) {
            if (c.store) {
                log->info("not publishing: consumer confirmation paused");
            }
            c = Clients{};
        } else {
            try {
                if (!c.store) {
                    c.store = std::make_unique<store::PgOutboxStore>(worker_store_config(cfg));
                    if (cfg.broker == config::BrokerKind::kKafka) {
                        c.offsets = std::make_unique<KafkaOffsets>(cfg.kafka);
                        if (!cfg.confirm.ack_topic.empty()) {
                            c.reports = std::make_unique<KafkaReports>(
                                cfg.kafka, cfg.confirm.ack_topic, report_group(source_));
                        }
                    } else {
                        // A queue has no committed offsets: reports only.
                        c.reports =
                            std::make_unique<RabbitReports>(cfg.rabbitmq, cfg.confirm.ack_queue);
                    }
                    c.confirmer = std::make_unique<confirm::Confirmer>(
                        confirm_options(cfg.confirm), source_,
                        static_cast<std::size_t>(cfg.confirm.batch_size), *c.store, c.offsets.get(),
                        c.reports.get());
                    log->info(
                        "confirming rows for {} (deadline {} ms{}{})",
                        [&] {
                            std::string list;
                            for (const auto& n : cfg.confirm.consumers) {
                                list += (list.empty() ? "" : ", ") + n;
                            }
                            return list;
                        }(),
                        cfg.confirm.deadline.count(),
                        cfg.confirm.resend_unconfirmed ? ", resend on" : "",
                        !cfg.confirm.ack_topic.empty() ? ", reports from " + cfg.confirm.ack_topic
                        : !cfg.confirm.ack_queue.empty()
                            ? ", reports from queue " + cfg.confirm.ack_queue
                            : std::string());
                }
                c.confirmer->set_options(confirm_options(cfg.confirm),
                                         static_cast<std::size_t>(cfg.confirm.batch_size));
                const auto r = c.confirmer->round();
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
                    log->warn("{} unconfirmed rows sent again (past confirm.deadline_ms {} ms)",
                              r.resent, cfg.confirm.deadline.count());
                }
                if (r.parked > 0) {
                    log->error("{} rows parked at 2: not confirmed after confirm.max_resends {} "
                               "resends",
                               r.parked, cfg.confirm.max_resends);
                }
                const std::string problem = r.problems.empty() ? "" : r.problems.front();
                if (problem != last_problem) {
                    if (problem.empty()) {
                        log->info("consumer confirmation works again");
                    } else {
                        log->warn("consumer confirmation: {}", problem);
                    }
                    last_problem = problem;
                }
                if (Clock::now() >= next_gauges) {
                    next_gauges = Clock::now() + cfg.http.stats_interval;
                    metrics_.unconfirmed_rows.set(static_cast<double>(
                        c.store->unconfirmed_count(cfg.confirm.deadline, kGaugeCap)));
                    for (const auto& consumer : cfg.confirm.consumers) {
                        metrics_.unconfirmed_by_consumer.set(
                            consumer,
                            static_cast<double>(c.store->not_confirmed_by(consumer, kGaugeCap)));
                    }
                }
            } catch (const std::exception& e) {
                if (last_problem != e.what()) {
                    log->warn("consumer confirmation: {}; retrying", e.what());
                    last_problem = e.what();
                }
                c = Clients{}; // new sessions and clients next round
            }
        }
        lk.lock();
        cv_.wait_for(lk, cfg.confirm.interval, [this] { return stop_ || poke_; });
        poke_ = false;
    }
}

} // namespace outboxd::cli
