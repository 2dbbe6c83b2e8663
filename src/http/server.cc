#include "http/server.h"

#include "common/host_port.h"
#include "common/log.h"
#include "http/error_text.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace outboxd::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bh = boost::beast::http;
using Tcp = net::ip::tcp;

// Fixed routes take GETs, which carry no body; these bound what a client can
// make us buffer (a prefix route sets its own body limit).
constexpr std::uint32_t kHeaderLimit = 8 * 1024;
constexpr std::uint64_t kBodyLimit = std::uint64_t{8} * 1024;
// Pause before accepting again after an accept error (EMFILE, ENFILE): an
// immediate retry would spin on the same error.
constexpr std::chrono::milliseconds kAcceptRetry{100};

// What a request is answered with, decided on the server thread: a fixed
// route's response, or nothing yet (a prefix route answers later).
std::optional<Response> route(const Routes& routes,
                              const std::vector<PrefixRoute>& prefixes,
                              const bh::request<bh::string_body>& req,
                              const std::function<Reply()>& make_reply) {
    auto path = std::string(req.target());
    std::string query;
    if (const auto q = path.find('?'); q != std::string::npos) {
        query = path.substr(q + 1);
        path.resize(q);
    }
    const bool get_or_head = req.method() == bh::verb::get || req.method() == bh::verb::head;
    try {
        if (const auto it = routes.find(path); it != routes.end()) {
            if (!get_or_head) {
                return Response{405, "text/plain; charset=utf-8", "method not allowed\n", {}};
            }
            return it->second();
        }
        for (const auto& p : prefixes) {
            if (path.compare(0, p.prefix.size(), p.prefix) == 0) {
                Request r;
                r.method = std::string(req.method_string());
                r.path = std::move(path);
                r.query = std::move(query);
                r.authorization = std::string(req[bh::field::authorization]);
                r.content_type = std::string(req[bh::field::content_type]);
                r.body = req.body();
                p.handler(std::move(r), make_reply());
                return std::nullopt;
            }
        }
    } catch (const std::exception& e) {
        log::get("http")->error("handler for {} failed: {}", path, e.what());
        return Response{500, "text/plain; charset=utf-8", "internal error\n", {}};
    } catch (...) {
        log::get("http")->error("handler for {} failed", path);
        return Response{500, "text/plain; charset=utf-8", "internal error\n", {}};
    }
    if (!get_or_head) {
        return Response{405, "text/plain; charset=utf-8", "method not allowed\n", {}};
    }
    return Response{404, "text/plain; charset=utf-8", "not found\n", {}};
}

class Session;

// The sessions waiting for a prefix route's answer, and the way back to
// them. A Reply holds only a weak reference to its session and the gate: a
// Reply kept (or called) after the server stopped, or after it was
// destroyed, touches neither the session nor the I/O context.
struct Waiting {
    // Touched on the server thread only: keeps a waiting session alive
    // (no operation of its own is pending then).
    std::set<std::shared_ptr<Session>> sessions;
    struct Gate {
        std::mutex mu;
        net::io_context* ioc = nullptr; // null once the server stopped
    };
    std::shared_ptr<Gate> gate = std::make_shared<Gate>();
};

// One connection: read a request, answer it, and read the next while the
// client keeps the connection alive. Lives as long as an operation of its
// own is pending (each completion handler holds a shared_ptr), or while it
// waits for a prefix route's answer (Waiting::sessions).
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(Tcp::socket&& socket,
            const Routes& routes,
            const std::vector<PrefixRoute>& prefixes,
            const ServerOptions& options,
            Waiting& waiting)
        : stream_(std::move(socket))
        , routes_(routes)
        , prefixes_(prefixes)
        , options_(options)
        , waiting_(waiting) {}

    void start() { read(); }

    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(Tcp::socket::shutdown_both, ec);
        stream_.close();
    }

