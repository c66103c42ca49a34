#include "core/failure_counter.hpp"

namespace parley::core {

void FailureCounter::prune(std::deque<std::int64_t>& times, std::int64_t now) const {
  while (!times.empty() && times.front() <= now - window_.count()) times.pop_front();
}

RateDecision FailureCounter::reserve(std::string_view key) {
  const auto now = clock_.now_ms();
  std::lock_guard lock(mutex_);
  auto it = failures_.find(std::string(key));
  if (it == failures_.end()) {
    if (failures_.size() >= max_keys_) {
      // Drop keys whose failures have all aged out; under attack, drop the oldest half.
      for (auto& [name, times] : failures_) prune(times, now);
      std::erase_if(failures_, [](const auto& entry) { return entry.second.empty(); });
      if (failures_.size() >= max_keys_) {
        std::size_t n = 0;
        std::erase_if(failures_, [&](const auto&) { return n++ < max_keys_ / 2; });
      }
    }
    it = failures_.emplace(std::string(key), std::deque<std::int64_t>{}).first;
  }
  auto& times = it->second;
  prune(times, now);
  if (times.size() >= max_failures_) {
    return {false, std::chrono::milliseconds(times.front() + window_.count() - now)};
  }
  times.push_back(now);
  return {true, std::chrono::milliseconds(0)};
}

void FailureCounter::release(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(std::string(key));
  if (it != failures_.end() && !it->second.empty()) it->second.pop_back();
}

void FailureCounter::reset(std::string_view key) {
  std::lock_guard lock(mutex_);
  failures_.erase(std::string(key));
}

}  // namespace parley::core
