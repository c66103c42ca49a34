// parley-loadgen: drives a Socket.IO chat server speaking Parley's protocol (Parley itself, or
// the Node reference peer in bench/realtime/peers) and reports what it measured. See
// bench/realtime/README.md.

#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "options.hpp"
#include "proc_stats.hpp"
#include "scenarios.hpp"

int main(int argc, char** argv) {
  using namespace parley::loadgen;
  Options options;
  try {
    bool help = false;
    options = parse_options(argc, argv, help);
    if (help) {
      std::cout << usage();
      return 0;
    }
  } catch (const std::invalid_argument& e) {
    std::cerr << "parley-loadgen: " << e.what() << "\n\n" << usage();
    return 2;
  }
  // A peer that closes a connection mid-write must not kill the generator.
  std::signal(SIGPIPE, SIG_IGN);
  // One descriptor per connection: 10k connections need more than the usual 1024.
  const auto open_files = raise_open_file_limit();
  if (options.scenario == "conns" && open_files < options.conns + 64) {
    std::cerr << "parley-loadgen: warning: the open-file limit is " << open_files << " for "
              << options.conns << " connections\n";
  }

  // The hard stop: whatever a phase does, the run ends after --max-seconds with an error line.
  std::jthread watchdog([&options](std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any wake;
    std::unique_lock lock(mutex);
    const auto limit = std::chrono::duration<double>(options.max_seconds);
    if (wake.wait_for(lock, stop, std::chrono::duration_cast<std::chrono::milliseconds>(limit),
                      [] { return false; }) ||
        stop.stop_requested()) {
      return;
    }
    boost::json::object line{
        {"scenario", options.scenario},
        {"error", "timed out after " + std::to_string(options.max_seconds) + " s (--max-seconds)"}};
    if (!options.label.empty()) line["label"] = options.label;
    std::cout << boost::json::serialize(line) << std::endl;
    std::cerr << "parley-loadgen: timed out after " << options.max_seconds << " s\n";
    std::_Exit(3);
  });

  try {
    const int code = run_scenario(options);
    watchdog.request_stop();
    return code;
  } catch (const std::invalid_argument& e) {
    std::cerr << "parley-loadgen: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "parley-loadgen: " << e.what() << "\n";
    return 1;
  }
}
