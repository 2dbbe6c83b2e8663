// The subcommands of the outboxd binary (`run` is daemon/run/run.h). Each returns the process exit
// code: 0 success, 1 a runtime problem (service unreachable, audit refused), 2 bad usage or
// configuration.
#pragma once

#include "common/exit_codes.h"
#include "config/config.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace CLI { // NOLINT(readability-identifier-naming): CLI11's namespace
class App;
}

namespace outboxd::cli {

using outboxd::kExitFailure;
using outboxd::kExitOk;
using outboxd::kExitUsage;

// "schema"."table", quoted as in SQL, for messages.
std::string table_name(const config::Config& cfg);
// The advisory-lock key of the one-publisher lease: leader.lock_key, or the
// key derived from the table when that is 0.
std::int64_t effective_lock_key(const config::Config& cfg);

int cmd_migrate(const config::Config& cfg);
int cmd_check(const config::Config& cfg);
// GET `path` from the daemon's http.listen (a wildcard host means loopback):
// 0 on HTTP 200, 1 on any other status or no answer, 2 when http.listen is
// empty or `path` does not start with '/'. Prints the status and body.
int cmd_healthcheck(const config::Config& cfg, const std::string& path);

// `outboxd convert-debezium FILE` (src/cli/convert_debezium.cc; the
// conversion itself is cli/debezium_convert.h): reads a Debezium connector's
// configuration (`-` for stdin), prints the outboxd YAML on stdout and every
// key it could not map on stderr. 0 converted; 1 with `strict` when some key
// could not be mapped (nothing printed on stdout); 2 when the file cannot be
// read or parsed or holds no EventRouter. Reads no outboxd configuration.
struct ConvertDebeziumArgs {
    std::string file;
    bool strict = false;
    std::string bootstrap_servers; // "" : from the connector or a placeholder
};
int cmd_convert_debezium(const ConvertDebeziumArgs& args);

// The operator's subcommands (src/cli/admin.cc): status, failed, requeue,
// close, actions, unconfirmed, print-config (the review commands' bodies in
// src/cli/review.cc). The constructor registers them and their options on `app`
// (each gets -c/--config through `add_config`); argument errors surface from
// app.parse() as CLI11 parse errors (exit 2). After parsing, selected() says
// whether one of them was chosen and run() runs it. Main thread only.
class AdminCommands {
public:
    AdminCommands(CLI::App& app, const std::function<void(CLI::App*)>& add_config);
    ~AdminCommands();
    AdminCommands(const AdminCommands&) = delete;
    AdminCommands& operator=(const AdminCommands&) = delete;

    bool selected() const;
    int run(const config::Config& cfg) const;

    struct Args; // the parsed options, filled in by CLI11

private:
    std::unique_ptr<Args> args_;
};

} // namespace outboxd::cli
