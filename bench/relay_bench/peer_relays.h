// The relays of the side-by-side run (--peer-debezium-libs): outboxd, and
// Kafka Connect standalone running Debezium's PostgreSQL connector with the
// outbox EventRouter.
#pragma once

#include "config/config.h"
#include "daemon_run.h"
#include "options.h"
#include "services.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace outboxd::bench {

// One relay under comparison: outboxd, or Kafka Connect standalone running
// Debezium's PostgreSQL connector with the outbox EventRouter.
class PeerRelay {
public:
    virtual ~PeerRelay() = default;
    virtual void start() = 0;
    virtual int pid() const = 0;
    virtual std::string log() const = 0;
    virtual void stop() = 0;
};

class OutboxdPeer final : public PeerRelay {
public:
    OutboxdPeer(config::Postgres t, const Options& opt)
        : t_(std::move(t))
        , opt_(opt) {}
    void start() override {
        run_ = std::make_unique<DaemonRun>(t_, opt_.batch_size, opt_.max_message_bytes);
    }
    int pid() const override { return run_->pid(); }
    std::string log() const override { return run_->log(); }
    void stop() override { run_->stop(); }

private:
    config::Postgres t_;
    const Options& opt_;
    std::unique_ptr<DaemonRun> run_;
};

class DebeziumPeer final : public PeerRelay {
public:
    DebeziumPeer(const config::Postgres& t,
                 std::string libs,
                 const std::string& name,
                 const std::vector<std::string>& extra);
    ~DebeziumPeer() override;
    DebeziumPeer(const DebeziumPeer&) = delete;
    DebeziumPeer& operator=(const DebeziumPeer&) = delete;
    void start() override;
    int pid() const override { return java_->pid(); }
    std::string log() const override { return java_->log(); }
    void stop() override;

private:
    void write_worker_properties() const;
    void write_connector_properties(const config::Postgres& t,
                                    const std::vector<std::string>& extra) const;

    std::string libs_;
    std::string dir_;
    std::string slot_;
    std::string publication_;
    std::unique_ptr<ot::Daemon> java_;
};

} // namespace outboxd::bench
