#include "daemon_run.h"

#include "common.h"
#include "store/sql.h"
#include "tables.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace outboxd::bench {

std::string g_relay_dsn; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

DaemonRun::DaemonRun(const config::Postgres& table,
                     int batch_size,
                     int max_message_bytes,
                     const std::string& broker,
                     const std::string& confirm_group) {
    ot::DaemonConfig dc;
    dc.table = table;
    dc.pg_dsn = g_relay_dsn.empty() ? ot::services().pg_dsn : g_relay_dsn;
    dc.bootstrap = ot::services().kafka_bootstrap;
    if (broker == "rabbitmq") {
        dc.extra_yaml =
            "broker: rabbitmq\nrabbitmq:\n  url: \"" + ot::services().rabbitmq_url + "\"\n";
    }
    if (!confirm_group.empty()) {
        dc.extra_yaml += "confirm:\n  consumers: [\"" + confirm_group + "\"]\n";
    }
    dc.relay["batch_size"] = std::to_string(batch_size);
    if (max_message_bytes > 0) {
        dc.kafka_props["message.max.bytes"] = std::to_string(max_message_bytes);
    }
    config_path_ = ot::write_config(dc);
    start_wall_s_ = wall_now_s();
    daemon_ =
        std::make_unique<ot::Daemon>(std::vector<std::string>{"run", "--config", config_path_});
    // VmHWM has no anonymous-only twin: sample RssAnon every 20 ms.
    sampler_ = std::thread([this, pid = daemon_->pid()] {
        while (!sampling_done_) {
            const auto m = read_memory(pid);
            peak_anon_mib_ = std::max(peak_anon_mib_.load(), m.anon_mib);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
}

DaemonRun::~DaemonRun() {
    stop_sampling();
    daemon_.reset(); // kills the process if still running
    // write_config made a private directory for the file; the daemon's
    // log stays in the test scratch directory for a look after a failed run.
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path(config_path_).parent_path(), ignored);
}

void DaemonRun::check_alive() {
    if (!daemon_->running()) {
        throw std::runtime_error("outboxd exited early; its log:\n" + daemon_->log());
    }
}

void DaemonRun::wait_until_relaying(std::chrono::seconds timeout) {
    const bool ok = ot::eventually(
        [&] {
            return !daemon_->running() || daemon_->log().find("relaying (") != std::string::npos;
        },
        timeout);
    check_alive();
    if (!ok) {
        throw std::runtime_error("outboxd did not start relaying; its log:\n" + daemon_->log());
    }
}

void DaemonRun::stop() {
    check_alive();
    stop_sampling();
    peak_rss_mib_ = peak_rss_of(daemon_->pid());
    cpu_s_ = cpu_seconds(daemon_->pid(), false);
    stopped_wall_s_ = wall_now_s();
    daemon_->signal(SIGTERM);
    const auto rc = daemon_->wait(std::chrono::seconds(20));
    if (!rc || *rc != 0) {
        progress("warning: outboxd did not exit cleanly after SIGTERM; its log:\n"
                 + daemon_->log());
    }
}

void DaemonRun::stop_sampling() {
    sampling_done_ = true;
    if (sampler_.joinable()) {
        sampler_.join();
    }
}

bool wait_all_sent(DaemonRun& run,
                   const config::Postgres& t,
                   std::int64_t last_id,
                   std::chrono::seconds timeout) {
    const auto& dsn = ot::services().pg_dsn;
    const std::string status = store::quote_ident(t.columns.status);
    const std::string last_row = "SELECT " + status + " FROM " + qualified(t) + " WHERE "
                                 + store::quote_ident(t.columns.id) + " = "
                                 + std::to_string(last_id);
    const std::string none_pending =
        "SELECT NOT EXISTS (SELECT 1 FROM " + qualified(t) + " WHERE " + status + " = 0)";
    pqxx::connection conn(dsn);
    const auto deadline = Clock::now() + timeout;
    bool last_done = false;
    while (Clock::now() < deadline) {
        run.check_alive();
        {
            pqxx::nontransaction tx(conn);
            if (!last_done) {
                last_done = tx.exec(last_row)[0][0].as<int>() != 0;
            }
            if (last_done && tx.exec(none_pending)[0][0].as<bool>()) {
                return true;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(last_done ? 100 : 50));
    }
    return false;
}

SentTimes sent_times(const config::Postgres& t) {
    const auto& c = t.columns;
    const std::string s = store::quote_ident(c.sent_at);
    auto r = ot::sql(ot::services().pg_dsn,
                     "SELECT extract(epoch FROM min(" + s + ")), extract(epoch FROM max(" + s
                         + ")), count(*) FILTER (WHERE " + store::quote_ident(c.status)
                         + " IN (1, 3)) FROM " + qualified(t));
    return SentTimes{std::stod(r[0][0]), std::stod(r[0][1]), std::stoll(r[0][2])};
}

} // namespace outboxd::bench
