// The relay's facts (relay::RelayObserver) into the metrics, and its log
// lines to the "relay" logger. Runs on the main thread inside Relay::step();
// touches atomics and logs.
#pragma once

#include "common/log.h"
#include "metrics/metrics.h"
#include "relay/relay.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>

namespace outboxd::daemon {

class MetricsObserver final : public relay::RelayObserver {
public:
    explicit MetricsObserver(metrics::Metrics& m)
        : m_(m)
        , log_(log::get("relay")) {}

    void on_event(const relay::RelayEvent& ev) override {
        switch (ev.kind) {
        case relay::RelayEvent::Kind::kDebug:
            log_->debug("{}", ev.text);
            break;
        case relay::RelayEvent::Kind::kInfo:
            log_->info("{}", ev.text);
            break;
        case relay::RelayEvent::Kind::kWarn:
            log_->warn("{}", ev.text);
            break;
        case relay::RelayEvent::Kind::kError:
            log_->error("{}", ev.text);
            break;
        }
    }

    void on_batch(std::size_t rows) override {
        m_.batch_size_rows.observe(static_cast<double>(rows));
    }
    void on_acked(std::int64_t created_at_us) override {
        if (created_at_us <= 0) {
            return; // no created_at column value: no latency to report
        }
        const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        // Clocks of the database and this host may differ a little: a
        // negative latency is recorded as zero rather than dropped.
        const double seconds =
            static_cast<double>(std::max<std::int64_t>(0, now_us - created_at_us)) / 1e6;
        m_.relay_latency_seconds.observe(seconds);
    }
    void on_marked_sent(std::size_t rows) override {
        m_.rows_sent.inc(rows);
        m_.last_sent_timestamp_seconds.set(
            static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count())
            / 1000.0);
    }
    void on_counted_failure(publish::FailureReason reason, bool parked) override {
        m_.rows_failed.with(publish::to_label(reason)).inc();
        if (parked) {
            m_.rows_parked.inc();
        }
    }
    void on_transient_error() override { m_.transient_errors.inc(); }
    void on_producer_rebuild() override { m_.producer_rebuilds.inc(); }
    void on_db_reconnected() override { m_.db_reconnects.inc(); }

private:
    metrics::Metrics& m_;
    std::shared_ptr<spdlog::logger> log_;
};

} // namespace outboxd::daemon
