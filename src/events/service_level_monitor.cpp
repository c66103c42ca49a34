#include "events/service_level_monitor.hpp"

#include <algorithm>
#include <charconv>

#include "events/chat_events.hpp"
#include "events/speech_events.hpp"
#include "net/http.hpp"
#include "translate/messages/message_translator.hpp"

namespace parley::events {

namespace asio = boost::asio;
namespace json = boost::json;
using service_level::Level;

service_level::Reading ServiceLevelMonitor::read(std::chrono::steady_clock::time_point now) const {
  service_level::Reading reading{0.0, "caption_lag", true};
  // Only captions of speech that ended at the current level judge it.
  // Captions still owed count as late as they are, except at original_text, where translation
  // is held back on purpose.
  const bool held = deps_.controller.level() == Level::original_text;
  const auto lag = deps_.lag.since(deps_.controller.changed_at(), deps_.evaluation, now,
                                   held ? std::nullopt : std::optional(deps_.lag_target));
  const auto target = static_cast<double>(std::max<std::int64_t>(1, deps_.lag_target.count()));
  if (lag.samples > 0) {
    // p95 once there are enough captions for it to mean something; the median before that, so
    // that one slow caption among a few is not an overload.
    const auto judged = lag.samples >= kMinSamplesForP95 ? lag.p95_ms : lag.p50_ms;
    reading.pressure = static_cast<double>(judged) / target;
    // A late caption or two is not yet an overload (nor the end of one): wait for more. Timely
    // ones are good news at once, so a lone speaker does not hold a degraded level forever.
    if (lag.samples < kMinLagSamples && reading.pressure >= 1.0) reading.known = false;
  } else if (deps_.lag.since(std::chrono::steady_clock::time_point::min(), deps_.evaluation, now)
                 .samples > 0) {
    // Captions still come, all of speech from before the change: too early to judge it.
    reading.known = false;
  }
  // A backlog is evidence on its own: it replaces an unknown reading once it is an overload.
  const auto consider = [&reading](double pressure, const char* reason) {
    if (pressure > reading.pressure || (!reading.known && pressure >= 1.0)) {
      if (reading.known || pressure >= 1.0) reading = {pressure, reason, true};
    }
  };
  // Recognition behind real time: captions will be late whatever they say so far.
  if (deps_.streams != nullptr) {
    consider(static_cast<double>(deps_.streams->max_backlog().count()) / target, "speech_backlog");
  }
  if (deps_.speech != nullptr) consider(deps_.speech->synthesis_backlog(), "synthesis_backlog");
  return reading;
}

void ServiceLevelMonitor::tick(std::chrono::steady_clock::time_point now) {
  const auto reading = read(now);
  const auto p95 = deps_.lag.since(deps_.controller.changed_at(), deps_.evaluation, now).p95_ms;
  // (Read before the change: the captions that judged the level being left.)
  auto change = deps_.controller.update(now, reading);
  if (!change) return;
  // Paused before the rooms hear of it; resumed after, so results never come before the news.
  const bool pause = change->to == Level::original_text;
  if (deps_.translator != nullptr && pause) deps_.translator->set_paused(true);
  deps_.log.warning("service_level_changed",
                    {{"service_level", service_level::to_string(change->to)},
                     {"previous", service_level::to_string(change->from)},
                     {"reason", change->reason},
                     {"pressure", change->pressure},
                     {"caption_lag_p95_ms", p95}});
  if (on_change_) on_change_(*change);
  tell_rooms(*change, p95);
  if (deps_.translator != nullptr && !pause) deps_.translator->set_paused(false);
}

void ServiceLevelMonitor::tell_rooms(const service_level::LevelChange& change,
                                     std::int64_t p95_ms) {
  constexpr std::string_view kPrefix = "room:";
  for (const auto& channel : deps_.server.room_names()) {
    if (!channel.starts_with(kPrefix)) continue;
    std::int64_t room_id = 0;
    const auto* first = channel.data() + kPrefix.size();
    const auto* last = channel.data() + channel.size();
    if (auto [end, ec] = std::from_chars(first, last, room_id); ec != std::errc() || end != last) {
      continue;
    }
    const json::array args{json::object{{"room", room_id},
                                        {"level", service_level::to_string(change.to)},
                                        {"previous", service_level::to_string(change.from)},
                                        {"reason", change.reason},
                                        {"caption_lag_p95_ms", p95_ms},
                                        {"target_ms", deps_.lag_target.count()}}};
    // Local sockets only: other processes have levels of their own.
    for (const auto& socket : deps_.server.sockets_in(channel)) {
      socket->emit("service_level", args);
    }
  }
}

asio::awaitable<void> ServiceLevelMonitor::run(asio::steady_timer& timer,
                                               std::chrono::milliseconds interval) {
  for (;;) {
    timer.expires_after(interval);
    auto [ec] = co_await timer.async_wait(net::use_nothrow);
    if (ec) co_return;  // cancelled: shutting down
    tick(std::chrono::steady_clock::now());
  }
}

json::object ServiceLevelMonitor::room_status(std::int64_t room_id) const {
  json::object languages;
  for (const auto& [language, lag] : deps_.lag.room(room_id)) {
    languages[language] =
        json::object{{"p50_ms", lag.p50_ms}, {"p95_ms", lag.p95_ms}, {"samples", lag.samples}};
  }
  return json::object{{"service_level", service_level::to_string(deps_.controller.level())},
                      {"caption_lag", std::move(languages)},
                      {"caption_lag_target_ms", deps_.lag_target.count()},
                      {"window_seconds", deps_.lag.window().count()}};
}

}  // namespace parley::events
