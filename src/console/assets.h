// The console page's files, built into the binary (src/console/assets/,
// embedded by embed_assets.cmake), and the fixed routes that serve them.
#pragma once

#include "http/server.h"

#include <string>
#include <string_view>
#include <vector>

namespace outboxd::console {

struct EmbeddedAsset {
    const char* name; // "index.html", "app.js", "app.css"
    std::string_view bytes;
};

const std::vector<EmbeddedAsset>& embedded_assets();

// The headers every console response carries: a Content-Security-Policy
// that allows nothing but this origin's own script, style and API (no
// inline script, no framing), no referrer, no sniffing.
std::vector<std::pair<std::string, std::string>> security_headers();

// /console/ (index.html), /console/<file> for the other assets, and
// /console answered with a redirect to /console/.
http::Routes asset_routes();

} // namespace outboxd::console
