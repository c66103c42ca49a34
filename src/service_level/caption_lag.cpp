#include "service_level/caption_lag.hpp"

#include <algorithm>

namespace parley::service_level {

namespace {

constexpr std::size_t kMaxRecent = 8192;

std::int64_t percentile(std::vector<std::int64_t>& values, int pct) {
  // Nearest rank: the smallest value with at least pct% of the values at or below it.
  const std::size_t rank = (values.size() * static_cast<std::size_t>(pct) + 99) / 100;
  const std::size_t index = rank == 0 ? 0 : rank - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index),
                   values.end());
  return values[index];
}

}  // namespace

void CaptionLag::spoken(std::int64_t message_id, std::int64_t room_id, Clock::time_point ended) {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  prune_locked(now);
  if (!waiting_.emplace(message_id, Waiting{room_id, ended, now, std::nullopt}).second) return;
  waiting_order_.push_back(message_id);
  // Only messages still waiting count toward the bound (the order also holds finished ones).
  while (waiting_.size() > options_.max_waiting && !waiting_order_.empty()) {
    waiting_.erase(waiting_order_.front());
    waiting_order_.pop_front();
  }
  if (waiting_order_.size() > 2 * options_.max_waiting + 64) {
    std::erase_if(waiting_order_, [&](std::int64_t id) { return !waiting_.contains(id); });
  }
}

void CaptionLag::delivered(std::int64_t message_id, const std::set<std::string>& listening,
                           const std::set<std::string>& captioned, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = waiting_.find(message_id);
  if (it == waiting_.end() || it->second.languages) return;  // not spoken, or delivered before
  std::set<std::string> owed;
  for (const auto& language : listening) {
    if (captioned.count(language) != 0) {
      record_locked(it->second.room_id, language, it->second.ended, now);
    } else {
      owed.insert(language);
    }
  }
  if (owed.empty()) {
    waiting_.erase(it);  // its id stays in waiting_order_ until pruned: harmless
    return;
  }
  it->second.languages = std::move(owed);
}

void CaptionLag::captioned(std::int64_t message_id, const std::string& language,
                           Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = waiting_.find(message_id);
  if (it == waiting_.end() || !it->second.languages) return;
  if (it->second.languages->erase(language) == 0) return;  // nobody listened, or counted
  record_locked(it->second.room_id, language, it->second.ended, now);
  if (it->second.languages->empty()) waiting_.erase(it);
}

void CaptionLag::record_locked(std::int64_t room_id, const std::string& language,
                               Clock::time_point ended, Clock::time_point now) {
  // Audio pushed faster than real time can end "after" its caption: no lag, not a negative one.
  const auto lag = std::max(std::chrono::milliseconds(0),
                            std::chrono::duration_cast<std::chrono::milliseconds>(now - ended));
  auto& samples = series_[{room_id, language}];
  samples.emplace_back(now, lag.count());
  if (samples.size() > options_.max_samples_per_series) samples.pop_front();
  recent_.push_back(Recent{now, ended, lag.count()});
  if (recent_.size() > kMaxRecent) recent_.pop_front();
  if (on_sample_) on_sample_(language, lag);
}

void CaptionLag::prune_locked(Clock::time_point now) {
  while (!waiting_order_.empty()) {
    auto it = waiting_.find(waiting_order_.front());
    if (it != waiting_.end() && now - it->second.spoken_at < options_.max_wait) break;
    if (it != waiting_.end()) waiting_.erase(it);
    waiting_order_.pop_front();
  }
  const auto oldest = now - options_.window;
  for (auto it = series_.begin(); it != series_.end();) {
    auto& samples = it->second;
    while (!samples.empty() && samples.front().first < oldest) samples.pop_front();
    it = samples.empty() ? series_.erase(it) : std::next(it);
  }
  while (!recent_.empty() && recent_.front().at < oldest) recent_.pop_front();
}

LagSummary CaptionLag::summarize(const Samples& samples, Clock::time_point from) {
  std::vector<std::int64_t> values;
  values.reserve(samples.size());
  for (const auto& [at, lag] : samples) {
    if (at >= from) values.push_back(lag);
  }
  if (values.empty()) return {};
  LagSummary summary;
  summary.samples = values.size();
  summary.p50_ms = percentile(values, 50);
  summary.p95_ms = percentile(values, 95);
  return summary;
}

std::map<std::string, LagSummary> CaptionLag::room(std::int64_t room_id,
                                                   Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, LagSummary> out;
  const auto from = now - options_.window;
  for (auto it = series_.lower_bound({room_id, std::string()});
       it != series_.end() && it->first.first == room_id; ++it) {
    if (auto summary = summarize(it->second, from); summary.samples > 0) {
      out.emplace(it->first.second, summary);
    }
  }
  return out;
}

std::vector<RoomLanguageLag> CaptionLag::all(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  std::vector<RoomLanguageLag> out;
  const auto from = now - options_.window;
  for (const auto& [key, samples] : series_) {
    if (auto summary = summarize(samples, from); summary.samples > 0) {
      out.push_back(RoomLanguageLag{key.first, key.second, summary});
    }
  }
  return out;
}

LagSummary CaptionLag::since(Clock::time_point since, std::chrono::milliseconds within,
                             Clock::time_point now,
                             std::optional<std::chrono::milliseconds> owed_after) const {
  std::lock_guard lock(mutex_);
  Samples samples;
  const auto oldest = now - std::min<std::chrono::milliseconds>(within, options_.window);
  for (const auto& caption : recent_) {
    if (caption.at >= oldest && caption.ended >= since) {
      samples.emplace_back(caption.at, caption.lag_ms);
    }
  }
  if (owed_after) {
    for (const auto& [id, waiting] : waiting_) {
      if (!waiting.languages || waiting.ended < since) continue;
      const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(now - waiting.ended);
      if (late <= *owed_after) continue;
      for (std::size_t i = 0; i < waiting.languages->size(); ++i) {
        samples.emplace_back(now, late.count());
      }
    }
  }
  return summarize(samples, oldest);
}

}  // namespace parley::service_level