private:
    void read() {
        parser_.emplace();
        parser_->header_limit(kHeaderLimit);
        // The largest any route takes: the parser checks a Content-Length
        // against it as soon as the header is in; on_header() then applies
        // the limit of the route the request goes to.
        std::uint64_t largest = kBodyLimit;
        for (const auto& p : prefixes_) {
            largest = std::max(largest, p.body_limit);
        }
        parser_->body_limit(largest);
        // One deadline for the whole request: a client trickling bytes
        // cannot keep the connection open past it.
        stream_.expires_after(options_.read_timeout);
        bh::async_read_header(stream_, buffer_, *parser_,
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                  self->on_header(ec);
                              });
    }

    // The body limit depends on where the request goes: a prefix route
    // (the console's API) may take a larger body than a fixed route's GET.
    void on_header(beast::error_code ec) {
        if (ec == bh::error::body_limit) {
            too_large();
            return;
        }
        if (ec) {
            close();
            return;
        }
        const auto target = parser_->get().target();
        std::uint64_t limit = kBodyLimit;
        for (const auto& p : prefixes_) {
            if (target.substr(0, p.prefix.size()) == p.prefix) {
                limit = std::max(p.body_limit, kBodyLimit);
                break;
            }
        }
        if (const auto length = parser_->content_length(); length && *length > limit) {
            too_large();
            return;
        }
        parser_->body_limit(limit); // a chunked body is counted as it comes
        bh::async_read(stream_, buffer_, *parser_,
                       [self = shared_from_this()](beast::error_code rec, std::size_t) {
                           self->on_read(rec);
                       });
    }

    // Says why, then closes: the rest of the body is never read.
    void too_large() {
        keep_alive_ = false;
        version_ = parser_->get().version();
        head_ = false;
        send(Response{413, "text/plain; charset=utf-8", "request body too large\n", {}});
    }

    void on_read(beast::error_code ec) {
        if (ec == bh::error::body_limit) {
            too_large();
            return;
        }
        if (ec) {
            // Timeout, client gone, malformed or oversized request, stop():
            // nothing to answer.
            close();
            return;
        }
        const auto req = parser_->release();
        head_ = req.method() == bh::verb::head;
        keep_alive_ = req.keep_alive();
        version_ = req.version();
        auto r = route(routes_, prefixes_, req, [this] { return make_reply(); });
        if (r) {
            send(std::move(*r));
        }
        // Otherwise a prefix route answers later through its Reply; no
        // operation is pending meanwhile, and the Reply keeps this alive.
    }

    // Posts the answer back to the server thread, while the server runs.
    Reply make_reply() {
        waiting_.sessions.insert(shared_from_this());
        return [weak = weak_from_this(), gate = waiting_.gate](Response r) {
            std::lock_guard<std::mutex> lock(gate->mu);
            if (gate->ioc == nullptr) {
                return; // stopped: the connection is closed, the answer dropped
            }
            net::post(*gate->ioc, [weak, r = std::move(r)]() mutable {
                if (auto self = weak.lock()) {
                    self->waiting_.sessions.erase(self);
                    self->send(std::move(r));
                }
            });
        };
    }

    void send(Response r) {
        if (!stream_.socket().is_open()) {
            return; // stop() closed it while the answer was being made
        }
        response_ = {};
        response_.version(version_);
        response_.result(static_cast<unsigned>(r.status));
        response_.set(bh::field::server, "outboxd");
        response_.set(bh::field::content_type, r.content_type);
        response_.set(bh::field::cache_control, "no-store");
        response_.set("X-Content-Type-Options", "nosniff");
        if (r.status == 405) {
            response_.set(bh::field::allow, "GET, HEAD");
        }
        for (const auto& [name, value] : r.headers) {
            response_.set(name, value);
        }
        response_.keep_alive(keep_alive_);
        if (head_) {
            // The length a GET would have, without the body.
            response_.content_length(r.body.size());
        } else {
            response_.body() = std::move(r.body);
            response_.prepare_payload();
        }
        stream_.expires_after(options_.write_timeout);
        bh::async_write(stream_, response_,
                        [self = shared_from_this()](beast::error_code wec, std::size_t) {
                            self->on_write(wec);
                        });
    }

    void on_write(beast::error_code ec) {
        if (ec) {
            close();
            return;
        }
        if (!response_.keep_alive()) {
            // Half-close so the client reads the whole response before EOF;
            // the socket closes when the last handler releases the session.
            beast::error_code ignored;
            stream_.socket().shutdown(Tcp::socket::shutdown_send, ignored);
            return;
        }
        read();
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bh::request_parser<bh::string_body>> parser_;
    bh::response<bh::string_body> response_;
    bool head_ = false;
    bool keep_alive_ = false;
    unsigned version_ = 11;
    const Routes& routes_;
    const std::vector<PrefixRoute>& prefixes_;
    const ServerOptions& options_;
    Waiting& waiting_;
};

} // namespace

