// Error classes pinned against librdkafka's mock cluster (in-process, no real
// broker): each broker error the relay can see is injected into Produce
// responses, and the test checks what the relay makes of it. Transient
// errors never touch `attempts`; row-level ones count; a fatal error
// rebuilds the producer. The real-broker tests prove the same end to end.
#include "../unit/fakes.h"
#include "kafka/admin_client.h"
#include "kafka/error_class.h"
#include "kafka/kafka_publisher.h"
#include "kafka/tail_reader.h"
#include "relay/relay.h"

#include <catch2/catch.hpp>
#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <thread>

#include <poll.h>

using namespace outboxd;
using outboxd::publish::ErrorClass;

namespace {

constexpr int kProduceApiKey = 0;

struct MockRig {
    ManualClock clock;
    test::FakeStore store{clock};
    test::FixedRandom random;
    std::unique_ptr<kafka::KafkaPublisher> pub;
    std::unique_ptr<relay::Relay> relay;
    rd_kafka_mock_cluster_t* mc = nullptr;

    MockRig() {
        config::Kafka k;
        k.bootstrap_servers = "unused:9092"; // replaced by the mock cluster
        k.properties["test.mock.num.brokers"] = "3";
        k.properties["linger.ms"] = "0";
        k.properties["retry.backoff.ms"] = "10";
        pub = std::make_unique<kafka::KafkaPublisher>(k, "db/public.outbox");
        mc = rd_kafka_handle_mock_cluster(pub->handle());
        REQUIRE(mc != nullptr);
        REQUIRE(rd_kafka_mock_topic_create(mc, "t", 1, 3) == RD_KAFKA_RESP_ERR_NO_ERROR);
        REQUIRE(rd_kafka_mock_topic_create(mc, "t2", 1, 3) == RD_KAFKA_RESP_ERR_NO_ERROR);
        relay::RelayOptions o;
        o.retry.max_attempts = 5;
        relay = std::make_unique<relay::Relay>(o, store, *pub, clock, random);
    }

    // Steps the relay (real time passes inside the producer's poll) until
    // `pred` holds or 20 s pass.
    template <typename P>
    bool run_until(P pred) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (std::chrono::steady_clock::now() < deadline) {
            relay->step();
            if (pred()) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return pred();
    }
};

} // namespace

TEST_CASE("classification table", "[mock][errors]") {
    CHECK(kafka::classify(RD_KAFKA_RESP_ERR__FATAL) == ErrorClass::kFatal);
    for (auto e :
         {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_RECORD,
          RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, RD_KAFKA_RESP_ERR_POLICY_VIOLATION,
          RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED}) {
        INFO(rd_kafka_err2name(e));
        CHECK(kafka::classify(e) == ErrorClass::kRow);
    }
    for (auto e :
         {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
          RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
          RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
          RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__TRANSPORT,
          RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
          RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART}) {
        INFO(rd_kafka_err2name(e));
        CHECK(kafka::classify(e) == ErrorClass::kTransient);
    }
}

TEST_CASE("broker errors librdkafka retries never count an attempt", "[mock][errors]") {
    const rd_kafka_resp_err_t transient[] = {
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,  RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
    };
    for (auto err : transient) {
        INFO(rd_kafka_err2name(err));
        MockRig rig;
        // Three failed Produce requests in a row, then the broker accepts.
        rd_kafka_mock_push_request_errors(rig.mc, kProduceApiKey, 3, err, err, err);
        auto id = rig.store.insert("k");
        REQUIRE(rig.run_until([&] { return rig.store.status(id) == 1; }));
        CHECK(rig.store.row(id).attempts == 0);
        CHECK(rig.relay->stats().failed_attempts == 0);
    }
}

