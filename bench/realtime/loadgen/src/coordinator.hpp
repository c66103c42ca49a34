#pragma once
// The coordinator of one generator run: the REST setup, the socket phases spread over the
// shards, the measurement snapshots and the JSON reports. Each scenario is a pair of its member
// functions, in fanout.cpp, conns.cpp and churn.cpp.

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "http_setup.hpp"
#include "loop_pool.hpp"
#include "options.hpp"
#include "proc_stats.hpp"
#include "shard.hpp"

namespace parley::loadgen {

inline constexpr Micros kStepLeadIn = 300'000;  // from arming a step to its first send
inline constexpr std::size_t kFanoutReadBuffer = 16 * 1024;

inline double round3(double x) { return std::round(x * 1000.0) / 1000.0; }
/// "20", "2.5", "0.333": for log lines (std::to_string prints "20.000000").
inline std::string num(double x) {
  std::ostringstream out;
  out << round3(x);
  return out.str();
}
inline double to_mb(std::int64_t kb) { return std::round(static_cast<double>(kb) / 102.4) / 10.0; }
inline double seconds_between(Micros a, Micros b) { return static_cast<double>(b - a) / 1e6; }
inline Micros to_micros(double seconds) { return static_cast<Micros>(seconds * 1e6); }
inline void sleep_until(Micros t) {
  std::this_thread::sleep_until(
      std::chrono::steady_clock::time_point(std::chrono::microseconds(t)));
}

/// Samples the server's RSS every 250 ms on its own thread, for the peak.
class RssSampler {
 public:
  explicit RssSampler(int pid)
      : thread_([this, pid](std::stop_token stop) {
          std::mutex mutex;
          std::condition_variable_any wake;
          std::unique_lock lock(mutex);
          while (!stop.stop_requested()) {
            const auto rss = sample_process_tree(pid).rss_kb;
            if (rss > peak_kb_.load()) peak_kb_.store(rss);
            wake.wait_for(lock, stop, std::chrono::milliseconds(250), [] { return false; });
          }
        }) {}
  std::int64_t peak_kb() const { return peak_kb_.load(); }

 private:
  std::atomic<std::int64_t> peak_kb_{0};
  std::jthread thread_;  // last: stopped and joined before peak_kb_ goes away
};

struct ConnectSummary {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  boost::json::object errors;
  double wall_s = 0;
  boost::json::object latency_ms;
};

// What every step of a fan-out ladder reports besides its own figures.
struct FanoutRun {
  std::size_t rooms = 0;
  std::size_t members = 0;
  std::size_t senders = 0;
  ConnectSummary connected;
  Snapshot before;  // before the clients connected
  const RssSampler* peak = nullptr;
  std::size_t text_bytes = 0;
  double setup_s = 0;
};

struct ChurnRun {
  std::size_t rooms = 0;
  std::size_t residents = 0;
  std::size_t churners = 0;
  std::size_t users = 0;
  ConnectSummary connected;
  Snapshot before;
  const RssSampler* peak = nullptr;
  std::vector<std::int64_t> room_ids;
  std::vector<std::vector<std::uint32_t>> churners_of;  // per shard: local indexes
  double setup_s = 0;
};

class Run {
 public:
  explicit Run(const Options& options);
  ~Run();
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  int fanout();
  int conns();
  int churn();

 private:
  void log(const std::string& message) const {
    std::cerr << "[loadgen " << options_.scenario << "] " << message << std::endl;
  }
  double sample_background() const;
  /// Waits (up to --quiet-wait) until other tenants leave the machine quiet.
  void wait_for_quiet() const;
  /// Runs one ladder step; a step that is not sustained is repeated up to --retries times
  /// (a busy neighbour can spoil one). Returns whether an attempt was sustained.
  bool run_step(const std::function<bool(int attempt)>& attempt_once) const;
  bool fanout_step(const FanoutRun& run, std::size_t step, int attempt);
  bool churn_step(const ChurnRun& run, std::size_t step, int attempt);

  // REST setup. Each throws std::runtime_error naming the failed request.
  std::vector<std::string> create_guests(std::size_t count);
  std::vector<std::int64_t> create_rooms(const std::vector<std::string>& owner_tokens);
  void add_members(const std::vector<std::pair<std::string, std::int64_t>>& token_and_room);
  std::vector<HttpResponse> http(const std::vector<HttpRequest>& requests, std::string_view what,
                                 unsigned expected_status);

  // Socket phases, spread over the shards (client gid lives on shard gid % threads).
  ConnectSummary connect(const std::vector<std::string>& token_of_client, std::size_t read_buffer);
  void join_sockets(const std::vector<std::pair<std::uint32_t, RoomJob>>& gid_and_room);
  /// Starts one asynchronous phase on every shard (`start(index, done)`, on the shard's
  /// thread) and waits until every shard has called its `done`.
  void run_phase(const std::function<void(std::size_t, std::function<void()>)>& start);
  ShardStats gather();

  // Reports.
  boost::json::object head() const;
  boost::json::object window(const Snapshot& a, const Snapshot& b) const;
  boost::json::object server_info(const Snapshot& before, const Snapshot& after,
                                  std::int64_t peak_kb) const;
  std::string limited_by(const boost::json::object& window, bool met) const;
  boost::json::object gen_info() const;
  /// Adds a ladder step's verdict (met, p99 limit, sustained, limited by) and the setup time
  /// and generator details, then prints the line.
  void finish_step(boost::json::object& line, const boost::json::object& window, bool met,
                   bool p99_ok, double setup_s) const;
  static void print(const boost::json::object& line);
  /// take_snapshot of the server and of the --watch processes.
  Snapshot snapshot() const { return take_snapshot(options_.server_pid, watch_pids_); }

  const Options& options_;
  const std::vector<boost::asio::ip::tcp::endpoint> endpoints_;  // --url, or host and port
  const boost::asio::ip::tcp::endpoint endpoint_;                // the first: the REST setup
  std::vector<std::string> watch_names_;                         // --watch
  std::vector<int> watch_pids_;
  const std::size_t threads_;
  const std::size_t server_cores_;
  const std::size_t gen_cores_;
  const Micros started_;
  const Micros epoch_offset_;
  double background_cores_ = 0;
  LoopPool pool_;
  std::vector<std::unique_ptr<Shard>> shards_;  // destroyed after pool_.stop() (see ~Run)
};

}  // namespace parley::loadgen
