// confirm::Confirmer's rounds over an in-memory table, fake committed
// offsets and fake reports: the orchestration (reports before offsets,
// batches, the deadline) without Kafka or PostgreSQL. The SQL behind the
// same calls is proven against PostgreSQL by it_confirm.
#include "confirm/confirmer.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

namespace outboxd::confirm {
namespace {

struct Row {
    int status = 1;
    std::string topic = "orders";
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::vector<std::string> confirmed_by;
    int resends = 0;
    std::int64_t sent_at_ms = 0;
    std::string last_error;
};

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// The table, with the semantics the SQL of store/sql.cc gives the same calls.
class FakeStore final : public store::ConfirmStore {
public:
    explicit FakeStore(std::vector<std::string> consumers)
        : consumers_(std::move(consumers)) {}

    std::map<std::int64_t, Row> rows;
    std::int64_t now_ms = 0;
    int confirm_calls = 0;

    bool complete(const std::vector<std::string>& by) const {
        return std::all_of(consumers_.begin(), consumers_.end(),
                           [&](const std::string& c) { return has(by, c); });
    }

    std::vector<store::SentPartition> waiting_partitions() override {
        std::set<store::SentPartition> out;
        for (const auto& [id, r] : rows) {
            if (r.status == 1) {
                out.insert({r.topic, r.partition});
            }
        }
        return {out.begin(), out.end()};
    }
    store::ConfirmCount confirm_offsets(const std::string& group,
                                        const store::SentPartition& p,
                                        std::int64_t below,
                                        std::size_t limit) override {
        ++confirm_calls;
        store::ConfirmCount n;
        for (auto& [id, r] : rows) {
            if (n.confirmed == limit) {
                break;
            }
            if (r.status == 1 && r.topic == p.topic && r.partition == p.partition
                && r.offset < below && !has(r.confirmed_by, group)) {
                r.confirmed_by.push_back(group);
                ++n.confirmed;
                if (complete(r.confirmed_by)) {
                    r.status = 3;
                    ++n.consumed;
                }
            }
        }
        return n;
    }
    store::ConfirmCount report_consumed(std::int64_t id, const std::string& consumer) override {
        auto it = rows.find(id);
        if (it == rows.end() || (it->second.status != 0 && it->second.status != 1)) {
            return {};
        }
        if (!has(it->second.confirmed_by, consumer)) {
            it->second.confirmed_by.push_back(consumer);
        }
        store::ConfirmCount n{1, 0};
        if (it->second.status == 1 && complete(it->second.confirmed_by)) {
            it->second.status = 3;
            n.consumed = 1;
        }
        return n;
    }
    bool report_failed(std::int64_t id, const std::string& last_error) override {
        auto it = rows.find(id);
        if (it == rows.end() || it->second.status == 2 || it->second.status == 4) {
            return false;
        }
        it->second.status = 4;
        it->second.last_error = last_error;
        return true;
    }
    std::vector<store::OverdueRow> overdue(Millis deadline, std::size_t limit) override {
        std::vector<store::OverdueRow> out;
        for (const auto& [id, r] : rows) {
            if (out.size() < limit && r.status == 1 && r.sent_at_ms < now_ms - deadline.count()) {
                out.push_back({id, r.confirmed_by, r.resends});
            }
        }
        return out;
    }
    std::size_t resend(const std::vector<std::int64_t>& ids) override {
        for (auto id : ids) {
            rows.at(id).status = 0;
            ++rows.at(id).resends;
        }
        return ids.size();
    }
    std::size_t park(const std::vector<std::int64_t>& ids,
                     const std::vector<std::string>& errors) override {
        for (std::size_t i = 0; i < ids.size(); ++i) {
            rows.at(ids[i]).status = 2;
            rows.at(ids[i]).last_error = errors[i];
        }
        return ids.size();
    }
    std::int64_t unconfirmed_count(Millis deadline, std::int64_t /*cap*/) override {
        return static_cast<std::int64_t>(overdue(deadline, 1000000).size());
    }
    std::int64_t not_confirmed_by(const std::string& /*consumer*/, std::int64_t /*cap*/) override {
        return 0;
    }

private:
    std::vector<std::string> consumers_;
};

class FakeOffsets final : public OffsetSource {
public:
    std::map<std::string, CommittedOffsets> committed_by_group;
    std::set<std::string> failing;
    Status committed(const std::string& group,
                     const std::vector<Partition>& /*partitions*/,
                     CommittedOffsets* out) override {
        if (failing.count(group) != 0) {
            return Status::failure("group " + group + " unreachable");
        }
        *out = committed_by_group[group];
        return {};
    }
};

class FakeReports final : public ReportSource {
public:
    std::vector<Report> waiting;
    std::vector<Report> taken;
    int commits = 0;
    Status take(std::size_t max, std::vector<Report>* out) override {
        const std::size_t n = std::min(max, waiting.size());
        out->assign(waiting.begin(), waiting.begin() + static_cast<std::ptrdiff_t>(n));
        taken = *out;
        waiting.erase(waiting.begin(), waiting.begin() + static_cast<std::ptrdiff_t>(n));
        return {};
    }
    Status done() override {
        ++commits;
        taken.clear();
        return {};
    }
};

Report report(std::int64_t id,
              const std::string& consumer,
              const std::string& result,
              const std::string& body = {}) {
    Report r;
    r.source = "src";
    r.id = std::to_string(id);
    r.consumer = consumer;
    r.result = result;
    r.body = body;
    return r;
}

Options two() {
    Options o;
    o.consumers = {"inventory", "billing"};
    o.deadline = Millis(1000);
    o.max_resends = 1;
    return o;
}

TEST_CASE("confirmer: committed offsets of every group move rows to 3, in batches",
          "[unit][confirm]") {
    FakeStore st({"inventory", "billing"});
    for (std::int64_t id = 1; id <= 25; ++id) {
        st.rows[id].offset = id - 1; // offsets 0..24 on orders/0
    }
    FakeOffsets offsets;
    offsets.committed_by_group["inventory"] = {{{"orders", 0}, 25}};
    offsets.committed_by_group["billing"] = {{{"orders", 0}, 10}};
    Confirmer c(two(), "src", 4, st, &offsets, nullptr);
    const auto r = c.round();
    CHECK(r.confirmations == 25 + 10);
    CHECK(r.consumed == 10);
    CHECK(st.rows[10].status == 3); // offset 9 < 10: both groups
    CHECK(st.rows[11].status == 1); // offset 10: billing has not read it
    CHECK(st.rows[11].confirmed_by == std::vector<std::string>{"inventory"});
    // 25 rows in batches of 4: 7 statements for inventory, 3 for billing.
    CHECK(st.confirm_calls == 7 + 3);
    CHECK(r.problems.empty());

    // The next round changes nothing already recorded.
    offsets.committed_by_group["billing"] = {{{"orders", 0}, 25}};
    const auto r2 = c.round();
    CHECK(r2.confirmations == 15);
    CHECK(r2.consumed == 15);
    CHECK(std::all_of(st.rows.begin(), st.rows.end(),
                      [](const auto& kv) { return kv.second.status == 3; }));
}

TEST_CASE("confirmer: a group whose offsets cannot be read confirms nothing, the others still "
          "do",
          "[unit][confirm]") {
    FakeStore st({"inventory", "billing"});
    st.rows[1].offset = 0;
    FakeOffsets offsets;
    offsets.committed_by_group["inventory"] = {{{"orders", 0}, 1}};
    offsets.committed_by_group["billing"] = {{{"orders", 0}, 1}};
    offsets.failing = {"billing"};
    Confirmer c(two(), "src", 100, st, &offsets, nullptr);
    const auto r = c.round();
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0] == "group billing unreachable");
    CHECK(st.rows[1].status == 1);
    CHECK(st.rows[1].confirmed_by == std::vector<std::string>{"inventory"});
}

