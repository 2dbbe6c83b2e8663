// PgOutboxStore as the confirm worker's ConfirmStore (consumer
// confirmation, statuses 3 and 4; cfg.confirming() only), and the rows
// `outboxd unconfirmed` lists.
#include "store/pg_internal.h"
#include "store/pg_outbox_store.h"

#include <pqxx/pqxx>

namespace outboxd::store {
namespace {

// The statuses an UPDATE ... RETURNING status gave: rows changed, and of
// them those now at 3.
ConfirmCount count_statuses(const pqxx::result& r) {
    ConfirmCount out;
    out.confirmed = r.size();
    for (const auto& f : r) {
        out.consumed += f[0].as<int>() == 3 ? 1 : 0;
    }
    return out;
}

} // namespace

std::vector<SentPartition> PgOutboxStore::waiting_partitions() {
    return guarded("listing partitions with unconfirmed rows", [&](Session& s) {
        std::vector<SentPartition> out;
        pqxx::nontransaction tx(*s.conn);
        for (const auto& f : tx.exec(s.confirm.waiting_partitions)) {
            out.push_back(
                SentPartition{std::string(f[0].c_str(), f[0].size()), f[1].as<std::int32_t>()});
        }
        return out;
    });
}

ConfirmCount PgOutboxStore::confirm_offsets(const std::string& group,
                                            const SentPartition& p,
                                            std::int64_t below,
                                            std::size_t limit) {
    return guarded("confirming rows by committed offsets", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        return count_statuses(tx.exec_params(s.confirm.confirm_offsets, group, p.topic, p.partition,
                                             below, static_cast<std::int64_t>(limit)));
    });
}

ConfirmCount PgOutboxStore::report_consumed(std::int64_t id, const std::string& consumer) {
    return guarded("applying a consumer's report", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        return count_statuses(tx.exec_params(s.confirm.report_consumed, id, consumer));
    });
}

bool PgOutboxStore::report_failed(std::int64_t id, const std::string& last_error) {
    return guarded("applying a consumer's failure report", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        return tx.exec_params(s.confirm.report_failed, id, sanitize_error(last_error))
                   .affected_rows()
               > 0;
    });
}

std::vector<OverdueRow> PgOutboxStore::overdue(Millis deadline, std::size_t limit) {
    return guarded("listing unconfirmed rows", [&](Session& s) {
        std::vector<OverdueRow> out;
        pqxx::nontransaction tx(*s.conn);
        for (const auto& f :
             tx.exec_params(s.confirm.overdue, static_cast<std::int64_t>(deadline.count()),
                            static_cast<std::int64_t>(limit))) {
            out.push_back(OverdueRow{f[0].as<std::int64_t>(), comma_parts(f[1]), f[2].as<int>()});
        }
        return out;
    });
}

std::size_t PgOutboxStore::resend(const std::vector<std::int64_t>& ids) {
    if (ids.empty()) {
        return 0;
    }
    return guarded("sending unconfirmed rows again", [&](Session& s) {
        pqxx::work tx(*s.conn);
        const auto n = tx.exec_params(s.confirm.resend, int_array_literal(ids)).affected_rows();
        notify_relay(tx, cfg_.notify_channel);
        tx.commit();
        return n;
    });
}

std::size_t PgOutboxStore::park(const std::vector<std::int64_t>& ids,
                                const std::vector<std::string>& errors) {
    if (ids.empty()) {
        return 0;
    }
    std::vector<std::string> clean;
    clean.reserve(errors.size());
    for (const auto& e : errors) {
        clean.push_back(sanitize_error(e));
    }
    return guarded("parking unconfirmed rows", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        return tx.exec_params(s.confirm.park, int_array_literal(ids), text_array_literal(clean))
            .affected_rows();
    });
}

std::int64_t PgOutboxStore::unconfirmed_count(Millis deadline, std::int64_t cap) {
    return guarded("counting unconfirmed rows", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        return tx
            .exec_params(s.confirm.unconfirmed_count, static_cast<std::int64_t>(deadline.count()),
                         cap)[0][0]
            .as<std::int64_t>();
    });
}

std::int64_t PgOutboxStore::not_confirmed_by(const std::string& consumer, std::int64_t cap) {
    return guarded("counting rows a consumer has not confirmed", [&](Session& s) {
        pqxx::nontransaction tx(*s.conn);
        return tx.exec_params(s.confirm.not_confirmed_by, consumer, cap)[0][0].as<std::int64_t>();
    });
}

std::vector<UnconfirmedRow> PgOutboxStore::unconfirmed_rows(Millis deadline, std::size_t limit) {
    return guarded("listing unconfirmed rows", [&](Session& s) {
        std::vector<UnconfirmedRow> out;
        pqxx::nontransaction tx(*s.conn);
        for (const auto& f :
             tx.exec_params(s.confirm.unconfirmed_rows, static_cast<std::int64_t>(deadline.count()),
                            static_cast<std::int64_t>(limit))) {
            UnconfirmedRow row;
            row.id = f[0].as<std::int64_t>();
            row.topic = std::string(f[1].c_str(), f[1].size());
            if (!f[2].is_null()) {
                row.key = std::string(f[2].c_str(), f[2].size());
            }
            row.sent_at_ms = f[3].is_null() ? 0 : f[3].as<std::int64_t>();
            row.confirmed_by = comma_parts(f[4]);
            row.resends = f[5].as<int>();
            out.push_back(std::move(row));
        }
        return out;
    });
}

} // namespace outboxd::store
