// The steady insert load of the latency and confirmation-lag phases.
#pragma once

#include "common.h"
#include "config/config.h"
#include "options.h"

#include <pqxx/pqxx>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace outboxd::bench {

// Inserts single-row autocommit transactions on its own connection at a
// fixed pace; slots are absolute (start + k * interval), so a slow commit is
// followed by a catch-up rather than drifting the rate down.
class Inserter {
public:
    Inserter(const config::Postgres& t,
             const std::string& topic,
             const Options& opt,
             int index,
             Clock::time_point start,
             Clock::time_point end);

    void run();

    std::int64_t inserted() const { return inserted_; }
    Clock::duration max_lag() const { return max_lag_; }
    const std::vector<double>& statement_ms() const { return statement_ms_; }

private:
    pqxx::connection conn_;
    Clock::duration interval_{};
    Clock::time_point first_, end_;
    std::string topic_;
    int keys_ = 1;
    int stride_ = 1;
    int index_ = 0;
    std::string payload_;
    std::int64_t inserted_ = 0;
    Clock::duration max_lag_{};
    std::vector<double> statement_ms_;
};

// opt.insert_threads inserters sharing the rate at opt.rate from `start`
// until `end`, not yet running.
std::vector<std::unique_ptr<Inserter>> make_inserters(const config::Postgres& t,
                                                      const std::string& topic,
                                                      const Options& opt,
                                                      Clock::time_point start,
                                                      Clock::time_point end);

} // namespace outboxd::bench
