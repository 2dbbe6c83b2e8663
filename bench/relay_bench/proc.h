// What /proc says about a process: memory and CPU time.
#pragma once

#include <string>
#include <vector>

namespace outboxd::bench {

struct ProcessMemory {
    double rss_mib = 0;  // VmRSS
    double anon_mib = 0; // RssAnon: heap, stacks, buffers
    double file_mib = 0; // RssFile: mapped library pages (shared, reclaimable)
};

ProcessMemory read_memory(int pid);

// The largest VmHWM (MiB) of `pid`.
double peak_rss_of(int pid);

// The fields of /proc/<pid>/stat after the parenthesised command name
// (state is [0], ppid [1], utime [11], stime [12]); empty when there is no
// such process.
std::vector<std::string> stat_fields(int pid);

// CPU seconds (user + system) of a process; with `children`, also of its
// children it waited for (the postmaster reaps every backend that exits).
double cpu_seconds(int pid, bool children);

// PostgreSQL's CPU so far: the postmaster with every backend it reaped,
// plus the backends alive now.
double postgres_cpu_seconds();

} // namespace outboxd::bench
