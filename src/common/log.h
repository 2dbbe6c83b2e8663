// Named loggers, one per component ("relay", "store", "publish", ...), all
// writing to stderr as text or JSON lines. Thread-safe (spdlog _mt sinks).
#pragma once

#include "common/log_format.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace outboxd::log {

// Configures every logger created before or after the call. `level` is one of
// trace, debug, info, warn, error; returns false (and changes nothing) for
// anything else.
bool setup(const std::string& level, Format format);

// The logger for `component`, created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& component);

} // namespace outboxd::log
