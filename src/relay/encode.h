// Turns a pending row into what the producer needs, or says why it cannot
// (a row-level error that counts an attempt, docs/design.md G3). No I/O; any thread.
#pragma once

#include "publish/publisher.h"
#include "store/outbox_store.h"

#include <string>
#include <variant>
#include <vector>

namespace outboxd::relay {

using publish::kOutboxIdHeader;
using publish::kOutboxSourceHeader;

struct Encoded {
    std::vector<publish::Header>
        headers; // the row's own headers, in the order the JSON text lists them
};

// Validates the topic name and parses the headers column: a JSON object whose
// values are strings (null is sent as an empty value). On failure returns
// a message for `last_error`.
std::variant<Encoded, std::string> encode(const store::PendingRow& row);

} // namespace outboxd::relay
