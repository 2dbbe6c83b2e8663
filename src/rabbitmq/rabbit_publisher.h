// Publisher on rabbitmq-c: one connection, one channel in confirm mode,
// every message persistent and `mandatory`. Confirms are read
// asynchronously (many in flight): basic.ack / basic.nack (with `multiple`)
// and basic.return frames are read by poll() and turned into delivery
// reports by delivery tag. A row is reported ok only after its basic.ack
// and no basic.return for it (a return arrives before the ack). Outcome
// classes are in docs/rabbitmq.md. The connection is re-opened by itself
// after an outage, so fatal() is never true. One thread only (the relay).
#pragma once

#include "config/config.h"
#include "publish/publisher.h"
#include "rabbitmq/connection.h"

#include <spdlog/logger.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace outboxd::rabbitmq {

using publish::DeliveryReport;
using publish::ErrorClass;
using publish::FailureReason;
using publish::Message;
using publish::ProduceResult;

// The largest body outboxd hands to RabbitMQ: the broker's own default
// max_message_size (128 MiB). A lower broker limit shows as a channel
// close (406), a counted failure of that row.
inline constexpr std::int64_t kMaxMessageBytes = std::int64_t{128} * 1024 * 1024;

// The `message_id` property of row `id`: "<source>/<id>", unique per outbox
// and row; consumers deduplicate by it.
std::string message_id(const std::string& source, std::int64_t id);

class RabbitPublisher final : public publish::Publisher {
public:
    // Throws std::invalid_argument for a URL that cannot be parsed (a
    // start-up misconfiguration); an unreachable broker is not an error
    // here: produce() reports it as transient until it answers.
    RabbitPublisher(config::RabbitMq cfg, std::string source);
    ~RabbitPublisher() override;
    RabbitPublisher(const RabbitPublisher&) = delete;
    RabbitPublisher& operator=(const RabbitPublisher&) = delete;

    ProduceResult produce(const Message& m) override;
    std::vector<DeliveryReport> poll(std::chrono::milliseconds timeout) override;
    bool fatal() const override { return false; }
    std::string fatal_reason() const override { return {}; }
    std::vector<DeliveryReport> rebuild(std::chrono::milliseconds timeout) override;
    std::vector<DeliveryReport> drain(std::chrono::milliseconds timeout) override;
    // Nothing waits locally: every produce() already wrote its frames.
    void purge_queued() override {}

    // Published and not yet confirmed.
    std::size_t outstanding() const { return pending_.size(); }

private:
    struct Pending {
        std::int64_t id = 0;
        std::string exchange;
        std::string routing_key;
        std::size_t body_bytes = 0;
        std::optional<std::string> returned; // basic.return text, if one came
    };

    bool ensure_connected();
    // Before the first message to an exchange on this connection, a passive
    // declare on the probe channel: a missing exchange then fails its own
    // rows, instead of closing the publishing channel, which drops the
    // confirms of every message in flight on it (they would go again, as
    // duplicates). nullopt: the exchange exists; else the produce result.
    std::optional<ProduceResult> check_exchange(const std::string& exchange);
    // Every unconfirmed row becomes a transient report; the connection is dropped.
    void lost(const std::string& why);
    // Reads frames until none is waiting, the first one waiting up to
    // `first_wait`. Stops early on a lost connection.
    void read_frames(Millis first_wait);
    // Handles one decoded frame; false when the connection is gone.
    bool handle_frame(const void* raw);
    void on_confirm(std::uint64_t tag, bool multiple, bool ack);
    void on_return(const void* raw);
    void on_channel_close(const void* raw);
    void report_transient(const Pending& p, const std::string& why);
    void report_row(const Pending& p, FailureReason reason, const std::string& error);

    config::RabbitMq cfg_;
    Endpoint endpoint_;
    std::string source_;
    std::shared_ptr<spdlog::logger> log_;
    Connection conn_;
    std::uint16_t channel_ = 1;
    static constexpr std::uint16_t kProbeChannel = 2;
    bool probe_open_ = false;
    std::set<std::string> known_exchanges_;    // seen to exist on this connection
    std::uint64_t next_tag_ = 1;               // delivery tag of the next publish on channel_
    std::map<std::uint64_t, Pending> pending_; // delivery tag -> row, unconfirmed
    std::vector<DeliveryReport> reports_;
    bool blocked_ = false; // connection.blocked: memory or disk alarm
    TimePoint next_connect_{};
    std::string down_reason_ = "not connected yet";
    int failed_connects_ = 0;
};

} // namespace outboxd::rabbitmq
