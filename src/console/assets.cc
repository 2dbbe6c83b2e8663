#include "console/assets.h"

namespace outboxd::console {
namespace {

std::string content_type(const std::string& name) {
    const auto dot = name.rfind('.');
    const std::string ext = dot == std::string::npos ? std::string() : name.substr(dot);
    if (ext == ".html") {
        return "text/html; charset=utf-8";
    }
    if (ext == ".js") {
        return "text/javascript; charset=utf-8";
    }
    if (ext == ".css") {
        return "text/css; charset=utf-8";
    }
    if (ext == ".svg") {
        return "image/svg+xml";
    }
    return "application/octet-stream";
}

} // namespace

std::vector<std::pair<std::string, std::string>> security_headers() {
    return {{"Content-Security-Policy",
             "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
             "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
            {"X-Frame-Options", "DENY"},
            {"Referrer-Policy", "no-referrer"},
            {"Cross-Origin-Opener-Policy", "same-origin"},
            {"Cross-Origin-Resource-Policy", "same-origin"}};
}

http::Routes asset_routes() {
    http::Routes routes;
    for (const auto& a : embedded_assets()) {
        const std::string name = a.name;
        const std::string path = name == "index.html" ? "/console/" : "/console/" + name;
        const std::string type = content_type(name);
        const std::string body(a.bytes);
        routes[path] = [type, body] {
            return http::Response{200, type, body, security_headers()};
        };
    }
    // Browsers ask for it by themselves; no icon, and no error in their log.
    routes["/favicon.ico"] = [] {
        return http::Response{204, "text/plain; charset=utf-8", "", security_headers()};
    };
    routes["/console"] = [] {
        auto headers = security_headers();
        headers.emplace_back("Location", "/console/");
        return http::Response{301, "text/plain; charset=utf-8", "see /console/\n", headers};
    };
    return routes;
}

} // namespace outboxd::console