struct Server::Impl {
    Routes routes;
    std::vector<PrefixRoute> prefixes;
    ServerOptions options;
    Waiting waiting;
    // Touched only on the server thread (and before it starts).
    std::vector<std::weak_ptr<Session>> sessions;
    net::io_context ioc{1};
    Tcp::acceptor acceptor{ioc};
    net::steady_timer accept_retry{ioc};
    std::uint16_t port = 0;
    std::thread thread;

    void accept() {
        acceptor.async_accept(
            [this](beast::error_code ec, Tcp::socket socket) { on_accept(ec, std::move(socket)); });
    }

    void on_accept(beast::error_code ec, Tcp::socket socket) {
        if (!acceptor.is_open()) {
            return; // stop()
        }
        if (ec) {
            log::get("http")->warn("accept failed: {}", lower_first(ec.message()));
            accept_retry.expires_after(kAcceptRetry);
            accept_retry.async_wait([this](beast::error_code wec) {
                if (!wec && acceptor.is_open()) {
                    accept();
                }
            });
            return;
        }
        std::vector<std::weak_ptr<Session>> live;
        for (auto& w : sessions) {
            if (!w.expired()) {
                live.push_back(std::move(w));
            }
        }
        sessions = std::move(live);
        if (sessions.size() >= options.max_connections) {
            beast::error_code ignored;
            socket.close(ignored);
        } else {
            auto s =
                std::make_shared<Session>(std::move(socket), routes, prefixes, options, waiting);
            sessions.push_back(s);
            s->start();
        }
        accept();
    }

    void shut_down() {
        beast::error_code ignored;
        acceptor.close(ignored);
        accept_retry.cancel();
        for (auto& w : sessions) {
            if (auto s = w.lock()) {
                s->close();
            }
        }
        sessions.clear();
        // Sessions waiting for an answer go now, with the I/O context
        // still there; their Replies find the gate closed.
        {
            std::lock_guard<std::mutex> lock(waiting.gate->mu);
            waiting.gate->ioc = nullptr;
        }
        waiting.sessions.clear();
    }
};

Server::Server(const std::string& listen,
               Routes routes,
               ServerOptions options,
               std::vector<PrefixRoute> prefixes)
    : impl_(std::make_unique<Impl>()) {
    impl_->routes = std::move(routes);
    impl_->prefixes = std::move(prefixes);
    impl_->options = options;
    const auto fail = [&listen](const std::string& why) {
        return std::runtime_error("http.listen " + listen + ": " + why);
    };

    HostPort hp;
    try {
        hp = parse_host_port(listen);
    } catch (const std::runtime_error& e) {
        throw fail(e.what());
    }
    beast::error_code ec;
    Tcp::resolver resolver(impl_->ioc);
    const auto found =
        resolver.resolve(hp.host, std::to_string(hp.port),
                         Tcp::resolver::passive | Tcp::resolver::numeric_service, ec);
    if (ec || found.empty()) {
        throw fail(ec ? lower_first(ec.message()) : "no address");
    }
    const Tcp::endpoint endpoint = found.begin()->endpoint();

    auto& acc = impl_->acceptor;
    acc.open(endpoint.protocol(), ec);
    if (!ec) {
        // A restart must not wait out the previous process's TIME_WAIT
        // connections; on Linux this still refuses a port someone listens on.
        acc.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        acc.bind(endpoint, ec);
    }
    if (!ec) {
        acc.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        throw fail(lower_first(ec.message()));
    }
    impl_->port = acc.local_endpoint().port();

    impl_->waiting.gate->ioc = &impl_->ioc;
    impl_->accept();
    impl_->thread = std::thread([impl = impl_.get()] {
        // Handlers catch their own exceptions; this is the last line, and
        // run() may be resumed after one escapes.
        for (;;) {
            try {
                impl->ioc.run();
                return;
            } catch (const std::exception& e) {
                log::get("http")->error("server thread: {}", e.what());
            }
        }
    });
}

Server::~Server() {
    stop();
}

std::uint16_t Server::port() const {
    return impl_->port;
}

void Server::stop() {
    if (!impl_->thread.joinable()) {
        return;
    }
    // Closing everything leaves the I/O context without work, so run()
    // returns once the aborted operations have completed.
    net::post(impl_->ioc, [impl = impl_.get()] { impl->shut_down(); });
    impl_->thread.join();
}

} // namespace outboxd::http
