#include "confirm/confirm_rules.h"

#include "common/parse_int.h"

#include <algorithm>

namespace outboxd::confirm {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : ", ") + s;
    }
    return out;
}

// Cut at kMaxReasonBytes without splitting a UTF-8 sequence; NULs dropped
// (PostgreSQL text cannot hold them).
std::string readable_reason(const std::string& body) {
    std::string out;
    for (char c : body) {
        if (c != '\0') {
            out += c;
        }
    }
    if (out.size() > kMaxReasonBytes) {
        std::size_t cut = kMaxReasonBytes;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) {
            --cut;
        }
        out.resize(cut);
        out += "...";
    }
    return out.empty() ? "(no reason given)" : out;
}

} // namespace

std::vector<OffsetConfirmation>
offset_confirmations(const Options& opt,
                     const std::vector<Partition>& waiting,
                     const std::map<std::string, CommittedOffsets>& committed) {
    std::vector<OffsetConfirmation> out;
    for (const auto& group : opt.consumers) {
        const auto g = committed.find(group);
        if (g == committed.end()) {
            continue;
        }
        for (const auto& p : waiting) {
            const auto c = g->second.find(p);
            if (c == g->second.end() || c->second <= 0) {
                continue; // nothing committed there, or nothing below offset 0
            }
            out.push_back(OffsetConfirmation{group, p, c->second});
        }
    }
    return out;
}

bool fully_confirmed(const Options& opt, const std::vector<std::string>& confirmed_by) {
    return !opt.consumers.empty() && missing_consumers(opt, confirmed_by).empty();
}

std::vector<std::string> missing_consumers(const Options& opt,
                                           const std::vector<std::string>& confirmed_by) {
    std::vector<std::string> out;
    for (const auto& c : opt.consumers) {
        if (!contains(confirmed_by, c)) {
            out.push_back(c);
        }
    }
    return out;
}

ReportDecision decide_report(const Options& opt, const std::string& source, const Report& r) {
    ReportDecision d;
    if (!r.source || *r.source != source) {
        d.ignored_reason = "other_source";
        return d;
    }
    const auto id = r.id ? to_int64(*r.id) : std::nullopt;
    if (!id || *id <= 0 || !r.consumer || r.consumer->empty() || !r.result) {
        d.ignored_reason = "malformed";
        return d;
    }
    if (!contains(opt.consumers, *r.consumer)) {
        d.ignored_reason = "unknown_consumer";
        return d;
    }
    d.id = *id;
    d.consumer = *r.consumer;
    if (*r.result == "consumed") {
        d.kind = ReportDecision::Kind::kConsumed;
    } else if (*r.result == "failed") {
        d.kind = ReportDecision::Kind::kFailed;
        d.last_error = *r.consumer + ": " + readable_reason(r.body);
    } else {
        d.ignored_reason = "malformed";
    }
    return d;
}

OverdueDecision decide_overdue(const Options& opt, const OverdueRow& row) {
    OverdueDecision d;
    if (!opt.resend_unconfirmed) {
        return d;
    }
    if (row.resends < opt.max_resends) {
        d.kind = OverdueDecision::Kind::kResend;
        return d;
    }
    d.kind = OverdueDecision::Kind::kPark;
    const auto missing = missing_consumers(opt, row.confirmed_by);
    d.last_error = "not confirmed by " + joined(missing) + " within confirm.deadline_ms ("
                   + std::to_string(opt.deadline.count()) + " ms) after "
                   + std::to_string(row.resends) + (row.resends == 1 ? " resend" : " resends");
    if (!row.confirmed_by.empty()) {
        d.last_error += "; confirmed by " + joined(row.confirmed_by);
    }
    return d;
}

} // namespace outboxd::confirm
