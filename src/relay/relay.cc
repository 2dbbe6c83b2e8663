#include "relay/relay.h"

#include "relay/mapping.h"

#include <algorithm>
#include <sstream>
#include <utility>

namespace outboxd::relay {

RelayOptions RelayOptions::from(const config::Relay& relay, std::int64_t max_message_bytes) {
    RelayOptions o;
    o.batch_size = static_cast<std::size_t>(relay.batch_size);
    o.max_in_flight = static_cast<std::size_t>(relay.max_in_flight);
    o.max_batch_bytes = static_cast<std::size_t>(relay.max_batch_bytes);
    o.max_in_flight_bytes = static_cast<std::size_t>(relay.max_in_flight_bytes);
    o.max_message_bytes = static_cast<std::size_t>(std::max<std::int64_t>(0, max_message_bytes));
    o.retry.max_attempts = relay.max_attempts;
    o.retry.initial = relay.retry_backoff_initial;
    o.retry.max = relay.retry_backoff_max;
    o.poll_interval = relay.poll_interval;
    o.rescan_interval = relay.rescan_interval;
    return o;
}
namespace {

std::string describe(std::int64_t id) {
    return "row " + std::to_string(id);
}

// What a row weighs against the byte budgets. The fetch's SQL adds the same
// three lengths (store/sql.cc), so both sides agree on where a batch ends.
std::size_t row_bytes(const store::PendingRow& row) {
    if (row.withheld_bytes) {
        return *row.withheld_bytes + (row.headers ? row.headers->size() : 0);
    }
    return (row.payload ? row.payload->size() : 0) + (row.key ? row.key->size() : 0)
           + (row.headers ? row.headers->size() : 0);
}

} // namespace

Relay::Relay(RelayOptions options,
             store::OutboxStore& store,
             publish::Publisher& publisher,
             ClockSource& clock,
             RandomSource& random,
             RelayObserver* observer,
             std::function<bool()> may_publish)
    : options_(std::move(options))
    , mapping_(options_.mapping)
    , store_(store)
    , publisher_(publisher)
    , clock_(clock)
    , random_(random)
    , db_backoff_(options_.db_backoff_initial, options_.db_backoff_max)
    , fence_(std::move(may_publish)) {
    counting_.next = observer != nullptr ? observer : &no_observer_;
    const auto now = clock_.now();
    next_poll_at_ = now;
    next_rescan_at_ = now + options_.rescan_interval;
}

void Relay::set_options(const RelayOptions& options) {
    const auto now = clock_.now();
    options_ = options;
    db_backoff_.set_bounds(options_.db_backoff_initial, options_.db_backoff_max);
    next_poll_at_ = std::min(next_poll_at_, now + options_.poll_interval);
    next_rescan_at_ = std::min(next_rescan_at_, now + options_.rescan_interval);
}

std::string Relay::hold_key(const std::string& topic, const std::optional<std::string>& key) {
    // Rows without a key are not ordered against each other (G4): no hold.
    if (!key) {
        return {};
    }
    std::string k;
    k.reserve(topic.size() + key->size() + 1);
    k += topic;
    k += '\0'; // topic names cannot contain NUL, so (topic, key) pairs cannot collide
    k += *key;
    return k;
}

void Relay::emit(RelayEvent::Kind kind, std::string text) {
    counting_.on_event(RelayEvent{kind, std::move(text)});
}

void Relay::step() {
    collect(publisher_.poll(Millis(0)));
    if (publisher_.fatal() || fatal_seen_) {
        handle_fatal();
    }
    write_outcomes();
    if (fetch_wanted(clock_.now())) {
        fetch_and_produce();
    }
    wait();
}

void Relay::begin_shutdown() {
    stopping_ = true;
}

std::size_t Relay::finish_shutdown(Millis timeout) {
    stopping_ = true;
    const auto deadline = clock_.now() + timeout;
    write_outcomes();
    while (in_flight_count_ > 0 && clock_.now() < deadline) {
        const auto left = std::chrono::duration_cast<Millis>(deadline - clock_.now());
        collect(publisher_.poll(std::min(left, Millis(50))));
        write_outcomes();
        if (publisher_.fatal() || fatal_seen_) {
            break;
        }
    }
    // Outcomes already known must reach the table if at all possible: keep
    // trying until the deadline, ignoring the usual back-off.
    const auto left = [&] {
        return std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - clock_.now()));
    };
    while (unwritten_outcomes() > 0) {
        db_retry_at_.reset();
        write_outcomes();
        settle_marks(std::min(left(), Millis(100)));
        if (unwritten_outcomes() == 0 || clock_.now() >= deadline) {
            break;
        }
        if (marking_.empty()) {
            // The write failed: wait a little before the next try.
            collect(publisher_.poll(std::min(left(), Millis(100))));
        }
    }
    return in_flight_count_ + unwritten_outcomes();
}

