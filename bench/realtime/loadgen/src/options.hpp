#pragma once
// Command-line options of parley-loadgen (`--name value` or `--name=value`; --help lists all).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace parley::loadgen {

struct Options {
  // target and run
  std::string host = "127.0.0.1";  ///< must be in 127.0.0.0/8 ("localhost" is 127.0.0.1)
  std::uint16_t port = 5000;
  /// Several servers sharing one database: base URLs ("http://127.0.0.1:5000,http://..."),
  /// client i connects to URL i % n, the REST setup goes to the first. Empty: host and port.
  std::string url;
  std::string path = "/socket.io/";
  std::string scenario = "fanout";  ///< fanout | conns | churn
  std::string label;
  int server_pid = 0;        ///< measure this process tree's CPU and memory
  std::string watch;         ///< "name:pid,...": also report these trees' CPU per fan-out step
  std::size_t threads = 0;   ///< 0: the number of CPUs in the affinity mask
  double max_seconds = 180;  ///< hard stop for the whole run
  double bg_sample = 1;      ///< s: measure the machine's background CPU use first
  double quiet_wait = 0;     ///< s: wait up to this long for it to fall below quiet_cores
  double quiet_cores = 0.3;
  std::size_t connect_concurrency = 100;  ///< Socket.IO handshakes in flight at once
  double connect_timeout = 20;            ///< s per connection
  std::size_t http_concurrency = 8;       ///< keep-alive connections for the REST setup
  // fanout
  std::size_t rooms = 20;
  std::size_t members = 50;
  std::size_t senders = 20;
  std::vector<double> rates{10};  ///< msgs/s per sender; a list is a ladder
  double duration = 10;           ///< s of sending per step, warm-up included
  double warmup = 2;              ///< s left out of rates and latencies
  std::size_t text_bytes = 120;
  double drain_idle = 2;     ///< s without progress ends the drain
  double drain_max = 10;     ///< s at most
  double p99_limit_ms = 10;  ///< a ladder stops at the first step with p99 at or above this
  int retries = 1;           ///< times a step that was not sustained is repeated
  // conns
  std::size_t conns = 1000;
  double idle = 3;          ///< s idle before the memory is read
  std::size_t users = 100;  ///< guest users shared by the connections (conns, churn)
  // churn
  std::size_t churn_rooms = 10;
  std::size_t residents = 10;  ///< per churn room, joined for the whole run
  std::size_t churners = 200;
  std::vector<double> churn_rates{500};  ///< joins/s offered (each then leaves); a ladder
  double join_timeout = 5;
  std::uint64_t seed = 12345;
};

/// Parses argv. Throws std::invalid_argument with a message naming the option; `help` is set
/// when --help was given (then nothing else is checked).
Options parse_options(int argc, char** argv, bool& help);
std::string usage();

}  // namespace parley::loadgen
