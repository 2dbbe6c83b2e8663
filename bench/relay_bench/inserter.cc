#include "inserter.h"

#include "services.h"
#include "store/sql.h"
#include "tables.h"

#include <algorithm>
#include <thread>

namespace outboxd::bench {

Inserter::Inserter(const config::Postgres& t,
                   const std::string& topic,
                   const Options& opt,
                   int index,
                   Clock::time_point start,
                   Clock::time_point end)
    : conn_(ot::services().pg_dsn) {
    const auto& c = t.columns;
    conn_.prepare("ins", "INSERT INTO " + qualified(t) + " (" + store::quote_ident(c.topic) + ", "
                             + store::quote_ident(c.key) + ", " + store::quote_ident(c.payload)
                             + ") VALUES ($1, $2, $3)");
    const double per_thread = static_cast<double>(opt.rate) / opt.insert_threads;
    interval_ = std::chrono::duration_cast<Clock::duration>(Seconds(1.0 / per_thread));
    // Threads interleave their slots so the combined stream is even.
    first_ = start + interval_ * index / opt.insert_threads;
    end_ = end;
    topic_ = topic;
    keys_ = opt.keys;
    stride_ = opt.insert_threads;
    index_ = index;
    payload_.resize(static_cast<std::size_t>(opt.payload_bytes));
}

void Inserter::run() {
    for (std::int64_t k = 0;; ++k) {
        const auto slot = first_ + interval_ * k;
        if (slot >= end_) {
            break;
        }
        std::this_thread::sleep_until(slot);
        max_lag_ = std::max(max_lag_, Clock::now() - slot);
        const std::int64_t n = k * stride_ + index_;
        for (std::size_t i = 0; i < payload_.size(); ++i) {
            payload_[i] = static_cast<char>((n * 31 + static_cast<std::int64_t>(i)) & 0xff);
        }
        pqxx::binarystring bytes(payload_.data(), payload_.size());
        pqxx::nontransaction tx(conn_);
        const auto t0 = Clock::now();
        tx.exec_prepared("ins", topic_, "key-" + std::to_string(n % keys_), bytes);
        statement_ms_.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        ++inserted_;
    }
}

std::vector<std::unique_ptr<Inserter>> make_inserters(const config::Postgres& t,
                                                      const std::string& topic,
                                                      const Options& opt,
                                                      Clock::time_point start,
                                                      Clock::time_point end) {
    std::vector<std::unique_ptr<Inserter>> inserters;
    inserters.reserve(static_cast<std::size_t>(opt.insert_threads));
    for (int i = 0; i < opt.insert_threads; ++i) {
        inserters.push_back(std::make_unique<Inserter>(t, topic, opt, i, start, end));
    }
    return inserters;
}

} // namespace outboxd::bench
