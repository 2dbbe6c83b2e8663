#include "ceiling.h"

#include "common.h"
#include "store/pg_outbox_store.h"
#include "tables.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace outboxd::bench {

CeilingResult run_ceiling(const Options& opt, std::size_t batch) {
    progress("ceiling: pre-filling " + std::to_string(opt.rows) + " rows (batch "
             + std::to_string(batch) + ")");
    auto t = fresh_table("bench_ceiling");
    const double fill_rate = prefill(opt, t, "bench-ceiling");
    progress("ceiling: pre-filled at " + grouped(fill_rate) + " rows/s; draining");
    auto cfg = t;
    cfg.notify_channel.clear(); // the loop never waits, so no LISTEN
    store::PgOutboxStore st(cfg);
    st.verify(); // connect and prepare outside the timed loop

    CeilingResult r;
    r.batch = batch;
    std::int64_t cursor = 0;
    std::int64_t done = 0;
    Clock::duration fetch_time{};
    Clock::duration mark_time{};
    const auto start = Clock::now();
    for (;;) {
        const auto f0 = Clock::now();
        auto rows = st.fetch_pending(cursor, batch, kMaxBatchBytes, 0);
        const auto f1 = Clock::now();
        fetch_time += f1 - f0;
        if (rows.empty()) {
            break;
        }
        std::vector<store::SentMark> marks;
        marks.reserve(rows.size());
        for (const auto& row : rows) {
            marks.push_back(store::SentMark{row.id});
        }
        cursor = marks.back().id;
        st.mark_sent(marks);
        mark_time += Clock::now() - f1;
        done += static_cast<std::int64_t>(marks.size());
        ++r.batches;
    }
    const double secs = Seconds(Clock::now() - start).count();
    const auto left = pending_count(t);
    if (left != 0 || done != opt.rows) {
        throw std::runtime_error("ceiling loop left " + std::to_string(left)
                                 + " rows pending after marking " + std::to_string(done));
    }
    r.rows_per_s = static_cast<double>(done) / secs;
    r.fetch_ms_avg = std::chrono::duration<double, std::milli>(fetch_time).count()
                     / static_cast<double>(std::max<std::int64_t>(r.batches, 1));
    r.mark_ms_avg = std::chrono::duration<double, std::milli>(mark_time).count()
                    / static_cast<double>(std::max<std::int64_t>(r.batches, 1));
    progress("ceiling: batch " + std::to_string(batch) + ": " + grouped(r.rows_per_s)
             + " rows/s in " + fixed(secs, 2) + " s");
    drop_table(opt, t);
    return r;
}

} // namespace outboxd::bench
