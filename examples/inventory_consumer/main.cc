// outboxd-inventory-consumer: the reference idempotent consumer for the
// "inventory" service (docs/consumers.md). One message at a time on the
// main thread: apply it in one PostgreSQL transaction with its inbox row,
// or report it to the ack topic if it cannot be processed; only then mark
// its offset for the next synchronous commit. RabbitMQ: rabbit_app.h.
#include "inventory_db.h"
#include "kafka_clients.h"
#include "log.h"
#include "options.h"
#include "order.h"
#include "rabbit_app.h"
#include "run_support.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace {

using inventory::Backoff;
using inventory::Clock;
using inventory::Counts;
using inventory::Outcome;
using inventory::sleep_unless_stopping;
using inventory::Stop;
using inventory::stopping;
using inventory::with_db_retry;
using std::chrono::milliseconds;

class App {
public:
    App(const inventory::Options& o, inventory::InventoryDb& db)
        : o_(o)
        , db_(db)
        , consumer_(o)
        , reporter_(o) {}

    int run();

private:
    Outcome process(const rd_kafka_message_t& m);
    Outcome report(const rd_kafka_message_t& m,
                   const std::optional<std::string>& source,
                   const std::optional<std::string>& id,
                   const std::string& reason);

    const inventory::Options& o_;
    inventory::InventoryDb& db_;
    inventory::OrderConsumer consumer_;
    inventory::FailureReporter reporter_;
    Counts counts_;
};

Outcome App::process(const rd_kafka_message_t& m) {
    const auto source = inventory::header(m, "outbox-source");
    const auto id = inventory::header(m, "outbox-id");
    const auto ref = inventory::parse_ref(source, id);
    if (!ref.ref) {
        return report(m, source, id, ref.problem);
    }
    const auto order = inventory::parse_order(
        m.payload == nullptr ? std::string_view()
                             : std::string_view(static_cast<const char*>(m.payload), m.len));
    if (!order.order) {
        return report(m, source, id, order.problem);
    }
    inventory::Applied applied = inventory::Applied::kApplied;
    if (!with_db_retry("applying an order", [&] { applied = db_.apply(*ref.ref, *order.order); })) {
        return Outcome::kInterrupted; // not applied, or applied and not committed: the inbox knows
    }
    if (applied == inventory::Applied::kApplied) {
        ++counts_.applied;
    } else {
        ++counts_.duplicates;
        inventory::log::info("consumer")
            << "duplicate: " << inventory::where(m) << " outbox-source=" << ref.ref->source
            << " outbox-id=" << ref.ref->id << ": applied before, skipped";
    }
    return Outcome::kDone;
}

Outcome App::report(const rd_kafka_message_t& m,
                    const std::optional<std::string>& source,
                    const std::optional<std::string>& id,
                    const std::string& reason) {
    Backoff backoff;
    for (;;) {
        const auto r = reporter_.send({source, id, reason}, stopping);
        if (r.delivered) {
            break;
        }
        if (r.stopped) {
            return Outcome::kInterrupted; // offset not committed: reported again next run
        }
        if (r.permanent) {
            throw Stop("cannot report the failure of " + inventory::where(m) + " to " + o_.ack_topic
                       + ": " + r.error
                       + " (not an outage, not retried; the message stays uncommitted)");
        }
        const auto wait = backoff.next();
        inventory::log::warn("kafka")
            << "failure report for " << inventory::where(m) << " not delivered: " << r.error
            << "; retrying in " << wait.count() << " ms";
        sleep_unless_stopping(wait);
        if (stopping()) {
            return Outcome::kInterrupted;
        }
    }
    ++counts_.failed;
    inventory::log::warn("consumer")
        << "failed: " << inventory::where(m) << " outbox-source=" << source.value_or("<none>")
        << " outbox-id=" << id.value_or("<none>") << ": " << reason << " (reported to "
        << o_.ack_topic << ", skipped)";
    return Outcome::kDone;
}

