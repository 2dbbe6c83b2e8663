// Every metric outboxd exposes, declared once: name, help, type, buckets and
// label values. Names follow outboxd_<what>_<unit>[_total]; the only variable
// labels have fixed value sets, so the number of series never grows.
//
// Threads: the daemon's main thread writes (inc, set, observe); the HTTP
// thread reads through render() while it serves /metrics. Every member is a
// relaxed atomic, so neither side locks and a scrape never stalls the relay.
// Construct once, before the HTTP server starts; neither copied nor moved.
#pragma once

#include "metrics/registry.h"
#include "publish/publisher.h"

#include <string>
#include <vector>

namespace outboxd::metrics {

// Failure reasons for rows_failed: the labels of every
// publish::FailureReason, taken from the one list publisher.h keeps.
inline const std::vector<std::string>& fail_reasons() {
    static const std::vector<std::string> kLabels = [] {
        std::vector<std::string> labels;
        for (const auto r : publish::kAllFailureReasons) {
            labels.emplace_back(publish::to_label(r));
        }
        return labels;
    }();
    return kLabels;
}

struct Metrics {
private:
    // First member: every metric below registers with it as it is built.
    Registry registry_;

public:
    Metrics();

    // Constant 1; the label carries the running version.
    Gauge build_info;

    Counter rows_sent{registry_, "outboxd_rows_sent_total",
                      "Rows marked sent after a successful delivery report."};
    LabeledCounter rows_failed{registry_,
                               "outboxd_rows_failed_total",
                               "Counted failed attempts, by reason (row-level errors only).",
                               "reason",
                               fail_reasons(),
                               "other"};
    Counter rows_parked{registry_, "outboxd_rows_parked_total",
                        "Rows this process moved to status 2 (failed, parked)."};
    Counter transient_errors{
        registry_, "outboxd_transient_errors_total",
        "Transient Kafka errors (broker unreachable, leader moving, time-outs, full queue); "
        "never counted against rows."};

    Gauge pending_rows{registry_, "outboxd_pending_rows",
                       "Rows at status 0 (refreshed every http.stats_interval_ms)."};
    Gauge oldest_pending_age_seconds{registry_, "outboxd_oldest_pending_age_seconds",
                                     "Age of the oldest row at status 0; 0 when there is none."};
    Gauge parked_rows{registry_, "outboxd_parked_rows", "Rows at status 2 now."};
    Gauge in_flight_messages{registry_, "outboxd_in_flight_messages",
                             "Messages produced whose delivery report is not yet recorded."};
    Gauge in_flight_bytes{registry_, "outboxd_in_flight_bytes",
                          "Bytes (payload + key + headers) of those messages; outboxd stops "
                          "producing at relay.max_in_flight_bytes."};

    Histogram batch_size_rows{registry_,
                              "outboxd_batch_size_rows",
                              "Rows per fetched batch.",
                              {1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000}};
    Histogram relay_latency_seconds{
        registry_,
        "outboxd_relay_latency_seconds",
        "Seconds from a row's created_at to its successful delivery report (commit to ack).",
        {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}};

    Counter producer_rebuilds{registry_, "outboxd_producer_rebuilds_total",
                              "Kafka producers rebuilt after a fatal producer error."};
    Counter db_reconnects{registry_, "outboxd_db_reconnects_total",
                          "New PostgreSQL sessions opened after a failure."};
    // The read-back before each publishing term (docs/design.md G6).
    LabeledCounter read_backs{registry_,
                              "outboxd_read_backs_total",
                              "Read-backs before publishing, by result: read (the tails were "
                              "read), nothing_pending (no row at 0), skipped (the broker has no "
                              "read-back), failed (retried; nothing is produced until one "
                              "succeeds).",
                              "result",
                              {"read", "nothing_pending", "skipped", "failed"},
                              "failed"};
    Counter read_back_marked_rows{registry_, "outboxd_read_back_marked_rows_total",
                                  "Pending rows the read-back found in the broker already and "
                                  "marked sent instead of sending them again."};

    Gauge leader{registry_, "outboxd_leader",
                 "1 when this process is the active publisher, 0 when standby."};
    Counter leadership_losses{registry_, "outboxd_leadership_losses_total",
                              "Times this process lost the publisher lock while it held it: it "
                              "stopped producing and became a standby."};
    Gauge postgres_up{registry_, "outboxd_postgres_up",
                      "1 when PostgreSQL answered the last health refresh, else 0."};
    // Both refreshed by the same probe: broker_up for every broker, kafka_up
    // kept for Kafka configs (dashboards and alerts written before RabbitMQ)
    // and not exported by a process with broker: rabbitmq.
    Gauge broker_up{registry_, "outboxd_broker_up",
                    "1 when the configured broker (Kafka or RabbitMQ) answered the last health "
                    "refresh, else 0."};
    Gauge kafka_up{registry_, "outboxd_kafka_up",
                   "1 when Kafka answered the last health refresh, else 0. Same value as "
                   "outboxd_broker_up; exported only with broker: kafka."};
    Gauge weak_destinations{registry_, "outboxd_weak_destinations",
                            "Topics (Kafka) or exchanges (RabbitMQ) the start-up durability audit "
                            "found missing or below the durability rules; 0 when all passed or "
                            "the audit could not run."};

