#include "daemon/leading_worker.h"

#include "common/log.h"

#include <algorithm>

namespace outboxd::daemon {

LeadingWorker::LeadingWorker(std::string name,
                             WorkerTask& task,
                             const ClockSource& clock,
                             Millis retry_after)
    : name_(std::move(name))
    , task_(task)
    , clock_(clock)
    , retry_after_(retry_after) {}

LeadingWorker::~LeadingWorker() {
    stop();
}

void LeadingWorker::start() {
    std::lock_guard<std::mutex> lk(mu_);
    if (!thread_.joinable() && !stop_) {
        thread_ = std::thread([this] { run(); });
    }
}

void LeadingWorker::stop() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void LeadingWorker::set_leading(bool leading) {
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (leading_ == leading) {
            return;
        }
        leading_ = leading;
        ++lead_changes_;
        poke_ = true;
    }
    cv_.notify_all();
}

void LeadingWorker::wake() {
    {
        std::lock_guard<std::mutex> lk(mu_);
        poke_ = true;
    }
    cv_.notify_all();
}

std::optional<Failure> LeadingWorker::failure() const {
    std::lock_guard<std::mutex> lk(mu_);
    return failure_;
}

bool LeadingWorker::wait_rounds_above(std::uint64_t after, Millis timeout) const {
    std::unique_lock<std::mutex> lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return rounds_.load() > after; });
}

void LeadingWorker::run() {
    auto log = log::get(name_);
    std::string last_outage;
    std::unique_lock<std::mutex> lk(mu_);
    while (!stop_) {
        poke_ = false;
        const bool leading = leading_;
        const std::uint64_t changes = lead_changes_;
        lk.unlock();
        RoundInput in;
        in.leading = leading;
        in.now = clock_.now();
        in.go_on = [this, changes] {
            std::lock_guard<std::mutex> g(mu_);
            return !stop_ && lead_changes_ == changes;
        };
        TimePoint next;
        std::optional<Failure> fatal;
        try {
            next = task_.round(in);
            if (!last_outage.empty()) {
                log->info("working again");
                last_outage.clear();
            }
        } catch (...) {
            Failure f = classify_current();
            task_.reset();
            next = clock_.now() + retry_after_;
            if (f.retry()) {
                if (f.what != last_outage) {
                    log->warn("{}; retry in {} ms", f.what, retry_after_.count());
                    last_outage = f.what;
                }
            } else {
                log->critical("{} ({}): not retried", f.what, to_string(f.kind));
                fatal = std::move(f);
            }
        }
        lk.lock();
        rounds_.fetch_add(1);
        if (fatal) {
            failure_ = std::move(fatal);
            cv_.notify_all();
            break;
        }
        cv_.notify_all(); // wait_rounds_above
        // Real time to wait: the clock's distance to `next` (a manual clock
        // in tests stands still; they wake() after advancing it).
        const auto wait = std::max(Clock::duration::zero(), next - clock_.now());
        cv_.wait_for(lk, wait, [this] { return stop_ || poke_; });
    }
}

} // namespace outboxd::daemon
