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
        std::map<std::string,
                 std::pair<std::vector<std::int64_t>, std::vector<std::optional<std::string>>>>
            by_topic;
        for (const auto& f : r.found) {
            by_topic[f.topic].first.push_back(f.id);
            by_topic[f.topic].second.push_back(f.key);
        }
        for (const auto& [topic, v] : by_topic) {
            out.marked += store.mark_found(topic, v.first, v.second);
        }
    } catch (const store::StoreUnavailable& e) {
        out.status = Status::failure(e.what());
    }
    return out;
}

} // namespace outboxd::reconcile
