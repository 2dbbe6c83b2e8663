// What one message means to the inventory service, and the checks that make
// a message a failure instead of a change. Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace inventory {

// Reserve `qty` units of `sku`. Payload: {"sku": "A-1", "qty": 3}; other
// fields are ignored, so producers may add some.
struct Order {
    std::string sku;
    std::int64_t qty = 0; // 1 .. 2^31-1: a sum of many stays far from bigint's end
};

struct ParsedOrder {
    std::optional<Order> order;
    std::string problem; // why not, when !order: the reason sent in the failure report
};

ParsedOrder parse_order(std::string_view payload);

// Where a message came from: the headers outboxd puts on every message.
struct OutboxRef {
    std::string source;  // outbox-source: "dbname/schema.table"
    std::int64_t id = 0; // outbox-id: the row id, > 0
};

struct ParsedRef {
    std::optional<OutboxRef> ref;
    std::string problem;
};

// From the raw header values (nullopt: header absent).
ParsedRef parse_ref(const std::optional<std::string>& source, const std::optional<std::string>& id);

} // namespace inventory
