#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace parley::loadgen {

namespace {

constexpr std::uint64_t kExactBelow = 1024;  // one bucket per microsecond below this
constexpr std::uint64_t kSubBuckets = 512;   // buckets per power of two above it
constexpr unsigned kMaxShift = 31;           // 1024 << 31 = 2^41 µs
constexpr std::size_t kBucketCount = kExactBelow + kMaxShift * kSubBuckets;

double to_ms(std::int64_t micros) { return static_cast<double>(micros) / 1000.0; }

}  // namespace

Histogram::Histogram() : buckets_(kBucketCount, 0) {}

std::size_t Histogram::index_of(std::uint64_t micros) {
  if (micros < kExactBelow) return static_cast<std::size_t>(micros);
  // The top 10 significant bits select the bucket: `top` is in [512, 1023].
  const unsigned shift = std::min<unsigned>(std::bit_width(micros) - 10, kMaxShift);
  const std::uint64_t top = std::min<std::uint64_t>(micros >> shift, 2 * kSubBuckets - 1);
  return kExactBelow + (shift - 1) * kSubBuckets + (top - kSubBuckets);
}

std::uint64_t Histogram::upper_bound_of(std::size_t index) {
  if (index < kExactBelow) return index;
  const std::size_t k = index - kExactBelow;
  const unsigned shift = static_cast<unsigned>(k / kSubBuckets) + 1;
  const std::uint64_t top = k % kSubBuckets + kSubBuckets;
  return ((top + 1) << shift) - 1;
}

void Histogram::add(std::int64_t micros) {
  // A negative latency can only come from a garbled timestamp; it counts as zero.
  const std::uint64_t value = micros < 0 ? 0 : static_cast<std::uint64_t>(micros);
  ++buckets_[index_of(value)];
  ++count_;
  sum_ += static_cast<double>(value);
  max_ = std::max<std::int64_t>(max_, static_cast<std::int64_t>(value));
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

std::int64_t Histogram::percentile(double percent) const {
  if (count_ == 0) return 0;
  const auto wanted = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= wanted) {
      return std::min<std::int64_t>(static_cast<std::int64_t>(upper_bound_of(i)), max_);
    }
  }
  return max_;
}

boost::json::object Histogram::summary_ms() const {
  boost::json::object out{{"count", count_}};
  if (count_ == 0) {
    for (const char* key : {"p50", "p95", "p99", "max", "mean"}) out[key] = nullptr;
    return out;
  }
  out["p50"] = to_ms(percentile(50));
  out["p95"] = to_ms(percentile(95));
  out["p99"] = to_ms(percentile(99));
  out["max"] = to_ms(max_);
  out["mean"] = std::round(sum_ / static_cast<double>(count_)) / 1000.0;
  return out;
}

}  // namespace parley::loadgen
