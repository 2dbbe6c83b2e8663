#include "confirm/confirmer.h"

namespace outboxd::confirm {

Confirmer::Confirmer(Options opt,
                     std::string source,
                     std::size_t batch,
                     store::ConfirmStore& store,
                     OffsetSource* offsets,
                     ReportSource* reports)
    : opt_(std::move(opt))
    , source_(std::move(source))
    , batch_(batch == 0 ? 1 : batch)
    , store_(store)
    , offsets_(offsets)
    , reports_(reports) {}

RoundResult Confirmer::round() {
    RoundResult r;
    if (opt_.consumers.empty()) {
        return r;
    }
    // Reports first: a consumer that reports a failure and then commits
    // past the row must leave it at 4, not see it confirmed by the commit
    // (offsets only ever move rows at 1).
    apply_reports(r);
    confirm_by_offsets(r);
    check_deadline(r);
    return r;
}

void Confirmer::confirm_by_offsets(RoundResult& r) {
    if (offsets_ == nullptr) {
        return;
    }
    const auto waiting = store_.waiting_partitions();
    if (waiting.empty()) {
        return;
    }
    std::map<std::string, CommittedOffsets> committed;
    for (const auto& group : opt_.consumers) {
        CommittedOffsets c;
        const Status st = offsets_->committed(group, waiting, &c);
        if (!st.ok()) {
            r.problems.push_back(st.error());
            continue;
        }
        committed.emplace(group, std::move(c));
    }
    for (const auto& step : offset_confirmations(opt_, waiting, committed)) {
        for (int i = 0; i < kMaxBatchesPerStep; ++i) {
            const auto n = store_.confirm_offsets(step.group, step.partition, step.below, batch_);
            r.confirmations += n.confirmed;
            r.consumed += n.consumed;
            if (n.confirmed < batch_) {
                break;
            }
        }
    }
}

void Confirmer::apply_reports(RoundResult& r) {
    if (reports_ == nullptr) {
        return;
    }
    std::vector<Report> batch;
    if (const Status st = reports_->take(batch_, &batch); !st.ok()) {
        r.problems.push_back(st.error());
        return;
    }
    if (batch.empty()) {
        return;
    }
    for (const auto& report : batch) {
        const auto d = decide_report(opt_, source_, report);
        switch (d.kind) {
        case ReportDecision::Kind::kConsumed:
            if (const auto n = store_.report_consumed(d.id, d.consumer); n.confirmed > 0) {
                r.confirmations += n.confirmed;
                r.consumed += n.consumed;
                ++r.reports_applied;
            } else {
                r.ignored.emplace_back("no_row");
            }
            break;
        case ReportDecision::Kind::kFailed:
            if (store_.report_failed(d.id, d.last_error)) {
                ++r.consumer_failures;
                ++r.reports_applied;
            } else {
                r.ignored.emplace_back("no_row");
            }
            break;
        case ReportDecision::Kind::kIgnored:
            r.ignored.push_back(d.ignored_reason);
            break;
        }
    }
    // Only once every report of the batch is in the table.
    if (const Status st = reports_->done(); !st.ok()) {
        r.problems.push_back(st.error());
    }
}

void Confirmer::check_deadline(RoundResult& r) {
    if (!opt_.resend_unconfirmed) {
        return; // overdue rows are only counted (the gauge, `outboxd unconfirmed`)
    }
    for (int i = 0; i < kMaxBatchesPerStep; ++i) {
        const auto rows = store_.overdue(opt_.deadline, batch_);
        std::vector<std::int64_t> resend;
        std::vector<std::int64_t> park;
        std::vector<std::string> errors;
        for (const auto& row : rows) {
            const auto d = decide_overdue(opt_, row);
            if (d.kind == OverdueDecision::Kind::kResend) {
                resend.push_back(row.id);
            } else if (d.kind == OverdueDecision::Kind::kPark) {
                park.push_back(row.id);
                errors.push_back(d.last_error);
            }
        }
        r.resent += store_.resend(resend);
        r.parked += store_.park(park, errors);
        if (rows.size() < batch_) {
            break;
        }
    }
}

} // namespace outboxd::confirm
