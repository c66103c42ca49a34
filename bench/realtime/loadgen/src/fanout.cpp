// The fan-out scenario: R rooms x M members, senders open-loop at a ladder of rates; per step
// the deliveries/s, latency, loss and order, and the CPU each side spent per delivery.

#include <algorithm>
#include <boost/json/serialize.hpp>

#include "coordinator.hpp"

namespace parley::loadgen {

namespace json = boost::json;

namespace {

// Mixed-script text like real multilingual chat: multi-byte UTF-8 that a server must handle
// without escaping (no quotes, backslashes or control characters, so it is valid JSON as is).
constexpr std::string_view kFiller =
    "Hello! Bonjour ! \xc2\xa1Hola! \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82! "
    "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf \xe4\xbd\xa0\xe5\xa5\xbd "
    "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d "
    "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87 "
    "\xec\x95\x88\xeb\x85\x95\xed\x95\x98\xec\x84\xb8\xec\x9a\x94 Merhaba Xin ch\xc3\xa0o ";

std::string filler_text(std::size_t bytes) {
  std::string text;
  while (text.size() < bytes) text += kFiller;
  text.resize(bytes);
  // Cut on a character boundary: drop continuation bytes and the lead byte they belong to.
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) {
    text.pop_back();
  }
  if (!text.empty() && (static_cast<unsigned char>(text.back()) & 0x80) != 0) text.pop_back();
  if (text.empty() || text.back() == ' ') text += '.';  // never blank: servers refuse that
  return text;
}

}  // namespace

int Run::fanout() {
  const std::size_t rooms = options_.rooms;
  const std::size_t members = options_.members;
  const std::size_t senders = options_.senders;
  const std::size_t clients = rooms * members;
  const std::size_t senders_per_room = (senders + rooms - 1) / std::max<std::size_t>(rooms, 1);
  if (clients == 0 || senders == 0 || senders_per_room > members) {
    throw std::invalid_argument("fanout needs rooms, members > 0 and 1..members senders per room");
  }
  const Micros setup_start = now_micros();
  log("setup: " + std::to_string(clients) + " guests, " + std::to_string(rooms) + " rooms");
  const auto tokens = create_guests(clients);
  std::vector<std::string> owners;
  for (std::size_t r = 0; r < rooms; ++r) owners.push_back(tokens[r * members]);
  const auto room_ids = create_rooms(owners);
  std::vector<std::pair<std::string, std::int64_t>> memberships;
  for (std::size_t gid = 0; gid < clients; ++gid) {
    if (gid % members != 0) memberships.emplace_back(tokens[gid], room_ids[gid / members]);
  }
  add_members(memberships);

  const Snapshot s0 = snapshot();
  RssSampler peak(options_.server_pid);
  log("connecting " + std::to_string(clients) + " clients");
  const ConnectSummary connected = connect(tokens, kFanoutReadBuffer);
  log("connected " + std::to_string(connected.ok) + "/" + std::to_string(clients) + " in " +
      num(connected.wall_s) + " s" +
      (connected.errors.empty() ? "" : " (failed: " + json::serialize(connected.errors) + ")") +
      "; joining rooms");
  std::vector<std::pair<std::uint32_t, RoomJob>> joins;
  for (std::size_t gid = 0; gid < clients; ++gid) {
    const std::size_t r = gid / members;
    joins.push_back(
        {static_cast<std::uint32_t>(gid), RoomJob{0, room_ids[r], static_cast<std::uint32_t>(r)}});
  }
  join_sockets(joins);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // presence traffic settles

  // Sender k speaks in room k % rooms and is that room's (k / rooms)-th member; the senders
  // are spread evenly over one sending period.
  std::vector<std::vector<SenderPlan>> plans(threads_);
  for (std::size_t k = 0; k < senders; ++k) {
    const std::size_t r = k % rooms;
    const std::size_t gid = r * members + k / rooms;
    SenderPlan plan{static_cast<std::uint32_t>(gid / threads_), static_cast<std::uint32_t>(k),
                    room_ids[r], static_cast<std::uint32_t>(r),
                    static_cast<double>(k) / static_cast<double>(senders)};
    plans[gid % threads_].push_back(plan);
  }
  const std::string text = filler_text(options_.text_bytes);
  pool_.run_on_all([&](std::size_t i) {
    shards_[i]->configure_fanout(std::move(plans[i]), rooms, senders_per_room, text);
  });
  const double setup_s = seconds_between(setup_start, now_micros());

  const FanoutRun run{rooms, members, senders, connected, s0, &peak, text.size(), setup_s};
  for (std::size_t step = 0; step < options_.rates.size(); ++step) {
    const auto attempt = [&](int n) { return fanout_step(run, step, n); };
    if (!run_step(attempt)) {
      if (step + 1 < options_.rates.size()) log("ladder ends: the offered load was not sustained");
      break;
    }
  }
  return 0;
}