int App::run() {
    consumer_.subscribe();
    auto last_summary = Clock::now();
    auto last_commit = Clock::now();
    int code = 0;
    try {
        while (!stopping()) {
            if (!consumer_.fatal_error().empty()) {
                throw Stop("fatal Kafka error: " + consumer_.fatal_error());
            }
            if (o_.summary_interval_ms > 0
                && Clock::now() - last_summary >= milliseconds(o_.summary_interval_ms)) {
                inventory::log::info("consumer") << "summary: " << inventory::summary(counts_);
                last_summary = Clock::now();
            }
            // Offsets wait at most a second for a batch to fill: outboxd
            // confirms a row (status 3) only once the group's committed
            // offset is past it.
            if (consumer_.uncommitted() > 0 && Clock::now() - last_commit >= milliseconds(1000)) {
                consumer_.commit();
                last_commit = Clock::now();
            }
            auto m = consumer_.poll(500);
            if (!m) {
                continue;
            }
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                continue;
            }
            if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                // A subscribed topic missing, a broker-side fetch error:
                // librdkafka keeps trying; say so.
                inventory::log::warn("kafka") << "consumer: " << inventory::where(*m) << ": "
                                              << rd_kafka_message_errstr(m.get());
                continue;
            }
            if (process(*m) == Outcome::kInterrupted) {
                break;
            }
            // Only now: the transaction committed, or the report was
            // delivered. A crash before this line redelivers the message.
            consumer_.done(*m);
            if (consumer_.uncommitted() >= o_.commit_every) {
                consumer_.commit();
                last_commit = Clock::now();
            }
        }
    } catch (const Stop& e) {
        inventory::log::error("consumer") << "stopping: " << e.what();
        code = 1;
    } catch (const inventory::DbFailure& e) {
        inventory::log::error("consumer")
            << "stopping: database error: " << e.what() << ": not an outage, not retried";
        code = 1;
    }
    // The current message is finished (or left uncommitted); commit what
    // is done and leave the group.
    consumer_.close();
    inventory::log::info("consumer") << "stopped: " << inventory::summary(counts_);
    return code;
}

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    std::vector<std::string> args(argv + 1, argv + argc);
    const auto parsed = inventory::parse_options(args, [](const char* name) {
        const char* v = std::getenv(name);
        return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
    });
    if (parsed.options.help) {
        std::fputs(inventory::usage().c_str(), stdout);
        return parsed.problems.empty() ? 0 : 2;
    }
    if (!parsed.problems.empty()) {
        for (const auto& p : parsed.problems) {
            std::fprintf(stderr, "outboxd-inventory-consumer: %s\n", p.c_str());
        }
        std::fprintf(stderr, "outboxd-inventory-consumer: try --help\n");
        return 2;
    }
    const inventory::Options& o = parsed.options;

    inventory::install_stop_handlers();

    inventory::InventoryDb db(o.dsn, o.schema);
    try {
        if (o.migrate_only) {
            if (with_db_retry("creating the tables", [&] { db.migrate(); })) {
                inventory::log::info("db")
                    << "tables ready: " << db.inbox_table() << ", " << db.inventory_table();
            }
            return 0;
        }
        if (o.broker == inventory::Broker::kRabbitmq) {
            const bool ready =
                o.no_migrate ? with_db_retry("checking the tables", [&] { db.check_tables(); })
                             : with_db_retry("creating the tables", [&] { db.migrate(); });
            return ready ? inventory::run_rabbitmq(o, db) : 0;
        }
        // Kafka clients first: a bad -X property is a bad argument (exit 2)
        // and should not wait for the database.
        std::optional<App> app;
        try {
            app.emplace(o, db);
        } catch (const inventory::KafkaConfError& e) {
            std::fprintf(stderr, "outboxd-inventory-consumer: %s\n", e.what());
            return 2;
        }
        const bool ready = o.no_migrate
                               ? with_db_retry("checking the tables", [&] { db.check_tables(); })
                               : with_db_retry("creating the tables", [&] { db.migrate(); });
        if (!ready) {
            return 0; // stopped while waiting for the database
        }
        std::string topics;
        for (const auto& t : o.topics) {
            topics += (topics.empty() ? "" : ",") + t;
        }
        inventory::log::info("consumer")
            << "starting: group=" << o.group << " topics=" << topics << " ack-topic=" << o.ack_topic
            << " inbox=" << db.inbox_table() << " commit-every=" << o.commit_every
            << (o.instance_id.empty() ? "" : " instance-id=" + o.instance_id);
        return app->run();
    } catch (const inventory::DbFailure& e) {
        inventory::log::error("consumer")
            << "stopping: database error: " << e.what() << ": not an outage, not retried";
        return 1;
    } catch (const std::exception& e) {
        inventory::log::error("consumer") << "stopping: " << e.what();
        return 1;
    }
}
