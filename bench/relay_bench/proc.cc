#include "proc.h"

#include "services.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

namespace outboxd::bench {

namespace ot = outboxd::testing;

ProcessMemory read_memory(int pid) {
    ProcessMemory m;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        const auto kb = [&](const char* tag) {
            return line.rfind(tag, 0) == 0 ? std::stod(line.substr(std::strlen(tag))) / 1024.0
                                           : -1.0;
        };
        if (const double v = kb("VmRSS:"); v >= 0) {
            m.rss_mib = v;
        } else if (const double a = kb("RssAnon:"); a >= 0) {
            m.anon_mib = a;
        } else if (const double f = kb("RssFile:"); f >= 0) {
            m.file_mib = f;
        }
    }
    return m;
}

double peak_rss_of(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::stod(line.substr(6)) / 1024.0; // value is in kB
        }
    }
    return 0;
}

std::vector<std::string> stat_fields(int pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto close = all.rfind(')');
    if (close == std::string::npos) {
        return {};
    }
    std::istringstream rest(all.substr(close + 2));
    std::vector<std::string> f;
    for (std::string x; rest >> x;) {
        f.push_back(x);
    }
    return f;
}

double cpu_seconds(int pid, bool children) {
    const auto f = stat_fields(pid);
    if (f.size() < 15) {
        return 0;
    }
    // utime and stime are fields 14 and 15 of the whole line; cutime and
    // cstime 16 and 17.
    double ticks = std::stod(f[11]) + std::stod(f[12]);
    if (children) {
        ticks += std::stod(f[13]) + std::stod(f[14]);
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double postgres_cpu_seconds() {
    std::ifstream pidfile(ot::services().dir + "/pg/data/postmaster.pid");
    int postmaster = 0;
    pidfile >> postmaster;
    if (postmaster <= 0) {
        throw std::runtime_error("peer: cannot read the postmaster's pid");
    }
    double total = cpu_seconds(postmaster, true);
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        const std::string name = e.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        const auto f = stat_fields(std::stoi(name));
        if (f.size() >= 2 && std::stoi(f[1]) == postmaster) {
            total += cpu_seconds(std::stoi(name), false);
        }
    }
    return total;
}

} // namespace outboxd::bench
