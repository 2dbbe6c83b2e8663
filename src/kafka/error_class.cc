#include "kafka/error_class.h"

#include <librdkafka/rdkafka.h>

namespace outboxd::kafka {

ErrorClass classify(int code) {
    switch (static_cast<rd_kafka_resp_err_t>(code)) {
    case RD_KAFKA_RESP_ERR__FATAL:
        return ErrorClass::kFatal;

    // The row itself cannot be written, now or on a plain retry: these count
    // an attempt and eventually park the row with this error as last_error.
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        return ErrorClass::kRow;

    // Everything else is treated as an outage: broker unreachable, leader
    // moving, NOT_ENOUGH_REPLICAS, time-outs, a full local queue, messages
    // purged by a rebuild. Unknown codes land here on purpose: an error we
    // cannot explain must not consume a row's attempts (G3); the row stays
    // at 0 and the log says why.
    default:
        return ErrorClass::kTransient;
    }
}

FailureReason failure_reason(int code) {
    switch (static_cast<rd_kafka_resp_err_t>(code)) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
        return FailureReason::kMessageTooLarge;
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return FailureReason::kInvalidRecord;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
        return FailureReason::kUnknownTopic;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        return FailureReason::kNotAuthorized;
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
        return FailureReason::kPolicyViolation;
    default:
        return FailureReason::kOther;
    }
}

} // namespace outboxd::kafka
