// Error text for our messages. Pure; any thread.
#pragma once

#include <string>

namespace outboxd::http {

// `text` with its first letter lowered, to sit after "...: " in a message:
// lower_first(ec.message()) gives "connection refused", not "Connection refused".
std::string lower_first(std::string text);

} // namespace outboxd::http
