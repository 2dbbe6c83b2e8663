#include "common/log.h"

#include "common/iso_time.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

#include <nlohmann/json.hpp>

namespace outboxd::log {
namespace {

// Formats one record as a JSON object per line; the message is escaped, so
// any text (SQL errors, broker messages) stays parseable.
class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        nlohmann::json j;
        j["ts"] = iso8601_utc(msg.time);
        j["level"] = std::string(spdlog::level::to_string_view(msg.level).data(),
                                 spdlog::level::to_string_view(msg.level).size());
        j["component"] = std::string(msg.logger_name.data(), msg.logger_name.size());
        j["msg"] = std::string(msg.payload.data(), msg.payload.size());
        const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        dest.append(line.data(), line.data() + line.size());
        dest.push_back('\n');
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonFormatter>();
    }
};

std::mutex g_mu;
spdlog::sink_ptr g_sink; // shared by all loggers, guarded by g_mu at creation
spdlog::level::level_enum g_level = spdlog::level::info;
Format g_format = Format::kText;

void apply_format(spdlog::logger& l) {
    if (g_format == Format::kJson) {
        l.set_formatter(std::make_unique<JsonFormatter>());
    } else {
        l.set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l [%n] %v", spdlog::pattern_time_type::utc);
    }
}

spdlog::sink_ptr sink_locked() {
    if (!g_sink) {
        g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
    return g_sink;
}

} // namespace

bool setup(const std::string& level, Format format) {
    const auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off") {
        return false;
    }
    std::lock_guard<std::mutex> lk(g_mu);
    g_level = lvl;
    g_format = format;
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) {
        l->set_level(g_level);
        apply_format(*l);
    });
    return true;
}

std::shared_ptr<spdlog::logger> get(const std::string& component) {
    std::lock_guard<std::mutex> lk(g_mu);
    if (auto existing = spdlog::get(component)) {
        return existing;
    }
    auto l = std::make_shared<spdlog::logger>(component, sink_locked());
    l->set_level(g_level);
    apply_format(*l);
    l->flush_on(spdlog::level::info);
    spdlog::register_logger(l);
    return l;
}

} // namespace outboxd::log
