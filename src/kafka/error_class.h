// Which librdkafka errors are outages (retry, never count), which are about
// the row (count an attempt) and which kill the producer (rebuild). The
// table is pinned by tests; see docs/design.md G3 and §6 for the evidence.
#pragma once

#include "publish/publisher.h"

namespace outboxd::kafka {

// The broker boundary this component implements (publish/publisher.h).
using publish::ErrorClass;
using publish::FailureReason;

// `code` is an rd_kafka_resp_err_t value; kept as int so this header does
// not pull in librdkafka.
ErrorClass classify(int code);

// The metric label for a row-level error code (kOther for anything else).
FailureReason failure_reason(int code);

} // namespace outboxd::kafka
