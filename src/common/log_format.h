// The log line format, shared by the configuration (log.format) and the
// loggers, without pulling spdlog into every header that names it.
#pragma once

namespace outboxd::log {

enum class Format { kText, kJson };

} // namespace outboxd::log
