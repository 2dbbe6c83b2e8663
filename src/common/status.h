// The one shape of an expected failure returned as a value (src/README.md,
// "Error policy"): ok, or why not. A call that also returns data on success
// returns a struct holding a Status beside the data (publish::AuditReport,
// reconcile::ReadBackResult). Misconfiguration and bugs are exceptions, not
// a Status.
#pragma once

#include <string>
#include <utility>

namespace outboxd {

class [[nodiscard]] Status {
public:
    Status() = default; // ok
    static Status failure(std::string reason) {
        Status s;
        s.reason_ = reason.empty() ? std::string("unknown error") : std::move(reason);
        return s;
    }

    bool ok() const { return reason_.empty(); }
    // Why not ok; "" when ok.
    const std::string& error() const { return reason_; }

    bool operator==(const Status& other) const { return reason_ == other.reason_; }
    bool operator!=(const Status& other) const { return !(*this == other); }

private:
    std::string reason_;
};

} // namespace outboxd
