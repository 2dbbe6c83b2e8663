#include "publish_ceiling.h"

#include "common.h"
#include "destinations.h"
#include "kafka/kafka_publisher.h"
#include "rabbitmq/rabbit_publisher.h"
#include "services.h"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace outboxd::bench {
namespace {

std::unique_ptr<publish::Publisher> make_publisher(const Options& opt) {
    if (rabbit(opt)) {
        config::RabbitMq cfg;
        cfg.url = ot::services().rabbitmq_url;
        return std::make_unique<rabbitmq::RabbitPublisher>(cfg, "bench");
    }
    config::Kafka cfg;
    cfg.bootstrap_servers = ot::services().kafka_bootstrap;
    if (opt.max_message_bytes > 0) {
        cfg.properties["message.max.bytes"] = std::to_string(opt.max_message_bytes);
    }
    return std::make_unique<kafka::KafkaPublisher>(cfg, "bench");
}

// Messages of the rows' size and keys, handed to the publisher by id.
class Feeder {
public:
    Feeder(const Options& opt, publish::Publisher& publisher, std::string topic)
        : publisher_(publisher)
        , topic_(std::move(topic))
        , payload_(static_cast<std::size_t>(opt.payload_bytes), '\0') {
        keys_.reserve(static_cast<std::size_t>(opt.keys));
        for (int k = 0; k < opt.keys; ++k) {
            keys_.push_back("key-" + std::to_string(k));
        }
        for (std::size_t i = 0; i < payload_.size(); ++i) {
            payload_[i] = static_cast<char>((i * 131 + 7) & 0xff);
        }
    }

    void deliver(std::int64_t id) {
        publish::Message m;
        m.id = id;
        m.topic = topic_;
        m.key = std::string_view(keys_[static_cast<std::size_t>(id) % keys_.size()]);
        m.payload = std::string_view(payload_);
        for (int attempt = 0;; ++attempt) {
            const auto res = publisher_.produce(m);
            if (res.accepted) {
                return;
            }
            if (res.error_class != publish::ErrorClass::kTransient || attempt > 100) {
                throw std::runtime_error("publish ceiling: produce failed: " + res.error);
            }
            publisher_.poll(std::chrono::milliseconds(10));
        }
    }

    // The reports of one poll, every one of which must be a confirmation.
    std::int64_t confirmed(std::chrono::milliseconds timeout) {
        std::int64_t ok = 0;
        for (const auto& r : publisher_.poll(timeout)) {
            if (!r.ok) {
                throw std::runtime_error("publish ceiling: row " + std::to_string(r.id)
                                         + " not confirmed: " + r.error);
            }
            ++ok;
        }
        return ok;
    }

private:
    publish::Publisher& publisher_;
    std::string topic_;
    std::vector<std::string> keys_;
    std::string payload_;
};

} // namespace

PublishCeilingResult run_publish_ceiling(const Options& opt) {
    const std::string topic = make_destination(opt, "bench-pub", message_size_configs(opt));
    auto publisher = make_publisher(opt);
    const std::size_t max_in_flight = static_cast<std::size_t>(config::Relay{}.max_in_flight);
    Feeder feeder(opt, *publisher, topic);
    // One message first, outside the clock: metadata and connections.
    feeder.deliver(0);
    for (std::int64_t got = 0; got < 1;) {
        got += feeder.confirmed(std::chrono::milliseconds(100));
    }
    progress("publish ceiling (" + opt.broker + "): " + std::to_string(opt.rows) + " messages");
    const auto start = Clock::now();
    std::int64_t sent = 0;
    std::int64_t confirmed = 0;
    const auto deadline = start + std::chrono::seconds(std::max<std::int64_t>(120, opt.rows / 500));
    while (confirmed < opt.rows) {
        if (Clock::now() > deadline) {
            throw std::runtime_error("publish ceiling: " + std::to_string(opt.rows - confirmed)
                                     + " messages unconfirmed at the deadline");
        }
        while (sent < opt.rows && static_cast<std::size_t>(sent - confirmed) < max_in_flight) {
            feeder.deliver(++sent);
        }
        const bool full =
            sent == opt.rows || static_cast<std::size_t>(sent - confirmed) >= max_in_flight;
        confirmed += feeder.confirmed(std::chrono::milliseconds(full ? 100 : 0));
    }
    PublishCeilingResult r;
    r.total_s = Seconds(Clock::now() - start).count();
    r.rows_per_s = static_cast<double>(opt.rows) / r.total_s;
    progress("publish ceiling (" + opt.broker + "): " + grouped(r.rows_per_s) + " messages/s");
    publisher.reset();
    drop_destination(opt, topic, opt.rows + 1);
    return r;
}

} // namespace outboxd::bench
