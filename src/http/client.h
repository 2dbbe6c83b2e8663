// A one-shot synchronous HTTP GET, for `outboxd healthcheck` and the tests.
// Any thread; each call has its own socket and I/O context.
#pragma once

#include <chrono>
#include <string>

namespace outboxd::http {

struct ClientResponse {
    int status = 0;
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

} // namespace outboxd::http
