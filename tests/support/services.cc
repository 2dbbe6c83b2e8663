#include "services.h"

#include "http/client.h"
#include "store/pg_outbox_store.h"
#include "store/sql.h"

#include <librdkafka/rdkafka.h>
#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace outboxd::testing {

const Services& services() {
    static const Services s = [] {
        Services out;
        const char* d = std::getenv("OUTBOXD_TEST_SERVICES_DIR");
        out.dir = d != nullptr ? d : OUTBOXD_TEST_SERVICES_DIR_DEFAULT;
        std::ifstream in(out.dir + "/env");
        if (!in) {
            throw std::runtime_error("no " + out.dir
                                     + "/env: start the services with tests/scripts/services.sh "
                                       "start (ctest does it through its fixture)");
        }
        std::string line;
        while (std::getline(in, line)) {
            const auto eq = line.find('=');
            if (eq == std::string::npos) {
                continue;
            }
            const auto k = line.substr(0, eq);
            auto v = line.substr(eq + 1);
            if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) {
                v = v.substr(1, v.size() - 2);
            }
            if (k == "OUTBOXD_TEST_PG_DSN") {
                out.pg_dsn = v;
            } else if (k == "OUTBOXD_TEST_KAFKA_BOOTSTRAP") {
                out.kafka_bootstrap = v;
            } else if (k == "OUTBOXD_TEST_PG_RELAY_DSN") {
                out.pg_relay_dsn = v;
            } else if (k == "OUTBOXD_TEST_PG_PARTITION_DSN") {
                out.pg_partition_dsn = v;
            } else if (k == "OUTBOXD_TEST_PG_TLS_DSN") {
                out.pg_tls_dsn = v;
            } else if (k == "OUTBOXD_TEST_PG_TLS_DIR") {
                out.pg_tls_dir = v;
            } else if (k == "OUTBOXD_TEST_RABBITMQ_URL") {
                out.rabbitmq_url = v;
            } else if (k == "OUTBOXD_TEST_RABBITMQ_MANAGEMENT_URL") {
                out.rabbitmq_management_url = v;
            } else if (k == "OUTBOXD_TEST_RABBITMQ_DIR") {
                out.rabbitmq_dir = v;
            } else if (k == "OUTBOXD_TEST_KAFKA_SSL_BOOTSTRAP") {
                out.kafka_ssl_bootstrap = v;
            } else if (k == "OUTBOXD_TEST_KAFKA_MTLS_BOOTSTRAP") {
                out.kafka_mtls_bootstrap = v;
            } else if (k == "OUTBOXD_TEST_KAFKA_SASL_BOOTSTRAP") {
                out.kafka_sasl_bootstrap = v;
            } else if (k == "OUTBOXD_TEST_KAFKA_TLS_DIR") {
                out.kafka_tls_dir = v;
            } else if (k == "OUTBOXD_TEST_RABBITMQ_TLS_URL") {
                out.rabbitmq_tls_url = v;
            } else if (k == "OUTBOXD_TEST_RABBITMQ_TLS_DIR") {
                out.rabbitmq_tls_dir = v;
            }
        }
        return out;
    }();
    return s;
}

std::string unique_name(const std::string& prefix) {
    static std::atomic<int> counter{0};
    return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_"
           + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()
                            % 100000000);
}

std::string scratch_path(const std::string& prefix) {
    static const std::string root = [] {
        const char* env = std::getenv("OUTBOXD_TEST_SCRATCH_DIR");
        std::string r = env != nullptr && *env != '\0' ? env : OUTBOXD_TEST_SCRATCH_DIR_DEFAULT;
        std::error_code ec;
        std::filesystem::create_directories(r, ec);
        if (ec) {
            throw std::runtime_error("cannot create the test scratch directory " + r + ": "
                                     + ec.message());
        }
        return r;
    }();
    return root + "/" + unique_name(prefix);
}

