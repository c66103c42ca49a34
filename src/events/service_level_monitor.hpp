#pragma once
// Watches this process's load and moves its level of service (issue 11): a timer takes a
// reading (caption lag p95 against its target, the synthesis backlog), the controller decides,
// and a change is applied (voices and synthesis are shed by SpeechEvents reading the level;
// live translation pauses at original_text) and told to every room with members here:
//
//   service_level {room, level, previous, reason, caption_lag_p95_ms, target_ms}
//
// level: "full" | "neutral_voice" | "captions" | "original_text"; reason: the signal that
// degraded it ("caption_lag", "speech_backlog", "synthesis_backlog") or "recovered". join_room's
// ack and the room info carry the current level too.
//
// Each process has its own level: it sheds the work it does itself.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>

#include "core/log.hpp"
#include "realtime/socketio/server.hpp"
#include "service_level/caption_lag.hpp"
#include "service_level/service_level.hpp"
#include "speech/speech_streams.hpp"

namespace parley::translate {
class MessageTranslator;
}

namespace parley::events {

class SpeechEvents;

struct ServiceLevelMonitorDeps {
  service_level::CaptionLag& lag;
  service_level::LevelController& controller;
  realtime::SocketIoServer& server;
  core::Logger& log;
  /// Caption lag p95 that counts as "at capacity".
  std::chrono::milliseconds lag_target{2500};
  /// The controller judges the captions of this last period (at the current level); none at
  /// all in it means nothing is being captioned, which counts as calm.
  std::chrono::milliseconds evaluation{10000};
  SpeechEvents* speech = nullptr;  ///< the synthesis backlog; may be null
  /// The recognition backlog (audio queued ahead of recognition, against the target); may be
  /// null.
  speech::SpeechStreams* streams = nullptr;
  translate::MessageTranslator* translator = nullptr;  ///< paused at original_text; may be null
};

class ServiceLevelMonitor {
 public:
  /// Fewer late captions than this since the last change do not judge the current level.
  static constexpr std::size_t kMinLagSamples = 3;
  /// Below this many captions the median judges, not the p95.
  static constexpr std::size_t kMinSamplesForP95 = 20;

  explicit ServiceLevelMonitor(ServiceLevelMonitorDeps deps) : deps_(std::move(deps)) {}

  /// The load now (1.0: at capacity), from the strongest signal. Unknown while captions are
  /// still coming in but too few of them judge the current level yet.
  service_level::Reading read(std::chrono::steady_clock::time_point now) const;
  /// One reading and its consequences. From one thread at a time (the timer's strand).
  void tick(std::chrono::steady_clock::time_point now);
  /// Ticks every `interval` until the timer is cancelled.
  boost::asio::awaitable<void> run(boost::asio::steady_timer& timer,
                                   std::chrono::milliseconds interval);

  /// Called after each change, on the ticking thread (metrics). Set before run().
  void on_change(std::function<void(const service_level::LevelChange&)> fn) {
    on_change_ = std::move(fn);
  }

  /// {service_level, caption_lag: {<language>: {p50_ms, p95_ms, samples}}, window_seconds}
  boost::json::object room_status(std::int64_t room_id) const;

 private:
  void tell_rooms(const service_level::LevelChange& change, std::int64_t p95_ms);

  ServiceLevelMonitorDeps deps_;
  std::function<void(const service_level::LevelChange&)> on_change_;
};

}  // namespace parley::events
