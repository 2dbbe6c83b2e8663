// The checks that need the whole configuration, run by the loader
// (config.cc) once every value is in: required keys, the files that options
// name (the *_file secrets, the CA, the RabbitMQ topology), read now, and
// the rules between options.
#pragma once

#include "config/config.h"
#include "config/load_state.h"

namespace outboxd::config {

// Adds a problem to `state` for each rule broken, skipping options already
// reported so that one mistake yields one problem, and completes `config`
// with what the files hold (the DSN, the RabbitMQ URL, CA path and topology,
// the kafka.properties values of kafka.properties_files) and the store's
// copy of confirm.consumers.
void check_whole(LoadState& state, Config& config);

} // namespace outboxd::config
