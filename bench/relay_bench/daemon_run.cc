#include "daemon_run.h"

#include "common.h"
#include "http/client.h"
#include "store/sql.h"
#include "tables.h"

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <csignal>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace outboxd::bench {

std::string g_relay_dsn; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

namespace {

// One refresh of the console page, in the order a browser asks: the page,
// then what it links, then the page's script asking the API for the
// summary, the first page of rows waiting for a person, and the action log.
constexpr std::array<const char*, 6> kConsolePaths = {"/console/",
                                                      "/console/app.js",
                                                      "/console/app.css",
                                                      "/api/v1/summary",
                                                      "/api/v1/rows?status=2,4&limit=50",
                                                      "/api/v1/actions?limit=50"};

// Answers take milliseconds (under 50 ms on the loaded 2-core machine); one
// that takes this long counts as a failure of the run.
constexpr std::chrono::milliseconds kConsoleRequestTimeout{5000};

// How long the client waits for the daemon's port file before it gives up.
constexpr std::chrono::seconds kConsolePortTimeout{30};

} // namespace

DaemonRun::DaemonRun(const config::Postgres& table,
                     int batch_size,
                     int max_message_bytes,
                     const std::string& broker,
                     const std::string& confirm_group,
                     bool console) {
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
    if (console) {
        // The harness writes http.listen alone; the console needs the
        // same section, so it is written here whole.
        dc.http_listen.clear();
        dc.extra_yaml += "http:\n  listen: \"127.0.0.1:0\"\n  console: true\n";
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

ConsoleClient::ConsoleClient(const DaemonRun& run) {
    thread_ = std::thread([this, daemon = &run] { this->run(*daemon); });
}

ConsoleClient::~ConsoleClient() {
    stop();
}

void ConsoleClient::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void ConsoleClient::run(const DaemonRun& daemon) {
    // The port file appears once the endpoint serves, a moment after the
    // start; asked in short waits so that stop() is not held up by it.
    std::optional<int> port;
    const auto port_deadline = Clock::now() + kConsolePortTimeout;
    std::unique_lock<std::mutex> lock(mu_);
    while (!port && !stopping_ && Clock::now() < port_deadline) {
        lock.unlock();
        port = daemon.http_port(std::chrono::milliseconds(200));
        lock.lock();
    }
    if (!port) {
        if (!stopping_) {
            ++counts_.not_ok;
            counts_.first_failure = "no port in the daemon's http.port_file after "
                                    + std::to_string(kConsolePortTimeout.count()) + " s";
        }
        return;
    }
    // The API answers 503 ("starting") until the daemon's start-up is done:
    // the client starts loading the page once it serves.
    const std::string host_port = "127.0.0.1:" + std::to_string(*port);
    bool serving = false;
    while (!serving && !stopping_ && Clock::now() < port_deadline) {
        lock.unlock();
        try {
            serving = http::get(host_port, "/api/v1/summary", kConsoleRequestTimeout).status != 503;
        } catch (const std::exception&) {
            serving = false; // not listening yet: asked again below
        }
        lock.lock();
        if (!serving) {
            cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return stopping_; });
        }
    }
    auto next = Clock::now();
    while (!stopping_) {
        lock.unlock();
        load_page(*port);
        lock.lock();
        // Once a second, as the page's refresh; a load slower than that is
        // followed by the next at once, not by a burst of the missed ones.
        next = std::max(next + std::chrono::seconds(1), Clock::now());
        cv_.wait_until(lock, next, [this] { return stopping_; });
    }
}

void ConsoleClient::load_page(int port) {
    const std::string host_port = "127.0.0.1:" + std::to_string(port);
    for (const char* path : kConsolePaths) {
        const auto t0 = Clock::now();
        std::string failure;
        try {
            const auto r = http::get(host_port, path, kConsoleRequestTimeout);
            if (r.status != 200) {
                failure = std::to_string(r.status) + " " + r.body.substr(0, 200);
            }
        } catch (const std::exception& e) {
            failure = e.what();
        }
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        ++counts_.requests;
        if (ms > counts_.slowest_ms) {
            counts_.slowest_ms = ms;
            counts_.slowest_path = path;
        }
        if (!failure.empty()) {
            ++counts_.not_ok;
            if (counts_.first_failure.empty()) {
                counts_.first_failure = std::string("GET ") + path + ": " + failure;
            }
        }
    }
    ++counts_.page_loads;
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