std::vector<std::vector<std::string>> sql(const std::string& dsn, const std::string& query) {
    pqxx::connection c(dsn);
    pqxx::nontransaction tx(c);
    std::vector<std::vector<std::string>> out;
    for (const auto& row : tx.exec(query)) {
        std::vector<std::string> r;
        for (const auto& f : row) {
            r.push_back(f.is_null() ? "<null>" : f.c_str());
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::string sql_value(const std::string& dsn, const std::string& query) {
    auto r = sql(dsn, query);
    if (r.empty() || r[0].empty()) {
        throw std::runtime_error("no value from: " + query);
    }
    return r[0][0];
}

config::Postgres make_table(const std::string& dsn, const std::string& name) {
    config::Postgres pg;
    pg.dsn = dsn;
    pg.schema = "public";
    pg.table = name;
    pg.notify_channel = name;
    store::PgOutboxStore st(pg);
    st.migrate();
    return pg;
}

void grant_relay(const config::Postgres& table, bool delete_rows) {
    const std::string t = store::qualified_table(table);
    const std::string role = store::quote_ident(kRelayRole);
    // Tests run side by side, and two GRANTs on one schema at once fail with
    // "tuple concurrently updated": one lock (held to the end of this
    // statement list's transaction) takes them in turn.
    std::string stmt = "SELECT pg_advisory_xact_lock(7420931); GRANT USAGE ON SCHEMA "
                       + store::quote_ident(table.schema) + " TO " + role
                       + "; GRANT SELECT, UPDATE ON " + t + " TO " + role + "; ";
    stmt += (delete_rows ? "GRANT DELETE ON " : "REVOKE DELETE ON ") + t
            + (delete_rows ? " TO " : " FROM ") + role;
    // The review's action log (docs/security.md), where migrate made it: the
    // console and the CLI record each requeue and close there.
    const std::string log = store::actions_table(table);
    const std::string log_text = store::quote_literal(log);
    stmt += "; DO $grant$ BEGIN IF to_regclass(" + log_text + ") IS NOT NULL THEN EXECUTE "
            + store::quote_literal("GRANT SELECT, INSERT ON " + log + " TO " + role)
            + "; EXECUTE 'GRANT USAGE ON SEQUENCE ' || pg_get_serial_sequence(" + log_text
            + ", 'id') || ' TO ' || " + store::quote_literal(role) + "; END IF; END $grant$";
    sql(services().pg_dsn, stmt);
}

namespace {

bool table_exists(const config::Postgres& table) {
    const std::string name = store::qualified_table(table);
    pqxx::connection c(services().pg_dsn);
    pqxx::nontransaction tx(c);
    return tx.exec_params("SELECT to_regclass($1) IS NOT NULL", name)[0][0].as<bool>();
}

} // namespace

std::vector<std::int64_t>
insert_rows(const std::string& dsn, const config::Postgres& t, const std::vector<NewRow>& rows) {
    pqxx::connection c(dsn);
    pqxx::work tx(c);
    const auto& col = t.columns;
    const std::string sql_text =
        "INSERT INTO " + store::qualified_table(t) + " (" + store::quote_ident(col.topic) + ", "
        + store::quote_ident(col.key) + ", " + store::quote_ident(col.payload) + ", "
        + store::quote_ident(col.headers) + ") VALUES ($1, $2, $3, $4::jsonb) RETURNING "
        + store::quote_ident(col.id);
    c.prepare("ins", sql_text);
    std::vector<std::int64_t> ids;
    for (const auto& r : rows) {
        std::unique_ptr<pqxx::binarystring> payload;
        if (r.payload) {
            payload = std::make_unique<pqxx::binarystring>(r.payload->data(), r.payload->size());
        }
        pqxx::result res;
        // libpqxx 6 passes a null pointer parameter as SQL NULL.
        const char* key = r.key ? r.key->c_str() : nullptr;
        const char* headers = r.headers ? r.headers->c_str() : nullptr;
        if (payload) {
            res = tx.exec_prepared("ins", r.topic, key, *payload, headers);
        } else {
            res = tx.exec_prepared("ins", r.topic, key, static_cast<const char*>(nullptr), headers);
        }
        ids.push_back(res[0][0].as<std::int64_t>());
    }
    tx.commit();
    return ids;
}

struct OpenInsert::Impl {
    pqxx::connection conn;
    pqxx::work tx;
    explicit Impl(const std::string& dsn)
        : conn(dsn)
        , tx(conn) {}
};

OpenInsert::OpenInsert(const std::string& dsn, const config::Postgres& t, const NewRow& row)
    : impl_(std::make_unique<Impl>(dsn)) {
    const auto& col = t.columns;
    auto r = impl_->tx.exec_params(
        "INSERT INTO " + store::qualified_table(t) + " (" + store::quote_ident(col.topic) + ", "
            + store::quote_ident(col.key) + ", " + store::quote_ident(col.payload)
            + ") VALUES ($1, $2, convert_to($3, 'UTF8')) RETURNING " + store::quote_ident(col.id),
        row.topic, row.key ? row.key->c_str() : nullptr,
        row.payload ? row.payload->c_str() : nullptr);
    id_ = r[0][0].as<std::int64_t>();
}

OpenInsert::~OpenInsert() = default;

void OpenInsert::commit() {
    impl_->tx.commit();
}

std::map<std::int64_t, RowState> row_states(const std::string& dsn, const config::Postgres& t) {
    std::map<std::int64_t, RowState> out;
    const auto& c = t.columns;
    auto rows =
        sql(dsn, "SELECT " + store::quote_ident(c.id) + ", " + store::quote_ident(c.status) + ", "
                     + store::quote_ident(c.attempts) + ", coalesce("
                     + store::quote_ident(c.last_error) + ", ''), " + store::quote_ident(c.sent_at)
                     + " IS NOT NULL, " + store::quote_ident(c.next_attempt_at)
                     + " IS NOT NULL FROM " + store::qualified_table(t));
    for (const auto& r : rows) {
        RowState s{std::stoll(r[0]), std::stoi(r[1]), std::stoi(r[2]), r[3],
                   r[4] == "t",      r[5] == "t"};
        out[s.id] = s;
    }
    return out;
}

std::map<int, int> status_counts(const std::string& dsn, const config::Postgres& t) {
    std::map<int, int> out;
    for (const auto& r :
         sql(dsn, "SELECT " + store::quote_ident(t.columns.status) + ", count(*) FROM "
                      + store::qualified_table(t) + " GROUP BY 1")) {
        out[std::stoi(r[0])] = std::stoi(r[1]);
    }
    return out;
}

namespace {

rd_kafka_conf_t* base_conf(const std::string& bootstrap) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err)
        != RD_KAFKA_CONF_OK) {
        throw std::runtime_error(err);
    }
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    return conf;
}

} // namespace

