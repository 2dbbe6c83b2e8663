#include "http/client.h"

#include "common/host_port.h"
#include "http/error_text.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>

namespace outboxd::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bh = boost::beast::http;
using Tcp = net::ip::tcp;

// /metrics is tens of kilobytes; anything far larger is not our server.
constexpr std::uint64_t kBodyLimit = std::uint64_t{16} * 1024 * 1024;

} // namespace

ClientResponse get(const std::string& host_port,
                   const std::string& path,
                   std::chrono::milliseconds timeout,
                   const std::string& authorization) {
    ClientRequest r;
    r.authorization = authorization;
    return request(host_port, path, timeout, r);
}

ClientResponse request(const std::string& host_port,
                       const std::string& path,
                       std::chrono::milliseconds timeout,
                       const ClientRequest& r) {
    const std::string what = r.method + " http://" + host_port + path;
    HostPort hp;
    try {
        hp = parse_host_port(host_port);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(what + ": " + e.what());
    }
    const auto fail = [&](const beast::error_code& ec) {
        if (ec == beast::error::timeout) {
            return std::runtime_error(what + ": timed out after " + std::to_string(timeout.count())
                                      + " ms");
        }
        return std::runtime_error(what + ": " + lower_first(ec.message()));
    };

    net::io_context ioc{1};
    beast::error_code ec;
    Tcp::resolver resolver(ioc);
    const auto found =
        resolver.resolve(hp.host, std::to_string(hp.port), Tcp::resolver::numeric_service, ec);
    if (ec) {
        throw fail(ec);
    }

    // Asynchronous operations run to completion one at a time, only for the
    // stream's deadline: it covers connect, write and read together.
    beast::tcp_stream stream(ioc);
    stream.expires_after(timeout);
    const auto wait = [&] {
        ioc.run();
        ioc.restart();
        if (ec) {
            throw fail(ec);
        }
    };

    stream.async_connect(found, [&](beast::error_code e, const Tcp::endpoint&) { ec = e; });
    wait();

    bh::request<bh::string_body> req{bh::string_to_verb(r.method), path, 11};
    req.set(bh::field::host, host_port);
    req.set(bh::field::user_agent, "outboxd");
    if (!r.authorization.empty()) {
        req.set(bh::field::authorization, r.authorization);
    }
    if (!r.content_type.empty()) {
        req.set(bh::field::content_type, r.content_type);
    }
    req.keep_alive(false);
    if (!r.body.empty() || r.method != "GET") {
        req.body() = r.body;
        req.prepare_payload();
    }
    bh::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    wait();

    beast::flat_buffer buffer;
    bh::response_parser<bh::string_body> parser;
    parser.body_limit(kBodyLimit);
    bh::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    wait();

    beast::error_code ignored;
    stream.socket().shutdown(Tcp::socket::shutdown_both, ignored);
    auto res = parser.release();
    ClientResponse out{static_cast<int>(res.result_int()), std::move(res.body()), {}};
    for (const auto& field : res) {
        out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    return out;
}

} // namespace outboxd::http
