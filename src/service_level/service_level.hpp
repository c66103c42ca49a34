#pragma once
// The level of service a process can afford, and the controller that moves it one step at a
// time: down while captions are late (or synthesis backs up), up again once load drops.
//
//   full          every listener gets what they chose (the speaker's cloned voice included)
//   neutral_voice cloned voices are replaced by a neutral synthesized one
//   captions      no synthesized speech; text (and forwarded original recordings) only
//   original_text live translation pauses: messages reach the room in their original language;
//                 queued translations wait in the durable queue and follow on recovery
//
// The controller is pure logic over readings (pressure 1.0 = exactly at capacity) taken by its
// owner on a timer; it has no clock or thread of its own. Hysteresis keeps it from flapping: a
// step down needs `degrade_after` of continuous overload judged at the current level (from the
// first overloaded reading after the last change), a step up needs `recover_after` of continuous
// calm (pressure below `calm_below`); in between it holds. A reading that cannot judge (too few
// captions yet) holds everything; one that lasts past `degrade_after` no longer counts as
// overloaded for admission.

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace parley::service_level {

enum class Level : int { full = 0, neutral_voice = 1, captions = 2, original_text = 3 };
constexpr Level kLowestLevel = Level::original_text;

std::string_view to_string(Level level);

struct ControllerOptions {
  std::chrono::milliseconds degrade_after{5000};
  std::chrono::milliseconds recover_after{20000};
  double calm_below = 0.75;
};

/// One look at the load: the highest of the signals, with the name of the one that set it.
struct Reading {
  double pressure = 0;  ///< 1.0: at capacity
  std::string reason;   ///< "caption_lag", "synthesis_backlog", ...
  /// False: too little evidence at the current level to judge it (captions are still coming
  /// in): everything holds, the overloaded flag included.
  bool known = true;
};

struct LevelChange {
  Level from = Level::full;
  Level to = Level::full;
  std::string reason;  ///< the reading's reason, or "recovered"
  double pressure = 0;
};

/// update() from one thread at a time; level() and overloaded() from any thread.
class LevelController {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LevelController(ControllerOptions options) : options_(options) {}

  /// Takes a reading; returns the change it caused, if any (at most one step). A reading that
  /// is not `known` changes nothing, but time keeps counting toward the current period.
  std::optional<LevelChange> update(Clock::time_point now, const Reading& reading);

  Level level() const { return level_.load(std::memory_order_relaxed); }
  /// The last reading was at or over capacity.
  bool overloaded() const { return overloaded_.load(std::memory_order_relaxed); }
  /// When the level last changed (the start, before any change). From the updating thread.
  Clock::time_point changed_at() const { return changed_at_; }

 private:
  ControllerOptions options_;
  std::atomic<Level> level_{Level::full};
  std::atomic<bool> overloaded_{false};
  Clock::time_point changed_at_{};
  std::optional<Clock::time_point> overloaded_since_;
  std::optional<Clock::time_point> calm_since_;
  std::optional<Clock::time_point> unknown_since_;
};

}  // namespace parley::service_level
