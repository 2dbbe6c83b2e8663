#include "capacity.h"

#include "common.h"
#include "proc.h"
#include "services.h"
#include "store/sql.h"
#include "tables.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace outboxd::bench {
namespace {

// One client of the capacity phase: its own connection, the same prepared
// single-row INSERT as the steady inserters, one autocommit transaction per
// row, back to back from `start` until `end`.
class CapacityClient {
public:
    CapacityClient(
        const Options& opt, const config::Postgres& t, std::string topic, int index, int clients)
        : conn_(ot::services().pg_dsn)
        , topic_(std::move(topic))
        , keys_(opt.keys)
        , index_(index)
        , clients_(clients) {
        const auto& c = t.columns;
        conn_.prepare("ins", "INSERT INTO " + qualified(t) + " (" + store::quote_ident(c.topic)
                                 + ", " + store::quote_ident(c.key) + ", "
                                 + store::quote_ident(c.payload) + ") VALUES ($1, $2, $3)");
        payload_.resize(static_cast<std::size_t>(opt.payload_bytes));
    }

    void run(Clock::time_point start, Clock::time_point end) {
        std::this_thread::sleep_until(start);
        for (std::int64_t k = 0; Clock::now() < end; ++k) {
            const std::int64_t n = k * clients_ + index_;
            for (std::size_t i = 0; i < payload_.size(); ++i) {
                payload_[i] = static_cast<char>((n * 31 + static_cast<std::int64_t>(i)) & 0xff);
            }
            pqxx::nontransaction tx(conn_);
            tx.exec_prepared("ins", topic_, "key-" + std::to_string(n % keys_),
                             pqxx::binarystring(payload_.data(), payload_.size()));
            ++inserted_;
        }
        finished_ = Clock::now();
    }

    std::int64_t inserted() const { return inserted_; }
    Clock::time_point finished() const { return finished_; }

private:
    pqxx::connection conn_;
    std::string topic_;
    int keys_ = 1;
    int index_ = 0;
    int clients_ = 1;
    std::string payload_;
    std::int64_t inserted_ = 0;
    Clock::time_point finished_{};
};

} // namespace

double wal_position_bytes() {
    return std::stod(
        ot::sql_value(ot::services().pg_dsn, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"));
}

void checkpoint() {
    ot::sql(ot::services().pg_dsn, "CHECKPOINT");
}

CapacityResult run_capacity(const Options& opt,
                            const config::Postgres& t,
                            const std::string& topic,
                            const std::function<void(std::int64_t rows)>& relayed) {
    CapacityResult r;
    r.clients = kCapacityClients;
    // Connected and prepared before the clock starts.
    std::vector<std::unique_ptr<CapacityClient>> clients;
    for (int i = 0; i < kCapacityClients; ++i) {
        clients.push_back(std::make_unique<CapacityClient>(opt, t, topic, i, kCapacityClients));
    }
    const double wal0 = wal_position_bytes();
    const double cpu0 = postgres_cpu_seconds();
    const auto start = Clock::now() + std::chrono::milliseconds(100);
    const auto end = start + std::chrono::seconds(opt.capacity_seconds);
    std::mutex mu;
    std::exception_ptr failure;
    std::vector<std::thread> threads;
    threads.reserve(clients.size());
    for (auto& c : clients) {
        threads.emplace_back([&, client = c.get()] {
            try {
                client->run(start, end);
            } catch (...) {
                const std::lock_guard<std::mutex> lock(mu);
                failure = std::current_exception();
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    Clock::time_point last = start;
    for (const auto& c : clients) {
        r.rows += c->inserted();
        last = std::max(last, c->finished());
    }
    r.postgres_cpu_s = postgres_cpu_seconds() - cpu0;
    r.seconds = Seconds(last - start).count();
    r.inserts_per_s = static_cast<double>(r.rows) / std::max(r.seconds, 1e-3);
    clients.clear(); // their sessions end: nothing of theirs is left to write
    const auto wait0 = Clock::now();
    relayed(r.rows);
    r.caught_up_s = Seconds(Clock::now() - wait0).count();
    r.wal_bytes = wal_position_bytes() - wal0;
    return r;
}

Footprint table_footprint(const config::Postgres& t) {
    const auto dsn = ot::services().pg_dsn;
    // A backend flushes its table statistics when it exits; the relay's and
    // the clients' have just been told to.
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const std::string rel = store::quote_literal(qualified(t));
    const auto rows = ot::sql(
        dsn, "SELECT pg_stat_force_next_flush(); SELECT pg_table_size(" + rel
                 + "::regclass), pg_indexes_size(" + rel
                 + "::regclass), s.n_dead_tup, s.n_live_tup, (SELECT count(*) FROM " + qualified(t)
                 + ") FROM pg_stat_user_tables s WHERE s.relid = " + rel + "::regclass");
    Footprint f;
    if (rows.empty() || rows[0].size() < 5) {
        return f;
    }
    f.heap_bytes = std::stod(rows[0][0]);
    f.index_bytes = std::stod(rows[0][1]);
    f.dead_tuples = std::stoll(rows[0][2]);
    f.live_tuples = std::stoll(rows[0][3]);
    f.rows = std::stoll(rows[0][4]);
    return f;
}

} // namespace outboxd::bench
