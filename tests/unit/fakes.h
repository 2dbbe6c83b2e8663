// In-memory stand-ins for the outbox table and the Kafka producer, driven by
// a ManualClock. They implement the same interfaces as PgOutboxStore and
// KafkaPublisher, so the relay's rules run here without any I/O.
#pragma once

#include "common/clock.h"
#include "publish/publisher.h"
#include "store/outbox_store.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace outboxd::test {

struct FakeRow {
    std::int64_t id = 0;
    std::string topic = "t";
    std::optional<std::string> key;
    std::optional<std::string> payload = std::string("p");
    std::optional<std::string> headers;
    int status = 0;
    int attempts = 0;
    std::string last_error;
    std::optional<TimePoint> next_attempt_at;
    bool visible = true; // false: inserted but not committed yet
    std::int64_t created_at_us = 0;
};

class FakeStore final : public store::OutboxStore {
public:
    explicit FakeStore(ManualClock& clock)
        : clock_(clock) {}

    std::int64_t insert(std::optional<std::string> key, std::string topic = "t") {
        FakeRow r;
        r.id = ++last_id_;
        r.key = std::move(key);
        r.topic = std::move(topic);
        rows_[r.id] = r;
        return r.id;
    }
    FakeRow& row(std::int64_t id) { return rows_.at(id); }
    int status(std::int64_t id) const { return rows_.at(id).status; }

    std::vector<store::PendingRow> fetch_pending(std::int64_t after_id,
                                                 std::size_t limit,
                                                 std::size_t max_bytes,
                                                 std::size_t max_row_bytes) override {
        ++fetches;
        fetch_byte_limits.push_back(max_bytes);
        if (down) {
            throw store::StoreUnavailable("fake: database down");
        }
        std::vector<store::PendingRow> out;
        std::size_t bytes = 0; // of the rows already in `out`, as the SQL's running sum
        for (auto it = rows_.upper_bound(after_id);
             it != rows_.end() && out.size() < limit && bytes < max_bytes; ++it) {
            const FakeRow& r = it->second;
            if (r.status != 0 || !r.visible) {
                continue;
            }
            bytes += (r.payload ? r.payload->size() : 0) + (r.key ? r.key->size() : 0)
                     + (r.headers ? r.headers->size() : 0);
            store::PendingRow p;
            p.id = r.id;
            p.topic = r.topic;
            p.key = r.key;
            p.payload = r.payload;
            p.headers = r.headers;
            p.attempts = r.attempts;
            p.due = !r.next_attempt_at || *r.next_attempt_at <= clock_.now();
            p.created_at_us = r.created_at_us;
            const std::size_t pk =
                (r.payload ? r.payload->size() : 0) + (r.key ? r.key->size() : 0);
            if (max_row_bytes > 0 && pk > max_row_bytes) {
                p.payload.reset(); // as the SQL: never read
                p.withheld_bytes = pk;
            }
            out.push_back(p);
        }
        return out;
    }

    void mark_sent(const std::vector<store::SentMark>& marks) override {
        if (down) {
            throw store::StoreUnavailable("fake: database down");
        }
        apply_marks(marks);
    }

    // Marks are written as by PgOutboxStore: begun, and applied only once
    // mark_sent_finished() says they committed. `hold_marks` keeps a write
    // running; `down` ends it with a lost connection (`in_doubt_commits`:
    // it committed all the same).
    void begin_mark_sent(const std::vector<store::SentMark>& marks) override {
        if (down) {
            throw store::StoreUnavailable("fake: database down");
        }
        if (marking) {
            throw std::logic_error("fake: a mark write began while another one runs");
        }
        marking = marks;
        ++mark_writes;
    }

    bool mark_sent_finished(std::chrono::milliseconds wait) override {
        if (!marking) {
            return true;
        }
        if (down) {
            if (in_doubt_commits) {
                apply_marks(*marking);
            }
            marking.reset();
            throw store::StoreUnavailable("fake: connection lost while marking");
        }
        if (hold_marks) {
            clock_.advance(wait);
            waited += wait;
            return false;
        }
        const auto marks = std::move(*marking);
        marking.reset();
        apply_marks(marks);
        return true;
    }

    void record_failures(const std::vector<store::FailureUpdate>& updates) override {
        if (down) {
            throw store::StoreUnavailable("fake: database down");
        }
        for (const auto& u : updates) {
            auto& r = rows_.at(u.id);
            if (r.status != 0 || r.attempts != u.attempts - 1) {
                continue;
            }
            r.attempts = u.attempts;
            r.last_error = u.error;
            if (u.park) {
                r.status = 2;
                r.next_attempt_at.reset();
            } else {
                r.next_attempt_at = clock_.now() + u.retry_after;
            }
        }
    }

    bool wait_for_wakeup(std::chrono::milliseconds timeout) override {
        if (down) {
            throw store::StoreUnavailable("fake: database down");
        }
        if (notified) {
            notified = false;
            return true;
        }
        clock_.advance(timeout);
        waited += timeout;
        return false;
    }

    bool take_wakeup() override {
        const bool n = notified;
        notified = false;
        return n;
    }