void Relay::collect(const std::vector<publish::DeliveryReport>& reports) {
    std::size_t transient = 0;
    std::string first_transient;
    for (const auto& rep : reports) {
        auto it = tracked_.find(rep.id);
        if (it == tracked_.end() || it->second.state != RowState::kInFlight) {
            // A report for a row this relay no longer tracks (e.g. after a
            // rebuild gave up on it). Its row stays at 0 and is sent again.
            continue;
        }
        leave_flight(it->second);
        if (rep.ok) {
            // The only place a row becomes "sent": Kafka acknowledged it (G1).
            it->second.state = RowState::kSentUnwritten;
            sent_unwritten_.push_back(store::SentMark{rep.id, rep.partition, rep.offset});
            counting_.on_acked(it->second.created_at_us);
            continue;
        }
        switch (rep.error_class) {
        case publish::ErrorClass::kRow: {
            const Tracked t = it->second;
            on_counted_failure(t, rep.id, rep.error, rep.reason);
            break;
        }
        case publish::ErrorClass::kTransient: {
            // An outage is not the row's fault (G3): forget it, it is still
            // at 0 and the next pass produces it again.
            counting_.on_transient_error();
            const auto hk = hold_key(it->second.topic, it->second.key);
            if (!hk.empty()) {
                held_keys_.insert(hk);
            }
            tracked_.erase(it);
            rescan_requested_ = true;
            if (transient == 0) {
                first_transient = describe(rep.id) + ": " + rep.error;
            }
            ++transient;
            break;
        }
        case publish::ErrorClass::kFatal:
            tracked_.erase(it);
            fatal_seen_ = true;
            rescan_requested_ = true;
            break;
        }
    }
    if (transient > 0) {
        // One line per batch, not per row: a broker outage can fail thousands.
        emit(RelayEvent::Kind::kWarn, std::to_string(transient)
                                          + " rows had a transient delivery error and will be "
                                            "sent again (first: "
                                          + first_transient + ")");
    }
}

void Relay::leave_flight(Tracked& row) {
    --in_flight_count_;
    in_flight_bytes_ -= std::min(in_flight_bytes_, row.bytes);
    row.bytes = 0;
}

void Relay::on_counted_failure(const Tracked& row,
                               std::int64_t id,
                               const std::string& error,
                               publish::FailureReason reason) {
    const auto now = clock_.now();
    store::FailureUpdate u;
    u.id = id;
    u.attempts = row.attempts + 1;
    u.error = error;
    u.park = options_.retry.exhausted(u.attempts);
    if (!u.park) {
        u.retry_after = options_.retry.backoff(u.attempts, random_.next_unit());
        // Come back for it when it is due, not only at the next timed rescan.
        next_rescan_at_ = std::min(next_rescan_at_, now + u.retry_after + Millis(1));
    }
    failures_unwritten_.push_back(u);
    Tracked failed = row;
    failed.state = RowState::kFailedUnwritten;
    failed.reason = reason;
    tracked_[id] = failed;
    // Later rows of this key wait until this one is sent or parked (G4).
    const auto hk = hold_key(row.topic, row.key);
    if (!hk.empty()) {
        held_keys_.insert(hk);
    }
    if (u.park) {
        emit(RelayEvent::Kind::kError, describe(id) + " parked at status 2 after "
                                           + std::to_string(u.attempts) + " attempts: " + error);
    } else {
        emit(RelayEvent::Kind::kWarn,
             describe(id) + " failed (attempt " + std::to_string(u.attempts) + " of "
                 + std::to_string(options_.retry.max_attempts) + "), retry in "
                 + std::to_string(u.retry_after.count()) + " ms: " + error);
    }
}

