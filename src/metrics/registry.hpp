#pragma once
// Process metrics for Prometheus: counters, gauges and fixed-bucket histograms, alone or in
// families of labelled children, plus series computed by a callback when scraped; rendered in
// the text exposition format 0.0.4.
//
// The hot path is one atomic operation: a caller looks a child up once (Family::with, which
// takes a lock) and keeps the reference, which stays valid as long as the registry. Callers keep
// label values bounded (route patterns, engine names, error codes, never user input); a family
// still refuses to grow past kMaxChildren and folds the excess into one child whose labels are
// all "_other".
//
// Thread-safety: every member of every class here may be called from any thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::metrics {

/// A monotonically increasing count.
class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down.
class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  void sub(double d) noexcept { value_.fetch_sub(d, std::memory_order_relaxed); }
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Observations counted in fixed buckets (upper bounds, ascending), with their sum.
class Histogram {
 public:
  /// Throws std::invalid_argument unless `bounds` is non-empty, finite and strictly ascending.
  explicit Histogram(std::span<const double> bounds);

  /// NaN is ignored; anything above the last bound counts only in +Inf.
  void observe(double value) noexcept;

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  ///< per bound: observations <= bound
    std::uint64_t count = 0;                ///< every observation (the +Inf bucket)
    double sum = 0;
  };
  /// A consistent-enough view: count is the sum of the buckets read, so the +Inf bucket and
  /// _count always agree and buckets are monotonic (sum may include an observation more or less).
  [[nodiscard]] Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (overflow)
  std::atomic<double> sum_{0};
};

/// Latency buckets in seconds, 5 ms .. 30 s.
std::span<const double> latency_buckets() noexcept;

enum class Type { counter, gauge, histogram };

/// Children of one metric name, one per combination of label values.
template <class Metric>
class Family {
 public:
  static constexpr std::size_t kMaxChildren = 2000;

  /// The child for these label values (as many as label names, in order), created on first
  /// use. Takes a lock: call it once and keep the reference. Throws std::invalid_argument when
  /// the number of values is wrong (a programmer error).
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(std::vector<std::string>(values.begin(), values.end()));
  }
  Metric& with(std::vector<std::string> values);

  [[nodiscard]] const std::vector<std::string>& label_names() const noexcept {
    return label_names_;
  }

  /// Visits every child in label order, under the family's lock (for rendering).
  void each(const std::function<void(const std::vector<std::string>&, const Metric&)>& fn) const;

  Family(std::vector<std::string> label_names, std::function<std::unique_ptr<Metric>()> make)
      : label_names_(std::move(label_names)), make_(std::move(make)) {}

 private:
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<Metric>()> make_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

/// One series of a callback metric.
struct Sample {
  std::vector<std::string> label_values;  ///< as many as the family's label names
  double value = 0;
};

/// Called when scraped (on the scraper's thread: a worker). May block briefly (a cheap query);
/// must not register metrics. An exception drops the callback's series from that scrape.
using Collect = std::function<std::vector<Sample>()>;

/// One flattened series, for the sampler and the admin endpoint. Histograms give only
/// `<name>_count` and `<name>_sum`.
struct Point {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registration: names follow Prometheus' rules ([a-zA-Z_:][a-zA-Z0-9_:]*, labels without ':'
  // and not "le" or "__*"); a malformed or duplicate name throws std::invalid_argument (a
  // programmer error, found at start-up).
  Counter& counter(std::string name, std::string help);
  Gauge& gauge(std::string name, std::string help);
  Histogram& histogram(std::string name, std::string help, std::span<const double> bounds);
  Family<Counter>& counter_family(std::string name, std::string help,
                                  std::vector<std::string> labels);
  Family<Gauge>& gauge_family(std::string name, std::string help, std::vector<std::string> labels);
  Family<Histogram>& histogram_family(std::string name, std::string help,
                                      std::vector<std::string> labels,
                                      std::span<const double> bounds);
  /// A counter or gauge whose series `collect` computes at scrape time.
  void callback(std::string name, std::string help, Type type, std::vector<std::string> labels,
                Collect collect);
  void callback_gauge(std::string name, std::string help, std::function<double()> value);
  void callback_counter(std::string name, std::string help, std::function<double()> value);

  /// Every metric in the text exposition format 0.0.4, in registration order.
  [[nodiscard]] std::string render() const;

  /// Every series as points (callbacks evaluated), in registration order.
  [[nodiscard]] std::vector<Point> collect() const;

  struct Entry;

 private:
  Entry& add(std::string name, std::string help, Type type, std::vector<std::string> labels);
  std::vector<Entry*> entries() const;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

/// Text-format escaping: label values escape backslash, double quote and newline; HELP text
/// escapes backslash and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
/// A sample value as the text format writes it: integers without a fraction, "+Inf", "-Inf",
/// "NaN", otherwise the shortest round-trip decimal.
std::string format_value(double value);

}  // namespace parley::metrics