    Counter retention_deleted_rows{registry_, "outboxd_retention_deleted_rows_total",
                                   "Sent rows deleted by retention."};
    Gauge retention_catching_up{registry_, "outboxd_retention_catching_up",
                                "1 while retention's last round ended with full batches still "
                                "coming (it runs again at once instead of after "
                                "retention.interval_ms), else 0."};
    // retention.mode partition (docs/operations.md).
    Counter retention_partitions_dropped{registry_, "outboxd_retention_partitions_dropped_total",
                                         "Partitions retention dropped: every row in them was "
                                         "sent (consumed with confirmation) and old enough."};
    Gauge retention_partitions{registry_, "outboxd_retention_partitions",
                               "Partitions of the outbox table, the default one included, after "
                               "the last retention round (retention.mode partition)."};
    Gauge retention_partitions_held{registry_, "outboxd_retention_partitions_held",
                                    "Partitions past the newest id that retention may not drop "
                                    "because rows at 2, 4 or 5 wait in them for a person."};

    // Consumer confirmation (confirm.consumers; docs/consumers.md).
    Counter rows_consumed{registry_, "outboxd_rows_consumed_total",
                          "Rows this process moved to status 3: every configured consumer "
                          "confirmed them."};
    Counter consumer_confirmations{
        registry_, "outboxd_consumer_confirmations_total",
        "Confirmations recorded (one per row and consumer), from committed offsets or reports."};
    Counter consumer_failures{registry_, "outboxd_consumer_failures_total",
                              "Rows moved to status 4: a consumer reported it could not process "
                              "them."};
    LabeledCounter reports_ignored{registry_,
                                   "outboxd_consumer_reports_ignored_total",
                                   "Consumer reports ignored, by reason: for another outbox, "
                                   "malformed, from a consumer not in confirm.consumers, or for a "
                                   "row that is gone or already final.",
                                   "reason",
                                   {"other_source", "malformed", "unknown_consumer", "no_row"},
                                   "malformed"};
    Gauge unconfirmed_rows{registry_, "outboxd_unconfirmed_rows",
                           "Rows at 1 not confirmed by every consumer confirm.deadline_ms after "
                           "sent_at (counted up to 1,000,000)."};
    LabeledGauge unconfirmed_by_consumer{
        registry_, "outboxd_unconfirmed_by_consumer_rows",
        "Rows at 1 this consumer has not confirmed yet, deadline or not (counted up to "
        "1,000,000).",
        "consumer"};
    Counter rows_resent{registry_, "outboxd_rows_resent_total",
                        "Unconfirmed rows sent again (confirm.resend_unconfirmed)."};
    Counter rows_parked_unconfirmed{registry_, "outboxd_rows_parked_unconfirmed_total",
                                    "Rows parked at 2 after confirm.max_resends resends without "
                                    "every consumer's confirmation."};
    // An unrecognised result counts as an error: only a known success is ok.
    LabeledCounter config_reloads{registry_,
                                  "outboxd_config_reloads_total",
                                  "Configuration reloads, by result.",
                                  "result",
                                  {"ok", "error"},
                                  "error"};
    Gauge last_sent_timestamp_seconds{
        registry_, "outboxd_last_sent_timestamp_seconds",
        "Unix time of the last row marked sent; 0 when none has been sent."};
    // Exported only with http.console.
    LabeledCounter console_requests{
        registry_,
        "outboxd_console_requests_total",
        "Requests to the review console's API, by answer: ok (2xx), refused (401, 403), "
        "bad_request (other 4xx), busy (503: the console's queue was full, or PostgreSQL "
        "unavailable), error (other 5xx).",
        "result",
        {"ok", "refused", "bad_request", "busy", "error"},
        "error"};

    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;
    Metrics(Metrics&&) = delete;
    Metrics& operator=(Metrics&&) = delete;
    ~Metrics() = default;

    // The consumer-confirmation families, exported only with confirm.consumers.
    std::vector<Metric*> confirm_families() {
        return {&rows_consumed,   &consumer_confirmations, &consumer_failures,
                &reports_ignored, &unconfirmed_rows,       &unconfirmed_by_consumer,
                &rows_resent,     &rows_parked_unconfirmed};
    }

    // Prometheus text exposition format 0.0.4, for GET /metrics.
    std::string render() const { return registry_.render(); }
    // The reference page docs/metrics.md (a unit test keeps the two equal).
    std::string markdown() const;

    // Family names, in declaration order (outboxd_rows_sent_total, ...).
    std::vector<std::string> names() const { return registry_.names(); }
    // Every series name a query can use: family names, with a histogram's
    // _bucket, _sum and _count in place of its own name.
    std::vector<std::string> sample_names() const { return registry_.sample_names(); }
};

// Content-Type of render()'s output.
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

// sample_names() of a fresh Metrics: for checks that dashboards and alert
// rules only query series that exist.
std::vector<std::string> all_sample_names();

} // namespace outboxd::metrics
