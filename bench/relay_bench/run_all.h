// A full run: phases 1-6 in rounds, then the table and the JSON line.
#pragma once

#include "options.h"

namespace outboxd::bench {

// Measures, prints the table and one final JSON line; the exit code.
int run_all(const Options& opt);

} // namespace outboxd::bench
