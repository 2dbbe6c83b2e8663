// The HTTP server and client over loopback sockets on ephemeral ports: routes,
// status codes, timeouts against idle clients, bind errors, clean stop. Real
// sockets and wall-clock time-outs: the `net` tier, not `unit`.
// Misbehaving clients are raw POSIX sockets so they can do what no HTTP
// library would (connect and say nothing, send half a request).
#include "common/host_port.h"
#include "http/client.h"
#include "http/server.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using outboxd::http::Response;
using outboxd::http::Routes;
using outboxd::http::Server;
using outboxd::http::ServerOptions;

namespace {

std::string loopback(const Server& s) {
    return "127.0.0.1:" + std::to_string(s.port());
}

Routes test_routes() {
    return {
        {"/metrics",
         [] {
             return Response{200, "text/plain; version=0.0.4", "a_total 1\n"};
         }},
        {"/healthz",
         [] {
             return Response{503, "text/plain; charset=utf-8", "stalled\n"};
         }},
        {"/boom",
         []() -> Response {
             throw std::runtime_error("handler failure");
         }},
    };
}

// A blocking IPv4 TCP client that does exactly what the test says.
class RawClient {
public:
    explicit RawClient(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~RawClient() { ::close(fd_); }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;
    RawClient(RawClient&&) = delete;
    RawClient& operator=(RawClient&&) = delete;

    void send(const std::string& data) {
        REQUIRE(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL)
                == static_cast<ssize_t>(data.size()));
    }

    // Everything until the server closes the connection, or until `limit`;
    // `closed` tells which.
    std::string read_until_closed(std::chrono::milliseconds limit, bool& closed) {
        std::string out;
        const auto deadline = std::chrono::steady_clock::now() + limit;
        closed = false;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                return out;
            }
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                return out;
            }
            char buf[4096];
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                closed = true; // EOF, or reset by the server
                return out;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_ = -1;
};

// A port nothing listens on, held so no other process can take it while the
// test relies on it: a socket bound to it without listen() makes connects
// fail with "connection refused".
class RefusingPort {
public:
    RefusingPort() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = 0;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
    }
    ~RefusingPort() { ::close(fd_); }
    RefusingPort(const RefusingPort&) = delete;
    RefusingPort& operator=(const RefusingPort&) = delete;
    std::uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

} // namespace

TEST_CASE("GET serves routes with their status, body and content type", "[net][http]") {
    Server server("127.0.0.1:0", test_routes());
    REQUIRE(server.port() != 0);

    const auto ok = outboxd::http::get(loopback(server), "/metrics", 2s);
    CHECK(ok.status == 200);
    CHECK(ok.body == "a_total 1\n");

    const auto with_query = outboxd::http::get(loopback(server), "/metrics?x=1", 2s);
    CHECK(with_query.status == 200);

    const auto unhealthy = outboxd::http::get(loopback(server), "/healthz", 2s);
    CHECK(unhealthy.status == 503);
    CHECK(unhealthy.body == "stalled\n");

    const auto missing = outboxd::http::get(loopback(server), "/nope", 2s);
    CHECK(missing.status == 404);

    const auto broken = outboxd::http::get(loopback(server), "/boom", 2s);
    CHECK(broken.status == 500);
}