void create_topic(const std::string& bootstrap,
                  const std::string& topic,
                  int partitions,
                  int replication_factor,
                  const std::map<std::string, std::string>& configs) {
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, base_conf(bootstrap), err, sizeof err);
    if (rk == nullptr) {
        throw std::runtime_error(err);
    }
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(topic.c_str(), partitions, replication_factor, err, sizeof err);
    for (const auto& [k, v] : configs) {
        rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    }
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
    std::string problem;
    if (ev == nullptr) {
        problem = "CreateTopics timed out";
    } else {
        const auto* res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t** trs = rd_kafka_CreateTopics_result_topics(res, &n);
        if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            problem = rd_kafka_event_error_string(ev);
        } else if (n == 1 && rd_kafka_topic_result_error(trs[0]) != RD_KAFKA_RESP_ERR_NO_ERROR
                   && rd_kafka_topic_result_error(trs[0])
                          != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            problem = rd_kafka_topic_result_error_string(trs[0]);
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    // Wait until the topic's partitions have leaders.
    for (int i = 0; problem.empty() && i < 200; ++i) {
        const rd_kafka_metadata_t* md = nullptr;
        rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
        bool ready = false;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ready = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR
                    && md->topics[0].partition_cnt == partitions;
            for (int p = 0; ready && p < md->topics[0].partition_cnt; ++p) {
                ready = md->topics[0].partitions[p].leader >= 0;
            }
            rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(rkt);
        if (ready) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    if (!problem.empty()) {
        throw std::runtime_error("creating topic " + topic + ": " + problem);
    }
}

std::vector<Consumed> read_topic(const std::string& bootstrap, const std::string& topic) {
    char err[512];
    rd_kafka_conf_t* conf = base_conf(bootstrap);
    rd_kafka_conf_set(conf, "group.id", unique_name("reader").c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    // Only committed (acknowledged) data, as a real consumer would see it.
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk == nullptr) {
        throw std::runtime_error(err);
    }
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        throw std::runtime_error("metadata for " + topic);
    }
    const int parts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; ++p) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<Consumed> out;
    int eofs = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (eofs < parts && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 500);
        if (m == nullptr) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            ++eofs;
        } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            Consumed c;
            c.partition = m->partition;
            c.offset = m->offset;
            rd_kafka_timestamp_type_t ts_type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
            c.timestamp_ms = rd_kafka_message_timestamp(m, &ts_type);
            c.log_append_time = ts_type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME;
            if (m->key != nullptr) {
                c.key = std::string(static_cast<const char*>(m->key), m->key_len);
            }
            if (m->payload != nullptr) {
                c.payload = std::string(static_cast<const char*>(m->payload), m->len);
            }
            rd_kafka_headers_t* hdrs = nullptr;
            if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                const char* name;
                const void* val;
                size_t size;
                for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size)
                                   == RD_KAFKA_RESP_ERR_NO_ERROR;
                     ++i) {
                    std::string v = val != nullptr
                                        ? std::string(static_cast<const char*>(val), size)
                                        : std::string();
                    c.header_null.push_back(val == nullptr);
                    if (std::string(name) == "outbox-id") {
                        try {
                            c.outbox_id = std::stoll(v);
                        } catch (const std::exception&) {
                            c.outbox_id = -1; // another producer's header, not a row id
                        }
                    }
                    c.headers.emplace_back(name, v);
                }
            }
            out.push_back(std::move(c));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (eofs < parts) {
        throw std::runtime_error("reading " + topic + " did not reach the end in 60 s");
    }
    return out;
}

