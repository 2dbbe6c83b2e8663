#include "consumer_harness.h"

#include "store/sql.h"

#include <csignal>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

using namespace std::chrono_literals;

namespace outboxd::testing {
namespace {

const std::vector<std::string> kSkus = {"A-1", "B-2", "C-3", "D-4", "E-5", "F-6", "G-7"};

} // namespace

OrderFeed::OrderFeed(config::Postgres table, std::string topic, int min_total)
    : table_(std::move(table))
    , topic_(std::move(topic))
    , min_total_(min_total)
    , thread_([this] { run(); }) {}

OrderFeed::~OrderFeed() {
    finish();
}

void OrderFeed::finish() {
    finish_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
}

void OrderFeed::run() {
    std::mt19937 rng(7);
    int failures = 0;
    while (!(finish_ && inserted_ >= min_total_)) {
        std::vector<NewRow> rows;
        std::vector<std::pair<std::string, int>> orders;
        for (int i = 0; i < 5; ++i) {
            const std::string sku = kSkus[rng() % kSkus.size()];
            const int qty = 1 + static_cast<int>(rng() % 9);
            rows.push_back({topic_, sku,
                            R"({"sku": ")" + sku + R"(", "qty": )" + std::to_string(qty) + "}",
                            std::nullopt});
            orders.emplace_back(sku, qty);
        }
        // Keyed like the orders of A-1, so orders after them on the same
        // partition prove they were passed.
        const int poison_at = inserted_ == 300 ? 1 : inserted_ == 900 ? 2 : 0;
        if (poison_at == 1) {
            rows.push_back({topic_, std::string("A-1"), R"({"sku": "A-1", "qty": )", std::nullopt});
        } else if (poison_at == 2) {
            rows.push_back(
                {topic_, std::string("A-1"), R"({"sku": "A-1", "qty": 0})", std::nullopt});
        }
        std::vector<std::int64_t> ids;
        try {
            ids = insert_rows(services().pg_dsn, table_, rows);
        } catch (const std::exception& e) {
            error = e.what();
            if (++failures > 50) {
                return;
            }
            std::this_thread::sleep_for(100ms);
            continue;
        }
        for (size_t i = 0; i < orders.size(); ++i) {
            expected[orders[i].first] += orders[i].second;
            valid_ids.push_back(ids[i]);
        }
        if (poison_at == 1) {
            bad_json_id = ids.back();
        } else if (poison_at == 2) {
            zero_qty_id = ids.back();
        }
        inserted_ += 5;
        std::this_thread::sleep_for(100ms);
    }
    error.clear();
}

KilledRelay::KilledRelay(std::string config, int min_kills)
    : config_(std::move(config))
    , min_kills_(min_kills)
    , thread_([this] { run(); }) {}

KilledRelay::~KilledRelay() {
    stop();
}

void KilledRelay::stop() {
    stop_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
}

void KilledRelay::run() {
    std::mt19937 rng(23);
    daemon_ = std::make_unique<Daemon>(std::vector<std::string>{"run", "--config", config_});
    while (!stop_ || kills_ < min_kills_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500 + rng() % 2500));
        daemon_->signal(SIGKILL);
        daemon_->wait(10s);
        ++kills_;
        daemon_ = std::make_unique<Daemon>(std::vector<std::string>{"run", "--config", config_});
    }
}

