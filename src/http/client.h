// One-shot synchronous HTTP requests, for `outboxd healthcheck` and the tests.
// Any thread; each call has its own socket and I/O context.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace outboxd::http {

struct ClientResponse {
    int status = 0;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

struct ClientRequest {
    std::string method = "GET";
    std::string authorization; // the Authorization header, when not empty
    std::string content_type;  // the Content-Type header, when not empty
    std::string body;
};

// GET http://<host_port><path>. `timeout` bounds the whole exchange (resolve
// excepted: hosts are numeric in practice). Throws std::runtime_error
// ("GET http://127.0.0.1:9187/healthz: connection refused", "... timed out
// after 2000 ms") when no complete response arrives. Any HTTP status is a
// response, not an error.
// `authorization`, when not empty, is sent as the Authorization header
// ("Basic ..."); it never appears in the error texts.
ClientResponse get(const std::string& host_port,
                   const std::string& path,
                   std::chrono::milliseconds timeout,
                   const std::string& authorization = {});

// Any method, with a body; errors as get(). The method is sent as given.
ClientResponse request(const std::string& host_port,
                       const std::string& path,
                       std::chrono::milliseconds timeout,
                       const ClientRequest& r);

} // namespace outboxd::http
