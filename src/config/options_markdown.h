// docs/configuration.md, generated from the option table (options.h); the
// unit tests fail when the file and the table differ.
#pragma once

#include <string>

namespace outboxd::config {

// The option table rendered as the Markdown reference in docs/configuration.md.
std::string options_markdown();

} // namespace outboxd::config
