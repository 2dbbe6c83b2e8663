// `print-config`: the effective configuration written back as YAML, driven by
// the option table (options.h), secrets redacted (redact.h) on request.
#pragma once

#include <string>

namespace outboxd::config {

struct Config;

// The effective configuration as YAML that load_config_text() reads back to
// the same Config (for `print-config`). With `redact`, the DSN password and
// secret kafka.properties values become "*****".
std::string to_yaml(const Config& config, bool redact);

} // namespace outboxd::config
