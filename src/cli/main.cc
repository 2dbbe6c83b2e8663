// outboxd: relays transactional-outbox rows from PostgreSQL to Kafka.
#include "cli/commands.h"
#include "common/log.h"
#include "common/version.h"
#include "config/config.h"
#include "config/options.h"
#include "daemon/run/run.h"
#include "daemon/run/signals.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <unistd.h> // environ

namespace {

std::vector<std::string> environment() {
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        env.emplace_back(*e);
    }
    return env;
}

// Loads the config or prints every problem; exit code in `code` on failure.
std::optional<outboxd::config::Config> load(const std::string& path, int& code) {
    auto res = outboxd::config::load_config(path, environment());
    if (!res.problems.empty()) {
        for (const auto& p : res.problems) {
            std::cerr << "outboxd: config error: " << outboxd::config::format_problem(p) << "\n";
        }
        std::cerr << "outboxd: " << res.problems.size() << " problem"
                  << (res.problems.size() == 1 ? "" : "s") << " in " << path << "\n";
        code = outboxd::cli::kExitUsage;
        return std::nullopt;
    }
    const auto& c = *res.config;
    outboxd::log::setup(c.log.level, c.log.format);
    return res.config;
}

int run_main(int argc, char** argv) {
    // libpq writes to sockets the server may have closed; a SIGPIPE must
    // become an error return, not the death of the daemon.
    (void)std::signal(SIGPIPE, SIG_IGN);

    CLI::App app{
        "outboxd: relays transactional-outbox rows from PostgreSQL to Kafka with acks=all"};
    app.set_version_flag("--version", outboxd::version_line());
    app.require_subcommand(0, 1);

    // Read before any thread starts.
    const char* env_path = std::getenv("OUTBOXD_CONFIG"); // NOLINT(concurrency-mt-unsafe)
    std::string config_path = env_path != nullptr ? env_path : "/etc/outboxd/outboxd.yaml";
    auto add_config = [&](CLI::App* sub) {
        sub->add_option("-c,--config", config_path,
                        "YAML configuration file (env OUTBOXD_CONFIG; default "
                        "/etc/outboxd/outboxd.yaml)");
    };
    add_config(&app);

    auto* run = app.add_subcommand("run", "Relay pending rows to Kafka until SIGTERM (default)");
    add_config(run);
    auto* migrate = app.add_subcommand(
        "migrate",
        "Create the outbox table, its indexes, the action log, NOTIFY trigger; idempotent");
    add_config(migrate);
    auto* check = app.add_subcommand(
        "check", "Validate the config, reach PostgreSQL and Kafka, audit topic durability");
    add_config(check);
    bool config_only = false;
    check->add_flag("--config-only", config_only, "Only validate the configuration file");
    auto* healthcheck = app.add_subcommand(
        "healthcheck", "GET a path from the running daemon's http.listen; exit 0 on HTTP 200");
    add_config(healthcheck);
    std::string health_path = "/healthz";
    healthcheck->add_option("--path", health_path, "Path to GET (default /healthz)");
    const outboxd::cli::AdminCommands admin(app, add_config);
    // Reads no outboxd configuration: it writes one.
    outboxd::cli::ConvertDebeziumArgs convert_args;
    auto* convert = app.add_subcommand(
        "convert-debezium", "Turn a Debezium PostgreSQL connector's configuration (outbox "
                            "EventRouter) into outboxd's YAML; unmapped keys on stderr");
    convert
        ->add_option("FILE", convert_args.file,
                     "The connector's .properties or .json (REST API) file; - for stdin")
        ->required();
    convert->add_flag("--strict", convert_args.strict,
                      "Exit 1, printing no YAML, when any key could not be mapped");
    convert
        ->add_option("--bootstrap-servers", convert_args.bootstrap_servers,
                     "kafka.bootstrap_servers to write (a connector's configuration does not "
                     "name the Kafka cluster)")
        ->type_name("HOST:PORT,...")
        ->check(CLI::Validator(outboxd::config::check_not_empty, ""));

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : outboxd::cli::kExitUsage;
    }

    if (*convert) {
        return outboxd::cli::cmd_convert_debezium(convert_args);
    }
    const bool running = !*migrate && !*check && !*healthcheck && !admin.selected();
    if (running) {
        outboxd::daemon::install_signal_handlers();
    }
    int code = 0;
    auto cfg = load(config_path, code);
    if (!cfg) {
        return code;
    }
    try {
        if (*migrate) {
            return outboxd::cli::cmd_migrate(*cfg);
        }
        if (*healthcheck) {
            return outboxd::cli::cmd_healthcheck(*cfg, health_path);
        }
        if (admin.selected()) {
            return admin.run(*cfg);
        }
        if (*check) {
            if (config_only) {
                std::cout << "outboxd: " << config_path << " is valid\n";
                return 0;
            }
            return outboxd::cli::cmd_check(*cfg);
        }
        return outboxd::daemon::run(*cfg, [&config_path] {
            return outboxd::config::load_config(config_path, environment());
        });
    } catch (const std::exception& e) {
        outboxd::log::get("main")->critical("stopping: {}", e.what());
        return outboxd::cli::kExitFailure;
    }
}

} // namespace

int main(int argc, char** argv) {
    // Anything thrown before the command's own handler (CLI11 set-up, the
    // logger) ends the process with a message and exit 1, not an abort.
    try {
        return run_main(argc, argv);
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "outboxd: %s\n", e.what());
    } catch (...) {
        (void)std::fprintf(stderr, "outboxd: unknown error\n");
    }
    return outboxd::cli::kExitFailure;
}