    // As PgOutboxStore's poll(2): ends at once for a notification or a
    // mark write that can finish, else waits the whole timeout (the fake
    // publisher's reports are injected between steps).
    bool wait_for_activity(std::chrono::milliseconds timeout, int fd) override {
        ++activity_waits;
        activity_fds.insert(fd);
        if (notified || (marking && !hold_marks)) {
            return true;
        }
        clock_.advance(timeout);
        waited += timeout;
        return true;
    }

    void disconnect() override { ++disconnects; }

    bool down = false;
    bool notified = false;
    bool hold_marks = false;
    bool in_doubt_commits = false;
    std::optional<std::vector<store::SentMark>> marking; // the write begun, not finished
    int mark_writes = 0;
    int activity_waits = 0;
    std::set<int> activity_fds;
    int fetches = 0;
    int disconnects = 0;
    std::vector<std::size_t> fetch_byte_limits; // max_bytes of every fetch
    Millis waited{0};
    std::map<std::int64_t, int> mark_count;

private:
    void apply_marks(const std::vector<store::SentMark>& marks) {
        for (const auto& m : marks) {
            auto& r = rows_.at(m.id);
            if (r.status == 0) {
                r.status = 1;
            }
            ++mark_count[m.id];
        }
    }

    ManualClock& clock_;
    std::map<std::int64_t, FakeRow> rows_;
    std::int64_t last_id_ = 0;
};

class FakePublisher final : public publish::Publisher {
public:
    explicit FakePublisher(ManualClock& clock)
        : clock_(clock) {}

    struct Produced {
        std::int64_t id;
        std::string topic;
        std::optional<std::string> key;
        std::vector<publish::Header> headers;
        std::size_t payload_size = 0; // bytes the producer was handed
    };

    publish::ProduceResult produce(const publish::Message& m) override {
        publish::ProduceResult r;
        if (auto it = sync_errors.find(m.id); it != sync_errors.end()) {
            r.error_class = it->second;
            r.error = "fake sync error";
            r.reason = publish::FailureReason::kNotAuthorized;
            if (it->second == publish::ErrorClass::kFatal) {
                fatal_ = true;
            }
            return r;
        }
        if (queue_full) {
            r.error_class = publish::ErrorClass::kTransient;
            r.error = "Local: Queue full";
            return r;
        }
        Produced p{m.id, std::string(m.topic),
                   m.key ? std::optional<std::string>(std::string(*m.key)) : std::nullopt,
                   m.headers ? *m.headers : std::vector<publish::Header>{},
                   m.payload ? m.payload->size() : 0};
        produced.push_back(p);
        outstanding.push_back(m.id);
        r.accepted = true;
        return r;
    }

    // Acknowledge (or fail) every outstanding message, in produce order.
    void ack_all() {
        for (auto id : outstanding) {
            ready.push_back({id, true, publish::ErrorClass::kTransient, ""});
        }
        outstanding.clear();
    }
    void fail_all(publish::ErrorClass c,
                  const std::string& err,
                  publish::FailureReason reason = publish::FailureReason::kOther) {
        for (auto id : outstanding) {
            ready.push_back({id, false, c, err, reason});
        }
        outstanding.clear();
    }

    std::vector<publish::DeliveryReport> poll(std::chrono::milliseconds timeout) override {
        ++polls;
        if (auto_ack) {
            ack_all();
        }
        if (ready.empty()) {
            clock_.advance(timeout);
        }
        std::vector<publish::DeliveryReport> out(ready.begin(), ready.end());
        ready.clear();
        return out;
    }

    // >= 0: the relay waits in the store's wait_for_activity instead of poll.
    int wakeup_fd() override { return wake_fd; }
    int wake_fd = -1;

    bool fatal() const override { return fatal_; }
    std::string fatal_reason() const override { return "fake fatal"; }
    void set_fatal() { fatal_ = true; }

    std::vector<publish::DeliveryReport> rebuild(std::chrono::milliseconds) override {
        ++rebuilds;
        fatal_ = false;
        outstanding.clear(); // unknown outcome
        std::vector<publish::DeliveryReport> out(ready.begin(), ready.end());
        ready.clear();
        return out;
    }

    std::vector<publish::DeliveryReport> drain(std::chrono::milliseconds timeout) override {
        return poll(timeout);
    }

    // Messages not yet "on the wire" (outstanding, no report ready) are
    // dropped, as librdkafka's purge does: they never reach the broker and
    // each gets a transient error report.
    void purge_queued() override {
        for (auto id : outstanding) {
            purged.push_back(id);
            ready.push_back({id, false, publish::ErrorClass::kTransient, "Local: Purged in queue"});
        }
        outstanding.clear();
    }

    std::vector<std::int64_t> produced_ids() const {
        std::vector<std::int64_t> ids;
        for (const auto& p : produced) {
            ids.push_back(p.id);
        }
        return ids;
    }

    std::vector<Produced> produced;
    std::vector<std::int64_t> outstanding;
    std::vector<std::int64_t> purged;
    std::deque<publish::DeliveryReport> ready;
    std::map<std::int64_t, publish::ErrorClass> sync_errors;
    bool queue_full = false;
    bool auto_ack = false;
    int polls = 0;
    int rebuilds = 0;

private:
    ManualClock& clock_;
    bool fatal_ = false;
};

// Always returns the same value: back-off without jitter surprises.
class FixedRandom final : public RandomSource {
public:
    double next_unit() override { return 0.0; }
};

} // namespace outboxd::test
