#include "http/address.h"

#include <stdexcept>

namespace outboxd::http {
namespace {

[[noreturn]] void bad(const std::string& text, const std::string& why) {
    throw std::runtime_error("'" + text + "' is not host:port or [ipv6]:port: " + why);
}

std::uint16_t parse_port(const std::string& text, const std::string& digits) {
    if (digits.empty() || digits.size() > 5) {
        bad(text, "the port must be 0..65535");
    }
    unsigned long value = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') {
            bad(text, "the port must be 0..65535");
        }
        value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (value > 65535) {
        bad(text, "the port must be 0..65535");
    }
    return static_cast<std::uint16_t>(value);
}

} // namespace

HostPort parse_host_port(const std::string& text) {
    HostPort hp;
    std::string port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            bad(text, "expected [address]:port");
        }
        hp.host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            bad(text, "no port");
        }
        hp.host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (hp.host.find(':') != std::string::npos) {
            bad(text, "write an IPv6 address in brackets, e.g. [::1]:9187");
        }
    }
    if (hp.host.empty()) {
        bad(text, "no host");
    }
    hp.port = parse_port(text, port);
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

} // namespace outboxd::http
