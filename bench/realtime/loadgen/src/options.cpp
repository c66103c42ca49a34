#include "options.hpp"

#include <charconv>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace parley::loadgen {

namespace {

template <typename T>
T number(std::string_view name, std::string_view text) {
  T value{};
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    throw std::invalid_argument("--" + std::string(name) + ": not a number: '" + std::string(text) +
                                "'");
  }
  return value;
}

std::vector<double> number_list(std::string_view name, std::string_view text) {
  std::vector<double> values;
  while (!text.empty()) {
    const auto comma = text.find(',');
    values.push_back(number<double>(name, text.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (values.empty()) throw std::invalid_argument("--" + std::string(name) + ": empty list");
  return values;
}

template <typename T>
std::string show(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string show(const std::vector<double>& values) {
  std::string out;
  for (double v : values) {
    if (!out.empty()) out += ',';
    out += show(v);
  }
  return out;
}

struct Spec {
  std::string_view name;
  std::string_view help;
  std::function<void(std::string_view)> set;
  std::function<std::string()> current;
};

template <typename T>
Spec field(std::string_view name, T& target, std::string_view help) {
  auto set = [name, &target](std::string_view text) {
    if constexpr (std::is_same_v<T, std::string>) {
      target = std::string(text);
    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
      target = number_list(name, text);
    } else {
      target = number<T>(name, text);
    }
  };
  return Spec{name, help, std::move(set), [&target] { return show(target); }};
}

std::vector<Spec> specs(Options& o) {
  return {
      field("host", o.host, "server address, 127.0.0.0/8 only"),
      field("port", o.port, "server port"),
      field("url", o.url,
            "base URLs, comma list (http://127.0.0.1:P,...): client i on URL i % n, "
            "REST setup on the first; overrides host and port"),
      field("path", o.path, "Engine.IO path"),
      field("scenario", o.scenario, "fanout | conns | churn"),
      field("label", o.label, "name of the server in the output"),
      field("server-pid", o.server_pid, "measure this process tree (0: not measured)"),
      field("watch", o.watch, "fanout: name:pid,... also report these trees' CPU per step"),
      field("threads", o.threads, "generator threads (0: CPUs in the affinity mask)"),
      field("max-seconds", o.max_seconds, "the whole run ends after this"),
      field("bg-sample", o.bg_sample, "s of machine CPU sampled before starting"),
      field("quiet-wait", o.quiet_wait, "s to wait for the machine to calm down"),
      field("quiet-cores", o.quiet_cores, "busy cores counted as calm"),
      field("connect-concurrency", o.connect_concurrency, "handshakes in flight at once"),
      field("connect-timeout", o.connect_timeout, "s per connection"),
      field("http-concurrency", o.http_concurrency, "keep-alive connections for the setup"),
      field("rooms", o.rooms, "fanout: rooms"),
      field("members", o.members, "fanout: members per room (one connection each)"),
      field("senders", o.senders, "fanout: senders (sender k is in room k % rooms)"),
      field("rate", o.rates, "fanout: msgs/s per sender; a comma list is a ladder"),
      field("duration", o.duration, "s of sending per step, warm-up included"),
      field("warmup", o.warmup, "s at the start of a step left out of the figures"),
      field("text-bytes", o.text_bytes, "fanout: UTF-8 bytes of message text"),
      field("drain-idle", o.drain_idle, "s without progress that end the drain"),
      field("drain-max", o.drain_max, "s the drain lasts at most"),
      field("p99-limit-ms", o.p99_limit_ms, "a ladder stops once p99 reaches this"),
      field("retries", o.retries, "times a step not sustained is repeated before the ladder stops"),
      field("conns", o.conns, "conns: idle connections"),
      field("idle", o.idle, "conns: s idle before memory is read"),
      field("users", o.users, "conns, churn: guest users shared by the connections"),
      field("churn-rooms", o.churn_rooms, "churn: rooms"),
      field("residents", o.residents, "churn: connections that stay in each room"),
      field("churners", o.churners, "churn: connections that join and leave"),
      field("churn-rate", o.churn_rates, "churn: joins/s offered; a comma list is a ladder"),
      field("join-timeout", o.join_timeout, "churn: s before a join counts as timed out"),
      field("seed", o.seed, "churn: random seed"),
  };
}

}  // namespace

Options parse_options(int argc, char** argv, bool& help) {
  Options options;
  help = false;
  const auto table = specs(options);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help = true;
      return options;
    }
    if (!arg.starts_with("--"))
      throw std::invalid_argument("unexpected argument '" + std::string(arg) + "'");
    arg.remove_prefix(2);
    std::string_view value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else {
      if (i + 1 >= argc) throw std::invalid_argument("--" + std::string(arg) + " needs a value");
      value = argv[++i];
    }
    bool known = false;
    for (const auto& spec : table) {
      if (spec.name == arg) {
        spec.set(value);
        known = true;
        break;
      }
    }
    if (!known) throw std::invalid_argument("unknown option --" + std::string(arg));
  }
  return options;
}

std::string usage() {
  Options defaults;
  std::string text =
      "usage: parley-loadgen --port N --scenario fanout|conns|churn [--server-pid PID] "
      "[options]\n"
      "Socket.IO load generator for Parley's chat protocol (bench/realtime/README.md).\n"
      "Prints one JSON line per measured step on stdout, a summary on stderr.\n\n";
  for (const auto& spec : specs(defaults)) {
    std::string line = "  --" + std::string(spec.name) + " " + spec.current();
    line.resize(std::max<std::size_t>(line.size() + 1, 34), ' ');
    text += line + std::string(spec.help) + "\n";
  }
  return text;
}

}  // namespace parley::loadgen