bool Run::fanout_step(const FanoutRun& run, std::size_t step, int attempt) {
  const std::size_t rooms = run.rooms;
  const std::size_t members = run.members;
  const std::size_t senders = run.senders;
  const ConnectSummary& connected = run.connected;
  const Snapshot& s0 = run.before;
  const double setup_s = run.setup_s;
  const double rate = options_.rates[step];
  const double offered = static_cast<double>(senders) * rate * static_cast<double>(members);
  const Micros start = now_micros() + kStepLeadIn;
  const StepTiming timing{start, start + to_micros(options_.warmup),
                          start + to_micros(options_.duration)};
  log("step " + std::to_string(step + 1) + ": " + std::to_string(senders) + " senders x " +
      num(rate) + "/s to " + std::to_string(rooms) + " rooms of " + std::to_string(members) +
      " = " + std::to_string(static_cast<long>(offered)) + " deliveries/s offered");
  const Snapshot step_start = snapshot();
  auto sending = std::make_shared<Countdown>(threads_);
  pool_.run_on_all([&](std::size_t i) {
    shards_[i]->start_sending(timing, rate, [sending] { sending->count_down(); });
  });
  sleep_until(timing.window_start);
  const Snapshot w0 = snapshot();
  sleep_until(timing.window_end);
  const Snapshot w1 = snapshot();
  sending->wait();

  // Drain: wait until every expected delivery arrived, or progress stops.
  std::vector<std::uint64_t> sent_per_room = gather().sent_per_room;
  std::vector<std::uint64_t> expected_parts(threads_);
  pool_.run_on_all(
      [&](std::size_t i) { expected_parts[i] = shards_[i]->expected_deliveries(sent_per_room); });
  std::uint64_t expected = 0;
  for (auto part : expected_parts) expected += part;
  const Micros drain_start = now_micros();
  Micros last_progress = drain_start;
  std::uint64_t last_received = 0;
  for (;;) {
    std::uint64_t received = 0;
    for (const auto& shard : shards_) received += shard->received_total();
    const Micros now = now_micros();
    if (received >= expected) break;
    if (received != last_received) {
      last_received = received;
      last_progress = now;
    }
    if (now - last_progress >= to_micros(options_.drain_idle) ||
        now - drain_start >= to_micros(options_.drain_max)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double drain_s = seconds_between(drain_start, now_micros());
  const Snapshot s1 = snapshot();
  const ShardStats stats = gather();

  const double window_s = seconds_between(timing.window_start, timing.window_end);
  const double delivered_per_s = static_cast<double>(stats.received_in_window) / window_s;
  const auto missing =
      static_cast<std::int64_t>(expected) - static_cast<std::int64_t>(stats.received);
  const bool met = delivered_per_s >= 0.97 * offered &&
                   static_cast<double>(missing) <= 0.001 * static_cast<double>(expected) &&
                   stats.send_refused == 0 && stats.sent_while_disconnected == 0;
  const double p99_ms = static_cast<double>(stats.latency.percentile(99)) / 1000.0;
  const bool p99_ok = stats.latency.count() > 0 && p99_ms < options_.p99_limit_ms;

  json::object win = window(w0, w1);
  const auto per_delivery = [&](double cpu_s) -> json::value {
    if (stats.received_in_window == 0) return nullptr;
    return round3(cpu_s * 1e6 / static_cast<double>(stats.received_in_window));
  };
  if (win.contains("server_cpu_s")) {
    win["server_cpu_us_per_delivery"] = per_delivery(win["server_cpu_s"].to_number<double>());
  }
  win["gen_cpu_us_per_delivery"] = per_delivery(win["gen_cpu_s"].to_number<double>());

  json::object line = head();
  line["step"] = step + 1;
  line["attempt"] = attempt;
  line["params"] = {{"rooms", rooms},
                    {"members", members},
                    {"senders", senders},
                    {"rate_per_sender", rate},
                    {"duration_s", options_.duration},
                    {"warmup_s", options_.warmup},
                    {"text_bytes", run.text_bytes}};
  line["clients"] = rooms * members;
  line["connected"] = connected.ok;
  line["connect_failed"] = connected.failed;
  line["joined"] = stats.joined;
  line["join_refused"] = stats.join_refused;
  line["join_timeouts"] = stats.join_timeouts;
  line["offered_sends_per_s"] = static_cast<double>(senders) * rate;
  line["offered_deliveries_per_s"] = offered;
  line["sent"] = stats.sent;
  line["sent_while_disconnected"] = stats.sent_while_disconnected;
  line["send_acks"] = stats.send_acks;
  line["send_refused"] = stats.send_refused;
  line["expected_deliveries"] = expected;
  line["delivered"] = stats.received;
  line["delivered_per_s"] = std::round(delivered_per_s);
  line["missing"] = missing;
  line["missing_pct"] =
      expected ? round3(100.0 * static_cast<double>(missing) / static_cast<double>(expected)) : 0.0;
  line["drain_s"] = round3(drain_s);
  line["out_of_order"] = stats.out_of_order;
  line["bad_payload"] = stats.bad_payload + stats.wrong_room;
  line["room_errors"] = stats.room_errors;
  line["disconnects"] = stats.disconnects;
  json::object reasons;
  for (const auto& [reason, n] : stats.disconnect_reasons) reasons[reason] = n;
  line["disconnect_reasons"] = std::move(reasons);
  line["latency_ms"] = stats.latency.summary_ms();
  if (!stats.received_by_target.empty()) {
    // Several servers: what reached the clients of each (deliveries that crossed servers
    // went through the servers' bus), against what they should have received.
    std::vector<std::vector<std::uint64_t>> parts(threads_);
    pool_.run_on_all(
        [&](std::size_t i) { parts[i] = shards_[i]->expected_by_target(sent_per_room); });
    json::array by_target;
    for (std::size_t t = 0; t < stats.received_by_target.size(); ++t) {
      std::uint64_t want = 0;
      for (const auto& part : parts) want += t < part.size() ? part[t] : 0;
      by_target.push_back({{"expected", want},
                           {"delivered", stats.received_by_target[t]},
                           {"missing", static_cast<std::int64_t>(want) -
                                           static_cast<std::int64_t>(stats.received_by_target[t])},
                           {"latency_ms", stats.latency_by_target[t].summary_ms()}});
    }
    line["by_target"] = std::move(by_target);
  }
  line["ack_latency_ms"] = stats.ack_latency.summary_ms();
  line["window"] = win;
  line["server"] = server_info(s0, s1, run.peak->peak_kb());
  line["server_step_cpu_s"] =
      s1.has_server ? round3(s1.server.cpu_s - step_start.server.cpu_s) : 0.0;
  line["gen_tick_lag_ms"] = {{"p99", stats.tick_lag.percentile(99) / 1000.0},
                             {"max", stats.tick_lag.max() / 1000.0}};
  finish_step(line, win, met, p99_ok, setup_s);

  const auto field = [&win](const char* key) {
    const auto* v = win.if_contains(key);
    return v && !v->is_null() ? v->to_number<double>() : 0.0;
  };
  std::ostringstream summary;
  summary.precision(3);
  summary << std::fixed << "rate " << num(rate) << "/s: offered " << static_cast<long>(offered)
          << "/s delivered " << static_cast<long>(delivered_per_s) << "/s, p50 "
          << stats.latency.percentile(50) / 1000.0 << " p99 " << p99_ms << " max "
          << stats.latency.max() / 1000.0 << " ms, missing " << missing << ", server "
          << field("server_cpu_cores") << " cores (" << field("server_cpu_us_per_delivery")
          << " us/delivery), generator " << field("gen_cpu_cores") << " cores ("
          << field("gen_cpu_us_per_delivery") << " us/delivery)";
  if (const auto* watched = win.if_contains("watched")) {
    for (const auto& [name, v] : watched->as_object()) {
      summary << ", " << std::string_view(name) << " " << v.at("cpu_cores").to_number<double>()
              << " cores";
    }
  }
  summary << ", limited by " << limited_by(win, met);
  log(summary.str());
  return met && p99_ok;
}

}  // namespace parley::loadgen
