// outboxd against a 3-node RabbitMQ cluster (tests/scripts/rabbitmq.sh
// start DIR --nodes 3): a quorum queue replicated on all three nodes, the
// node leading it killed with kill -9 while rows flow through another node.
// A confirm from a quorum queue means a majority has the message, so every
// row outboxd marked sent must still be in the queue afterwards.
#include "amqp_client.h"
#include "services.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <sstream>
#include <thread>
#include <vector>

using namespace outboxd::testing;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            out.push_back(line);
        }
    }
    return out;
}

// The cluster lives for one test: started here, stopped on the way out
// (also when a REQUIRE fails), so three nodes' memory is not kept.
class Cluster {
public:
    explicit Cluster(std::string dir)
        : dir_(std::move(dir)) {
        urls_ = lines(script("rabbitmq.sh start " + dir_ + " --nodes 3"));
    }
    ~Cluster() {
        try {
            script("rabbitmq.sh stop " + dir_);
        } catch (const std::exception& e) {
            WARN("stopping the RabbitMQ cluster: " << e.what());
        }
    }
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    const std::vector<std::string>& urls() const { return urls_; }
    // DIR/node-N of the queue's leader.
    std::string leader(const std::string& queue) const {
        const auto l = lines(script("rabbitmq.sh leader " + dir_ + " " + queue));
        REQUIRE(l.size() == 1);
        return l[0];
    }
    std::string node_dir(std::size_t i) const { return dir_ + "/node-" + std::to_string(i + 1); }

private:
    std::string dir_;
    std::vector<std::string> urls_;
};

} // namespace

TEST_CASE("rabbitmq 3-node cluster: the quorum queue's leader node killed mid-stream, no "
          "confirmed message lost",
          "[integration][rabbitmq-cluster]") {
    const auto& s = services();
    Cluster cluster(s.dir + "/rabbitmq-cluster");
    REQUIRE(cluster.urls().size() == 3);
    const auto name = unique_name("rmq_cluster");
    auto table = make_table(s.pg_dsn, name);
    {
        // Declared through node 1: the queue's leader starts there.
        AmqpClient amqp(cluster.urls()[0]);
        amqp.exchange(name);
        amqp.quorum_queue(name);
        for (int k = 0; k < 10; ++k) {
            amqp.bind(name, name, "key-" + std::to_string(k));
        }
    }
    const std::string leader = cluster.leader(name);
    // outboxd publishes through a node that is not the leader, so the kill
    // tests the queue, not outboxd's reconnect.
    std::size_t via = 0;
    while (cluster.node_dir(via) == leader) {
        ++via;
    }
    DaemonConfig cfg = daemon_config(table);
    cfg.extra_yaml = "broker: rabbitmq\nrabbitmq:\n  url: \"" + cluster.urls()[via] + "\"\n";
    RowInserter load(table, name, 1000000, 20);
    Daemon d({"run", "--config", write_config(cfg)});
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] >= 1000; }, 60s));

    const int sent_at_kill = status_counts(s.pg_dsn, table)[1];
    const auto t0 = std::chrono::steady_clock::now();
    script("rabbitmq.sh kill " + leader);
    // Rows keep being confirmed once the two remaining nodes elect a leader.
    REQUIRE(
        eventually([&] { return status_counts(s.pg_dsn, table)[1] >= sent_at_kill + 500; }, 60s));
    const double resumed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::this_thread::sleep_for(2s); // and a while longer on two nodes
    const int total = load.stop();
    REQUIRE(eventually([&] { return status_counts(s.pg_dsn, table)[1] == total; }, 120s));
    d.signal(SIGTERM);
    REQUIRE(d.wait(30s) == 0);

    const std::string new_leader = cluster.leader(name);
    CHECK(new_leader != leader);
    AmqpClient amqp(cluster.urls()[via]);
    const auto t = tally_queue(amqp.drain(name), s.pg_dsn, table);
    WARN("rabbitmq cluster: leader " << leader << " killed after " << sent_at_kill
                                     << " rows confirmed; 500 more confirmed " << resumed_ms
                                     << " ms after the kill; rows=" << t.rows << " lost=" << t.lost
                                     << " duplicates=" << t.duplicates);
    CHECK(t.rows == total);
    CHECK(t.lost == 0); // every row at 1 is in the queue, once or more
    CHECK(t.not_sent == 0);
    for (const auto& st : row_states(s.pg_dsn, table)) {
        CHECK(st.second.attempts == 0); // a leader election is never a counted failure
    }
}
