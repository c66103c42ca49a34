#pragma once
// Caption lag: the time from the end of an utterance to its caption reaching the listeners of
// each language in its room (the original for those who listen in the spoken language, the
// translation for the others). One figure per spoken message and listening language: the first
// caption counts, repeats (recovery, several processes) do not.
//
// Spoken messages wait here (bounded in number and age) until every language that listened
// when they were delivered got its caption. Samples are kept per room and language for the
// window (bounded per series), for p50/p95 in the room info and /metrics, and in one recent
// series for the service-level controller.
//
// Thread-safe: every member may be called from any thread.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace parley::service_level {

struct CaptionLagOptions {
  std::chrono::seconds window{300};          ///< samples older than this are forgotten
  std::size_t max_samples_per_series = 512;  ///< per room and language (the newest are kept)
  std::size_t max_waiting = 4096;            ///< spoken messages awaiting captions
  std::chrono::seconds max_wait{600};        ///< a caption later than this is not counted
};

struct LagSummary {
  std::int64_t p50_ms = 0;
  std::int64_t p95_ms = 0;
  std::size_t samples = 0;
};

struct RoomLanguageLag {
  std::int64_t room_id = 0;
  std::string language;
  LagSummary lag;
};

class CaptionLag {
 public:
  using Clock = std::chrono::steady_clock;
  explicit CaptionLag(CaptionLagOptions options = {}) : options_(options) {}

  /// Called with each new sample (for a histogram); set once, before use.
  void on_sample(std::function<void(const std::string& language, std::chrono::milliseconds)> fn) {
    on_sample_ = std::move(fn);
  }

  /// A spoken message was stored; its speech ended at `ended`.
  void spoken(std::int64_t message_id, std::int64_t room_id, Clock::time_point ended);
  /// The message reached its room: `listening` are the languages listened to there now, and
  /// `captioned` those that got their caption with it (its language, cached translations).
  /// Ignored for messages that were not spoken().
  void delivered(std::int64_t message_id, const std::set<std::string>& listening,
                 const std::set<std::string>& captioned, Clock::time_point now = Clock::now());
  /// A later caption (a translation) of the message reached the listeners of `language`.
  void captioned(std::int64_t message_id, const std::string& language,
                 Clock::time_point now = Clock::now());

  /// p50/p95 per listening language of the room's captions within the window.
  std::map<std::string, LagSummary> room(std::int64_t room_id,
                                         Clock::time_point now = Clock::now()) const;
  /// Every room and language with captions within the window.
  std::vector<RoomLanguageLag> all(Clock::time_point now = Clock::now()) const;
  std::chrono::seconds window() const { return options_.window; }
  /// Captions of speech that ended at or after `since` and were delivered within the last
  /// `within` (capped by the window): for the controller, how the current level of service
  /// performs now, not what an earlier one or an earlier burst left behind.
  /// With `owed_after`: a caption still owed (a translation not delivered yet) that is already
  /// later than that counts too, as late as it is now: a stuck engine is not calm.
  LagSummary since(Clock::time_point since, std::chrono::milliseconds within,
                   Clock::time_point now = Clock::now(),
                   std::optional<std::chrono::milliseconds> owed_after = std::nullopt) const;

 private:
  struct Waiting {
    std::int64_t room_id = 0;
    Clock::time_point ended;
    Clock::time_point spoken_at;                     ///< when it was stored (for max_wait)
    std::optional<std::set<std::string>> languages;  ///< still owed a caption (after delivered)
  };
  using Samples = std::deque<std::pair<Clock::time_point, std::int64_t>>;
  void record_locked(std::int64_t room_id, const std::string& language, Clock::time_point ended,
                     Clock::time_point now);
  void prune_locked(Clock::time_point now);
  static LagSummary summarize(const Samples& samples, Clock::time_point from);

  CaptionLagOptions options_;
  std::function<void(const std::string&, std::chrono::milliseconds)> on_sample_;
  mutable std::mutex mutex_;
  std::map<std::int64_t, Waiting> waiting_;
  std::deque<std::int64_t> waiting_order_;
  std::map<std::pair<std::int64_t, std::string>, Samples> series_;
  struct Recent {
    Clock::time_point at;
    Clock::time_point ended;
    std::int64_t lag_ms = 0;
  };
  std::deque<Recent> recent_;  ///< every caption, for since()
};

}  // namespace parley::service_level
