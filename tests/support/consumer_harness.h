// What the end-to-end consumer tests (consumer_it.cc on Kafka,
// rabbitmq_consumer_it.cc on RabbitMQ) share: the order feed, outboxd killed
// again and again, and the reference consumer's tables read back.
#pragma once

#include "services.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace outboxd::testing {

// Inserts orders into the outbox from a thread of its own, 5 per
// transaction about every 100 ms (keyed by sku, as an order service would),
// until finish() was called and at least `min_total` are in. Two poison
// orders go in on the way: one whose payload is not JSON, one with qty 0.
// The expectations are read after finish() only.
class OrderFeed {
public:
    // `topic`: the rows' topic column (the Kafka topic, or the RabbitMQ
    // exchange).
    OrderFeed(config::Postgres table, std::string topic, int min_total);
    ~OrderFeed();
    OrderFeed(const OrderFeed&) = delete;
    OrderFeed& operator=(const OrderFeed&) = delete;

    void finish();
    int inserted() const { return inserted_; }

    std::map<std::string, long long> expected; // sku -> sum of qty of the valid orders
    std::vector<std::int64_t> valid_ids;
    std::int64_t bad_json_id = 0;
    std::int64_t zero_qty_id = 0;
    std::string error; // the last insert error, when inserts kept failing

private:
    void run();

    config::Postgres table_;
    std::string topic_;
    int min_total_;
    std::atomic<bool> finish_{false};
    std::atomic<int> inserted_{0};
    std::thread thread_;
};

// outboxd running `config`, killed with kill -9 and started again every
// 1.5-4 s from a thread of its own until stop(), at least `min_kills` times.
class KilledRelay {
public:
    KilledRelay(std::string config, int min_kills);
    ~KilledRelay();
    KilledRelay(const KilledRelay&) = delete;
    KilledRelay& operator=(const KilledRelay&) = delete;
    // Returns after the last kill and a final start that is left running.
    void stop();
    int kills() const { return kills_; }
    Daemon& last() { return *daemon_; }

private:
    void run();

    std::string config_;
    int min_kills_;
    std::atomic<bool> stop_{false};
    std::atomic<int> kills_{0};
    std::unique_ptr<Daemon> daemon_;
    std::thread thread_;
};

// What the killed lives of a consumer did, from their logs.
struct ConsumerLives {
    int kills = 0;
    int duplicates = 0;    // "] duplicate: " lines: redeliveries the inbox turned away
    int failure_lines = 0; // "] failed: " lines
};

// Starts `program` with `args(commit_every)` again and again while `feed`
// inserts, and kills each life with kill -9 200-1200 ms after it applied
// something (`applied()` grew), until the feed has inserted `min_orders`
// and at least `min_kills` lives died. Every other life gets commit_every
// 25 (more applied and not yet committed or acknowledged at each kill, so
// redeliveries are certain), the others 1. Throws std::runtime_error, with
// the life's log, when one makes no progress in 60 s or outlives SIGKILL.
ConsumerLives kill_consumer_lives(const Program& program,
                                  const std::function<std::vector<std::string>(int)>& args,
                                  const std::function<long()>& applied,
                                  const OrderFeed& feed,
                                  int min_orders,
                                  int min_kills,
                                  unsigned seed);

// Inserts `n` orders of sku A-1 (qty 1-5) with topic `topic`; returns the
// sum of their qty.
long long insert_orders(const config::Postgres& table, const std::string& topic, int n);

// For `relay` running the config at `path` with `resend_unconfirmed:
// false`: waits until `outboxd unconfirmed` lists `n` rows (resend off, so
// the list stays), then rewrites the file to resend them and reloads the
// relay (SIGHUP), and waits until every row of `table_name` was sent again
// at least once: so the listing never races the resends. Throws
// std::runtime_error when a step does not happen within 30 s.
void list_unconfirmed_then_resend(const std::string& path,
                                  Daemon& relay,
                                  const std::string& table_name,
                                  int n);

// The reference consumer's tables in `schema` (its --schema).
struct InventoryTables {
    explicit InventoryTables(const std::string& schema);
    std::string inbox;     // quoted schema.inventory_inbox
    std::string inventory; // quoted schema.inventory
    // Inbox rows (0 while the table does not exist yet).
    long applied(const std::string& dsn) const;
    std::map<std::string, long long> totals(const std::string& dsn) const; // sku -> reserved
    std::vector<std::int64_t> inbox_ids(const std::string& dsn) const;     // ascending
};

// "A-1=120 B-2=98 ...", so a failed comparison shows the numbers.
std::string totals_text(const std::map<std::string, long long>& m);

// "0=3 1=12 3=40": a table's rows per status, for failure messages.
std::string status_text(const std::string& dsn, const std::string& table);

} // namespace outboxd::testing
