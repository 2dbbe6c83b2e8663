// The console's own thread: API requests wait in a bounded queue and are
// answered one at a time on a database session of the console's own, so a
// slow query or a flood of clients delays only the console: never the
// relay, never /readyz (the HTTP thread only hands requests on). A full
// queue is answered 503 at once.
#pragma once

#include "console/api.h"
#include "http/server.h"
#include "store/review_store.h"

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace outboxd::console {

struct WorkerOptions {
    ApiOptions api;
    std::size_t queue_limit = 32; // requests waiting beyond the one served
    // Unix milliseconds now (the history, the summary cache).
    std::function<std::int64_t()> now_ms;
    // Called with each answer's status (for the metrics), on the worker's
    // thread, or on the submitting thread for a request refused at once.
    std::function<void(int status)> on_answer;
};

// The metrics' name for an answer's status: ok, refused, bad_request, busy
// or error.
const char* answer_class(int status);

class Worker {
public:
    Worker(std::unique_ptr<store::ReviewStore> store,
           std::function<Overview()> overview,
           WorkerOptions options,
           TokenList tokens);
    // Stops (see stop()).
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    Worker(Worker&&) = delete;
    Worker& operator=(Worker&&) = delete;

    // Any thread (the HTTP thread): queues the request, or answers it 503
    // when the queue is full or the worker stopped.
    void submit(http::Request req, http::Reply reply);
    // Any thread: the tokens later requests are checked against (a reload).
    void set_tokens(TokenList tokens);
    // Any thread: start answering from the database. Until then every API
    // request is answered 503 ("starting") without a query: the daemon's
    // start-up opens its own sessions first (libpqxx 6.4 sets up shared
    // state on a process's first sessions, which ThreadSanitizer saw
    // written by one thread while the console's first session read it).
    void serve();
    // Answers what still waits with 503 and joins the thread. Idempotent.
    void stop();

    // Requests answered 503 because the queue was full (for the metrics).
    std::uint64_t rejected() const;

private:
    void loop();
    // The API's answer, on the worker's thread.
    http::Response answer(const http::Request& req, const TokenList& tokens);

    std::unique_ptr<store::ReviewStore> store_;
    Api api_;
    WorkerOptions options_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    struct Job {
        http::Request req;
        http::Reply reply;
    };
    std::deque<Job> queue_;
    TokenList tokens_;
    bool stopping_ = false;
    bool serving_ = false;
    std::uint64_t rejected_ = 0;
    std::thread thread_;
};

} // namespace outboxd::console
