// Metric primitives (Counter, Gauge, Histogram, LabeledCounter) and the
// Registry that renders them in the Prometheus text format 0.0.4. No I/O.
//
// Threads: every update (inc, set, add, observe) is a relaxed atomic and may
// be called from any thread; the daemon calls them from its main thread. The
// HTTP thread only reads, through Registry::render(). Construction and
// registration happen once, before any reader exists.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace outboxd::metrics {

class Registry;

// Labels fixed when a metric is declared, e.g. {"version", "0.2.0"}.
using Labels = std::vector<std::pair<std::string, std::string>>;

enum class Type { kCounter, kGauge, kHistogram };

// Name, help, type and constant labels of one metric family. Each concrete
// metric registers itself with its registry at the end of its constructor,
// once its arguments are checked; the registry keeps a pointer, so a metric
// can be neither copied nor moved.
class Metric {
public:
    Metric(std::string name, std::string help, Type type, Labels labels);
    virtual ~Metric() = default;
    Metric(const Metric&) = delete;
    Metric& operator=(const Metric&) = delete;
    Metric(Metric&&) = delete;
    Metric& operator=(Metric&&) = delete;

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    Type type() const { return type_; }

    // A family that means nothing for this process (outboxd_kafka_up with
    // broker: rabbitmq) is left out of render(); it stays declared, so the
    // reference page and the dashboards' name checks still know it. Set
    // once at start-up; relaxed, as the HTTP thread may read it.
    void set_exported(bool on) noexcept { exported_.store(on, std::memory_order_relaxed); }
    bool exported() const noexcept { return exported_.load(std::memory_order_relaxed); }

    // Appends the sample lines (no # HELP / # TYPE) to `out`.
    virtual void render_samples(std::string& out) const = 0;
    // Names of the series this family exposes: the family name, or for a
    // histogram its _bucket, _sum and _count series.
    virtual std::vector<std::string> sample_names() const;

protected:
    // `{a="x",b="y"}` for the constant labels plus `extra`, or "" when none.
    std::string label_block(const Labels& extra = {}) const;

private:
    std::string name_;
    std::string help_;
    Type type_;
    Labels labels_;
    std::atomic<bool> exported_{true};
};

// One monotonically increasing count.
class CounterCell {
public:
    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

// A counter family without variable labels. Its name must end in "_total".
class Counter final : public Metric {
public:
    Counter(Registry& registry, std::string name, std::string help, Labels labels = {});
    void inc(std::uint64_t n = 1) noexcept { cell_.inc(n); }
    std::uint64_t value() const noexcept { return cell_.value(); }
    void render_samples(std::string& out) const override;

private:
    CounterCell cell_;
};

// A counter with one variable label whose values are all declared up front.
// A value outside the set is counted under `fallback` (one of `values`), so a
// new error string can never add a series: cardinality is fixed at start.
// Every declared value is exposed from the start, at 0, so rate() works.
class LabeledCounter final : public Metric {
public:
    LabeledCounter(Registry& registry,
                   std::string name,
                   std::string help,
                   std::string label,
                   std::vector<std::string> values,
                   const std::string& fallback);
    // The cell for `value`, or the fallback's cell when `value` is unknown.
    CounterCell& with(std::string_view value) noexcept;
    const CounterCell& with(std::string_view value) const noexcept;
    const std::vector<std::string>& values() const { return values_; }
    const std::string& label() const { return label_; }
    void render_samples(std::string& out) const override;

private:
    std::size_t index_of(std::string_view value) const noexcept;

    std::string label_;
    std::vector<std::string> values_;
    std::unique_ptr<CounterCell[]> cells_; // one per values_ entry
    std::size_t fallback_ = 0;
};

// A value that goes up and down.
class Gauge final : public Metric {
public:
    Gauge(Registry& registry, std::string name, std::string help, Labels labels = {});
    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(double d) noexcept;
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }
    void render_samples(std::string& out) const override;

private:
    std::atomic<double> value_{0.0};
};

// One gauge per value of a label whose values come from the configuration
// (outboxd_unconfirmed_by_consumer_rows{consumer="inventory"}): a bounded set
// an operator wrote, never values from rows. set_values() runs once at
// start-up, before the HTTP server exists; until then the family renders no
// samples.
class LabeledGauge final : public Metric {
public:
    LabeledGauge(Registry& registry, std::string name, std::string help, std::string label);
    void set_values(std::vector<std::string> values);
    // No-op for a value that was not declared.
    void set(std::string_view value, double v) noexcept;
    double value(std::string_view value) const noexcept;
    const std::string& label() const { return label_; }
    void render_samples(std::string& out) const override;

private:
    std::string label_;
    std::vector<std::string> values_;
    std::unique_ptr<std::atomic<double>[]> cells_;
};

// Observations counted in buckets with fixed, strictly increasing, finite
// upper bounds (Prometheus "le", inclusive); +Inf is implicit.
class Histogram final : public Metric {
public:
    Histogram(Registry& registry,
              std::string name,
              std::string help,
              std::vector<double> upper_bounds,
              Labels labels = {});
    // NaN is dropped: it would turn _sum into NaN for the life of the process.
    void observe(double v) noexcept;

    struct Snapshot {
        std::vector<double> upper_bounds;
        std::vector<std::uint64_t> cumulative; // upper_bounds.size() + 1 entries; last is +Inf
        double sum = 0;
        std::uint64_t count = 0; // always equals cumulative.back()
    };
    Snapshot snapshot() const;
    const std::vector<double>& upper_bounds() const { return bounds_; }
    void render_samples(std::string& out) const override;
    std::vector<std::string> sample_names() const override;

private:
    std::vector<double> bounds_;
    // Per-bucket (not cumulative) counts; index bounds_.size() is +Inf. The
    // count is derived from them, so a scrape racing an observe() still sees
    // _count equal to the +Inf bucket.
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
    std::atomic<double> sum_{0.0};
};

// The metric families in declaration order. Rejects (std::invalid_argument)
// invalid names, duplicate names and counters not ending in "_total": all are
// programming errors found by the first unit test run.
class Registry {
public:
    Registry() = default;
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;
    Registry(Registry&&) = delete;
    Registry& operator=(Registry&&) = delete;
    ~Registry() = default;

    void add(const Metric& metric);
    // Prometheus text exposition format 0.0.4.
    std::string render() const;
    std::vector<std::string> names() const;
    std::vector<std::string> sample_names() const;
    // One Markdown table row per family: name, type, labels (with every
    // declared value, or a histogram's buckets), help.
    std::string markdown_rows() const;

private:
    std::vector<const Metric*> metrics_;
};

// Formatting used by the renderer; exposed for the tests.
// `v` as Prometheus reads it: integers without exponent up to 2^53, "+Inf",
// "-Inf", "NaN", otherwise the shortest text that reads back as `v`.
std::string format_value(double v);
// Label value with \, " and newline escaped.
std::string escape_label_value(std::string_view v);
// HELP text with \ and newline escaped.
std::string escape_help(std::string_view v);

} // namespace outboxd::metrics
