#include "metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>

namespace outboxd::metrics {
namespace {

bool valid_name(std::string_view n, bool allow_colon) {
    if (n.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
                           || (allow_colon && c == ':');
        const bool digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && i > 0)) {
            return false;
        }
    }
    return true;
}

void check_label_name(const std::string& metric, const std::string& label) {
    // "le" is the histogram bucket label; "__" names are reserved by Prometheus.
    if (!valid_name(label, false) || label == "le" || label.rfind("__", 0) == 0) {
        throw std::invalid_argument("metric " + metric + ": invalid label name '" + label + "'");
    }
}

void append_sample(std::string& out,
                   const std::string& name,
                   const std::string& labels,
                   const std::string& value) {
    out += name;
    out += labels;
    out += ' ';
    out += value;
    out += '\n';
}

const char* type_name(Type t) {
    switch (t) {
    case Type::kCounter:
        return "counter";
    case Type::kGauge:
        return "gauge";
    case Type::kHistogram:
        return "histogram";
    }
    return "untyped";
}

} // namespace

std::string format_value(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    // Counts and timestamps read better as plain integers than as 1e+06;
    // below 2^53 every integer-valued double is exact.
    constexpr double kExactLimit = 9007199254740992.0;
    if (v == std::trunc(v) && std::fabs(v) < kExactLimit) {
        return std::to_string(static_cast<long long>(v));
    }
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    return {buf, res.ptr};
}

namespace {

// The text exposition format escapes \ and newline everywhere, and " only
// inside label values.
std::string escape(std::string_view v, bool quote) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (quote && c == '"') {
            out += "\\\"";
        } else {
            out += c;
        }
    }
    return out;
}

} // namespace

std::string escape_label_value(std::string_view v) {
    return escape(v, true);
}

std::string escape_help(std::string_view v) {
    return escape(v, false);
}

Metric::Metric(std::string name, std::string help, Type type, Labels labels)
    : name_(std::move(name))
    , help_(std::move(help))
    , type_(type)
    , labels_(std::move(labels)) {
    if (!valid_name(name_, true)) {
        throw std::invalid_argument("invalid metric name '" + name_ + "'");
    }
    for (const auto& [k, v] : labels_) {
        check_label_name(name_, k);
    }
}

std::vector<std::string> Metric::sample_names() const {
    return {name_};
}

std::string Metric::label_block(const Labels& extra) const {
    if (labels_.empty() && extra.empty()) {
        return "";
    }
    std::string out = "{";
    bool first = true;
    for (const auto* set : {&labels_, &extra}) {
        for (const auto& [k, v] : *set) {
            if (!first) {
                out += ',';
            }
            first = false;
            out += k;
            out += "=\"";
            out += escape_label_value(v);
            out += '"';
        }
    }
    out += '}';
    return out;
}

Counter::Counter(Registry& registry, std::string name, std::string help, Labels labels)
    : Metric(std::move(name), std::move(help), Type::kCounter, std::move(labels)) {
    registry.add(*this);
}

void Counter::render_samples(std::string& out) const {
    append_sample(out, name(), label_block(), std::to_string(value()));
}

LabeledCounter::LabeledCounter(Registry& registry,
                               std::string name,
                               std::string help,
                               std::string label,
                               std::vector<std::string> values,
                               const std::string& fallback)
    : Metric(std::move(name), std::move(help), Type::kCounter, {})
    , label_(std::move(label))
    , values_(std::move(values))
    , cells_(std::make_unique<CounterCell[]>(values_.size())) {
    check_label_name(this->name(), label_);
    if (std::set<std::string>(values_.begin(), values_.end()).size() != values_.size()) {
        throw std::invalid_argument("metric " + this->name() + ": duplicate label values");
    }
    const auto it = std::find(values_.begin(), values_.end(), fallback);
    if (it == values_.end()) {
        throw std::invalid_argument("metric " + this->name() + ": fallback '" + fallback
                                    + "' is not one of the declared values");
    }
    fallback_ = static_cast<std::size_t>(it - values_.begin());
    registry.add(*this);
}

std::size_t LabeledCounter::index_of(std::string_view value) const noexcept {
    for (std::size_t i = 0; i < values_.size(); ++i) {
        if (values_[i] == value) {
            return i;
        }
    }
    return fallback_;
}

CounterCell& LabeledCounter::with(std::string_view value) noexcept {
    return cells_[index_of(value)];
}

const CounterCell& LabeledCounter::with(std::string_view value) const noexcept {
    return cells_[index_of(value)];
}

void LabeledCounter::render_samples(std::string& out) const {
    for (std::size_t i = 0; i < values_.size(); ++i) {
        append_sample(out, name(), label_block({{label_, values_[i]}}),
                      std::to_string(cells_[i].value()));
    }
}

LabeledGauge::LabeledGauge(Registry& registry,
                           std::string name,
                           std::string help,
                           std::string label)
    : Metric(std::move(name), std::move(help), Type::kGauge, {})
    , label_(std::move(label)) {
    check_label_name(this->name(), label_);
    registry.add(*this);
}

void LabeledGauge::set_values(std::vector<std::string> values) {
    if (std::set<std::string>(values.begin(), values.end()).size() != values.size()) {
        throw std::invalid_argument("metric " + name() + ": duplicate label values");
    }
    values_ = std::move(values);
    cells_ = std::make_unique<std::atomic<double>[]>(values_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) {
        cells_[i].store(0.0, std::memory_order_relaxed);
    }
}

