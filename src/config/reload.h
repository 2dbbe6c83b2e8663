// A SIGHUP reload against the option table: which restart-only options a
// reloaded file changes, keeping their running values, and the rules between
// options checked again on the result. No I/O; any thread.
#pragma once

#include <string>
#include <vector>

namespace outboxd::config {

struct Config;

// Keys of options that differ between the two configs but cannot change
// without a restart; a SIGHUP reload that finds any should refuse or warn.
std::vector<std::string> restart_only_changes(const Config& running, const Config& reloaded);

// Copies the value of every option that needs a restart from `running` into
// `reloaded`, so a SIGHUP applies only the reloadable ones.
void keep_restart_only(Config& reloaded, const Config& running);

// The rules between options checked again on `merged`, a reloaded file after
// keep_restart_only: the file passed on its own, but a new value may not fit
// a running restart-only one. One message per broken rule, e.g.
// "relay.batch_size 20000 is above the running relay.max_in_flight 10000
// (restart to change relay.max_in_flight)".
std::vector<std::string> merge_problems(const Config& merged);

} // namespace outboxd::config