void produce_raw(const std::string& bootstrap,
                 const std::string& topic,
                 const std::vector<RawMessage>& messages) {
    char err[512];
    rd_kafka_conf_t* conf = base_conf(bootstrap);
    rd_kafka_conf_set(conf, "acks", "all", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == nullptr) {
        throw std::runtime_error(err);
    }
    for (const auto& m : messages) {
        rd_kafka_headers_t* hdrs = rd_kafka_headers_new(m.headers.size());
        for (const auto& [n, v] : m.headers) {
            rd_kafka_header_add(hdrs, n.data(), static_cast<ssize_t>(n.size()), v.data(),
                                static_cast<ssize_t>(v.size()));
        }
        void* key = m.key ? const_cast<char*>(m.key->data()) : nullptr;
        const size_t key_len = m.key ? m.key->size() : 0;
        void* value = const_cast<char*>(m.value.data());
        const size_t value_len = m.value.size();
        const auto e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, value_len),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(hdrs);
            rd_kafka_destroy(rk);
            throw std::runtime_error(std::string("produce_raw: ") + rd_kafka_err2str(e));
        }
    }
    const auto f = rd_kafka_flush(rk, 30000);
    rd_kafka_destroy(rk);
    if (f != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw std::runtime_error("produce_raw: flush timed out");
    }
}

RowInserter::RowInserter(const config::Postgres& table, std::string topic, int total, int per_tx)
    : thread_([this, table, topic, total, per_tx] { run(table, topic, total, per_tx); }) {}

RowInserter::~RowInserter() {
    if (thread_.joinable()) {
        thread_.join();
    }
}

int RowInserter::stop() {
    stop_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
    return inserted_;
}

