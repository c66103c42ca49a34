#include "service_level/service_level.hpp"

namespace parley::service_level {

std::string_view to_string(Level level) {
  switch (level) {
    case Level::full:
      return "full";
    case Level::neutral_voice:
      return "neutral_voice";
    case Level::captions:
      return "captions";
    case Level::original_text:
      return "original_text";
  }
  return "full";
}

std::optional<LevelChange> LevelController::update(Clock::time_point now, const Reading& reading) {
  if (!reading.known) {
    if (!unknown_since_) unknown_since_ = now;
    // Not judged for a whole period: stop refusing new streams on an old verdict.
    if (now - *unknown_since_ >= options_.degrade_after) {
      overloaded_.store(false, std::memory_order_relaxed);
    }
    return std::nullopt;
  }
  unknown_since_.reset();
  const Level current = level();
  overloaded_.store(reading.pressure >= 1.0, std::memory_order_relaxed);
  if (reading.pressure >= 1.0) {
    calm_since_.reset();
    if (!overloaded_since_) overloaded_since_ = now;
    if (current == kLowestLevel || now - *overloaded_since_ < options_.degrade_after) {
      return std::nullopt;
    }
    const auto next = static_cast<Level>(static_cast<int>(current) + 1);
    level_.store(next, std::memory_order_relaxed);
    changed_at_ = now;
    // The next step needs a full period of overload judged at the new level: it may be enough.
    overloaded_since_.reset();
    return LevelChange{current, next, reading.reason, reading.pressure};
  }
  overloaded_since_.reset();
  if (reading.pressure >= options_.calm_below) {
    calm_since_.reset();  // neither overloaded nor calm: hold
    return std::nullopt;
  }
  if (!calm_since_) calm_since_ = now;
  if (current == Level::full || now - *calm_since_ < options_.recover_after) return std::nullopt;
  const auto next = static_cast<Level>(static_cast<int>(current) - 1);
  level_.store(next, std::memory_order_relaxed);
  changed_at_ = now;
  calm_since_ = now;
  return LevelChange{current, next, "recovered", reading.pressure};
}

}  // namespace parley::service_level
