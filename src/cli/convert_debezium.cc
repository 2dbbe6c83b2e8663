// `outboxd convert-debezium`: the file in, the conversion's results out
// (cli/debezium_convert.h holds the conversion; this file only reads and
// prints). Main thread only.
#include "cli/commands.h"
#include "cli/debezium_convert.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace outboxd::cli {

namespace {

// A connector's configuration is a few kilobytes; anything near this is
// not one.
constexpr std::streamsize kMaxInputBytes = std::streamsize{4} * 1024 * 1024;

const char kPrefix[] = "outboxd: convert-debezium: ";

bool read_input(const std::string& file, std::string& text, std::string& error) {
    std::ostringstream buffer;
    if (file == "-") {
        buffer << std::cin.rdbuf();
    } else {
        std::error_code ec;
        if (std::filesystem::is_directory(file, ec)) {
            error = "a directory, not a file";
            return false;
        }
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            error = std::strerror(errno); // NOLINT(concurrency-mt-unsafe): main thread only
            return false;
        }
        buffer << in.rdbuf();
    }
    text = buffer.str();
    if (static_cast<std::streamsize>(text.size()) > kMaxInputBytes) {
        error = "larger than 4 MiB: not a connector's configuration";
        return false;
    }
    return true;
}

} // namespace

int cmd_convert_debezium(const ConvertDebeziumArgs& args) {
    const std::string shown = args.file == "-" ? std::string("stdin") : args.file;
    std::string text;
    std::string error;
    if (!read_input(args.file, text, error)) {
        std::cerr << kPrefix << "cannot read " << shown << ": " << error << "\n";
        return kExitUsage;
    }
    const auto parsed = debezium::parse_connector(text, args.file);
    if (!parsed.status.ok()) {
        std::cerr << kPrefix << shown << ": " << parsed.status.error() << "\n";
        return kExitUsage;
    }
    debezium::ConvertOptions options;
    options.source_name = args.file == "-" ? std::string() : args.file;
    options.bootstrap_servers = args.bootstrap_servers;
    const auto result = debezium::convert(parsed.connector, options);
    if (!result.status.ok()) {
        std::cerr << kPrefix << shown << ": " << result.status.error() << "\n";
        return kExitUsage;
    }
    for (const auto& n : parsed.notes) {
        std::cerr << kPrefix << "note: " << n << "\n";
    }
    for (const auto& u : result.unmapped) {
        std::cerr << kPrefix << u.key << ": " << u.reason << "\n";
    }
    for (const auto& n : result.notes) {
        std::cerr << kPrefix << "note: " << n << "\n";
    }
    const std::size_t total = parsed.connector.entries.size();
    const std::size_t unmapped = result.unmapped.size();
    std::cerr << kPrefix << shown << ": " << total - unmapped << " of " << total << " keys mapped, "
              << unmapped << " not mapped" << (unmapped > 0 ? " (above)" : "") << "\n";
    if (args.strict && unmapped > 0) {
        std::cerr << kPrefix << "--strict: failing because " << unmapped << " key"
                  << (unmapped == 1 ? "" : "s") << " could not be mapped\n";
        return kExitFailure;
    }
    std::cout << result.yaml;
    return kExitOk;
}

} // namespace outboxd::cli
