#include "metrics/registry.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace parley::metrics {

namespace {

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  const auto ok = [&](char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
    if (allow_colon && c == ':') return true;
    return !first && c >= '0' && c <= '9';
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!ok(name[i], i == 0)) return false;
  }
  return true;
}

std::string_view type_name(Type type) {
  switch (type) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
  }
  return "untyped";
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void append_line(std::string& out, std::string_view name, const std::vector<std::string>& names,
                 const std::vector<std::string>& values, double value,
                 std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  append_labels(out, names, values, extra_name, extra_value);
  out += ' ';
  out += format_value(value);
  out += '\n';
}

std::vector<std::pair<std::string, std::string>> zip(const std::vector<std::string>& names,
                                                     const std::vector<std::string>& values) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out.emplace_back(names[i], values[i]);
  }
  return out;
}

constexpr std::array<double, 12> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10,  30};

}  // namespace

// ---- Histogram -------------------------------------------------------------------------------

Histogram::Histogram(std::span<const double> bounds) : bounds_(bounds.begin(), bounds.end()) {
  if (bounds_.empty()) throw std::invalid_argument("a histogram needs at least one bucket");
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      throw std::invalid_argument("histogram buckets must be finite and strictly ascending");
    }
  }
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double value) noexcept {
  if (std::isnan(value)) return;
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  const auto index = static_cast<std::size_t>(it - bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  out.bounds = bounds_;
  out.cumulative.reserve(bounds_.size());
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out.cumulative.push_back(running);
  }
  running += buckets_[bounds_.size()].load(std::memory_order_relaxed);
  out.count = running;
  out.sum = sum_.load(std::memory_order_relaxed);
  return out;
}

std::span<const double> latency_buckets() noexcept { return kLatencyBuckets; }

// ---- Family ----------------------------------------------------------------------------------

template <class Metric>
Metric& Family<Metric>::with(std::vector<std::string> values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("wrong number of label values");
  }
  std::lock_guard lock(mutex_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  if (children_.size() >= kMaxChildren) {
    values.assign(label_names_.size(), "_other");
    it = children_.find(values);
    if (it != children_.end()) return *it->second;
  }
  auto [inserted, ok] = children_.emplace(std::move(values), make_());
  (void)ok;
  return *inserted->second;
}

