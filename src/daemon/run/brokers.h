// The one place that knows which broker components exist. The daemon's
// life cycle, `check` and the housekeeper see only the broker boundary:
// publish::Publisher (through daemon::PublisherFactory), publish::BrokerAdmin
// and reconcile::Reconciler. A second broker is a second branch here.
#pragma once

#include "config/config.h"
#include "daemon/confirm_worker.h"
#include "daemon/housekeeper.h"
#include "daemon/supervisor.h"
#include "publish/broker_admin.h"
#include "reconcile/reconciler.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace outboxd::store {
class PgOutboxStore;
}

namespace outboxd::daemon {

// The audit and health-probe client. Throws when the broker library refuses
// the configuration (a start-up misconfiguration), never for an unreachable
// broker.
std::unique_ptr<publish::BrokerAdmin> make_broker_admin(const config::Config& cfg);

// What the supervisor needs of the broker for one process's life: a new
// publisher per term and the read-back before each term (G6).
struct BrokerParts {
    std::unique_ptr<daemon::PublisherFactory> publishers;
    std::unique_ptr<reconcile::Reconciler> reconciler;
};
// `source` goes into every message's outbox-source header; `progress` is
// called while a read-back waits (the main loop's liveness) and returns
// false to abandon it (a stop was asked for).
BrokerParts make_broker_parts(const config::Config& cfg,
                              store::PgOutboxStore& store,
                              const std::string& source,
                              std::function<bool()> progress);

// The housekeeper's database session (counting, retention; no LISTEN) and
// broker probe, each opened anew after a failure.
std::unique_ptr<store::HousekeepingStore> open_housekeeping_store(const config::Config& cfg);

// Consumer confirmation's clients: its own database session, the broker's
// committed offsets (Kafka) and the consumer reports (confirm.ack_topic on
// Kafka, confirm.ack_queue on RabbitMQ). Throws a misconfiguration when a
// broker library refuses the settings.
daemon::ConfirmClients make_confirm_clients(const config::Config& cfg, const std::string& source);

// The consumer group outboxd reads confirm.ack_topic with, per outbox.
std::string report_group(const std::string& source);

// The largest message (payload + key + headers) the publisher accepts: a
// larger row is parked without being produced.
std::int64_t max_message_bytes(const config::Config& cfg);

// "localhost:9092"; "127.0.0.1:5672 vhost /" (never a password).
std::string broker_address(const config::Config& cfg);

// "/etc/outboxd/topology.json: 1 exchange, 2 queues, 2 bindings" for a
// configured declare file; empty when there is none.
std::string declare_summary(const config::Config& cfg);

// "kafka localhost:9092", for the start-up line.
std::string broker_target(const config::Config& cfg);

// The broker's audit settings under their own keys.
struct AuditPolicy {
    std::vector<std::string> configured; // audited beside the pending rows' destinations
    bool require_durable = false;
    std::string require_key; // "kafka.require_durable_topics"
    std::string requirement; // what a refused start says is not met
};
AuditPolicy audit_policy(const config::Config& cfg);

} // namespace outboxd::daemon
