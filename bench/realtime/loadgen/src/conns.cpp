// The idle-connections scenario: how fast the server accepts N Socket.IO connections and how
// much memory each one costs it once idle.

#include <algorithm>
#include <boost/json/serialize.hpp>

#include "coordinator.hpp"

namespace parley::loadgen {

namespace json = boost::json;

namespace {

constexpr std::size_t kIdleReadBuffer = 1024;  // 10k idle clients: small buffers

}  // namespace

int Run::conns() {
  const std::size_t count = options_.conns;
  const std::size_t users =
      std::clamp<std::size_t>(options_.users, 1, std::max<std::size_t>(count, 1));
  log("setup: " + std::to_string(users) + " guests");
  const auto guest_tokens = create_guests(users);
  // A user may have many sockets: the connections share the guests round-robin.
  std::vector<std::string> tokens(count);
  for (std::size_t i = 0; i < count; ++i) tokens[i] = guest_tokens[i % users];

  const Snapshot s0 = take_snapshot(options_.server_pid);
  RssSampler peak(options_.server_pid);
  log("opening " + std::to_string(count) + " idle connections, " +
      std::to_string(options_.connect_concurrency) + " at a time");
  const ConnectSummary connected = connect(tokens, kIdleReadBuffer);
  const Snapshot after_connect = take_snapshot(options_.server_pid);
  log("connected " + std::to_string(connected.ok) + "/" + std::to_string(count) + " in " +
      num(connected.wall_s) + " s; idle " + num(options_.idle) + " s");
  std::this_thread::sleep_for(std::chrono::microseconds(to_micros(options_.idle)));
  const Snapshot s1 = take_snapshot(options_.server_pid);
  std::vector<std::size_t> still(threads_);
  pool_.run_on_all([&](std::size_t i) { still[i] = shards_[i]->connected_count(); });
  std::size_t still_connected = 0;
  for (auto n : still) still_connected += n;
  const ShardStats stats = gather();

  json::object connect_phase = window(s0, after_connect);
  json::object idle_phase = window(after_connect, s1);
  json::object line = head();
  line["params"] = {{"conns", count},
                    {"connect_concurrency", options_.connect_concurrency},
                    {"idle_s", options_.idle},
                    {"users", users}};
  line["connected"] = connected.ok;
  line["connect_failed"] = connected.failed;
  line["connect_errors"] = connected.errors;
  line["still_connected_after_idle"] = still_connected;
  line["disconnects"] = stats.disconnects;
  line["connect_wall_s"] = round3(connected.wall_s);
  line["connects_per_s"] =
      connected.wall_s > 0 ? std::round(static_cast<double>(connected.ok) / connected.wall_s) : 0;
  line["connect_ms"] = connected.latency_ms;
  if (s0.has_server && s1.has_server && connected.ok > 0) {
    line["server_rss_per_conn_kb"] =
        round3(static_cast<double>(s1.server.rss_kb - s0.server.rss_kb) /
               static_cast<double>(connected.ok));
    line["server_cpu_us_per_connect"] = round3((after_connect.server.cpu_s - s0.server.cpu_s) *
                                               1e6 / static_cast<double>(connected.ok));
  } else {
    line["server_rss_per_conn_kb"] = nullptr;
  }
  line["connect_phase"] = connect_phase;
  line["idle_phase"] = idle_phase;
  line["server"] = server_info(s0, s1, peak.peak_kb());
  line["limited_by"] = limited_by(connect_phase, connected.failed == 0);
  line["gen"] = gen_info();
  print(line);

  std::ostringstream summary;
  summary.precision(1);
  summary << std::fixed << connected.ok << "/" << count << " connected in " << connected.wall_s
          << " s (" << line["connects_per_s"].to_number<double>() << "/s, p99 "
          << stats.connect_latency.percentile(99) / 1000.0 << " ms), server RSS "
          << (line["server_rss_per_conn_kb"].is_null()
                  ? 0.0
                  : line["server_rss_per_conn_kb"].to_number<double>())
          << " KB per connection, " << still_connected << " still connected after idle";
  log(summary.str());
  return 0;
}

}  // namespace parley::loadgen