TEST_CASE("the response carries the handler's content type and a content length", "[net][http]") {
    Server server("127.0.0.1:0", test_routes());
    RawClient c(server.port());
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool closed = false;
    const auto text = c.read_until_closed(2s, closed);
    CHECK(closed);
    CHECK(text.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(text.find("Content-Type: text/plain; version=0.0.4\r\n") != std::string::npos);
    CHECK(text.find("Content-Length: 10\r\n") != std::string::npos);
    CHECK(text.size() >= 10);
    CHECK(text.substr(text.size() - 10) == "a_total 1\n");
}

TEST_CASE("HEAD answers the headers of GET without the body", "[net][http]") {
    Server server("127.0.0.1:0", test_routes());
    RawClient c(server.port());
    c.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool closed = false;
    const auto text = c.read_until_closed(2s, closed);
    CHECK(closed);
    CHECK(text.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(text.find("Content-Length: 10\r\n") != std::string::npos);
    CHECK(text.find("a_total") == std::string::npos);
}

TEST_CASE("methods other than GET and HEAD get 405 with Allow", "[net][http]") {
    Server server("127.0.0.1:0", test_routes());
    for (const std::string method : {"POST", "PUT", "DELETE"}) {
        INFO(method);
        RawClient c(server.port());
        c.send(method
               + " /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: "
                 "close\r\n\r\n{}");
        bool closed = false;
        const auto text = c.read_until_closed(2s, closed);
        CHECK(text.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
        CHECK(text.find("Allow: GET, HEAD\r\n") != std::string::npos);
    }
}

TEST_CASE("one connection serves several requests in turn (keep-alive)", "[net][http]") {
    Server server("127.0.0.1:0", test_routes());
    RawClient c(server.port());
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool closed = false;
    const auto text = c.read_until_closed(2s, closed);
    CHECK(closed);
    const auto first = text.find("HTTP/1.1 200 OK");
    const auto second = text.find("HTTP/1.1 503 Service Unavailable");
    CHECK(first == 0);
    CHECK(second != std::string::npos);
    CHECK(second > first);
}

TEST_CASE("two clients at once are both served", "[net][http]") {
    std::atomic<int> calls{0};
    Routes routes = {{"/n", [&calls] {
                          return Response{200, "text/plain", std::to_string(++calls)};
                      }}};
    Server server("127.0.0.1:0", routes);

    // One client holds a keep-alive connection open between its requests...
    RawClient held(server.port());
    held.send("GET /n HTTP/1.1\r\nHost: x\r\n\r\n");
    bool closed = false;
    CHECK(held.read_until_closed(300ms, closed).rfind("HTTP/1.1 200 OK", 0) == 0);
    CHECK_FALSE(closed);

    // ...while two others fetch in parallel.
    constexpr int kEach = 20;
    const auto fetch = [&server] {
        int ok = 0;
        for (int i = 0; i < kEach; ++i) {
            ok += outboxd::http::get(loopback(server), "/n", 5s).status == 200 ? 1 : 0;
        }
        return ok;
    };
    auto a = std::async(std::launch::async, fetch);
    auto b = std::async(std::launch::async, fetch);
    CHECK(a.get() == kEach);
    CHECK(b.get() == kEach);

    held.send("GET /n HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto last = held.read_until_closed(2s, closed);
    CHECK(closed);
    CHECK(last.find("\r\n\r\n" + std::to_string(2 * kEach + 2)) != std::string::npos);
}

TEST_CASE("a client that connects and sends nothing blocks no one and is dropped", "[net][http]") {
    ServerOptions opts;
    opts.read_timeout = 1500ms;
    Server server("127.0.0.1:0", test_routes(), opts);

    RawClient silent(server.port());
    RawClient half(server.port());
    half.send("GET /metrics HTTP/1.1\r\nHo"); // never finishes the header

    const auto start = std::chrono::steady_clock::now();
    const auto ok = outboxd::http::get(loopback(server), "/metrics", 2s);
    CHECK(ok.status == 200);
    // Served while both stalled clients still hold their connections, not
    // after their timeout.
    CHECK(std::chrono::steady_clock::now() - start < 1000ms);

    bool closed = false;
    CHECK(silent.read_until_closed(3s, closed).empty());
    CHECK(closed);
    closed = false;
    CHECK(half.read_until_closed(3s, closed).empty());
    CHECK(closed);
}

TEST_CASE("connections beyond max_connections are closed at once", "[net][http]") {
    ServerOptions opts;
    opts.max_connections = 1;
    Server server("127.0.0.1:0", test_routes(), opts);
    RawClient first(server.port());
    // Let the server accept the first before the second arrives.
    std::this_thread::sleep_for(100ms);
    RawClient second(server.port());
    bool closed = false;
    CHECK(second.read_until_closed(2s, closed).empty());
    CHECK(closed);
}

TEST_CASE("binding a port in use fails with a clear message", "[net][http]") {
    Server first("127.0.0.1:0", test_routes());
    const auto listen = loopback(first);
    try {
        Server second(listen, test_routes());
        FAIL("second bind succeeded");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "http.listen " + listen + ": address already in use");
    }
    CHECK_THROWS_WITH(Server("127.0.0.1", test_routes()),
                      Catch::StartsWith("http.listen 127.0.0.1: ")
                          && Catch::Contains("the port is missing"));
    CHECK_THROWS_WITH(Server("192.0.2.1:0", test_routes()),
                      Catch::StartsWith("http.listen 192.0.2.1:0: "));
}

// Its own ctest entry, net_http_ipv6: a host without IPv6 makes it print
// "SKIPPED:", which ctest reports as a skip (SKIP_REGULAR_EXPRESSION).
TEST_CASE("IPv6 loopback with an ephemeral port", "[net][http][ipv6]") {
    std::unique_ptr<Server> server;
    try {
        server = std::make_unique<Server>("[::1]:0", test_routes());
    } catch (const std::runtime_error& e) {
        // Containers without IPv6 cannot bind ::1; that is the host, not us.
        WARN("SKIPPED: no IPv6 loopback on this host: " << e.what());
        return;
    }
    const auto r = outboxd::http::get("[::1]:" + std::to_string(server->port()), "/metrics", 2s);
    CHECK(r.status == 200);
}

TEST_CASE("stop() returns promptly while a client is connected, and is idempotent", "[net][http]") {
    auto server = std::make_unique<Server>("127.0.0.1:0", test_routes());
    const auto port = server->port();
    RawClient idle(port);
    RawClient keep_alive(port);
    keep_alive.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    bool closed = false;
    CHECK(keep_alive.read_until_closed(300ms, closed).find("a_total 1") != std::string::npos);
    CHECK_FALSE(closed);

    const auto start = std::chrono::steady_clock::now();
    server->stop();
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    server->stop();

    idle.read_until_closed(1s, closed);
    CHECK(closed);
    keep_alive.read_until_closed(1s, closed);
    CHECK(closed);
    // Connecting again is no longer served (refused, or, if another process
    // took the freed port meanwhile, anything but our answer).
    bool served = true;
    try {
        served = outboxd::http::get("127.0.0.1:" + std::to_string(port), "/metrics", 1s).body
                 == "a_total 1\n";
    } catch (const std::runtime_error&) {
        served = false;
    }
    CHECK_FALSE(served);
    server.reset();
}

TEST_CASE("the client reports refused connections and time-outs", "[net][http]") {
    // A port held by us with nothing listening on it.
    RefusingPort refusing;
    const auto port = refusing.port();
    CHECK_THROWS_WITH(outboxd::http::get("127.0.0.1:" + std::to_string(port), "/healthz", 1s),
                      Catch::Equals("GET http://127.0.0.1:" + std::to_string(port)
                                    + "/healthz: connection refused"));

    // A handler slower than the client's patience.
    Routes slow = {{"/slow", [] {
                        std::this_thread::sleep_for(500ms);
                        return Response{200, "text/plain", "late"};
                    }}};
    Server server("127.0.0.1:0", slow);
    CHECK_THROWS_WITH(outboxd::http::get(loopback(server), "/slow", 100ms),
                      Catch::EndsWith("/slow: timed out after 100 ms"));
}

TEST_CASE("a prefix route answers later, from another thread, while fixed routes answer at once",
          "[net][http]") {
    // The prefix handler parks each request; a test thread answers it.
    std::mutex mu;
    std::vector<std::pair<outboxd::http::Request, outboxd::http::Reply>> parked;
    std::vector<outboxd::http::PrefixRoute> prefixes;
    prefixes.push_back({"/api/",
                        [&](outboxd::http::Request req, outboxd::http::Reply reply) {
                            std::lock_guard<std::mutex> lock(mu);
                            parked.emplace_back(std::move(req), std::move(reply));
                        },
                        64});
    Server server("127.0.0.1:0", test_routes(), ServerOptions{}, prefixes);
    RawClient api(server.port());
    api.send("POST /api/v1/rows/requeue?x=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3\r\n"
             "Content-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n"
             "{\"ids\":[1]}");
    for (int i = 0; i < 200; ++i) {
        std::lock_guard<std::mutex> lock(mu);
        if (!parked.empty()) {
            break;
        }
        std::this_thread::sleep_for(10ms);
    }
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(parked.size() == 1);
    const auto& req = parked[0].first;
    CHECK(req.method == "POST");
    CHECK(req.path == "/api/v1/rows/requeue");
    CHECK(req.query == "x=1");
    CHECK(req.authorization == "Bearer s3");
    CHECK(req.content_type == "application/json");
    CHECK(req.body == "{\"ids\":[1]}");
    lock.unlock();

    // While the API request waits, /metrics is served.
    RawClient other(server.port());
    other.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    bool closed = false;
    CHECK(other.read_until_closed(2s, closed).rfind("HTTP/1.1 200 OK", 0) == 0);

    std::thread([reply = parked[0].second] {
        reply(Response{202, "application/json", "{\"requeued\":1}\n", {{"X-Test", "yes"}}});
    }).join();
    const auto text = api.read_until_closed(2s, closed);
    CHECK(text.rfind("HTTP/1.1 202 Accepted\r\n", 0) == 0);
    CHECK(text.find("X-Test: yes\r\n") != std::string::npos);
    CHECK(text.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
    CHECK(text.find("{\"requeued\":1}") != std::string::npos);
    CHECK(closed);
}

TEST_CASE("a body over a prefix route's limit gets 413 and nothing reaches the handler",
          "[net][http]") {
    std::atomic<int> calls{0};
    std::vector<outboxd::http::PrefixRoute> prefixes;
    prefixes.push_back({"/api/",
                        [&](outboxd::http::Request, outboxd::http::Reply reply) {
                            ++calls;
                            reply(Response{200, "text/plain", "ok\n", {}});
                        },
                        16 * 1024});
    Server server("127.0.0.1:0", test_routes(), ServerOptions{}, prefixes);
    {
        RawClient c(server.port());
        const std::string body(20 * 1024, 'x');
        c.send("POST /api/v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: "
               + std::to_string(body.size()) + "\r\n\r\n");
        bool closed = false;
        ::signal(SIGPIPE, SIG_IGN);
        const auto text = c.read_until_closed(2s, closed);
        CHECK(text.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0) == 0);
        CHECK(closed);
    }
    {
        // Within the limit (above the fixed routes' 8 KiB) it is served.
        RawClient c(server.port());
        const std::string body(12 * 1024, 'x');
        c.send("POST /api/v1/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: "
               + std::to_string(body.size()) + "\r\n\r\n" + body);
        bool closed = false;
        CHECK(c.read_until_closed(2s, closed).rfind("HTTP/1.1 200 OK", 0) == 0);
    }
    CHECK(calls.load() == 1);
    // A fixed route keeps the small limit.
    RawClient c(server.port());
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 12000\r\n\r\n");
    bool closed = false;
    CHECK(c.read_until_closed(2s, closed).rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("an answer that comes after stop() is dropped", "[net][http]") {
    outboxd::http::Reply held;
    std::atomic<bool> got{false};
    std::vector<outboxd::http::PrefixRoute> prefixes;
    prefixes.push_back({"/api/",
                        [&](outboxd::http::Request, outboxd::http::Reply reply) {
                            held = std::move(reply);
                            got = true;
                        },
                        1024});
    Server server("127.0.0.1:0", test_routes(), ServerOptions{}, prefixes);
    RawClient c(server.port());
    c.send("GET /api/v1/rows HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < 200 && !got; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(got);
    server.stop();
    held(Response{200, "text/plain", "late\n", {}});
    held = nullptr;
    bool closed = false;
    CHECK(c.read_until_closed(1s, closed).empty());
    CHECK(closed);
}
