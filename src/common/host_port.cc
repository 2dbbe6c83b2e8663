#include "common/host_port.h"

#include "common/parse_int.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace outboxd {
namespace {

bool is_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
}

// Splits without judging: host without brackets, port text, and a problem
// with the shape itself.
std::string split(const std::string& text, std::string* host, std::string* port) {
    if (text.find("://") != std::string::npos) {
        return "write host:port without a scheme";
    }
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return "must be [IPv6 address]:port";
        }
        *host = text.substr(1, close - 1);
        *port = text.substr(close + 2);
        const bool v6_chars = std::all_of(host->begin(), host->end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
        });
        if (host->find(':') == std::string::npos || !v6_chars) {
            return "\"" + *host + "\" in brackets is not an IPv6 address";
        }
        return {};
    }
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
        return "must be host:port, the port is missing";
    }
    *host = text.substr(0, colon);
    *port = text.substr(colon + 1);
    if (host->find(':') != std::string::npos) {
        return "an IPv6 address must be in brackets, e.g. [::1]:9187";
    }
    if (host->empty()) {
        return "the host must not be empty (0.0.0.0 listens on every IPv4 address)";
    }
    if (!std::all_of(host->begin(), host->end(), is_host_char)) {
        return "\"" + *host + "\" is not a host name or address";
    }
    return {};
}

std::string port_problem(const std::string& port) {
    const bool digits =
        !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0;
        });
    if (!digits || to_int64(port).value_or(65536) > 65535) {
        return "the port must be a number from 0 to 65535 (got \"" + port + "\")";
    }
    return {};
}

} // namespace

std::string host_port_problem(const std::string& text) {
    std::string host;
    std::string port;
    if (auto p = split(text, &host, &port); !p.empty()) {
        return p;
    }
    return port_problem(port);
}

HostPort parse_host_port(const std::string& text) {
    HostPort hp;
    std::string port;
    std::string problem = split(text, &hp.host, &port);
    if (problem.empty()) {
        problem = port_problem(port);
    }
    if (!problem.empty()) {
        throw std::runtime_error("'" + text + "' is not host:port or [ipv6]:port: " + problem);
    }
    hp.port = static_cast<std::uint16_t>(to_int64(port).value_or(0));
    return hp;
}

std::string format_host_port(const HostPort& hp) {
    const bool v6 = hp.host.find(':') != std::string::npos;
    return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}

std::string local_address(const std::string& listen) {
    auto hp = parse_host_port(listen);
    // A wildcard is where a server listens, not an address to connect to.
    if (hp.host == "0.0.0.0") {
        hp.host = "127.0.0.1";
    } else if (hp.host == "::") {
        hp.host = "::1";
    }
    return format_host_port(hp);
}

bool is_loopback_host(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

} // namespace outboxd
