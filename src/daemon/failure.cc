#include "daemon/failure.h"

#include "publish/publisher.h"
#include "store/outbox_store.h"

#include <stdexcept>

namespace outboxd::daemon {

const char* to_string(FailureKind k) {
    switch (k) {
    case FailureKind::kOutage:
        return "outage";
    case FailureKind::kMisconfigured:
        return "misconfigured";
    case FailureKind::kFatal:
        return "fatal";
    }
    return "fatal";
}

Failure classify(const std::exception& e) {
    if (dynamic_cast<const store::StoreUnavailable*>(&e) != nullptr) {
        return {FailureKind::kOutage, e.what()};
    }
    if (dynamic_cast<const store::StoreMisconfigured*>(&e) != nullptr
        || dynamic_cast<const publish::ConfigError*>(&e) != nullptr
        || dynamic_cast<const std::invalid_argument*>(&e) != nullptr) {
        return {FailureKind::kMisconfigured, e.what()};
    }
    return {FailureKind::kFatal, e.what()};
}

Failure classify_current() {
    try {
        throw;
    } catch (const std::exception& e) {
        return classify(e);
    } catch (...) {
        return {FailureKind::kFatal, "an exception that is not a std::exception"};
    }
}

} // namespace outboxd::daemon
