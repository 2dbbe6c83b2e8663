#include "console/worker.h"

#include "common/log.h"

#include <exception>
#include <utility>

namespace outboxd::console {
namespace {

http::Response busy(const std::string& why) {
    return {503,
            "application/json",
            R"({"error":")" + why
                + R"("})"
                  "\n",
            {{"Retry-After", "1"}}};
}

} // namespace

const char* answer_class(int status) {
    if (status >= 200 && status < 300) {
        return "ok";
    }
    if (status == 401 || status == 403) {
        return "refused";
    }
    if (status >= 400 && status < 500) {
        return "bad_request";
    }
    return status == 503 ? "busy" : "error";
}

Worker::Worker(std::unique_ptr<store::ReviewStore> store,
               std::function<Overview()> overview,
               WorkerOptions options,
               TokenList tokens)
    : store_(std::move(store))
    , api_(*store_, std::move(overview), options.api)
    , options_(std::move(options))
    , tokens_(std::move(tokens)) {
    thread_ = std::thread([this] { loop(); });
}

Worker::~Worker() {
    stop();
}

void Worker::submit(http::Request req, http::Reply reply) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!stopping_ && queue_.size() < options_.queue_limit) {
            queue_.push_back({std::move(req), std::move(reply)});
            cv_.notify_one();
            return;
        }
        ++rejected_;
    }
    if (options_.on_answer) {
        options_.on_answer(503);
    }
    reply(busy("the console is busy; retry"));
}

void Worker::set_tokens(TokenList tokens) {
    std::lock_guard<std::mutex> lock(mu_);
    tokens_ = std::move(tokens);
}

void Worker::serve() {
    std::lock_guard<std::mutex> lock(mu_);
    serving_ = true;
}

std::uint64_t Worker::rejected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_;
}

void Worker::stop() {
    std::deque<Job> left;
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        left.swap(queue_);
        cv_.notify_all();
    }
    for (auto& job : left) {
        job.reply(busy("outboxd is stopping"));
    }
    if (thread_.joinable()) {
        thread_.join();
    }
}

http::Response Worker::answer(const http::Request& req, const TokenList& tokens) {
    http::Response r;
    try {
        api_.tick(options_.now_ms());
        r = api_.handle(req, tokens, options_.now_ms());
    } catch (const std::exception& e) {
        log::get("console")->error("{} {}: {}", req.method, req.path, e.what());
        r = {500,
             "application/json",
             R"({"error":"internal error"})"
             "\n",
             {}};
    }
    // 503 (PostgreSQL unavailable, the queue full) shows in the health and
    // the metrics; a 500 is a problem to read about.
    if (r.status == 500) {
        log::get("console")->warn("{} {}: {} {}", req.method, req.path, r.status, r.body);
    }
    return r;
}

void Worker::loop() {
    for (;;) {
        Job job;
        TokenList tokens;
        bool serving = false;
        {
            std::unique_lock<std::mutex> lock(mu_);
            // Wake for a request, or to sample the history.
            cv_.wait_for(lock, kHistoryStep, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) {
                return;
            }
            if (queue_.empty()) {
                lock.unlock();
                api_.tick(options_.now_ms());
                continue;
            }
            job = std::move(queue_.front());
            queue_.pop_front();
            tokens = tokens_;
            serving = serving_;
        }
        http::Response r = serving ? answer(job.req, tokens) : busy("outboxd is starting; retry");
        if (options_.on_answer) {
            options_.on_answer(r.status);
        }
        job.reply(std::move(r));
    }
}

} // namespace outboxd::console