ConsumerLives kill_consumer_lives(const Program& program,
                                  const std::function<std::vector<std::string>(int)>& args,
                                  const std::function<long()>& applied,
                                  const OrderFeed& feed,
                                  int min_orders,
                                  int min_kills,
                                  unsigned seed) {
    ConsumerLives out;
    std::mt19937 rng(seed);
    while (out.kills < min_kills || feed.inserted() < min_orders) {
        const int commit_every = out.kills % 2 == 0 ? 1 : 25;
        const long before = applied();
        Daemon c(program, args(commit_every));
        // Killed only while it is applying orders, never before it started.
        if (!eventually([&] { return applied() > before; }, 60s)) {
            throw std::runtime_error("no progress in 60 s in life " + std::to_string(out.kills)
                                     + "; consumer log:\n" + tail_of(c.log()));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 1000));
        c.signal(SIGKILL);
        if (c.wait(10s) != 128 + SIGKILL) {
            throw std::runtime_error("life " + std::to_string(out.kills)
                                     + " did not end by SIGKILL; consumer log:\n"
                                     + tail_of(c.log()));
        }
        ++out.kills;
        const std::string log = c.log();
        out.duplicates += count_of(log, "] duplicate: ");
        out.failure_lines += count_of(log, "] failed: ");
    }
    return out;
}

long long insert_orders(const config::Postgres& table, const std::string& topic, int n) {
    std::vector<NewRow> rows;
    long long total = 0;
    for (int i = 0; i < n; ++i) {
        const int qty = 1 + i % 5;
        total += qty;
        rows.push_back({topic, std::string("A-1"),
                        R"({"sku": "A-1", "qty": )" + std::to_string(qty) + "}", std::nullopt});
    }
    insert_rows(services().pg_dsn, table, rows);
    return total;
}

void list_unconfirmed_then_resend(const std::string& path,
                                  Daemon& relay,
                                  const std::string& table_name,
                                  int n) {
    const std::string listed = std::to_string(n) + " unconfirmed rows";
    if (!eventually(
            [&] {
                const auto [rc, out] = run_outboxd({"unconfirmed", "--config", path});
                return rc == 0 && out.find(listed) != std::string::npos;
            },
            30s)) {
        throw std::runtime_error("outboxd unconfirmed did not list " + listed + " within 30 s");
    }
    std::string text;
    {
        std::ifstream in(path);
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const std::string off = "resend_unconfirmed: false";
    const auto at = text.find(off);
    if (at == std::string::npos) {
        throw std::runtime_error(path + " does not say " + off);
    }
    text.replace(at, off.size(), "resend_unconfirmed: true");
    std::ofstream(path) << text;
    relay.signal(SIGHUP);
    if (!eventually(
            [&] {
                return sql_value(services().pg_dsn, "SELECT min(resends) FROM " + table_name)
                       != "0";
            },
            30s)) {
        throw std::runtime_error("the unconfirmed rows were not sent again within 30 s");
    }
}

InventoryTables::InventoryTables(const std::string& schema)
    : inbox(store::quote_ident(schema) + ".inventory_inbox")
    , inventory(store::quote_ident(schema) + ".inventory") {}

long InventoryTables::applied(const std::string& dsn) const {
    if (sql_value(dsn, "SELECT to_regclass('" + inbox + "') IS NULL") == "t") {
        return 0L;
    }
    return std::stol(sql_value(dsn, "SELECT count(*) FROM " + inbox));
}

std::map<std::string, long long> InventoryTables::totals(const std::string& dsn) const {
    std::map<std::string, long long> out;
    for (const auto& r : sql(dsn, "SELECT sku, reserved FROM " + inventory)) {
        out[r[0]] = std::stoll(r[1]);
    }
    return out;
}

std::vector<std::int64_t> InventoryTables::inbox_ids(const std::string& dsn) const {
    std::vector<std::int64_t> out;
    for (const auto& r : sql(dsn, "SELECT outbox_id FROM " + inbox + " ORDER BY 1")) {
        out.push_back(std::stoll(r[0]));
    }
    return out;
}

std::string totals_text(const std::map<std::string, long long>& m) {
    std::string out;
    for (const auto& [sku, n] : m) {
        out += (out.empty() ? "" : " ") + sku + "=" + std::to_string(n);
    }
    return out;
}

std::string status_text(const std::string& dsn, const std::string& table) {
    return sql_value(dsn, "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, "
                          "count(*) n FROM "
                              + table + " GROUP BY 1 ORDER BY 1) c");
}

} // namespace outboxd::testing
