// "host:port" / "[v6]:port" strings as written in http.listen, parsed in
// one place: the config check and the HTTP server and client use the same
// rule. Pure parsing, no I/O; any thread.
#pragma once

#include <cstdint>
#include <string>

namespace outboxd {

struct HostPort {
    std::string host; // without brackets: "127.0.0.1", "::1", "localhost"
    std::uint16_t port = 0;
};

// Why `text` is not host:port ("must be host:port, the port is missing"), or
// "" when it is: no scheme, a non-empty host of name or address characters,
// an IPv6 host in brackets, a port in 0..65535.
std::string host_port_problem(const std::string& text);

// Throws std::runtime_error naming `text` and its problem.
HostPort parse_host_port(const std::string& text);

// host:port again, brackets added around an IPv6 host.
std::string format_host_port(const HostPort& hp);

// Where a client on this machine reaches a server listening on `listen`: the
// wildcard hosts 0.0.0.0 and [::] become 127.0.0.1 and [::1]; anything else
// is returned as given. Throws like parse_host_port.
std::string local_address(const std::string& listen);

// True for a host only this machine reaches: "localhost", 127.0.0.0/8, ::1.
bool is_loopback_host(const std::string& host);

} // namespace outboxd
