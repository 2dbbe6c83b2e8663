#include "kafka/tail_reader.h"

#include "common/log.h"
#include "common/parse_int.h"
#include "kafka/conf.h"
#include "kafka/kafka_publisher.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>
#include <memory>

namespace outboxd::kafka {
namespace {

struct HandleDeleter {
    void operator()(rd_kafka_t* rk) const {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
};
struct ListDeleter {
    void operator()(rd_kafka_topic_partition_list_t* l) const {
        rd_kafka_topic_partition_list_destroy(l);
    }
};
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

std::string header_value(rd_kafka_headers_t* hdrs, const char* name) {
    const void* val = nullptr;
    size_t size = 0;
    if (rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR
        || val == nullptr) {
        return {};
    }
    return {static_cast<const char*>(val), size};
}

// librdkafka's own lines at debug, through outboxd's logger (its format,
// its redaction) instead of raw on stderr.
void on_reader_log(const rd_kafka_t* /*rk*/,
                   int /*level*/,
                   const char* fac,
                   const char* buf) noexcept {
    try {
        log::get("kafka")->debug("librdkafka read-back {}: {}", fac, buf);
    } catch (...) {
    }
}

// Errors a broker request ends with while no broker answers (yet): asked
// again in slices until the read's deadline.
bool no_answer_yet(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT
           || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
}

} // namespace

TailReadResult read_tail(const config::Kafka& cfg,
                         const std::vector<std::string>& topics,
                         std::int64_t since_ms,
                         const std::string& source,
                         std::chrono::milliseconds timeout,
                         const Progress& progress) {
    TailReadResult out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // Each broker request gets what is left of the one budget, at least 1 ms.
    const auto left_ms = [&deadline] {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        return static_cast<int>(std::max<std::int64_t>(1, left.count()));
    };
    // False when the caller asked to stop.
    const auto tick = [&progress] {
        return !progress || progress();
    };
    const auto stopped = [&out] {
        out.status = Status::failure(kReadStopped);
        return out;
    };
    // One broker request, asked in slices of kRequestSlice while no broker
    // answers, ticking in between, until it answers or the deadline passes.
    const auto sliced = [&](const auto& request, bool& stop) {
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        for (;;) {
            err = request(std::min(left_ms(), static_cast<int>(kRequestSlice.count())));
            if (!tick()) {
                stop = true;
                return err;
            }
            if (!no_answer_yet(err) || std::chrono::steady_clock::now() >= deadline) {
                return err;
            }
        }
    };
    if (topics.empty()) {
        return out;
    }
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    Properties props = consumer_properties(cfg);
    props.emplace_back("group.id", "outboxd-readback");
    props.emplace_back("enable.auto.commit", "false");
    props.emplace_back("enable.partition.eof", "true");
    if (auto set = set_properties(conf, props); !set.ok()) {
        rd_kafka_conf_destroy(conf);
        out.status = std::move(set);
        return out;
    }
    rd_kafka_conf_set_log_cb(conf, on_reader_log);
    std::unique_ptr<rd_kafka_t, HandleDeleter> rk(
        rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
    if (!rk) {
        // rd_kafka_new takes conf over only when it succeeds.
        rd_kafka_conf_destroy(conf);
        out.status = Status::failure(std::string("creating the read-back consumer: ") + err);
        return out;
    }
    const int timeout_ms = static_cast<int>(timeout.count());

    // Partitions of every topic, each asked for its first offset at since_ms.
    ListPtr wanted(rd_kafka_topic_partition_list_new(16));
    for (const auto& t : topics) {
        const rd_kafka_metadata_t* md = nullptr;
        rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), t.c_str(), nullptr);
        bool stop = false;
        const auto merr =
            sliced([&](int ms) { return rd_kafka_metadata(rk.get(), 0, rkt, &md, ms); }, stop);
        rd_kafka_topic_destroy(rkt);
        if (stop) {
            if (merr == RD_KAFKA_RESP_ERR_NO_ERROR) {
                rd_kafka_metadata_destroy(md);
            }
            return stopped();
        }
        if (merr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            out.status = Status::failure("metadata for " + t + ": " + rd_kafka_err2str(merr));
            return out;
        }
        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (int p = 0; p < md->topics[0].partition_cnt; ++p) {
                rd_kafka_topic_partition_list_add(wanted.get(), t.c_str(),
                                                  md->topics[0].partitions[p].id)
                    ->offset = since_ms;
            }
        }
        // A topic that does not exist holds nothing of ours: skip it.
        rd_kafka_metadata_destroy(md);
    }
    out.partitions = wanted->cnt;
    if (wanted->cnt == 0) {
        return out;
    }
    bool stop = false;
    const auto terr = sliced(
        [&](int ms) { return rd_kafka_offsets_for_times(rk.get(), wanted.get(), ms); }, stop);
    if (stop) {
        return stopped();
    }
    if (terr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        out.status = Status::failure(std::string("offsets for time: ") + rd_kafka_err2str(terr));
        return out;
    }
    // Read each partition from that offset to its end as of now.
    ListPtr assign(rd_kafka_topic_partition_list_new(wanted->cnt));
    std::map<std::pair<std::string, int>, std::int64_t> end_of;
    for (int i = 0; i < wanted->cnt; ++i) {
        const auto& tp = wanted->elems[i];
        if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            out.status =
                Status::failure(std::string("offsets for time of ") + tp.topic + "/"
                                + std::to_string(tp.partition) + ": " + rd_kafka_err2str(tp.err));
            return out;
        }
        if (tp.offset < 0) {
            continue; // nothing at or after since_ms: an empty tail
        }
        std::int64_t low = 0;
        std::int64_t high = 0;
        const auto werr = sliced(
            [&](int ms) {
                return rd_kafka_query_watermark_offsets(rk.get(), tp.topic, tp.partition, &low,
                                                        &high, ms);
            },
            stop);
        if (stop) {
            return stopped();
        }
        if (werr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            out.status = Status::failure(std::string("watermarks of ") + tp.topic + ": "
                                         + rd_kafka_err2str(werr));
            return out;
        }
        if (tp.offset >= high) {
            continue;
        }
        end_of[{tp.topic, tp.partition}] = high;
        rd_kafka_topic_partition_list_add(assign.get(), tp.topic, tp.partition)->offset = tp.offset;
    }
    if (assign->cnt == 0) {
        return out;
    }
    rd_kafka_assign(rk.get(), assign.get());
    // A tail can hold millions of messages: `progress` (a lock and clock
    // reads in the caller) runs at most every kTickEvery, not per message.
    // With polls of at most kTickEvery too, the gap stays within 200 ms.
    constexpr std::chrono::milliseconds kTickEvery{100};
    auto last_tick = std::chrono::steady_clock::now() - kTickEvery;
    while (!end_of.empty()) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_tick >= kTickEvery) {
            if (!tick()) {
                return stopped();
            }
            last_tick = now;
        }
        if (now >= deadline) {
            out.status = Status::failure("reading the tail did not finish in "
                                         + std::to_string(timeout_ms) + " ms");
            return out;
        }
        std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> m(
            rd_kafka_consumer_poll(rk.get(), static_cast<int>(kTickEvery.count())),
            rd_kafka_message_destroy);
        if (!m) {
            continue;
        }
        const std::string topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
        auto it = end_of.find({topic, m->partition});
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (it != end_of.end() && m->offset >= it->second) {
                end_of.erase(it);
            }
            continue;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            out.status =
                Status::failure(std::string("reading the tail: ") + rd_kafka_err2str(m->err));
            return out;
        }
        ++out.messages_read;
        rd_kafka_headers_t* hdrs = nullptr;
        if (rd_kafka_message_headers(m.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (header_value(hdrs, kOutboxSourceHeader) == source) {
                const std::string id = header_value(hdrs, kOutboxIdHeader);
                FoundMessage f;
                f.topic = topic;
                f.id = to_int64(id).value_or(0); // not one of our ids: never matches a row
                f.partition = m->partition;
                f.offset = m->offset;
                if (m->key != nullptr) {
                    f.key = std::string(static_cast<const char*>(m->key), m->key_len);
                }
                if (f.id > 0) {
                    out.found.push_back(std::move(f));
                }
            }
        }
        if (it != end_of.end() && m->offset + 1 >= it->second) {
            end_of.erase(it);
        }
    }
    return out;
}

} // namespace outboxd::kafka