void Relay::handle_fatal() {
    emit(RelayEvent::Kind::kError,
         "producer fatal error, rebuilding it: " + publisher_.fatal_reason());
    fatal_seen_ = false;
    collect(publisher_.rebuild(Millis(5000)));
    fatal_seen_ = false;
    // Rows still without a report have an unknown outcome: they stay at 0
    // and the next pass reads them again, in id order.
    for (auto it = tracked_.begin(); it != tracked_.end();) {
        if (it->second.state == RowState::kInFlight) {
            it = tracked_.erase(it);
        } else {
            ++it;
        }
    }
    in_flight_count_ = 0;
    in_flight_bytes_ = 0;
    counting_.on_producer_rebuild();
    // Outcomes already known go to the table first, so the read-back only
    // has to settle rows whose report never came.
    write_outcomes();
    awaiting_read_back_ = true;
    rescan_requested_ = true;
}

void Relay::write_outcomes() {
    settle_marks(Millis(0));
    if (sent_unwritten_.empty() && failures_unwritten_.empty()) {
        return;
    }
    if (db_retry_at_ && clock_.now() < *db_retry_at_) {
        return;
    }
    try {
        if (marking_.empty() && !sent_unwritten_.empty()) {
            marking_.swap(sent_unwritten_);
            try {
                store_.begin_mark_sent(marking_);
            } catch (const store::StoreUnavailable&) {
                // Not begun: the rows wait for the next write.
                marking_.swap(sent_unwritten_);
                throw;
            }
            // Its result is taken by the next settle_marks (the wait, or
            // the next step's first call), not polled for right after sending.
        }
        if (!failures_unwritten_.empty()) {
            store_.record_failures(failures_unwritten_);
            bool parked = false;
            for (const auto& u : failures_unwritten_) {
                // Counted for the metric only once the table says so too.
                if (auto it = tracked_.find(u.id); it != tracked_.end()) {
                    counting_.on_counted_failure(it->second.reason, u.park);
                    tracked_.erase(it);
                }
                parked = parked || u.park;
            }
            failures_unwritten_.clear();
            if (parked) {
                // A parked row no longer holds its key: let later rows flow.
                rescan_requested_ = true;
            }
        }
        db_succeeded();
    } catch (const store::StoreUnavailable& e) {
        db_failed(std::string("writing outcomes: ") + e.what());
    }
}

bool Relay::settle_marks(Millis wait) {
    if (marking_.empty()) {
        return true;
    }
    bool done = false;
    try {
        done = store_.mark_sent_finished(wait);
    } catch (const store::StoreUnavailable& e) {
        // In doubt: it may have committed. Writing it again is harmless
        // (only rows still at 0 change), so the rows go back, first in line.
        sent_unwritten_.insert(sent_unwritten_.begin(), marking_.begin(), marking_.end());
        marking_.clear();
        if (db_healthy()) {
            db_failed(std::string("writing outcomes: ") + e.what());
        }
        return true;
    }
    if (!done) {
        return false;
    }
    for (const auto& m : marking_) {
        tracked_.erase(m.id);
    }
    counting_.on_marked_sent(marking_.size());
    marking_.clear();
    return true;
}

bool Relay::fetch_wanted(TimePoint now) const {
    if (stopping_ || fenced_ || awaiting_read_back_) {
        return false;
    }
    if (db_retry_at_ && now < *db_retry_at_) {
        return false;
    }
    if (tracked_.size() >= options_.max_in_flight) {
        return false; // back-pressure: wait for outcomes before reading more
    }
    if (in_flight_bytes_ >= options_.max_in_flight_bytes) {
        return false; // the same, counted in bytes
    }
    return rescan_requested_ || now >= next_rescan_at_ || !caught_up_ || wakeup_
           || now >= next_poll_at_;
}

void Relay::start_pass() {
    last_pass_at_ = clock_.now();
    cursor_ = 0;
    held_keys_.clear();
    caught_up_ = false;
    rescan_requested_ = false;
    next_rescan_at_ = clock_.now() + options_.rescan_interval;
    counting_.on_pass();
}

bool Relay::fence_holds() {
    if (fenced_) {
        return false;
    }
    if (fence_ && !fence_()) {
        fenced_ = true;
        emit(RelayEvent::Kind::kError, "leadership lost: stopped producing");
        return false;
    }
    return true;
}