void RowInserter::run(const config::Postgres& table,
                      const std::string& topic,
                      int total,
                      int per_tx) {
    int done = 0;
    while (done < total && !stop_) {
        const int n = std::min(per_tx, total - done);
        std::vector<NewRow> rows;
        for (int i = 0; i < n; ++i) {
            rows.push_back({topic, "key-" + std::to_string((done + i) % 10),
                            "payload-" + std::to_string(done + i), std::nullopt});
        }
        try {
            // table.dsn: the owner's, or the application's path (a pooler).
            insert_rows(table.dsn.empty() ? services().pg_dsn : table.dsn, table, rows);
        } catch (const std::exception&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        done += n;
        inserted_ += n;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

int partition_leader(const std::string& bootstrap, const std::string& topic, int partition) {
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, base_conf(bootstrap), err, sizeof err);
    if (rk == nullptr) {
        throw std::runtime_error(err);
    }
    int leader = -1;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1) {
            for (int p = 0; p < md->topics[0].partition_cnt; ++p) {
                if (md->topics[0].partitions[p].id == partition) {
                    leader = md->topics[0].partitions[p].leader;
                }
            }
        }
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return leader;
}

void report_fault_run(const FaultReport& r) {
    const char* path = std::getenv("OUTBOXD_TEST_FAULT_REPORT");
    if (path == nullptr || *path == '\0') {
        return;
    }
    std::ofstream out(path, std::ios::app);
    out << "{\"scenario\":\"" << r.scenario << "\",\"rounds\":" << r.rounds
        << ",\"rows\":" << r.rows << ",\"lost\":" << r.lost << ",\"duplicates\":" << r.duplicates
        << ",\"order_violations\":" << r.order_violations
        << ",\"wrongly_parked\":" << r.wrongly_parked
        << ",\"takeover_p50_ms\":" << r.takeover_p50_ms
        << ",\"takeover_max_ms\":" << r.takeover_max_ms << "}\n";
}

FaultReport tally(const std::string& scenario,
                  const std::string& bootstrap,
                  const std::string& topic,
                  const config::Postgres& table) {
    const auto msgs = read_topic(bootstrap, topic);
    const auto states = row_states(services().pg_dsn, table);
    std::map<std::int64_t, int> copies;
    std::map<std::string, std::int64_t> last_per_key;
    FaultReport t;
    t.scenario = scenario;
    t.rows = static_cast<int>(states.size());
    for (const auto& m : msgs) {
        if (++copies[m.outbox_id] > 1) {
            ++t.duplicates;
            continue;
        }
        if (m.key) {
            const std::string k = std::to_string(m.partition) + "/" + *m.key;
            auto it = last_per_key.find(k);
            if (it != last_per_key.end() && it->second > m.outbox_id) {
                ++t.order_violations;
            }
            last_per_key[k] = m.outbox_id;
        }
    }
    for (const auto& [id, st] : states) {
        if ((st.status == 1 && copies[id] == 0) || st.status == 0) {
            ++t.lost;
        }
        if (st.status == 2) {
            ++t.wrongly_parked;
        }
    }
    return t;
}

int fault_rounds(int fallback) {
    const char* v = std::getenv("OUTBOXD_TEST_FAULT_ROUNDS");
    return v != nullptr && *v != '\0' ? std::stoi(v) : fallback;
}

int outage_seconds(int fallback) {
    const char* v = std::getenv("OUTBOXD_TEST_OUTAGE_SECONDS");
    return v != nullptr && *v != '\0' ? std::stoi(v) : fallback;
}

std::string outboxd_binary() {
    return OUTBOXD_TEST_BINARY;
}

DaemonConfig daemon_config(const config::Postgres& table, const std::string& bootstrap) {
    DaemonConfig c;
    c.table = table;
    c.pg_dsn = services().pg_dsn;
    if (!services().pg_relay_dsn.empty()) {
        c.pg_dsn = services().pg_relay_dsn;
        // A test may name a table that `migrate` creates later (as the owner).
        if (table_exists(table)) {
            grant_relay(table, false);
        }
    }
    c.bootstrap = bootstrap.empty() ? services().kafka_bootstrap : bootstrap;
    c.relay["poll_interval_ms"] = "200";
    return c;
}

std::string write_config(const DaemonConfig& c) {
    const std::string dir = scratch_path("config");
    ::mkdir(dir.c_str(), 0700);
    const std::string path = dir + "/outboxd.yaml";
    std::ofstream f(path);
    auto q = [](const std::string& s) {
        std::string o = "\"";
        for (char ch : s) {
            if (ch == '"' || ch == '\\') {
                o += '\\';
            }
            o += ch;
        }
        return o + "\"";
    };
    f << "postgres:\n  dsn: " << q(c.pg_dsn)
      << "\n  table: " << q(c.table.schema + "." + c.table.table)
      << "\n  notify_channel: " << q(c.table.notify_channel) << "\n";
    f << "kafka:\n  bootstrap_servers: " << q(c.bootstrap)
      << "\n  require_durable_topics: " << (c.require_durable_topics ? "true" : "false") << "\n";
    if (!c.kafka_props.empty()) {
        f << "  properties:\n";
        for (const auto& [k, v] : c.kafka_props) {
            f << "    " << k << ": " << q(v) << "\n";
        }
    }
    if (!c.kafka_prop_files.empty()) {
        f << "  properties_files:\n";
        for (const auto& [k, v] : c.kafka_prop_files) {
            f << "    " << k << ": " << q(v) << "\n";
        }
    }
    if (!c.relay.empty()) {
        f << "relay:\n";
        for (const auto& [k, v] : c.relay) {
            f << "  " << k << ": " << v << "\n";
        }
    }
    f << "log:\n  level: " << c.log_level << "\n";
    if (!c.http_listen.empty()) {
        f << "http:\n  listen: " << q(c.http_listen) << "\n";
    }
    f << c.extra_yaml;
    f.close();
    // DELETE only when retention is on, as docs/security.md says.
    const bool relay_role = c.pg_dsn.find(std::string("user=") + kRelayRole) != std::string::npos;
    if (relay_role) {
        const config::LoadResult loaded = config::load_config(path, {});
        if (loaded.config && loaded.config->retention.sent_max_age.count() > 0
            && table_exists(c.table)) {
            grant_relay(c.table, true);
        }
    }
    return path;
}

namespace {

constexpr const char* kMemoryCgroupRoot = "/sys/fs/cgroup/memory";

std::string read_file_text(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.close();
    if (!out) {
        throw std::runtime_error("cannot write \"" + text + "\" to " + path);
    }
}

} // namespace

bool MemoryCgroup::available() {
    return ::access((std::string(kMemoryCgroupRoot) + "/memory.limit_in_bytes").c_str(), R_OK) == 0
           && ::access(kMemoryCgroupRoot, W_OK) == 0;
}

MemoryCgroup::MemoryCgroup(std::int64_t limit_bytes) {
    static std::atomic<int> counter{0};
    path_ = std::string(kMemoryCgroupRoot) + "/outboxd-test-" + std::to_string(::getpid()) + "-"
            + std::to_string(++counter);
    if (::mkdir(path_.c_str(), 0755) != 0) {
        throw std::runtime_error("cannot create the cgroup " + path_);
    }
    try {
        write_file_text(path_ + "/memory.limit_in_bytes", std::to_string(limit_bytes));
        // memsw = memory + swap; at least the memory limit. Where swap is
        // accounted, the same figure means "no swap at all" for this group.
        const std::string memsw = path_ + "/memory.memsw.limit_in_bytes";
        if (::access(memsw.c_str(), W_OK) == 0) {
            write_file_text(memsw, std::to_string(limit_bytes));
        }
    } catch (...) {
        ::rmdir(path_.c_str());
        throw;
    }
}

MemoryCgroup::~MemoryCgroup() {
    // A process that just exited may still be charged for a moment.
    for (int i = 0; i < 100 && ::rmdir(path_.c_str()) != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

std::int64_t MemoryCgroup::peak_bytes() const {
    return std::stoll(read_file_text(path_ + "/memory.max_usage_in_bytes"));
}

std::int64_t MemoryCgroup::fail_count() const {
    return std::stoll(read_file_text(path_ + "/memory.failcnt"));
}

std::int64_t MemoryCgroup::oom_kills() const {
    std::istringstream in(read_file_text(path_ + "/memory.oom_control"));
    std::string name;
    std::int64_t value = 0;
    while (in >> name >> value) {
        if (name == "oom_kill") {
            return value;
        }
    }
    // Kernels before 4.13 have no such line; under_oom is the best there is.
    return -1;
}

Daemon::Daemon(std::vector<std::string> args, std::string cgroup) {
    start(outboxd_binary(), std::move(args), cgroup, true);
}

Daemon::Daemon(Program program, std::vector<std::string> args) {
    start(program.path, std::move(args), {}, false);
}

void Daemon::start(const std::string& bin,
                   std::vector<std::string> args,
                   const std::string& cgroup,
                   bool outboxd) {
    log_path_ =
        scratch_path(outboxd ? "outboxd" : std::filesystem::path(bin).filename().string()) + ".log";
    std::string owner_dsn;
    if (outboxd && !args.empty() && args[0] == "migrate"
        && std::getenv("OUTBOXD_POSTGRES_DSN") == nullptr) {
        try {
            owner_dsn = services().pg_dsn;
        } catch (const std::exception&) {
            // No services (a CLI test without the fixture): the config decides.
        }
    }
    const std::string procs = cgroup.empty() ? std::string() : cgroup + "/cgroup.procs";
    // Everything the child needs is built before fork(): the test process
    // has other threads (load writers, the HTTP poller), and one of them may
    // hold the allocator's lock at the fork, so a malloc in the child (a
    // vector's push_back, setenv) could wait forever. Only async-signal-safe
    // calls between fork and exec.
    std::vector<std::string> env_text;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        if (owner_dsn.empty() || std::strncmp(*e, "OUTBOXD_POSTGRES_DSN=", 21) != 0) {
            env_text.emplace_back(*e);
        }
    }
    if (!owner_dsn.empty()) {
        env_text.push_back("OUTBOXD_POSTGRES_DSN=" + owner_dsn);
    }
    // The daemon tells its HTTP port through http.port_file, not a log line.
    if (outboxd && std::getenv("OUTBOXD_HTTP_PORT_FILE") == nullptr) {
        port_file_ = log_path_ + ".port";
        env_text.push_back("OUTBOXD_HTTP_PORT_FILE=" + port_file_);
    }
    std::vector<char*> envp;
    envp.reserve(env_text.size() + 1);
    for (auto& e : env_text) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    std::vector<char*> argv;
    argv.reserve(args.size() + 2);
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
        if (!procs.empty()) {
            // Only async-signal-safe calls between fork and exec.
            char digits[24];
            int n = 0;
            for (auto p = static_cast<long>(::getpid()); p > 0; p /= 10) {
                digits[n++] = static_cast<char>('0' + p % 10);
            }
            char text[24];
            for (int i = 0; i < n; ++i) {
                text[i] = digits[n - 1 - i];
            }
            const int cg = ::open(procs.c_str(), O_WRONLY);
            if (cg < 0 || ::write(cg, text, static_cast<size_t>(n)) != n) {
                ::_exit(126); // the test sees exit code 126: not in the cgroup
            }
            ::close(cg);
        }
        const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execve(bin.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
}

Daemon::~Daemon() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        wait(std::chrono::seconds(10));
    }
}

void Daemon::signal(int sig) {
    ::kill(pid_, sig);
}

std::optional<int> Daemon::wait(std::chrono::milliseconds timeout) {
    if (exit_code_) {
        return exit_code_;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
        int st = 0;
        const pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return exit_code_;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    return std::nullopt;
}

std::optional<int> Daemon::http_port(std::chrono::milliseconds timeout) {
    // http.port_file (set for every daemon this harness starts): written
    // whole once the endpoint serves.
    const std::string path = port_file_.empty()
                                 ? std::string(std::getenv("OUTBOXD_HTTP_PORT_FILE") != nullptr
                                                   ? std::getenv("OUTBOXD_HTTP_PORT_FILE")
                                                   : "")
                                 : port_file_;
    std::optional<int> port;
    if (path.empty()) {
        return port;
    }
    eventually(
        [&] {
            std::ifstream f(path);
            int p = 0;
            if (f >> p && p > 0) {
                port = p;
                return true;
            }
            return false;
        },
        timeout);
    return port;
}

std::pair<int, std::string> http_get(int port, const std::string& path) {
    const auto r =
        http::get("127.0.0.1:" + std::to_string(port), path, std::chrono::milliseconds(5000));
    return {r.status, r.body};
}

std::optional<double> metric_sample(const std::string& body, const std::string& series) {
    std::istringstream in(body);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(series + " ", 0) == 0) {
            return std::stod(line.substr(series.size() + 1));
        }
    }
    return std::nullopt;
}

