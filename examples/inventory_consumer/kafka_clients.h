// Kafka for the inventory consumer (librdkafka C API): the group consumer,
// which commits only offsets the application marked done, and the producer
// of failure reports, which waits for each report's acks=all delivery.
// Main thread only; their callbacks run inside poll() on that thread.
#pragma once

#include "options.h"

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace inventory {

// A property librdkafka refuses (name or value): a bad argument, exit 2.
struct KafkaConfError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct MessageDeleter {
    void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

// The last value of header `name`, nullopt when absent.
std::optional<std::string> header(const rd_kafka_message_t& m, const char* name);

// "topic[partition]@offset", for log lines.
std::string where(const rd_kafka_message_t& m);

class OrderConsumer {
public:
    // enable.auto.commit=false, enable.auto.offset.store=false,
    // auto.offset.reset=earliest, isolation.level=read_committed.
    explicit OrderConsumer(const Options& o);
    ~OrderConsumer();
    OrderConsumer(const OrderConsumer&) = delete;
    OrderConsumer& operator=(const OrderConsumer&) = delete;

    void subscribe(); // throws std::runtime_error
    MessagePtr poll(int timeout_ms);

    // The application finished `m` (its transaction committed, or its
    // failure report was delivered): its offset + 1 may now be committed.
    void done(const rd_kafka_message_t& m);
    // Messages done since the last successful commit.
    int uncommitted() const { return uncommitted_; }
    // Commits every partition's done offset, synchronously. On failure the
    // offsets stay recorded for the next commit (a rebalance drops those of
    // the partitions it takes away); false is returned and logged.
    bool commit();
    // Commits what is done, then leaves the group (rd_kafka_consumer_close).
    void close();

    // Non-empty after a fatal error (the instance id fenced by another
    // process with the same --instance-id): the consumer cannot go on.
    const std::string& fatal_error() const { return fatal_; }

private:
    static void on_rebalance(rd_kafka_t* rk,
                             rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* partitions,
                             void* opaque) noexcept;
    static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept;
    void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);

    rd_kafka_t* rk_ = nullptr;
    std::vector<std::string> topics_;
    // (topic, partition) -> the offset to resume from: last done + 1.
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> done_;
    int uncommitted_ = 0;
    std::string fatal_;
    bool closed_ = false;
};

// A message that could not be processed, reported so outboxd can mark its
// row 4 (consumer failed). Header values are copied from the message as
// they came; an absent one is left out.
struct FailureReport {
    std::optional<std::string> source; // outbox-source
    std::optional<std::string> id;     // outbox-id
    std::string reason;                // the message body
};

struct ReportOutcome {
    bool delivered = false;
    bool stopped = false;   // `stop` said so before a delivery report came
    bool permanent = false; // the broker refuses it (unknown topic, not authorised, too large)
    std::string error;
};

class FailureReporter {
public:
    // acks=all, enable.idempotence=true; message.timeout.ms 30000 unless
    // set, so a report stuck in an outage surfaces as a retry every 30 s.
    FailureReporter(const Options& o);
    ~FailureReporter();
    FailureReporter(const FailureReporter&) = delete;
    FailureReporter& operator=(const FailureReporter&) = delete;

    // Produces the report (headers outbox-source, outbox-id,
    // outbox-consumer = the group id, outbox-result = failed) and waits for
    // its delivery report, or until `stop()` is true.
    ReportOutcome send(const FailureReport& r, const std::function<bool()>& stop);

private:
    struct Delivery {
        bool done = false;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    };
    static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) noexcept;
    void create();
    void destroy();

    Options options_;
    rd_kafka_t* rk_ = nullptr;
    // Written by on_delivery (inside rd_kafka_poll on this thread); outlives
    // the producer, whose destruction may still report into it.
    Delivery delivery_;
};

} // namespace inventory