void Relay::fetch_and_produce() {
    if (!fence_holds()) {
        return;
    }
    const auto now = clock_.now();
    if (rescan_requested_ || now >= next_rescan_at_) {
        start_pass();
    }
    const bool keyset_after_idle = caught_up_ && cursor_ != 0;
    wakeup_ = false;
    next_poll_at_ = now + options_.poll_interval;

    const std::size_t limit = options_.batch_size;
    // No more bytes than can be produced now: rows fetched and then left
    // for lack of room would be read again, payload and all.
    const std::size_t byte_limit = std::max<std::size_t>(
        1, std::min(options_.max_batch_bytes,
                    options_.max_in_flight_bytes
                        - std::min(options_.max_in_flight_bytes, in_flight_bytes_)));
    std::vector<store::PendingRow> rows;
    try {
        rows = store_.fetch_pending(cursor_, limit, byte_limit, options_.max_message_bytes);
        db_succeeded();
    } catch (const store::StoreUnavailable& e) {
        db_failed(std::string("fetching rows: ") + e.what());
        return;
    }
    if (!rows.empty()) {
        // Empty polls are not batches: they would drown the size histogram.
        counting_.on_batch(rows.size());
    }
    std::size_t fetched_bytes = 0;
    for (const auto& row : rows) {
        fetched_bytes += row_bytes(row);
    }
    // A page cut by the byte budget is not the end of the pending rows.
    caught_up_ = rows.size() < limit && fetched_bytes < byte_limit;
    std::size_t produced = 0;
    for (auto& row : rows) {
        cursor_ = row.id;
        const auto hk = hold_key(row.topic, row.key);
        if (auto it = tracked_.find(row.id); it != tracked_.end()) {
            // In flight, or its outcome is not written yet: never twice.
            if (it->second.state == RowState::kFailedUnwritten && !hk.empty()) {
                held_keys_.insert(hk);
            }
            continue;
        }
        if (!hk.empty() && held_keys_.count(hk) != 0) {
            continue; // an earlier row of this key waits for a retry (G4)
        }
        if (!row.due) {
            if (!hk.empty()) {
                held_keys_.insert(hk);
            }
            continue;
        }
        if (tracked_.size() >= options_.max_in_flight
            || in_flight_bytes_ >= options_.max_in_flight_bytes) {
            // Back-pressure: no room for this row now; resume from it later.
            cursor_ = row.id - 1;
            caught_up_ = false;
            break;
        }
        const bool go_on = produce_row(row, row_bytes(row));
        // The producer copied it (or it is not going out now): a large
        // payload must not stay here while the next rows are produced.
        row.payload.reset();
        if (!go_on) {
            // Producer queue full or producer dead: resume from this row.
            cursor_ = row.id - 1;
            caught_up_ = false;
            break;
        }
        ++produced;
    }
    if (produced > 0) {
        counting_.on_batch_produced(produced);
    }
    if (!rows.empty()) {
        emit(RelayEvent::Kind::kDebug, "batch " + std::to_string(counting_.stats.batches)
                                           + ": fetched " + std::to_string(rows.size())
                                           + " rows ids " + std::to_string(rows.front().id) + ".."
                                           + std::to_string(rows.back().id) + ", produced "
                                           + std::to_string(produced));
    }
    if (keyset_after_idle && rows.empty()) {
        // A wake-up or a poll found nothing past the cursor: a transaction
        // that took a lower id may have committed late. Look from the start,
        // but at most once per gap_rescan_min: at a steady rate most such
        // wake-ups are for a row the previous fetch already had (its
        // notification came after), and a pass from id 0 per row would walk
        // the head of the pending index a hundred times a second.
        next_rescan_at_ =
            std::min(next_rescan_at_, std::max(now, last_pass_at_ + options_.gap_rescan_min));
    }
}

