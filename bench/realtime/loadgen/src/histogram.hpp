#pragma once
// A mergeable latency histogram with microsecond resolution.

#include <boost/json/object.hpp>
#include <cstdint>
#include <vector>

namespace parley::loadgen {

/// Latencies in microseconds: exact below 1024 µs, then 512 buckets per power of two (at most
/// 0.2 % too high) up to 2^41 µs (25 days; anything above lands in the last bucket). One
/// histogram per generator thread, merged by the coordinator, so adding is never contended.
class Histogram {
 public:
  Histogram();

  void add(std::int64_t micros);
  void merge(const Histogram& other);

  std::uint64_t count() const { return count_; }
  std::int64_t max() const { return max_; }
  /// The smallest recorded bucket bound at or below which `percent` of the samples fall (the
  /// bucket's upper bound, never above the largest sample). 0 when empty.
  std::int64_t percentile(double percent) const;
  /// {count, p50, p95, p99, max, mean} in milliseconds with microsecond decimals (nulls when
  /// empty), the shape of the shared JavaScript generator's histograms.
  boost::json::object summary_ms() const;

 private:
  static std::size_t index_of(std::uint64_t micros);
  static std::uint64_t upper_bound_of(std::size_t index);

  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace parley::loadgen
