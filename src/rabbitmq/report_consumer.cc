#include "rabbitmq/report_consumer.h"

#include "publish/publisher.h"
#include "rabbitmq/amqp_text.h"

#include <stdexcept>

#include <amqp.h>
#include <sys/time.h>

namespace outboxd::rabbitmq {
namespace {

constexpr Millis kConnectTimeout{5000};
constexpr int kHeartbeatSeconds = 30;
constexpr std::uint16_t kChannel = 1;

std::optional<std::string> header(const amqp_basic_properties_t& p, const char* name) {
    if ((p._flags & AMQP_BASIC_HEADERS_FLAG) == 0) {
        return std::nullopt;
    }
    for (int i = 0; i < p.headers.num_entries; ++i) {
        const amqp_table_entry_t& e = p.headers.entries[i];
        if (to_string(e.key) != name) {
            continue;
        }
        if (e.value.kind == AMQP_FIELD_KIND_UTF8 || e.value.kind == AMQP_FIELD_KIND_BYTES) {
            return to_string(e.value.value.bytes);
        }
        // A client that sends the id as a number rather than a string.
        if (e.value.kind == AMQP_FIELD_KIND_I64) {
            return std::to_string(e.value.value.i64);
        }
        if (e.value.kind == AMQP_FIELD_KIND_I32) {
            return std::to_string(e.value.value.i32);
        }
        return std::nullopt;
    }
    return std::nullopt;
}

} // namespace

ReportConsumer::ReportConsumer(const config::RabbitMq& cfg, std::string queue)
    : queue_(std::move(queue)) {
    if (const Status parsed = parse_url(cfg.url, &endpoint_, cfg.ca_file); !parsed.ok()) {
        throw std::invalid_argument(parsed.error());
    }
}

void ReportConsumer::drop(const std::string& /*why*/) {
    // Unacknowledged reports go back to the queue with the connection.
    conn_.abandon();
    consuming_ = false;
    last_tag_ = 0;
}

Status ReportConsumer::ensure_consuming(std::size_t prefetch) {
    if (consuming_ && conn_.is_open()) {
        return {};
    }
    conn_.abandon();
    consuming_ = false;
    if (Status st = conn_.open(endpoint_, kConnectTimeout, kHeartbeatSeconds); !st.ok()) {
        return st;
    }
    if (Status st = conn_.open_channel(kChannel, /*confirms=*/false); !st.ok()) {
        conn_.abandon();
        return st;
    }
    amqp_basic_qos(conn_.get(), kChannel, 0,
                   static_cast<std::uint16_t>(std::min<std::size_t>(prefetch, 65535)), 0);
    std::string text = reply_text(amqp_get_rpc_reply(conn_.get()), "basic.qos");
    if (text.empty()) {
        amqp_basic_consume(conn_.get(), kChannel, as_bytes(queue_), amqp_empty_bytes,
                           /*no_local=*/0, /*no_ack=*/0, /*exclusive=*/0, amqp_empty_table);
        text = reply_text(amqp_get_rpc_reply(conn_.get()),
                          "consuming confirm.ack_queue '" + queue_ + "'");
    }
    if (!text.empty()) {
        conn_.abandon();
        return Status::failure(text);
    }
    consuming_ = true;
    return {};
}

Status ReportConsumer::poll(std::size_t max, std::vector<publish::ConsumerReport>* out) {
    if (last_tag_ != 0) {
        // The caller applies and acks each batch; a batch left unacked is
        // delivered again after a new connection, never mixed in here.
        return Status::failure("internal: reports polled again before ack()");
    }
    if (Status st = ensure_consuming(max); !st.ok()) {
        return st;
    }
    while (out->size() < max) {
        amqp_maybe_release_buffers(conn_.get());
        amqp_envelope_t envelope;
        timeval zero{};
        const amqp_rpc_reply_t r = amqp_consume_message(conn_.get(), &envelope, &zero, 0);
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
            && r.library_error == AMQP_STATUS_TIMEOUT) {
            break; // nothing more waiting
        }
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            const std::string text = reply_text(r, "reading confirm.ack_queue '" + queue_ + "'");
            if (!out->empty()) {
                // Keep what was read: it is applied and acked on this
                // connection; the next poll starts a new one.
                consuming_ = false;
                break;
            }
            drop(text);
            return Status::failure(text);
        }
        publish::ConsumerReport rep;
        const amqp_basic_properties_t& p = envelope.message.properties;
        rep.source = header(p, publish::kOutboxSourceHeader);
        rep.id = header(p, publish::kOutboxIdHeader);
        rep.consumer = header(p, publish::kOutboxConsumerHeader);
        rep.result = header(p, publish::kOutboxResultHeader);
        rep.body = to_string(envelope.message.body);
        last_tag_ = envelope.delivery_tag;
        amqp_destroy_envelope(&envelope);
        out->push_back(std::move(rep));
    }
    return {};
}

Status ReportConsumer::ack() {
    if (last_tag_ == 0) {
        return {};
    }
    const int rc = amqp_basic_ack(conn_.get(), kChannel, last_tag_, /*multiple=*/1);
    last_tag_ = 0;
    if (rc != AMQP_STATUS_OK) {
        const std::string text = std::string("acknowledging reports of confirm.ack_queue '")
                                 + queue_ + "': " + amqp_error_string2(rc);
        drop(text);
        return Status::failure(text);
    }
    if (!consuming_) {
        conn_.abandon(); // a read failed after the batch: start over next poll
    }
    return {};
}

} // namespace outboxd::rabbitmq
