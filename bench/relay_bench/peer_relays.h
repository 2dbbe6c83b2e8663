// The relays of the side-by-side run (peers.h): outboxd, Kafka Connect
// standalone running Debezium's PostgreSQL connector with the outbox
// EventRouter (--peer-debezium-libs), and outboxx (--peer-outboxx-bin).
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

// One relay under comparison: outboxd, Kafka Connect standalone running
// Debezium's PostgreSQL connector with the outbox EventRouter, or outboxx.
class PeerRelay {
public:
    virtual ~PeerRelay() = default;
    virtual void start() = 0;
    virtual int pid() const = 0;
    virtual std::string log() const = 0;
    virtual void stop() = 0;
    // Whether it reads the WAL through a logical slot (needs wal_level=logical).
    virtual bool reads_wal() const { return true; }
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
    bool reads_wal() const override { return false; }

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

// outboxx (bench/peers/all.sh builds it from /work/shared/peers/outboxx or
// OUTBOXX_SRC): a Zig relay reading the WAL through a logical slot
// (pgoutput), sending each inserted row to one Kafka topic as JSON (a bytea
// as "\x" then hex, no headers; the row's id is the value's data.id). The
// publication and the slot are made here, before the backlog, so the backlog
// is in its stream as it is in Debezium's; outboxx finds the slot and uses
// it. Dropped, with the publication, by the destructor.
class OutboxxPeer final : public PeerRelay {
public:
    OutboxxPeer(const config::Postgres& t,
                std::string bin,
                const std::string& name,
                const std::string& topic);
    ~OutboxxPeer() override;
    OutboxxPeer(const OutboxxPeer&) = delete;
    OutboxxPeer& operator=(const OutboxxPeer&) = delete;
    void start() override;
    int pid() const override { return proc_->pid(); }
    // Its log file: outboxx writes to the start of a file opened with `>`,
    // so it is started with `>>` and read from there.
    std::string log() const override;
    void stop() override;

private:
    void write_config(const config::Postgres& t, const std::string& topic) const;

    std::string bin_;
    std::string dir_;
    std::string slot_;
    std::string publication_;
    std::unique_ptr<ot::Daemon> proc_;
};

} // namespace outboxd::bench
