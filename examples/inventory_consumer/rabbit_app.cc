#include "rabbit_app.h"

#include "amqp_clients.h"
#include "log.h"
#include "order.h"
#include "run_support.h"

#include <optional>

namespace inventory {
namespace {

class RabbitApp {
public:
    RabbitApp(const Options& o, const AmqpEndpoint& ep, InventoryDb& db)
        : o_(o)
        , ep_(ep)
        , db_(db) {}

    int run();

private:
    // One connection's life: returns on a stop signal, throws AmqpLost
    // when the broker goes away.
    void session(OrderQueue& queue, ReportPublisher& reports);
    // Applies one delivery and publishes its report (not yet confirmed).
    Outcome process(const Delivery& d, ReportPublisher& reports);
    // Waits for the reports of every delivery since the last ack, then
    // acknowledges those deliveries. False: stopped, or `max` passed,
    // before the broker confirmed; nothing acknowledged.
    bool settle(OrderQueue& queue, ReportPublisher& reports, milliseconds max);

    const Options& o_;
    const AmqpEndpoint& ep_;
    InventoryDb& db_;
    Counts counts_;
    std::uint64_t last_tag_ = 0; // the last delivery processed
    int unacked_ = 0;            // deliveries processed since the last ack
    Clock::time_point last_summary_ = Clock::now();
};

Outcome RabbitApp::process(const Delivery& d, ReportPublisher& reports) {
    auto fail = [&](const std::string& reason) {
        reports.publish({d.source, d.id, false, reason});
        ++counts_.failed;
        log::warn("consumer") << "failed: " << d.where
                              << " outbox-source=" << d.source.value_or("<none>")
                              << " outbox-id=" << d.id.value_or("<none>") << ": " << reason
                              << " (reported to queue " << o_.ack_queue << ", skipped)";
        return Outcome::kDone;
    };
    const auto ref = parse_ref(d.source, d.id);
    if (!ref.ref) {
        return fail(ref.problem);
    }
    const auto order = parse_order(d.body);
    if (!order.order) {
        return fail(order.problem);
    }
    Applied applied = Applied::kApplied;
    if (!with_db_retry("applying an order", [&] { applied = db_.apply(*ref.ref, *order.order); })) {
        return Outcome::kInterrupted; // not acknowledged: it comes again
    }
    if (applied == Applied::kApplied) {
        ++counts_.applied;
    } else {
        ++counts_.duplicates;
        log::info("consumer") << "duplicate: " << d.where << " outbox-source=" << ref.ref->source
                              << " outbox-id=" << ref.ref->id
                              << ": applied before, skipped (reported consumed again)";
    }
    reports.publish({d.source, d.id, true, {}});
    return Outcome::kDone;
}

bool RabbitApp::settle(OrderQueue& queue, ReportPublisher& reports, milliseconds max) {
    if (unacked_ == 0) {
        return true;
    }
    const auto until = Clock::now() + max;
    while (!reports.wait_confirms(milliseconds(200))) {
        if (stopping() || Clock::now() >= until) {
            return false;
        }
    }
    queue.ack_through(last_tag_);
    unacked_ = 0;
    return true;
}

void RabbitApp::session(OrderQueue& queue, ReportPublisher& reports) {
    auto last_ack = Clock::now();
    while (!stopping()) {
        if (o_.summary_interval_ms > 0
            && Clock::now() - last_summary_ >= milliseconds(o_.summary_interval_ms)) {
            log::info("consumer") << "summary: " << summary(counts_);
            last_summary_ = Clock::now();
        }
        // Acknowledged at most a second late: outboxd moves a row to 3 when
        // its report arrives, and the report is sent before this wait.
        if (unacked_ > 0
            && (unacked_ >= o_.commit_every || Clock::now() - last_ack >= milliseconds(1000))) {
            if (!settle(queue, reports, milliseconds(30000)) && !stopping()) {
                throw AmqpLost("the broker did not confirm the reports to queue '" + o_.ack_queue
                               + "' within 30 s");
            }
            last_ack = Clock::now();
        }
        reports.keepalive();
        auto d = queue.next(milliseconds(unacked_ > 0 ? 100 : 500));
        if (!d) {
            continue;
        }
        if (process(*d, reports) == Outcome::kInterrupted) {
            return;
        }
        last_tag_ = d->tag;
        ++unacked_;
    }
}

int RabbitApp::run() {
    Backoff backoff;
    bool down = false;
    int code = 0;
    try {
        while (!stopping()) {
            try {
                OrderQueue queue(o_, ep_);
                ReportPublisher reports(o_, ep_);
                log::info("rabbitmq")
                    << (down ? "connected again to " : "connected to ") << describe(ep_)
                    << ": queue " << o_.queue << ", reports to " << o_.ack_queue;
                down = false;
                backoff.reset();
                last_tag_ = 0;
                unacked_ = 0;
                session(queue, reports);
                // Stopping: acknowledge what is done if the broker confirms
                // its reports soon; otherwise it is delivered again.
                if (!settle(queue, reports, milliseconds(5000)) && unacked_ > 0) {
                    log::warn("rabbitmq") << unacked_
                                          << " deliveries left unacknowledged at stop: the "
                                             "broker delivers them again, the inbox skips them";
                }
                break;
            } catch (const AmqpLost& e) {
                const auto wait = backoff.next();
                if (!down || wait.count() >= 10000) {
                    log::warn("rabbitmq") << e.what() << "; reconnecting in " << wait.count()
                                          << " ms (unacknowledged deliveries come again)";
                }
                down = true;
                sleep_unless_stopping(wait);
            }
        }
    } catch (const Stop& e) {
        log::error("consumer") << "stopping: " << e.what();
        code = 1;
    } catch (const DbFailure& e) {
        log::error("consumer") << "stopping: database error: " << e.what()
                               << ": not an outage, not retried";
        code = 1;
    }
    log::info("consumer") << "stopped: " << summary(counts_);
    return code;
}

} // namespace

int run_rabbitmq(const Options& o, InventoryDb& db) {
    const auto ep = parse_amqp_url(o.amqp_url, o.amqp_ca_file);
    if (!ep) { // checked with the options already
        log::error("consumer") << "stopping: --amqp-url is not an AMQP URI";
        return 2;
    }
    log::info("consumer") << "starting: broker=rabbitmq name=" << o.group << " queue=" << o.queue
                          << " ack-queue=" << o.ack_queue << " inbox=" << db.inbox_table()
                          << " commit-every=" << o.commit_every;
    return RabbitApp(o, *ep, db).run();
}

} // namespace inventory
