// What every part of outboxd_bench uses: the clock, the fixed topic shape,
// progress lines on stderr and the number formats of the table.
#pragma once

#include "services.h"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace outboxd::bench {

namespace ot = outboxd::testing;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr int kTopicPartitions = 3;
constexpr int kTopicReplication = 1;
constexpr int kWarmupRows = 20;
constexpr std::size_t kExtraCeilingBatch = 1000;
// The daemon's default relay.max_batch_bytes, so the ceiling loop fetches
// what the relay fetches.
constexpr std::size_t kMaxBatchBytes = std::size_t{4} * 1024 * 1024;

void progress(const std::string& text);

double wall_now_s();

// "12345.6" -> "12,346": the table is read by people.
std::string grouped(double v);

std::string fixed(double v, int decimals);

// The value at quantile q (0..1) of sorted values: the element at index
// q * size, the last one at most; 0 when there are none.
double quantile(const std::vector<double>& sorted, double q);

} // namespace outboxd::bench