template <class Metric>
void Family<Metric>::each(
    const std::function<void(const std::vector<std::string>&, const Metric&)>& fn) const {
  std::lock_guard lock(mutex_);
  for (const auto& [values, child] : children_) fn(values, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry --------------------------------------------------------------------------------

struct Registry::Entry {
  std::string name;
  std::string help;
  Type type = Type::counter;
  std::vector<std::string> labels;
  std::variant<std::monostate, std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
               std::unique_ptr<Family<Histogram>>, Collect>
      source;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry& Registry::add(std::string name, std::string help, Type type,
                               std::vector<std::string> labels) {
  if (!valid_name(name, true)) throw std::invalid_argument("malformed metric name: " + name);
  for (const auto& label : labels) {
    if (!valid_name(label, false) || label.starts_with("__") ||
        (type == Type::histogram && label == "le")) {
      throw std::invalid_argument("malformed label name '" + label + "' for " + name);
    }
  }
  std::lock_guard lock(mutex_);
  for (const auto& entry : entries_) {
    if (entry->name == name) throw std::invalid_argument("metric registered twice: " + name);
  }
  auto entry = std::make_unique<Entry>();
  entry->name = std::move(name);
  entry->help = std::move(help);
  entry->type = type;
  entry->labels = std::move(labels);
  entries_.push_back(std::move(entry));
  return *entries_.back();
}

std::vector<Registry::Entry*> Registry::entries() const {
  std::lock_guard lock(mutex_);
  std::vector<Entry*> out;
  out.reserve(entries_.size());
  for (const auto& entry : entries_) out.push_back(entry.get());
  return out;
}

Family<Counter>& Registry::counter_family(std::string name, std::string help,
                                          std::vector<std::string> labels) {
  auto family =
      std::make_unique<Family<Counter>>(labels, [] { return std::make_unique<Counter>(); });
  auto* raw = family.get();
  // The entry is listed before its source is set: a concurrent render must not see it half
  // made, so the source is set under the lock that entries() takes.
  auto& entry = add(std::move(name), std::move(help), Type::counter, std::move(labels));
  std::lock_guard lock(mutex_);
  entry.source = std::move(family);
  return *raw;
}

Family<Gauge>& Registry::gauge_family(std::string name, std::string help,
                                      std::vector<std::string> labels) {
  auto family = std::make_unique<Family<Gauge>>(labels, [] { return std::make_unique<Gauge>(); });
  auto* raw = family.get();
  auto& entry = add(std::move(name), std::move(help), Type::gauge, std::move(labels));
  std::lock_guard lock(mutex_);
  entry.source = std::move(family);
  return *raw;
}

Family<Histogram>& Registry::histogram_family(std::string name, std::string help,
                                              std::vector<std::string> labels,
                                              std::span<const double> bounds) {
  Histogram check(bounds);  // validates the buckets before anything is registered
  std::vector<double> copy(bounds.begin(), bounds.end());
  auto family = std::make_unique<Family<Histogram>>(
      labels, [copy] { return std::make_unique<Histogram>(copy); });
  auto* raw = family.get();
  auto& entry = add(std::move(name), std::move(help), Type::histogram, std::move(labels));
  std::lock_guard lock(mutex_);
  entry.source = std::move(family);
  return *raw;
}

Counter& Registry::counter(std::string name, std::string help) {
  return counter_family(std::move(name), std::move(help), {}).with({});
}

Gauge& Registry::gauge(std::string name, std::string help) {
  return gauge_family(std::move(name), std::move(help), {}).with({});
}

Histogram& Registry::histogram(std::string name, std::string help, std::span<const double> bounds) {
  return histogram_family(std::move(name), std::move(help), {}, bounds).with({});
}

void Registry::callback(std::string name, std::string help, Type type,
                        std::vector<std::string> labels, Collect collect) {
  if (type == Type::histogram) throw std::invalid_argument("callback histograms are not supported");
  if (!collect) throw std::invalid_argument("empty metric callback for " + name);
  auto& entry = add(std::move(name), std::move(help), type, std::move(labels));
  std::lock_guard lock(mutex_);
  entry.source = std::move(collect);
}

void Registry::callback_gauge(std::string name, std::string help, std::function<double()> value) {
  callback(std::move(name), std::move(help), Type::gauge, {}, [value = std::move(value)] {
    return std::vector<Sample>{{{}, value()}};
  });
}

void Registry::callback_counter(std::string name, std::string help, std::function<double()> value) {
  callback(std::move(name), std::move(help), Type::counter, {}, [value = std::move(value)] {
    return std::vector<Sample>{{{}, value()}};
  });
}

namespace {

// Runs a callback; its failure drops only its own series.
std::vector<Sample> evaluate(const Collect& collect) {
  try {
    return collect();
  } catch (...) {
    return {};
  }
}

}  // namespace

std::string Registry::render() const {
  std::string out;
  // Sources are set once, under mutex_, right after the entry is listed; reading them under
  // the same lock keeps a half-registered entry out.
  std::vector<std::pair<Entry*, bool>> ready;
  {
    std::lock_guard lock(mutex_);
    for (const auto& entry : entries_) {
      ready.emplace_back(entry.get(), entry->source.index() != 0);
    }
  }
  for (const auto& [entry, has_source] : ready) {
    if (!has_source) continue;
    out += "# HELP ";
    out += entry->name;
    out += ' ';
    out += escape_help(entry->help);
    out += "\n# TYPE ";
    out += entry->name;
    out += ' ';
    out += type_name(entry->type);
    out += '\n';
    const auto& names = entry->labels;
    if (auto* counters = std::get_if<std::unique_ptr<Family<Counter>>>(&entry->source)) {
      (*counters)->each([&](const auto& values, const Counter& c) {
        append_line(out, entry->name, names, values, static_cast<double>(c.value()));
      });
    } else if (auto* gauges = std::get_if<std::unique_ptr<Family<Gauge>>>(&entry->source)) {
      (*gauges)->each([&](const auto& values, const Gauge& g) {
        append_line(out, entry->name, names, values, g.value());
      });
    } else if (auto* histograms = std::get_if<std::unique_ptr<Family<Histogram>>>(&entry->source)) {
      const std::string bucket = entry->name + "_bucket";
      const std::string sum = entry->name + "_sum";
      const std::string count = entry->name + "_count";
      (*histograms)->each([&](const auto& values, const Histogram& h) {
        const auto snap = h.snapshot();
        for (std::size_t i = 0; i < snap.bounds.size(); ++i) {
          append_line(out, bucket, names, values, static_cast<double>(snap.cumulative[i]), "le",
                      format_value(snap.bounds[i]));
        }
        append_line(out, bucket, names, values, static_cast<double>(snap.count), "le", "+Inf");
        append_line(out, sum, names, values, snap.sum);
        append_line(out, count, names, values, static_cast<double>(snap.count));
      });
    } else if (auto* collect = std::get_if<Collect>(&entry->source)) {
      auto samples = evaluate(*collect);
      std::sort(samples.begin(), samples.end(),
                [](const Sample& a, const Sample& b) { return a.label_values < b.label_values; });
      for (const auto& sample : samples) {
        if (sample.label_values.size() != names.size()) continue;
        append_line(out, entry->name, names, sample.label_values, sample.value);
      }
    }
  }
  return out;
}

std::vector<Point> Registry::collect() const {
  std::vector<Point> out;
  std::vector<std::pair<Entry*, bool>> ready;
  {
    std::lock_guard lock(mutex_);
    for (const auto& entry : entries_) {
      ready.emplace_back(entry.get(), entry->source.index() != 0);
    }
  }
  for (const auto& [entry, has_source] : ready) {
    if (!has_source) continue;
    const auto& names = entry->labels;
    if (auto* counters = std::get_if<std::unique_ptr<Family<Counter>>>(&entry->source)) {
      (*counters)->each([&](const auto& values, const Counter& c) {
        out.push_back({entry->name, zip(names, values), static_cast<double>(c.value())});
      });
    } else if (auto* gauges = std::get_if<std::unique_ptr<Family<Gauge>>>(&entry->source)) {
      (*gauges)->each([&](const auto& values, const Gauge& g) {
        out.push_back({entry->name, zip(names, values), g.value()});
      });
    } else if (auto* histograms = std::get_if<std::unique_ptr<Family<Histogram>>>(&entry->source)) {
      (*histograms)->each([&](const auto& values, const Histogram& h) {
        const auto snap = h.snapshot();
        out.push_back(
            {entry->name + "_count", zip(names, values), static_cast<double>(snap.count)});
        out.push_back({entry->name + "_sum", zip(names, values), snap.sum});
      });
    } else if (auto* collect = std::get_if<Collect>(&entry->source)) {
      for (const auto& sample : evaluate(*collect)) {
        if (sample.label_values.size() != names.size()) continue;
        out.push_back({entry->name, zip(names, sample.label_values), sample.value});
      }
    }
  }
  return out;
}

// ---- Text format helpers ---------------------------------------------------------------------

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::array<char, 64> buffer{};
  // Whole numbers (counts, bytes) print without an exponent up to 2^53, where doubles stop
  // being exact integers.
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    auto [end, ec] =
        std::to_chars(buffer.data(), buffer.data() + buffer.size(), static_cast<long long>(value));
    (void)ec;
    return std::string(buffer.data(), end);
  }
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  (void)ec;
  return std::string(buffer.data(), end);
}

}  // namespace parley::metrics
