#include "order.h"

#include <cerrno>
#include <climits>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace inventory {
namespace {

constexpr std::int64_t kMaxQty = INT32_MAX;

// nlohmann's messages start with "[json.exception.parse_error.101] ": the
// reason goes to a person, the code means nothing to them.
std::string without_code(const std::string& what) {
    const auto close = what.find("] ");
    return what.rfind("[json.exception.", 0) == 0 && close != std::string::npos
               ? what.substr(close + 2)
               : what;
}

} // namespace

ParsedOrder parse_order(std::string_view payload) {
    ParsedOrder r;
    if (payload.empty()) {
        r.problem = "empty payload: expected an order {\"sku\": \"...\", \"qty\": N}";
        return r;
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(payload.begin(), payload.end());
    } catch (const nlohmann::json::parse_error& e) {
        r.problem = "payload is not JSON: " + without_code(e.what());
        return r;
    }
    if (!j.is_object()) {
        r.problem = std::string("payload is JSON but not an object (") + j.type_name()
                    + "): expected {\"sku\": \"...\", \"qty\": N}";
        return r;
    }
    const auto sku = j.find("sku");
    if (sku == j.end()) {
        r.problem = "sku is missing";
        return r;
    }
    if (!sku->is_string() || sku->get_ref<const std::string&>().empty()) {
        r.problem = "sku must be a non-empty string, got " + sku->dump();
        return r;
    }
    const auto qty = j.find("qty");
    if (qty == j.end()) {
        r.problem = "qty is missing";
        return r;
    }
    if (!qty->is_number_integer()) {
        r.problem = "qty must be an integer, got " + qty->dump();
        return r;
    }
    if (qty->is_number_unsigned() ? qty->get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxQty)
                                  : qty->get<std::int64_t>() > kMaxQty) {
        r.problem = "qty " + qty->dump() + " is larger than " + std::to_string(kMaxQty);
        return r;
    }
    const auto q = qty->get<std::int64_t>();
    if (q <= 0) {
        r.problem = "qty must be positive, got " + std::to_string(q);
        return r;
    }
    r.order = Order{sku->get<std::string>(), q};
    return r;
}

ParsedRef parse_ref(const std::optional<std::string>& source,
                    const std::optional<std::string>& id) {
    ParsedRef r;
    if (!source || source->empty()) {
        r.problem = "header outbox-source is missing: not a message from outboxd";
        return r;
    }
    if (!id || id->empty()) {
        r.problem = "header outbox-id is missing: not a message from outboxd";
        return r;
    }
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(id->c_str(), &end, 10);
    if (errno != 0 || end == nullptr || *end != '\0' || v <= 0
        || id->find_first_not_of("0123456789") != std::string::npos) {
        r.problem = "header outbox-id \"" + *id + "\" is not a positive row id";
        return r;
    }
    r.ref = OutboxRef{*source, static_cast<std::int64_t>(v)};
    return r;
}

} // namespace inventory
