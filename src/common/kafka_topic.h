// Kafka's rule for topic names, in one place: the config check (audit
// topics) and the row encoder (a row's topic column) both ask it.
// Pure function; any thread.
#pragma once

#include <string>

namespace outboxd {

// Longest topic name Kafka accepts.
inline constexpr std::size_t kMaxTopicBytes = 249;

// Why `name` is not a topic Kafka accepts, or "" when it is one. The rule
// is Kafka's own (kafka.common.internals.Topic): 1 to 249 characters of
// [a-zA-Z0-9._-], and not "." or "..".
std::string kafka_topic_problem(const std::string& name);

} // namespace outboxd