TEST_CASE("confirmer: reports are applied before offsets, so a failure the consumer reported "
          "before committing past the row wins",
          "[unit][confirm]") {
    FakeStore st({"inventory"});
    st.rows[1].offset = 0;
    st.rows[2].offset = 1;
    FakeOffsets offsets;
    offsets.committed_by_group["inventory"] = {{{"orders", 0}, 2}}; // past both
    FakeReports reports;
    reports.waiting = {report(1, "inventory", "failed", "sku unknown"),
                       report(2, "stranger", "consumed"), report(999, "inventory", "consumed")};
    Options opt = two();
    opt.consumers = {"inventory"};
    Confirmer c(opt, "src", 100, st, &offsets, &reports);
    const auto r = c.round();
    CHECK(st.rows[1].status == 4);
    CHECK(st.rows[1].last_error == "inventory: sku unknown");
    CHECK(st.rows[2].status == 3); // by the offset; the stranger's report was ignored
    CHECK(r.consumer_failures == 1);
    CHECK(r.ignored == std::vector<std::string>{"unknown_consumer", "no_row"});
    CHECK(reports.commits == 1);
}

TEST_CASE("confirmer: an overdue row is resent, then parked naming who never confirmed",
          "[unit][confirm]") {
    FakeStore st({"inventory", "billing"});
    st.rows[1].confirmed_by = {"billing"};
    st.rows[1].sent_at_ms = 0;
    st.rows[2].sent_at_ms = 5000; // young
    Options opt = two();
    opt.resend_unconfirmed = true;
    Confirmer c(opt, "src", 100, st, nullptr, nullptr);
    st.now_ms = 3000;
    auto r = c.round();
    CHECK(r.resent == 1);
    CHECK(st.rows[1].status == 0);
    CHECK(st.rows[1].confirmed_by == std::vector<std::string>{"billing"}); // kept
    CHECK(st.rows[2].status == 1);

    // Sent again (the relay marks it 1), and again nobody confirms in time.
    st.rows[1].status = 1;
    st.rows[1].sent_at_ms = 3000;
    st.now_ms = 6000;
    r = c.round();
    CHECK(r.parked == 1);
    CHECK(st.rows[1].status == 2);
    CHECK(st.rows[1].last_error.rfind("not confirmed by inventory within", 0) == 0);
    CHECK(st.rows[2].status == 1); // sent at 5000: not past the 1 s deadline at 6000
}

TEST_CASE("confirmer: with resend off, overdue rows stay at 1 and are only counted",
          "[unit][confirm]") {
    FakeStore st({"inventory"});
    st.rows[1].sent_at_ms = 0;
    st.now_ms = 10000;
    Options opt = two();
    opt.consumers = {"inventory"};
    Confirmer c(opt, "src", 100, st, nullptr, nullptr);
    const auto r = c.round();
    CHECK(r.resent == 0);
    CHECK(r.parked == 0);
    CHECK(st.rows[1].status == 1);
    CHECK(st.unconfirmed_count(opt.deadline, 100) == 1);
}

TEST_CASE("confirmer: off without consumers", "[unit][confirm]") {
    FakeStore st({});
    st.rows[1].offset = 0;
    FakeOffsets offsets;
    offsets.committed_by_group["x"] = {{{"orders", 0}, 5}};
    Confirmer c(Options{}, "src", 100, st, &offsets, nullptr);
    const auto r = c.round();
    CHECK(r.confirmations == 0);
    CHECK(st.confirm_calls == 0);
}

} // namespace
} // namespace outboxd::confirm