std::optional<double> metric_value(Daemon& d, const std::string& series) {
    const auto port = d.http_port(std::chrono::milliseconds(2000));
    if (!port) {
        return std::nullopt;
    }
    try {
        const auto [status, body] = http_get(*port, "/metrics");
        return status == 200 ? metric_sample(body, series) : std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

bool publishes(Daemon& d) {
    if (!d.running()) {
        return false;
    }
    const auto port = d.http_port(std::chrono::milliseconds(2000));
    if (!port) {
        return false;
    }
    try {
        return http_get(*port, "/readyz").second.find("\nrole: active publisher")
               != std::string::npos;
    } catch (const std::exception&) {
        return false;
    }
}

std::optional<double> kill_and_time_takeover(const std::vector<std::unique_ptr<Daemon>>& ds,
                                             Daemon& leader,
                                             std::chrono::milliseconds timeout,
                                             const std::function<void()>& after_kill) {
    const auto t0 = std::chrono::steady_clock::now();
    leader.signal(SIGKILL);
    leader.wait(std::chrono::seconds(10));
    if (after_kill) {
        after_kill();
    }
    const bool taken = eventually(
        [&] {
            for (const auto& d : ds) {
                if (d.get() != &leader && publishes(*d)) {
                    return true;
                }
            }
            return false;
        },
        timeout);
    if (!taken) {
        return std::nullopt;
    }
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int publishing_count(const std::vector<std::unique_ptr<Daemon>>& ds, Daemon** leader) {
    int n = 0;
    for (const auto& d : ds) {
        if (publishes(*d)) {
            ++n;
            if (leader != nullptr) {
                *leader = d.get();
            }
        }
    }
    return n;
}

std::vector<std::optional<int>> stop_each(const std::vector<std::unique_ptr<Daemon>>& ds,
                                          std::chrono::milliseconds timeout) {
    std::vector<bool> served;
    for (const auto& d : ds) {
        served.push_back(d->http_port(timeout).has_value());
        d->signal(SIGTERM);
    }
    std::vector<std::optional<int>> codes;
    for (std::size_t i = 0; i < ds.size(); ++i) {
        const auto code = ds[i]->wait(timeout);
        codes.push_back(served[i] ? code : std::nullopt);
    }
    return codes;
}

bool Daemon::running() {
    return !exit_code_ && !wait(std::chrono::milliseconds(0));
}

std::string Daemon::log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::pair<int, std::string> run_outboxd(const std::vector<std::string>& args,
                                        std::chrono::milliseconds timeout) {
    Daemon d(args);
    auto rc = d.wait(timeout);
    if (!rc) {
        d.signal(SIGKILL);
        rc = d.wait(std::chrono::seconds(5));
        return {-1, d.log()};
    }
    return {*rc, d.log()};
}

std::string script(const std::string& command_line) {
    const std::string cmd = std::string(OUTBOXD_TEST_SCRIPTS_DIR) + "/" + command_line;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        throw std::runtime_error("cannot run " + cmd);
    }
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        out.append(buf, n);
    }
    const int st = ::pclose(p);
    if (st != 0) {
        throw std::runtime_error("script failed (" + std::to_string(st) + "): " + cmd);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
        out.pop_back();
    }
    return out;
}

int count_of(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

std::string tail_of(const std::string& log) {
    return log.size() <= 4000 ? log : "..." + log.substr(log.size() - 4000);
}

std::string table_sql(const config::Postgres& table) {
    return store::qualified_table(table);
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

std::pair<int, std::string>
run_stdout(const std::vector<std::string>& args, const std::string& env_prefix, std::string* err) {
    const std::string err_path = scratch_path("stderr");
    std::string cmd = "env " + env_prefix + " " + shell_quote(outboxd_binary());
    for (const auto& a : args) {
        cmd += " " + shell_quote(a);
    }
    cmd += " 2>" + err_path;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
        throw std::runtime_error("popen failed: " + cmd);
    }
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
        out.append(buf, n);
    }
    const int st = ::pclose(p);
    std::ifstream ef(err_path);
    const std::string err_text((std::istreambuf_iterator<char>(ef)), {});
    std::remove(err_path.c_str());
    if (err != nullptr) {
        *err = err_text;
    }
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

} // namespace outboxd::testing
