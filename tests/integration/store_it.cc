// PgOutboxStore's background mark write (begin_mark_sent /
// mark_sent_finished) against the real PostgreSQL: it runs on a session of
// its own while the store's other sessions go on, it reports its commit,
// and a write whose session dies is reported in doubt and can be written
// again.
#include "services.h"
#include "store/pg_outbox_store.h"
#include "store/sql.h"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

using namespace outboxd::testing;
using namespace std::chrono_literals;
using outboxd::store::SentMark;

namespace {

int status_of(const outboxd::config::Postgres& table, std::int64_t id) {
    return std::stoi(sql_value(services().pg_dsn, "SELECT status FROM "
                                                      + outboxd::store::qualified_table(table)
                                                      + " WHERE id = " + std::to_string(id)));
}

// Holds row `id` locked (SELECT ... FOR UPDATE in an open transaction), so
// an UPDATE of it waits until release().
class RowLock {
public:
    RowLock(const outboxd::config::Postgres& table, std::int64_t id)
        : conn_(services().pg_dsn)
        , tx_(std::make_unique<pqxx::work>(conn_)) {
        tx_->exec("SELECT 1 FROM " + outboxd::store::qualified_table(table)
                  + " WHERE id = " + std::to_string(id) + " FOR UPDATE");
    }
    void release() { tx_.reset(); } // rolls back

private:
    pqxx::connection conn_;
    std::unique_ptr<pqxx::work> tx_;
};

// Waits for the store's marking session to be blocked on a lock.
std::string blocked_mark_pid(const outboxd::config::Postgres& table) {
    std::string pid;
    eventually(
        [&] {
            const auto rows = sql(services().pg_dsn,
                                  "SELECT pid FROM pg_stat_activity WHERE application_name = "
                                  "'outboxd' AND wait_event_type = 'Lock' AND query LIKE 'UPDATE "
                                      + outboxd::store::qualified_table(table) + "%'");
            if (rows.empty()) {
                return false;
            }
            pid = rows[0][0];
            return true;
        },
        10s);
    return pid;
}

} // namespace

TEST_CASE("store: a mark written in the background commits while the other sessions go on; "
          "one whose session dies is in doubt and is written again",
          "[integration][store]") {
    const auto& s = services();
    const auto name = unique_name("marks");
    auto table = make_table(s.pg_dsn, name);
    const auto ids = insert_rows(
        s.pg_dsn, table,
        {{name, "a", "1", {}}, {name, "b", "2", {}}, {name, "c", "3", {}}, {name, "d", "4", {}}});
    outboxd::store::PgOutboxStore st(table);
    REQUIRE(st.fetch_pending(0, 10, 1 << 20, 0).size() == 4);

    // Nothing begun: finished at once.
    CHECK(st.mark_sent_finished(0ms));

    // Row 0 is locked by another transaction, so the UPDATE has to wait.
    RowLock lock(table, ids[0]);
    st.begin_mark_sent({SentMark{ids[0]}, SentMark{ids[1]}});
    CHECK_FALSE(st.mark_sent_finished(0ms));
    CHECK_FALSE(st.mark_sent_finished(300ms));
    CHECK(blocked_mark_pid(table) != "");
    // The fetch and the synchronous writes do not wait for it.
    const auto pending = st.fetch_pending(0, 10, 1 << 20, 0);
    CHECK(pending.size() == 4);
    st.mark_sent({SentMark{ids[2]}});
    CHECK(status_of(table, ids[2]) == 1);
    CHECK(status_of(table, ids[1]) == 0);
    CHECK_THROWS_AS(st.begin_mark_sent({SentMark{ids[3]}}), std::logic_error);

    lock.release();
    CHECK(eventually([&] { return st.mark_sent_finished(100ms); }, 10s));
    CHECK(status_of(table, ids[0]) == 1);
    CHECK(status_of(table, ids[1]) == 1);
    CHECK(st.mark_sent_finished(0ms)); // taken once; nothing outstanding now

    // The marking session is killed while its UPDATE waits.
    RowLock lock2(table, ids[3]);
    st.begin_mark_sent({SentMark{ids[3]}});
    const auto pid = blocked_mark_pid(table);
    REQUIRE(pid != "");
    sql(s.pg_dsn, "SELECT pg_terminate_backend(" + pid + ")");
    bool threw = false;
    eventually(
        [&] {
            try {
                return st.mark_sent_finished(100ms);
            } catch (const outboxd::store::StoreUnavailable& e) {
                threw = true;
                CHECK(std::string(e.what()).find("marking rows sent") != std::string::npos);
                return true;
            }
        },
        10s);
    CHECK(threw);
    lock2.release();
    CHECK(status_of(table, ids[3]) == 0);
    // The store opens new sessions; the same rows are written again.
    st.begin_mark_sent({SentMark{ids[3]}});
    CHECK(eventually([&] { return st.mark_sent_finished(100ms); }, 10s));
    CHECK(status_of(table, ids[3]) == 1);
    CHECK(st.fetch_pending(0, 10, 1 << 20, 0).empty());
}
