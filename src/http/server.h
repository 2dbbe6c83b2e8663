// A small HTTP/1.1 server for /metrics, /healthz, /readyz and the review
// console: GET and HEAD on fixed routes, and any method under a prefix whose
// handler answers later (the console's API, which reads the database on a
// thread of its own). It runs its own thread so a slow or stuck scraper
// never delays the relay, and times out connections that do not send a whole
// request (or do not read the answer) in time, so no client can hold a
// connection, or the endpoint, for long.
//
// Threads: construct, stop() and destroy from one thread (the daemon's main
// thread); never from a handler. Handlers run on the server's thread, one at
// a time: they must be quick and only read atomics or snapshots published by
// the main thread (metrics::Metrics, a health flag), never take the main
// loop's locks, touch the database or Kafka. A prefix handler hands the
// request on and returns at once; its Reply may be called from any thread,
// also after stop() or the Server's end (the answer is then dropped).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace outboxd::http {

struct Response {
    Response() = default;
    Response(int status_code,
             std::string type,
             std::string text,
             std::vector<std::pair<std::string, std::string>> fields = {})
        : status(status_code)
        , content_type(std::move(type))
        , body(std::move(text))
        , headers(std::move(fields)) {}

    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    // Further header fields (name, value), e.g. Content-Security-Policy.
    std::vector<std::pair<std::string, std::string>> headers;
};

// Path (without query string) -> handler. A handler that throws answers 500.
using Routes = std::map<std::string, std::function<Response()>>;

// A request under a prefix route, as the handler gets it.
struct Request {
    std::string method;        // "GET", "POST", ...
    std::string path;          // without the query string, not decoded
    std::string query;         // after '?', not decoded; empty when none
    std::string authorization; // the Authorization header field, or empty
    std::string content_type;  // the Content-Type header field, or empty
    std::string body;
};

// Answers the request; call it exactly once, from any thread (until then
// the connection waits, up to stop()). Calling it after stop(), or keeping
// it past the Server's end, is harmless: the answer is dropped.
using Reply = std::function<void(Response)>;

// Requests whose path starts with `prefix` (and match no fixed route), any
// method. `body_limit`: the largest body accepted; a larger one is answered
// 413 and the connection closed. A handler that throws answers 500.
struct PrefixRoute {
    std::string prefix;
    std::function<void(Request, Reply)> handler;
    std::uint64_t body_limit = 0;
};

struct ServerOptions {
    // Longest wait for one whole request, the idle time between keep-alive
    // requests included; then the connection is closed.
    std::chrono::milliseconds read_timeout{10000};
    // Longest time for a client to take the whole response.
    std::chrono::milliseconds write_timeout{10000};
    // Connections beyond this are closed at once: a flood of clients costs
    // file descriptors only up to here.
    std::size_t max_connections = 64;
};

class Server {
public:
    // Binds `listen` ("127.0.0.1:9187", "[::1]:0"; port 0 picks a free port)
    // and starts serving. Throws std::runtime_error starting with
    // "http.listen <listen>: " when the address is malformed, does not
    // resolve or cannot be bound ("... address already in use").
    Server(const std::string& listen,
           Routes routes,
           ServerOptions options = {},
           std::vector<PrefixRoute> prefixes = {});
    // Stops (see stop()).
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    Server(Server&&) = delete;
    Server& operator=(Server&&) = delete;

    // The bound port: the real one when `listen` asked for port 0.
    std::uint16_t port() const;

    // Closes the listening socket and every open connection and joins the
    // server thread. Idempotent.
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace outboxd::http
