// The churn scenario: residents stay in rooms while churners join and leave them at a ladder of
// rates; per step the joins/s completed, join latency and presence traffic.

#include <algorithm>
#include <boost/json/serialize.hpp>

#include "coordinator.hpp"

namespace parley::loadgen {

namespace json = boost::json;

int Run::churn() {
  const std::size_t rooms = options_.churn_rooms;
  const std::size_t residents = options_.residents;
  const std::size_t churners = options_.churners;
  const std::size_t clients = rooms * residents + churners;
  const std::size_t users =
      std::clamp<std::size_t>(options_.users, 1, std::max<std::size_t>(clients, 1));
  if (rooms == 0 || churners == 0) throw std::invalid_argument("churn needs rooms and churners");
  // Every user is a member of every churn room, so that any socket may join any room.
  log("setup: " + std::to_string(users) + " guests, members of " + std::to_string(rooms) +
      " rooms");
  const Micros setup_start = now_micros();
  const auto guest_tokens = create_guests(users);
  const auto room_ids = create_rooms(std::vector<std::string>(rooms, guest_tokens[0]));
  std::vector<std::pair<std::string, std::int64_t>> memberships;
  for (std::size_t u = 1; u < users; ++u) {
    for (auto room : room_ids) memberships.emplace_back(guest_tokens[u], room);
  }
  add_members(memberships);
  std::vector<std::string> tokens(clients);
  for (std::size_t gid = 0; gid < clients; ++gid) tokens[gid] = guest_tokens[gid % users];

  const Snapshot s0 = take_snapshot(options_.server_pid);
  RssSampler peak(options_.server_pid);
  log("connecting " + std::to_string(clients) + " clients (" + std::to_string(rooms) + "x" +
      std::to_string(residents) + " residents + " + std::to_string(churners) + " churners)");
  const ConnectSummary connected = connect(tokens, kFanoutReadBuffer);
  std::vector<std::pair<std::uint32_t, RoomJob>> joins;
  for (std::size_t gid = 0; gid < rooms * residents; ++gid) {
    const std::size_t r = gid / residents;
    joins.push_back(
        {static_cast<std::uint32_t>(gid), RoomJob{0, room_ids[r], static_cast<std::uint32_t>(r)}});
  }
  join_sockets(joins);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double setup_s = seconds_between(setup_start, now_micros());
  std::vector<std::vector<std::uint32_t>> churners_of(threads_);
  for (std::size_t gid = rooms * residents; gid < clients; ++gid) {
    churners_of[gid % threads_].push_back(static_cast<std::uint32_t>(gid / threads_));
  }

  const ChurnRun run{rooms,  residents,           churners,
                     users,  connected,           s0,
                     &peak,  std::move(room_ids), std::move(churners_of),
                     setup_s};
  for (std::size_t step = 0; step < options_.churn_rates.size(); ++step) {
    const auto attempt = [&](int n) { return churn_step(run, step, n); };
    if (!run_step(attempt)) break;
  }
  return 0;
}

bool Run::churn_step(const ChurnRun& run, std::size_t step, int attempt) {
  const std::size_t rooms = run.rooms;
  const std::size_t residents = run.residents;
  const std::size_t churners = run.churners;
  const std::size_t users = run.users;
  const ConnectSummary& connected = run.connected;
  const Snapshot& s0 = run.before;
  const double setup_s = run.setup_s;
  const auto& room_ids = run.room_ids;
  const auto& churners_of = run.churners_of;
  const double rate = options_.churn_rates[step];
  const Micros start = now_micros() + kStepLeadIn;
  const StepTiming timing{start, start + to_micros(options_.warmup),
                          start + to_micros(options_.duration)};
  log("step " + std::to_string(step + 1) + ": " + num(rate) + " joins/s offered");
  const Snapshot before = take_snapshot(options_.server_pid);
  auto done = std::make_shared<Countdown>(threads_);
  pool_.run_on_all([&](std::size_t i) {
    shards_[i]->start_churn(churners_of[i], room_ids, rate / static_cast<double>(threads_), timing,
                            to_micros(options_.join_timeout), options_.seed + i,
                            [done] { done->count_down(); });
  });
  sleep_until(timing.window_start);
  const Snapshot w0 = take_snapshot(options_.server_pid);
  sleep_until(timing.window_end);
  const Snapshot w1 = take_snapshot(options_.server_pid);
  done->wait();
  std::this_thread::sleep_for(std::chrono::seconds(1));  // settle before the memory check
  const Snapshot s1 = take_snapshot(options_.server_pid);
  const ShardStats stats = gather();

  const double window_s = seconds_between(timing.window_start, timing.window_end);
  const double joins_per_s = static_cast<double>(stats.joins_completed_in_window) / window_s;
  const bool met = joins_per_s >= 0.97 * rate && stats.churn_join_timeouts == 0 &&
                   stats.churn_join_refused == 0 && stats.joins_skipped == 0;
  const double p99_ms = static_cast<double>(stats.join_latency.percentile(99)) / 1000.0;
  const bool p99_ok = stats.join_latency.count() > 0 && p99_ms < options_.p99_limit_ms;
  json::object win = window(w0, w1);

  json::object line = head();
  line["step"] = step + 1;
  line["attempt"] = attempt;
  line["params"] = {{"rooms", rooms},
                    {"residents_per_room", residents},
                    {"churners", churners},
                    {"users", users},
                    {"offered_joins_per_s", rate},
                    {"duration_s", options_.duration},
                    {"warmup_s", options_.warmup}};
  line["clients"] = rooms * residents + churners;
  line["connected"] = connected.ok;
  line["connect_failed"] = connected.failed;
  line["residents_joined"] = stats.joined;
  line["joins_issued"] = stats.joins_issued;
  line["joins_skipped_no_idle_churner"] = stats.joins_skipped;
  line["joins_completed"] = stats.joins_completed;
  line["join_refused"] = stats.churn_join_refused;
  line["join_timeouts"] = stats.churn_join_timeouts;
  line["joins_per_s"] = std::round(joins_per_s);
  line["join_leave_ops_per_s"] = std::round(2 * joins_per_s);
  if (win.contains("server_cpu_s") && stats.joins_completed_in_window > 0) {
    line["server_cpu_us_per_join"] = round3(win["server_cpu_s"].to_number<double>() * 1e6 /
                                            static_cast<double>(stats.joins_completed_in_window));
  }
  line["join_latency_ms"] = stats.join_latency.summary_ms();
  line["presence_events_per_s"] =
      std::round(static_cast<double>(stats.presence_in_window) / window_s);
  line["disconnects"] = stats.disconnects;
  line["window"] = win;
  line["server"] = server_info(s0, s1, run.peak->peak_kb());
  line["server_rss_growth_mb"] =
      s1.has_server ? to_mb(s1.server.rss_kb - before.server.rss_kb) : 0.0;
  finish_step(line, win, met, p99_ok, setup_s);

  std::ostringstream summary;
  summary.precision(3);
  summary << std::fixed << "rate " << num(rate) << " joins/s: completed " << joins_per_s
          << "/s, join p50 " << stats.join_latency.percentile(50) / 1000.0 << " p99 " << p99_ms
          << " ms, skipped " << stats.joins_skipped << ", timeouts " << stats.churn_join_timeouts
          << ", limited by " << limited_by(win, met);
  log(summary.str());
  return met && p99_ok;
}

}  // namespace parley::loadgen
