#include "rabbitmq/rabbit_publisher.h"

#include "common/log.h"
#include "rabbitmq/amqp_text.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <amqp.h>
#include <sys/time.h>

namespace outboxd::rabbitmq {
namespace {

// Bounds the TCP connect, the AMQP handshake and each synchronous call.
constexpr Millis kConnectTimeout{5000};
// Lets the broker notice a silent peer (and us, through rabbitmq-c, a
// silent broker); sent while poll() reads frames.
constexpr int kHeartbeatSeconds = 30;
// While RabbitMQ does not answer, one connection attempt per this long:
// produce() waits for it, which also paces the relay's fetches.
constexpr Millis kReconnectInterval{1000};

timeval to_timeval(Millis t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    return tv;
}

// The text between "<marker>'" and the next quote: the exchange of
// "NOT_FOUND - no exchange 'orders' in vhost '/'".
std::optional<std::string> quoted_after(const std::string& text, const std::string& marker) {
    const auto start = text.find(marker + " '");
    if (start == std::string::npos) {
        return std::nullopt;
    }
    const auto from = start + marker.size() + 2;
    const auto end = text.find('\'', from);
    if (end == std::string::npos) {
        return std::nullopt;
    }
    return text.substr(from, end - from);
}

// The size in "PRECONDITION_FAILED - message size 2097152 is larger than
// configured max size 1048576".
std::optional<std::size_t> oversize_of(const std::string& text) {
    const std::string marker = "message size ";
    const auto at = text.find(marker);
    if (at == std::string::npos || text.find("larger than", at) == std::string::npos) {
        return std::nullopt;
    }
    std::size_t value = 0;
    std::size_t i = at + marker.size();
    bool any = false;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        value = value * 10 + static_cast<std::size_t>(text[i] - '0');
        any = true;
    }
    return any ? std::optional<std::size_t>(value) : std::nullopt;
}

std::optional<std::int64_t> id_of_message_id(const std::string& message_id) {
    const auto slash = message_id.rfind('/');
    const std::string digits =
        slash == std::string::npos ? message_id : message_id.substr(slash + 1);
    if (digits.empty() || digits.size() > 18
        || !std::all_of(digits.begin(), digits.end(),
                        [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    return std::stoll(digits);
}

amqp_table_entry_t string_entry(const std::string& name, const std::string& value) {
    amqp_table_entry_t e;
    e.key = as_bytes(name);
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = as_bytes(value);
    return e;
}

} // namespace

std::string message_id(const std::string& source, std::int64_t id) {
    return source.empty() ? std::to_string(id) : source + "/" + std::to_string(id);
}

RabbitPublisher::RabbitPublisher(config::RabbitMq cfg, std::string source)
    : cfg_(std::move(cfg))
    , source_(std::move(source))
    , log_(log::get("publish")) {
    if (const Status parsed = parse_url(cfg_.url, &endpoint_, cfg_.ca_file); !parsed.ok()) {
        throw std::invalid_argument(parsed.error());
    }
}

RabbitPublisher::~RabbitPublisher() = default;

bool RabbitPublisher::ensure_connected() {
    if (conn_.is_open()) {
        return true;
    }
    const auto now = Clock::now();
    if (now < next_connect_) {
        std::this_thread::sleep_for(
            std::min<Clock::duration>(next_connect_ - now, kReconnectInterval));
    }
    next_connect_ = Clock::now() + kReconnectInterval;
    Status st = conn_.open(endpoint_, kConnectTimeout, kHeartbeatSeconds);
    if (st.ok()) {
        channel_ = 1;
        st = conn_.open_channel(channel_, /*confirms=*/true);
        if (!st.ok()) {
            conn_.abandon();
        }
    }
    if (!st.ok()) {
        if (failed_connects_++ == 0 || st.error() != down_reason_) {
            log_->warn("rabbitmq unreachable: {}; retrying every {} ms", st.error(),
                       kReconnectInterval.count());
        }
        down_reason_ = st.error();
        return false;
    }
    log_->info("rabbitmq connected: {} (confirms on, channel {})", describe(endpoint_), channel_);
    probe_open_ = false;
    known_exchanges_.clear();
    failed_connects_ = 0;
    next_tag_ = 1;
    blocked_ = false;
    return true;
}

std::optional<ProduceResult> RabbitPublisher::check_exchange(const std::string& exchange) {
    // The default exchange always exists (and may not be declared).
    if (exchange.empty() || known_exchanges_.count(exchange) != 0) {
        return std::nullopt;
    }
    ProduceResult res;
    if (!probe_open_) {
        if (const Status st = conn_.open_channel(kProbeChannel, /*confirms=*/false); !st.ok()) {
            lost("opening the exchange-check channel: " + st.error());
            res.error = "rabbitmq connection lost: " + down_reason_;
            return res;
        }
        probe_open_ = true;
    }
    const auto found = conn_.check_exchange(kProbeChannel, exchange);
    switch (found.answer) {
    case Connection::Exchange::kExists:
        known_exchanges_.insert(exchange);
        return std::nullopt;
    case Connection::Exchange::kMissing:
        probe_open_ = false;
        res.error_class = ErrorClass::kRow;
        res.reason = FailureReason::kUnknownTopic;
        res.error = "exchange '" + exchange + "' does not exist (" + found.text + ")";
        return res;
    case Connection::Exchange::kRefused:
        probe_open_ = false;
        res.error_class = ErrorClass::kRow;
        res.reason = FailureReason::kNotAuthorized;
        res.error = "access to exchange '" + exchange + "' refused (" + found.text + ")";
        return res;
    case Connection::Exchange::kUnknown:
        break;
    }
    lost(found.text);
    res.error = "rabbitmq connection lost: " + down_reason_;
    return res;
}

ProduceResult RabbitPublisher::produce(const Message& m) {
    ProduceResult res;
    res.error_class = ErrorClass::kTransient;
    if (!ensure_connected()) {
        res.error = "rabbitmq unreachable: " + down_reason_;
        return res;
    }
    if (blocked_) {
        // A memory or disk alarm: the broker would stop reading the socket.
        read_frames(Millis(100));
        if (blocked_) {
            res.error = "rabbitmq blocked the connection (memory or disk alarm)";
            return res;
        }
    }
    const std::string exchange(m.topic);
    if (auto refused = check_exchange(exchange)) {
        return *refused;
    }
    const std::string routing_key = m.key ? std::string(*m.key) : std::string();
    const std::string id_text = std::to_string(m.id);
    const std::string msg_id = message_id(source_, m.id);

    std::vector<amqp_table_entry_t> entries;
    entries.reserve(2 + (m.headers != nullptr ? m.headers->size() : 0));
    if (m.headers != nullptr) {
        for (const auto& h : *m.headers) {
            entries.push_back(string_entry(h.name, h.value));
        }
    }
    const std::string id_header = publish::kOutboxIdHeader;
    const std::string source_header = publish::kOutboxSourceHeader;
    entries.push_back(string_entry(id_header, id_text));
    if (!source_.empty()) {
        entries.push_back(string_entry(source_header, source_));
    }

    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG
                   | AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_HEADERS_FLAG;
    props.delivery_mode = 2; // persistent: written to disk by durable queues
    props.message_id = as_bytes(msg_id);
    props.timestamp =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    const std::string content_type(m.content_type);
    if (!content_type.empty()) {
        props._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
        props.content_type = as_bytes(content_type);
    }
    props.headers.num_entries = static_cast<int>(entries.size());
    props.headers.entries = entries.data();

    amqp_bytes_t body;
    body.len = m.payload ? m.payload->size() : 0;
    body.bytes = m.payload ? const_cast<char*>(m.payload->data()) : nullptr;

    // mandatory: a message no queue takes comes back as basic.return
    // instead of being dropped.
    const int rc =
        amqp_basic_publish(conn_.get(), channel_, as_bytes(exchange), as_bytes(routing_key),
                           /*mandatory=*/1, /*immediate=*/0, &props, body);
    if (rc != AMQP_STATUS_OK) {
        lost(std::string("publishing: ") + amqp_error_string2(rc));
        res.error = "rabbitmq connection lost while publishing: " + down_reason_;
        return res;
    }
    Pending p;
    p.id = m.id;
    p.exchange = exchange;
    p.routing_key = routing_key;
    p.body_bytes = body.len;
    pending_.emplace(next_tag_++, std::move(p));
    res.accepted = true;
    return res;
}

void RabbitPublisher::report_transient(const Pending& p, const std::string& why) {
    DeliveryReport r;
    r.id = p.id;
    r.error_class = ErrorClass::kTransient;
    r.error = why;
    reports_.push_back(std::move(r));
}

void RabbitPublisher::report_row(const Pending& p, FailureReason reason, const std::string& error) {
    DeliveryReport r;
    r.id = p.id;
    r.error_class = ErrorClass::kRow;
    r.reason = reason;
    r.error = error;
    reports_.push_back(std::move(r));
}

void RabbitPublisher::lost(const std::string& why) {
    if (!pending_.empty()) {
        log_->warn("rabbitmq connection lost ({}): {} unconfirmed rows stay pending and are "
                   "published again",
                   why, pending_.size());
    } else {
        log_->warn("rabbitmq connection lost: {}", why);
    }
    // Unconfirmed is not failed (G3): the broker may or may not hold them.
    for (const auto& [tag, p] : pending_) {
        report_transient(p, "rabbitmq connection lost before the confirm: " + why);
    }
    pending_.clear();
    conn_.abandon();
    blocked_ = false;
    down_reason_ = why;
}

std::vector<DeliveryReport> RabbitPublisher::poll(std::chrono::milliseconds timeout) {
    if (conn_.is_open()) {
        read_frames(timeout);
    } else if (reports_.empty() && timeout.count() > 0) {
        // Nothing can arrive: wait as asked, so the caller's loop does not spin.
        std::this_thread::sleep_for(std::min(timeout, kReconnectInterval));
    }
    std::vector<DeliveryReport> out;
    out.swap(reports_);
    return out;
}

void RabbitPublisher::read_frames(Millis first_wait) {
    const auto deadline = Clock::now() + first_wait;
    // Bounded so a flood of confirms cannot keep the relay here forever.
    for (int i = 0; i < 100000 && conn_.is_open(); ++i) {
        Millis wait{0};
        if (reports_.empty()) {
            wait = std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now()));
        }
        timeval tv = to_timeval(wait);
        amqp_frame_t frame;
        const int rc = amqp_simple_wait_frame_noblock(conn_.get(), &frame, &tv);
        if (rc == AMQP_STATUS_TIMEOUT) {
            break;
        }
        if (rc != AMQP_STATUS_OK) {
            lost(std::string("reading: ") + amqp_error_string2(rc));
            return;
        }
        if (!handle_frame(&frame)) {
            return;
        }
    }
    if (conn_.is_open()) {
        amqp_maybe_release_buffers(conn_.get());
    }
}

bool RabbitPublisher::handle_frame(const void* raw) {
    const auto& frame = *static_cast<const amqp_frame_t*>(raw);
    if (frame.frame_type != AMQP_FRAME_METHOD) {
        return true; // heartbeats are handled by rabbitmq-c; nothing else is ours
    }
    const amqp_method_t& method = frame.payload.method;
    switch (method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        const auto* ack = static_cast<const amqp_basic_ack_t*>(method.decoded);
        on_confirm(ack->delivery_tag, ack->multiple != 0, true);
        return true;
    }
    case AMQP_BASIC_NACK_METHOD: {
        const auto* nack = static_cast<const amqp_basic_nack_t*>(method.decoded);
        on_confirm(nack->delivery_tag, nack->multiple != 0, false);
        return true;
    }
    case AMQP_BASIC_RETURN_METHOD:
        on_return(method.decoded);
        return conn_.is_open();
    case AMQP_CHANNEL_CLOSE_METHOD:
        on_channel_close(method.decoded);
        return conn_.is_open();
    case AMQP_CONNECTION_CLOSE_METHOD: {
        const auto* close = static_cast<const amqp_connection_close_t*>(method.decoded);
        const std::string why =
            "the broker closed the connection: " + std::to_string(close->reply_code) + " "
            + to_string(close->reply_text);
        amqp_connection_close_ok_t ok{};
        amqp_send_method(conn_.get(), 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        lost(why);
        return false;
    }
    case AMQP_CONNECTION_BLOCKED_METHOD: {
        const auto* b = static_cast<const amqp_connection_blocked_t*>(method.decoded);
        blocked_ = true;
        log_->warn("rabbitmq blocked the connection ({}): publishing waits", to_string(b->reason));
        return true;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        blocked_ = false;
        log_->info("rabbitmq unblocked the connection");
        return true;
    default:
        return true;
    }
}

void RabbitPublisher::on_confirm(std::uint64_t tag, bool multiple, bool ack) {
    auto begin = multiple ? pending_.begin() : pending_.find(tag);
    auto end = pending_.upper_bound(tag);
    if (begin == pending_.end()) {
        return; // a tag from before a channel was re-opened
    }
    for (auto it = begin; it != end; ++it) {
        const Pending& p = it->second;
        if (!ack) {
            report_transient(p, "basic.nack: the broker could not take the message (e.g. a "
                                "quorum queue without a quorum); published again");
        } else if (p.returned) {
            report_row(p, FailureReason::kUnroutable, *p.returned);
        } else {
            // The only place a row is reported sent: its basic.ack arrived
            // and no basic.return came before it (G1).
            DeliveryReport r;
            r.id = p.id;
            r.ok = true;
            reports_.push_back(std::move(r));
        }
    }
    pending_.erase(begin, end);
}

void RabbitPublisher::on_return(const void* raw) {
    const auto* ret = static_cast<const amqp_basic_return_t*>(raw);
    const std::string text = "unroutable: exchange '" + to_string(ret->exchange)
                             + "' has no queue bound for routing key '"
                             + to_string(ret->routing_key) + "' (basic.return "
                             + std::to_string(ret->reply_code) + " " + to_string(ret->reply_text)
                             + ")";
    // The returned message itself follows: its message_id names the row.
    amqp_message_t msg;
    const amqp_rpc_reply_t reply = amqp_read_message(conn_.get(), channel_, &msg, 0);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        lost(reply_text(reply, "reading a returned message"));
        return;
    }
    std::optional<std::int64_t> id;
    if ((msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0) {
        id = id_of_message_id(to_string(msg.properties.message_id));
    }
    amqp_destroy_message(&msg);
    for (auto& [tag, p] : pending_) {
        if (id && p.id == *id) {
            p.returned = text;
            return;
        }
    }
    log_->warn("rabbitmq returned a message outboxd does not track: {}", text);
}

void RabbitPublisher::on_channel_close(const void* raw) {
    const auto* close = static_cast<const amqp_channel_close_t*>(raw);
    const int code = close->reply_code;
    const std::string text = std::to_string(code) + " " + to_string(close->reply_text);
    amqp_channel_close_ok_t ok{};
    amqp_send_method(conn_.get(), channel_, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);

    // Which rows the close is about: the broker names the exchange (404,
    // 403) or the size (406); the rows published after it on this channel
    // were dropped unseen and go again.
    const auto exchange = quoted_after(text, "exchange");
    const auto size = oversize_of(text);
    bool size_matched = false;
    std::size_t counted = 0;
    for (const auto& [tag, p] : pending_) {
        if (code == AMQP_NOT_FOUND && exchange && p.exchange == *exchange) {
            report_row(p, FailureReason::kUnknownTopic,
                       "exchange '" + p.exchange + "' does not exist (channel closed: " + text
                           + ")");
            ++counted;
        } else if (code == AMQP_ACCESS_REFUSED && exchange && p.exchange == *exchange) {
            report_row(p, FailureReason::kNotAuthorized,
                       "access to exchange '" + p.exchange + "' refused (channel closed: " + text
                           + ")");
            ++counted;
        } else if (code == AMQP_PRECONDITION_FAILED && size && !size_matched
                   && p.body_bytes == *size) {
            size_matched = true;
            report_row(p, FailureReason::kMessageTooLarge,
                       "message of " + std::to_string(p.body_bytes)
                           + " bytes is larger than the broker's max_message_size (channel "
                             "closed: "
                           + text + ")");
            ++counted;
        } else {
            report_transient(p, "rabbitmq closed the channel (" + text
                                    + ") before the confirm; published again");
        }
    }
    if (exchange) {
        known_exchanges_.erase(*exchange); // checked again before its next message
    }
    log_->warn("rabbitmq closed channel {}: {}; {} rows counted as failed, {} published again",
               channel_, text, counted, pending_.size() - counted);
    pending_.clear();
    next_tag_ = 1;
    if (const Status st = conn_.open_channel(channel_, /*confirms=*/true); !st.ok()) {
        lost("re-opening the channel: " + st.error());
    }
}

std::vector<DeliveryReport> RabbitPublisher::drain(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!pending_.empty() && conn_.is_open() && Clock::now() < deadline) {
        read_frames(
            std::min(Millis(100), std::chrono::duration_cast<Millis>(deadline - Clock::now())));
    }
    for (const auto& [tag, p] : pending_) {
        report_transient(p, "no confirm from rabbitmq in time; the row stays pending");
    }
    pending_.clear();
    std::vector<DeliveryReport> out;
    out.swap(reports_);
    return out;
}

std::vector<DeliveryReport> RabbitPublisher::rebuild(std::chrono::milliseconds timeout) {
    auto out = drain(timeout);
    conn_.close();
    next_connect_ = {};
    return out;
}

} // namespace outboxd::rabbitmq