TEST_CASE("row-level broker errors count one attempt and keep the producer", "[mock][errors]") {
    const rd_kafka_resp_err_t row_level[] = {
        RD_KAFKA_RESP_ERR_INVALID_RECORD,
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
        RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
        RD_KAFKA_RESP_ERR_POLICY_VIOLATION,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
    };
    for (auto err : row_level) {
        INFO(rd_kafka_err2name(err));
        MockRig rig;
        rd_kafka_mock_push_request_errors(rig.mc, kProduceApiKey, 1, err);
        auto bad = rig.store.insert("k");
        REQUIRE(rig.run_until([&] { return rig.store.row(bad).attempts == 1; }));
        CHECK(rig.store.status(bad) == 0);
        CHECK(rig.store.row(bad).last_error.find(rd_kafka_err2name(err)) != std::string::npos);
        CHECK_FALSE(rig.pub->fatal());
        // The producer still works for other rows. (Another topic: after
        // TOPIC_AUTHORIZATION_FAILED librdkafka refuses the same topic until
        // its next metadata refresh, as docs/design.md §6 records.)
        auto good = rig.store.insert("other", "t2");
        REQUIRE(rig.run_until([&] { return rig.store.status(good) == 1; }));
    }
}

TEST_CASE("a fatal producer error rebuilds the producer; no attempt is counted", "[mock][errors]") {
    MockRig rig;
    auto first = rig.store.insert("k");
    REQUIRE(rig.run_until([&] { return rig.store.status(first) == 1; }));
    rig.pub->inject_fatal_for_test("injected OUT_OF_ORDER_SEQUENCE_NUMBER");
    auto second = rig.store.insert("k");
    REQUIRE(rig.run_until([&] { return rig.relay->stats().producer_rebuilds == 1; }));
    CHECK_FALSE(rig.pub->fatal());
    // The relay waits for its owner's read-back before producing again (the
    // supervisor's job, proven in supervisor_test and it_producer_fatal).
    CHECK(rig.relay->awaiting_read_back());
    rig.relay->read_back_done();
    // The rebuilt producer talks to a new mock cluster of its own; create
    // the topic there, then the row still at 0 goes out.
    rig.mc = rd_kafka_handle_mock_cluster(rig.pub->handle());
    REQUIRE(rig.mc != nullptr);
    rd_kafka_mock_topic_create(rig.mc, "t", 1, 3);
    REQUIRE(rig.run_until([&] { return rig.store.status(second) == 1; }));
    CHECK(rig.store.row(second).attempts == 0);
}

TEST_CASE("the producer's queue limit follows the in-flight byte budget", "[mock][memory]") {
    config::Kafka k;
    k.bootstrap_servers = "unused:9092";
    // Budget plus one message of message.max.bytes (librdkafka's default
    // 1000000), in KiB, rounded up.
    CHECK(kafka::with_queue_limit(k, 32 * 1024 * 1024).properties.at("queue.buffering.max.kbytes")
          == std::to_string((32 * 1024 * 1024 + 1000000) / 1024 + 1));
    k.properties["message.max.bytes"] = "2097152";
    CHECK(kafka::with_queue_limit(k, 1024 * 1024).properties.at("queue.buffering.max.kbytes")
          == std::to_string((1024 * 1024 + 2097152) / 1024 + 1));
    k.properties["queue.buffering.max.kbytes"] = "777"; // the operator's own value wins
    CHECK(kafka::with_queue_limit(k, 1024 * 1024).properties.at("queue.buffering.max.kbytes")
          == "777");
}

