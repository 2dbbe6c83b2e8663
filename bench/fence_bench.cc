// What would Kafka transactions cost as a second fence (G5)? Produces the
// same 1 KB messages through the idempotent producer outboxd uses and
// through a transactional producer committing once per relay batch, against
// the local broker, and prints throughput and commit latency. Numbers only;
// see docs/benchmarks.md.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Result {
    double msgs_per_s = 0;
    double commit_p50_ms = 0;
    double commit_p99_ms = 0;
};

rd_kafka_t* make_producer(const std::string& bootstrap, const std::string& txn_id) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    auto set = [&](const char* k, const std::string& v) {
        if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            throw std::runtime_error(std::string(k) + ": " + err);
        }
    };
    set("bootstrap.servers", bootstrap);
    set("enable.idempotence", "true");
    set("acks", "all");
    set("linger.ms", "5");
    if (!txn_id.empty()) {
        set("transactional.id", txn_id);
    }
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == nullptr) {
        throw std::runtime_error(err);
    }
    return rk;
}

void check(rd_kafka_error_t* e, const char* what) {
    if (e != nullptr) {
        const std::string msg = std::string(what) + ": " + rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
        throw std::runtime_error(msg);
    }
}

Result run(const std::string& bootstrap,
           const std::string& topic,
           int messages,
           int batch,
           bool transactional) {
    rd_kafka_t* rk = make_producer(bootstrap, transactional ? "outboxd-fence-bench-" + topic : "");
    if (transactional) {
        check(rd_kafka_init_transactions(rk, 30000), "init_transactions");
    }
    const std::string payload(1024, 'x');
    std::vector<double> commits;
    const auto t0 = SteadyClock::now();
    for (int sent = 0; sent < messages; sent += batch) {
        if (transactional) {
            check(rd_kafka_begin_transaction(rk), "begin_transaction");
        }
        for (int i = 0; i < batch && sent + i < messages; ++i) {
            const std::string key = "key-" + std::to_string((sent + i) % 1000);
            while (true) {
                const auto e = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                    RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
                    RD_KAFKA_V_END);
                if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                    rd_kafka_poll(rk, 10);
                    continue;
                }
                if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
                    throw std::runtime_error(rd_kafka_err2str(e));
                }
                break;
            }
        }
        if (transactional) {
            // The relay would mark the batch's rows only after this returns.
            const auto c0 = SteadyClock::now();
            check(rd_kafka_commit_transaction(rk, 30000), "commit_transaction");
            commits.push_back(
                std::chrono::duration<double, std::milli>(SteadyClock::now() - c0).count());
        } else {
            rd_kafka_poll(rk, 0);
        }
    }
    rd_kafka_flush(rk, 60000);
    const double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    rd_kafka_destroy(rk);
    Result r;
    r.msgs_per_s = messages / secs;
    if (!commits.empty()) {
        std::sort(commits.begin(), commits.end());
        r.commit_p50_ms = commits[commits.size() / 2];
        r.commit_p99_ms = commits[std::min(commits.size() - 1, commits.size() * 99 / 100)];
    }
    return r;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"outboxd fence bench: idempotent vs transactional producer"};
    std::string bootstrap;
    std::string topic;
    int messages = 100000;
    int batch = 500;
    app.add_option("--bootstrap", bootstrap, "Kafka bootstrap servers")->required();
    app.add_option("--topic", topic, "existing topic to write to")->required();
    app.add_option("--messages", messages, "messages per mode");
    app.add_option("--batch", batch, "messages per transaction (the relay's batch_size)");
    CLI11_PARSE(app, argc, argv);
    try {
        const Result idem = run(bootstrap, topic, messages, batch, false);
        const Result txn = run(bootstrap, topic, messages, batch, true);
        std::printf("%-28s %12s %16s %16s\n", "producer", "msgs/s", "commit p50 ms",
                    "commit p99 ms");
        std::printf("%-28s %12.0f %16s %16s\n", "idempotent (outboxd today)", idem.msgs_per_s, "-",
                    "-");
        std::printf("%-28s %12.0f %16.1f %16.1f\n", "transactional, 1 txn/batch", txn.msgs_per_s,
                    txn.commit_p50_ms, txn.commit_p99_ms);
        std::printf("{\"idempotent_msgs_per_s\":%.0f,\"transactional_msgs_per_s\":%.0f,"
                    "\"commit_p50_ms\":%.2f,\"commit_p99_ms\":%.2f,\"batch\":%d}\n",
                    idem.msgs_per_s, txn.msgs_per_s, txn.commit_p50_ms, txn.commit_p99_ms, batch);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fence_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