void LabeledGauge::set(std::string_view value, double v) noexcept {
    for (std::size_t i = 0; i < values_.size(); ++i) {
        if (values_[i] == value) {
            cells_[i].store(v, std::memory_order_relaxed);
            return;
        }
    }
}

double LabeledGauge::value(std::string_view value) const noexcept {
    for (std::size_t i = 0; i < values_.size(); ++i) {
        if (values_[i] == value) {
            return cells_[i].load(std::memory_order_relaxed);
        }
    }
    return 0.0;
}

void LabeledGauge::render_samples(std::string& out) const {
    for (std::size_t i = 0; i < values_.size(); ++i) {
        append_sample(out, name(), label_block({{label_, values_[i]}}),
                      format_value(cells_[i].load(std::memory_order_relaxed)));
    }
}

Gauge::Gauge(Registry& registry, std::string name, std::string help, Labels labels)
    : Metric(std::move(name), std::move(help), Type::kGauge, std::move(labels)) {
    registry.add(*this);
}

void Gauge::add(double d) noexcept {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
}

void Gauge::render_samples(std::string& out) const {
    append_sample(out, name(), label_block(), format_value(value()));
}

Histogram::Histogram(Registry& registry,
                     std::string name,
                     std::string help,
                     std::vector<double> upper_bounds,
                     Labels labels)
    : Metric(std::move(name), std::move(help), Type::kHistogram, std::move(labels))
    , bounds_(std::move(upper_bounds))
    , buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
    if (bounds_.empty()) {
        throw std::invalid_argument("histogram " + this->name() + ": no buckets");
    }
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
            throw std::invalid_argument("histogram " + this->name()
                                        + ": bounds must be finite and strictly increasing");
        }
    }
    registry.add(*this);
}

void Histogram::observe(double v) noexcept {
    if (std::isnan(v)) {
        return;
    }
    // First bound >= v: "le" is inclusive.
    const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
    buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1,
                                                                       std::memory_order_relaxed);
    double cur = sum_.load(std::memory_order_relaxed);
    while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot s;
    s.upper_bounds = bounds_;
    s.cumulative.reserve(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(running);
    }
    s.count = running;
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

void Histogram::render_samples(std::string& out) const {
    const auto s = snapshot();
    const std::string bucket = name() + "_bucket";
    for (std::size_t i = 0; i < s.upper_bounds.size(); ++i) {
        append_sample(out, bucket, label_block({{"le", format_value(s.upper_bounds[i])}}),
                      std::to_string(s.cumulative[i]));
    }
    append_sample(out, bucket, label_block({{"le", "+Inf"}}), std::to_string(s.count));
    append_sample(out, name() + "_sum", label_block(), format_value(s.sum));
    append_sample(out, name() + "_count", label_block(), std::to_string(s.count));
}

std::vector<std::string> Histogram::sample_names() const {
    return {name() + "_bucket", name() + "_sum", name() + "_count"};
}

void Registry::add(const Metric& metric) {
    const auto& n = metric.name();
    if (metric.type() == Type::kCounter
        && (n.size() < 6 || n.compare(n.size() - 6, 6, "_total") != 0)) {
        throw std::invalid_argument("counter " + n + ": name must end in _total");
    }
    for (const auto* m : metrics_) {
        if (m->name() == n) {
            throw std::invalid_argument("metric " + n + " declared twice");
        }
    }
    metrics_.push_back(&metric);
}

std::string Registry::render() const {
    std::string out;
    for (const auto* m : metrics_) {
        if (!m->exported()) {
            continue;
        }
        out += "# HELP ";
        out += m->name();
        out += ' ';
        out += escape_help(m->help());
        out += "\n# TYPE ";
        out += m->name();
        out += ' ';
        out += type_name(m->type());
        out += '\n';
        m->render_samples(out);
    }
    return out;
}

std::vector<std::string> Registry::names() const {
    std::vector<std::string> out;
    out.reserve(metrics_.size());
    for (const auto* m : metrics_) {
        out.push_back(m->name());
    }
    return out;
}

std::string Registry::markdown_rows() const {
    std::string out;
    for (const auto* m : metrics_) {
        const char* type = type_name(m->type());
        std::string labels;
        if (const auto* lc = dynamic_cast<const LabeledCounter*>(m)) {
            labels = "`" + lc->label() + "`:";
            for (std::size_t i = 0; i < lc->values().size(); ++i) {
                labels += (i == 0 ? " `" : ", `") + lc->values()[i] + "`";
            }
        } else if (const auto* lg = dynamic_cast<const LabeledGauge*>(m)) {
            labels = "`" + lg->label() + "`: one per configured value";
        } else if (const auto* h = dynamic_cast<const Histogram*>(m)) {
            labels = "buckets (`le`):";
            for (double b : h->upper_bounds()) {
                labels += " " + format_value(b);
            }
        }
        out += "| `" + m->name() + "` | " + type + " | " + labels + " | " + m->help() + " |\n";
    }
    return out;
}

std::vector<std::string> Registry::sample_names() const {
    std::vector<std::string> out;
    for (const auto* m : metrics_) {
        for (auto& s : m->sample_names()) {
            out.push_back(std::move(s));
        }
    }
    return out;
}

} // namespace outboxd::metrics