TEST_CASE("with the derived queue limit a row larger than the byte budgets is sent, not stuck",
          "[mock][memory]") {
    ManualClock clock;
    test::FakeStore store{clock};
    test::FixedRandom random;
    config::Kafka k;
    k.bootstrap_servers = "unused:9092";
    k.properties["test.mock.num.brokers"] = "1";
    k.properties["linger.ms"] = "0";
    relay::RelayOptions o;
    o.max_batch_bytes = 64 * 1024;
    o.max_in_flight_bytes = 128 * 1024;
    kafka::KafkaPublisher pub(kafka::with_queue_limit(k, 128 * 1024), "db/public.outbox");
    auto* mc = rd_kafka_handle_mock_cluster(pub.handle());
    REQUIRE(mc != nullptr);
    REQUIRE(rd_kafka_mock_topic_create(mc, "t", 1, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
    relay::Relay relay(o, store, pub, clock, random);
    std::vector<std::int64_t> ids;
    for (std::size_t size : {1000u, 900000u, 1000u, 300000u, 1000u}) {
        ids.push_back(store.insert("k"));
        store.row(ids.back()).payload = std::string(size, 'x');
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (relay.stats().sent < ids.size() && std::chrono::steady_clock::now() < deadline) {
        relay.step();
        CHECK(relay.in_flight_bytes() < 128 * 1024 + 900000 + 1);
    }
    CHECK(relay.stats().sent == ids.size());
    CHECK(relay.stats().transient_errors == 0); // never refused for a full queue
    for (auto id : ids) {
        CHECK(store.status(id) == 1);
        CHECK(store.row(id).attempts == 0);
    }
}

TEST_CASE("every librdkafka client refuses a property it cannot take, naming it",
          "[mock][errors]") {
    outboxd::config::Kafka cfg;
    cfg.bootstrap_servers = "127.0.0.1:9";
    cfg.properties["socket.timeout.ms"] = "not-a-number";
    // The read-back's consumer: once, the error was ignored there.
    const auto tail = outboxd::kafka::read_tail(cfg, {"t"}, 0, "src", std::chrono::seconds(1), {});
    CHECK_FALSE(tail.status.ok());
    CHECK_THAT(tail.status.error(), Catch::StartsWith("kafka.properties.socket.timeout.ms: "));
    CHECK_THROWS_WITH(outboxd::kafka::AdminClient(cfg),
                      Catch::StartsWith("kafka.properties.socket.timeout.ms: "));
    CHECK_THROWS_WITH(outboxd::kafka::KafkaPublisher(cfg),
                      Catch::StartsWith("kafka.properties.socket.timeout.ms: "));
}

namespace {

bool readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
}

} // namespace

TEST_CASE("the producer's wake-up fd turns readable when a report waits, across a rebuild",
          "[mock][wakeup]") {
    MockRig rig;
    auto& pub = *rig.pub;
    const int fd = pub.wakeup_fd();
    REQUIRE(fd >= 0);
    CHECK_FALSE(readable(fd, 0));
    const auto produce = [&](std::int64_t id) {
        publish::Message m;
        m.id = id;
        m.topic = "t";
        m.payload = std::string_view("x");
        REQUIRE(pub.produce(m).accepted);
    };
    const auto reports_for = [&](std::int64_t id) {
        // Waits only on the fd: poll() is called once it says there is work.
        std::vector<publish::DeliveryReport> got;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (got.empty() && std::chrono::steady_clock::now() < deadline) {
            if (readable(pub.wakeup_fd(), 100)) {
                got = pub.poll(std::chrono::milliseconds(0));
            }
        }
        REQUIRE(got.size() == 1);
        CHECK(got[0].id == id);
        CHECK(got[0].ok);
    };
    produce(1);
    reports_for(1);
    // Served: asking again re-arms it, and nothing is waiting.
    CHECK_FALSE(readable(pub.wakeup_fd(), 50));
    produce(2);
    reports_for(2);
    // A report left unserved keeps it readable, though librdkafka wrote
    // only once: wakeup_fd() signals it again.
    produce(3);
    REQUIRE(readable(pub.wakeup_fd(), 10000));
    CHECK(readable(pub.wakeup_fd(), 0));
    CHECK(readable(pub.wakeup_fd(), 0));
    CHECK(pub.poll(std::chrono::milliseconds(0)).size() == 1);
    CHECK_FALSE(readable(pub.wakeup_fd(), 50));
    // The rebuilt producer signals on the same fd.
    pub.rebuild(std::chrono::milliseconds(1000));
    rig.mc = rd_kafka_handle_mock_cluster(pub.handle());
    REQUIRE(rig.mc != nullptr);
    rd_kafka_mock_topic_create(rig.mc, "t", 1, 3);
    CHECK(pub.wakeup_fd() == fd);
    produce(4);
    reports_for(4);
}