bool Relay::produce_row(const store::PendingRow& row, std::size_t bytes) {
    Tracked t{RowState::kInFlight,           row.topic, row.key, row.attempts, row.created_at_us, 0,
              publish::FailureReason::kOther};
    if (row.withheld_bytes) {
        // The same words as the producer's own refusal (publish/
        // kafka_publisher.cc): librdkafka would say no before any broker saw
        // it, so this counts exactly as that would.
        on_counted_failure(
            t, row.id,
            "MSG_SIZE_TOO_LARGE: message of more than " + std::to_string(*row.withheld_bytes)
                + " bytes (key + value alone) exceeds the producer's "
                  "message.max.bytes "
                + std::to_string(options_.max_message_bytes) + "; its payload was not read",
            publish::FailureReason::kMessageTooLarge);
        return true;
    }
    auto made = mapping_.map(row);
    if (auto* err = std::get_if<std::string>(&made)) {
        on_counted_failure(t, row.id, *err, publish::FailureReason::kEncoding);
        return true;
    }
    const auto& mapped = std::get<Mapped>(made);
    if (mapped.trace_problem) {
        emit(RelayEvent::Kind::kDebug,
             "row " + std::to_string(row.id)
                 + ": sent without its trace context: " + *mapped.trace_problem);
    }
    publish::Message m;
    m.id = row.id;
    m.topic = mapped.topic;
    if (row.key) {
        m.key = std::string_view(*row.key);
    }
    const std::optional<std::string>& value = mapped.value_is_payload ? row.payload : mapped.value;
    if (value) {
        m.payload = std::string_view(*value);
    }
    m.headers = &mapped.headers;
    m.partition = mapped.partition;
    m.timestamp_ms = mapped.timestamp_ms;
    m.content_type = mapped.content_type;
    auto res = publisher_.produce(m);
    if (res.accepted) {
        t.bytes = bytes;
        tracked_[row.id] = std::move(t);
        ++in_flight_count_;
        in_flight_bytes_ += bytes;
        counting_.on_produced();
        return true;
    }
    switch (res.error_class) {
    case publish::ErrorClass::kRow:
        on_counted_failure(t, row.id, res.error, res.reason);
        return true;
    case publish::ErrorClass::kTransient:
        counting_.on_transient_error();
        return false;
    case publish::ErrorClass::kFatal:
        fatal_seen_ = true;
        return false;
    }
    return false;
}

void Relay::wait() {
    const auto now = clock_.now();
    const bool busy = in_flight_count_ > 0 || unwritten_outcomes() > 0;
    if (stopping_ || !db_healthy() || busy) {
        Millis t = options_.report_wait;
        if (!stopping_ && fetch_wanted(now)) {
            t = Millis(0);
        }
        if (!db_healthy() && !busy) {
            t = std::chrono::duration_cast<Millis>(*db_retry_at_ - now);
            t = std::clamp(t, Millis(0), options_.poll_interval);
        }
        const int fd = t > Millis(0) ? publisher_.wakeup_fd() : -1;
        if (fd >= 0 && store_.wait_for_activity(t, fd)) {
            // One wait for whichever comes first: a report, a notification,
            // the marking write's commit. Reports are taken here, the
            // commit by the next step's write_outcomes, which runs next.
            collect(publisher_.poll(Millis(0)));
        } else if (!marking_.empty() && t > Millis(0)) {
            // The mark's commit ends the wait early; reports that arrive
            // meanwhile are collected right after, at most `t` late.
            settle_marks(t);
            collect(publisher_.poll(Millis(0)));
        } else {
            collect(publisher_.poll(t));
        }
        if (db_healthy() && !stopping_) {
            try {
                if (store_.take_wakeup()) {
                    wakeup_ = true;
                }
            } catch (const store::StoreUnavailable& e) {
                db_failed(std::string("reading notifications: ") + e.what());
            }
        }
        return;
    }
    if (fetch_wanted(now)) {
        return;
    }
    auto until = std::min(next_poll_at_, next_rescan_at_);
    auto t = std::chrono::duration_cast<Millis>(until - now);
    t = std::max(t, Millis(0));
    try {
        if (store_.wait_for_wakeup(t)) {
            wakeup_ = true;
        }
    } catch (const store::StoreUnavailable& e) {
        db_failed(std::string("waiting for notifications: ") + e.what());
    }
}

void Relay::db_failed(const std::string& what) {
    counting_.on_db_error();
    const Millis delay = db_backoff_.next();
    db_retry_at_ = clock_.now() + delay;
    emit(RelayEvent::Kind::kWarn,
         "database unavailable (" + what + "), retry in " + std::to_string(delay.count()) + " ms");
    // A link that failed here may have taken the lease with it (a partition
    // cuts every session at once). Ask now: while outcomes cannot be written
    // no fetch runs, and a publisher that lost its lock must say so instead
    // of keeping its role until the network heals.
    fence_holds();
}

void Relay::db_succeeded() {
    if (db_retry_at_) {
        emit(RelayEvent::Kind::kInfo, "database reachable again");
        counting_.on_db_reconnected();
        // Notifications sent while disconnected are lost: look everywhere.
        rescan_requested_ = true;
        wakeup_ = true;
    }
    db_retry_at_.reset();
    db_backoff_.reset();
}

} // namespace outboxd::relay
