#include "reconcile/read_back.h"

#include "kafka/tail_reader.h"

#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace outboxd::reconcile {

ReadBackResult read_back(store::PgOutboxStore& store,
                         const config::Kafka& kafka,
                         const std::string& source,
                         std::chrono::milliseconds timeout,
                         const std::function<bool()>& progress) {
    ReadBackResult out;
    try {
        const auto oldest = store.oldest_pending_created_ms();
        if (!oldest) {
            return out; // nothing pending: nothing can be in the gap
        }
        const auto topics = store.pending_topics();
        out.topics = topics.size();
        const auto r = kafka::read_tail(kafka, topics, *oldest - kClockSkew.count(), source,
                                        timeout, progress);
        out.messages_read = r.messages_read;
        out.partitions = r.partitions;
        out.ours = r.found.size();
        if (!r.status.ok()) {
            out.status = r.status;
            return out;
        }
        struct Found {
            std::vector<std::int64_t> ids;
            std::vector<std::optional<std::string>> keys;
            std::vector<store::SentMark> marks; // where each is, for consumer confirmation
        };
        std::map<std::string, Found> by_topic;
        for (const auto& f : r.found) {
            auto& t = by_topic[f.topic];
            t.ids.push_back(f.id);
            t.keys.push_back(f.key);
            t.marks.push_back(store::SentMark{f.id, f.partition, f.offset});
        }
        for (const auto& [topic, v] : by_topic) {
            out.marked += store.mark_found(topic, v.ids, v.keys, v.marks);
        }
    } catch (const store::StoreUnavailable& e) {
        out.status = Status::failure(e.what());
    }
    return out;
}

} // namespace outboxd::reconcile
