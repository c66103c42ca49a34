// The coordinator's shared machinery (see coordinator.hpp) and the entry point of a run.

#include "coordinator.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <stdexcept>

#include "scenarios.hpp"

namespace parley::loadgen {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::size_t kJoinConcurrency = 200;  // join_room acks awaited at once, in total
constexpr Micros kJoinTimeout = 60'000'000;    // for the whole join phase
constexpr auto kHttpTimeout = std::chrono::seconds(30);

asio::ip::tcp::endpoint loopback_endpoint(const std::string& host, std::uint16_t port) {
  // This tool only ever loads the local machine.
  const std::string address = host == "localhost" ? "127.0.0.1" : host;
  boost::system::error_code ec;
  const auto parsed = asio::ip::make_address_v4(address, ec);
  if (ec || (parsed.to_uint() >> 24) != 127) {
    throw std::invalid_argument("refusing host '" + host + "': only 127.0.0.0/8 is allowed");
  }
  return {parsed, port};
}

// --url "http://127.0.0.1:5000,http://127.0.0.1:5001" (the scheme and a trailing '/' are
// optional), or --host and --port when it is empty.
std::vector<asio::ip::tcp::endpoint> server_endpoints(const Options& options) {
  if (options.url.empty()) return {loopback_endpoint(options.host, options.port)};
  std::vector<asio::ip::tcp::endpoint> out;
  std::string_view list = options.url;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view url = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (url.starts_with("http://")) url.remove_prefix(7);
    if (url.ends_with('/')) url.remove_suffix(1);
    const auto colon = url.rfind(':');
    int port = 0;
    if (colon != std::string_view::npos) {
      const auto digits = url.substr(colon + 1);
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
      if (ec != std::errc() || ptr != digits.data() + digits.size()) port = 0;
    }
    if (port <= 0 || port > 65535) {
      throw std::invalid_argument("--url: '" + std::string(url) + "' needs http://HOST:PORT");
    }
    out.push_back(
        loopback_endpoint(std::string(url.substr(0, colon)), static_cast<std::uint16_t>(port)));
  }
  if (out.empty()) throw std::invalid_argument("--url: empty list");
  return out;
}

}  // namespace

Run::Run(const Options& options)
    : options_(options),
      endpoints_(server_endpoints(options)),
      endpoint_(endpoints_.front()),
      threads_(options.threads > 0 ? options.threads : cpus_allowed(0)),
      server_cores_(options.server_pid > 0 ? cpus_allowed(options.server_pid) : 0),
      gen_cores_(cpus_allowed(0)),
      started_(now_micros()),
      epoch_offset_(std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count() -
                    now_micros()),
      pool_(threads_) {
  std::vector<ConnectTarget> targets;
  for (const auto& endpoint : endpoints_) {
    ConnectTarget target;
    target.endpoint = endpoint;
    target.upgrade_request = make_upgrade_request(endpoint, options.path);
    target.timeout = std::chrono::milliseconds(to_micros(options.connect_timeout) / 1000);
    targets.push_back(std::move(target));
  }
  for (std::string_view list = options.watch; !list.empty();) {
    const auto comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    const auto colon = item.rfind(':');
    int pid = 0;
    if (colon != std::string_view::npos) {
      const auto digits = item.substr(colon + 1);
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
      if (ec != std::errc() || ptr != digits.data() + digits.size()) pid = 0;
    }
    if (pid <= 0)
      throw std::invalid_argument("--watch: '" + std::string(item) + "' is not name:pid");
    watch_names_.emplace_back(item.substr(0, colon));
    watch_pids_.push_back(pid);
  }
  for (std::size_t i = 0; i < threads_; ++i) {
    shards_.push_back(std::make_unique<Shard>(pool_.context(i), targets, epoch_offset_));
  }
  background_cores_ = sample_background();
}

Run::~Run() {
  // Clients hold sockets of the loops: close them on their threads, stop the loops, and only
  // then destroy them.
  pool_.run_on_all([this](std::size_t i) { shards_[i]->close_all(); });
  pool_.stop();
  shards_.clear();
}

double Run::sample_background() const {
  if (options_.bg_sample <= 0) return 0;
  const auto sample = [this] {
    const double a = machine_busy_seconds();
    std::this_thread::sleep_for(std::chrono::microseconds(to_micros(options_.bg_sample)));
    return round3((machine_busy_seconds() - a) / options_.bg_sample);
  };
  const Micros give_up = now_micros() + to_micros(options_.quiet_wait);
  double busy = sample();
  while (busy > options_.quiet_cores && now_micros() < give_up) busy = sample();
  log("machine background busy: " + num(busy) + " cores");
  return busy;
}

void Run::wait_for_quiet() const {
  const Micros since = now_micros();
  const Micros give_up = since + to_micros(options_.quiet_wait);
  double busy = 0;
  for (;;) {
    // Between steps the server and the generator are idle: what is busy is someone else.
    const double a = machine_busy_seconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    busy = (machine_busy_seconds() - a) / 0.3;
    if (busy <= options_.quiet_cores || now_micros() >= give_up) break;
  }
  const double waited = seconds_between(since, now_micros());
  if (waited > 1) {
    log("waited " + num(waited) + " s for other tenants to calm down; now " + num(busy) +
        " cores busy");
  }
}

bool Run::run_step(const std::function<bool(int attempt)>& attempt_once) const {
  for (int attempt = 1;; ++attempt) {
    wait_for_quiet();
    if (attempt_once(attempt)) return true;
    if (attempt > options_.retries) return false;
    log("not sustained: repeating the step");
  }
}

// --- REST setup ---------------------------------------------------------------------------------

std::vector<HttpResponse> Run::http(const std::vector<HttpRequest>& requests, std::string_view what,
                                    unsigned expected_status) {
  auto responses = run_http(endpoint_, requests, options_.http_concurrency, kHttpTimeout);
  for (const auto& response : responses) {
    if (response.status != expected_status) {
      throw std::runtime_error(std::string(what) + " failed: " +
                               (response.status ? "HTTP " + std::to_string(response.status) + " " +
                                                      response.body.substr(0, 300)
                                                : response.error));
    }
  }
  return responses;
}

std::vector<std::string> Run::create_guests(std::size_t count) {
  std::vector<HttpRequest> requests(count);
  for (auto& request : requests) {
    request.target = "/api/guest";
    request.body = R"({"preferred_language":"en"})";
  }
  std::vector<std::string> tokens;
  for (const auto& response : http(requests, "POST /api/guest", 201)) {
    tokens.emplace_back(json::parse(response.body).at("access_token").as_string());
  }
  return tokens;
}

std::vector<std::int64_t> Run::create_rooms(const std::vector<std::string>& owner_tokens) {
  std::vector<HttpRequest> requests(owner_tokens.size());
  // A per-run suffix keeps the names apart should the server keep rooms between runs.
  const std::string run = std::to_string(started_ % 1'000'000);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    requests[i].target = "/api/create-chatroom";
    requests[i].bearer = owner_tokens[i];
    requests[i].body =
        R"({"name":"bench-)" + run + "-" + std::to_string(i) + R"(","is_private":false})";
  }
  std::vector<std::int64_t> ids;
  for (const auto& response : http(requests, "POST /api/create-chatroom", 201)) {
    ids.push_back(json::parse(response.body).at("chatroom").at("id").to_number<std::int64_t>());
  }
  return ids;
}

void Run::add_members(const std::vector<std::pair<std::string, std::int64_t>>& token_and_room) {
  std::vector<HttpRequest> requests(token_and_room.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    requests[i].target = "/api/join-chatroom";
    requests[i].bearer = token_and_room[i].first;
    requests[i].body = R"({"chatroom_id":)" + std::to_string(token_and_room[i].second) + "}";
  }
  http(requests, "POST /api/join-chatroom", 200);
}

// --- socket phases ------------------------------------------------------------------------------

void Run::run_phase(const std::function<void(std::size_t, std::function<void()>)>& start) {
  auto done = std::make_shared<Countdown>(threads_);
  pool_.run_on_all([&](std::size_t i) { start(i, [done] { done->count_down(); }); });
  // Every phase bounds itself (connect and join timeouts, the end of a step); --max-seconds is
  // the backstop should one not.
  done->wait();
}

ShardStats Run::gather() {
  std::vector<ShardStats> parts(threads_);
  pool_.run_on_all([&](std::size_t i) { parts[i] = shards_[i]->stats(); });
  ShardStats total;
  for (const auto& part : parts) total.merge(part);
  return total;
}

ConnectSummary Run::connect(const std::vector<std::string>& token_of_client,
                            std::size_t read_buffer) {
  std::vector<std::vector<ConnectJob>> jobs(threads_);
  for (std::size_t gid = 0; gid < token_of_client.size(); ++gid) {
    jobs[gid % threads_].push_back(ConnectJob{static_cast<std::uint32_t>(gid),
                                              R"(40{"token":")" + token_of_client[gid] + "\"}"});
  }
  const std::size_t per_shard = (options_.connect_concurrency + threads_ - 1) / threads_;
  const Micros t0 = now_micros();
  run_phase([&](std::size_t i, std::function<void()> done) {
    shards_[i]->connect_all(std::move(jobs[i]), per_shard, read_buffer, std::move(done));
  });
  ConnectSummary summary;
  summary.wall_s = seconds_between(t0, now_micros());
  const ShardStats stats = gather();
  summary.ok = stats.connected;
  summary.failed = stats.connect_failed;
  for (const auto& [reason, n] : stats.connect_errors) summary.errors[reason] = n;
  summary.latency_ms = stats.connect_latency.summary_ms();
  return summary;
}

void Run::join_sockets(const std::vector<std::pair<std::uint32_t, RoomJob>>& gid_and_room) {
  std::vector<std::vector<RoomJob>> jobs(threads_);
  for (auto [gid, job] : gid_and_room) {
    job.local = static_cast<std::uint32_t>(gid / threads_);
    jobs[gid % threads_].push_back(job);
  }
  const std::size_t per_shard = (kJoinConcurrency + threads_ - 1) / threads_;
  run_phase([&](std::size_t i, std::function<void()> done) {
    shards_[i]->join_rooms(std::move(jobs[i]), per_shard, kJoinTimeout, std::move(done));
  });
}

// --- reports ------------------------------------------------------------------------------------

json::object Run::head() const {
  json::object line{{"scenario", options_.scenario}};
  if (!options_.label.empty()) line["label"] = options_.label;
  std::string target;
  for (const auto& endpoint : endpoints_) {
    if (!target.empty()) target += ',';
    target += endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }
  line["target"] = target;
  line["machine_bg_busy_cores_before"] = background_cores_;
  return line;
}

// CPU use between two snapshots, in the shared generator's field names.
json::object Run::window(const Snapshot& a, const Snapshot& b) const {
  const double dt = std::chrono::duration<double>(b.at - a.at).count();
  const double gen_cpu = b.self.cpu_s - a.self.cpu_s;
  json::object out{
      {"seconds", round3(dt)},
      {"gen_cpu_s", round3(gen_cpu)},
      {"gen_cpu_cores", round3(gen_cpu / dt)},
      {"gen_sys_cores", round3((b.self.sys_s - a.self.sys_s) / dt)},
      {"gen_runq_wait_cores", round3((b.self.runq_wait_s - a.self.runq_wait_s) / dt)},
      {"machine_busy_cores", round3((b.machine_busy_s - a.machine_busy_s) / dt)},
  };
  double server_cores = 0;
  if (a.has_server && b.has_server) {
    const double server_cpu = b.server.cpu_s - a.server.cpu_s;
    server_cores = server_cpu / dt;
    out["server_cpu_s"] = round3(server_cpu);
    out["server_cpu_cores"] = round3(server_cores);
    out["server_sys_cores"] = round3((b.server.sys_s - a.server.sys_s) / dt);
    // Runnable but not running: more than zero means the server wanted more CPU than it got.
    out["server_runq_wait_cores"] = round3((b.server.runq_wait_s - a.server.runq_wait_s) / dt);
  }
  // --watch: the CPU of each named process tree (say, every server of a cluster and Redis).
  if (!a.watched.empty() && a.watched.size() == b.watched.size()) {
    json::object watched;
    for (std::size_t i = 0; i < a.watched.size() && i < watch_names_.size(); ++i) {
      watched[watch_names_[i]] = {
          {"cpu_cores", round3((b.watched[i].cpu_s - a.watched[i].cpu_s) / dt)},
          {"sys_cores", round3((b.watched[i].sys_s - a.watched[i].sys_s) / dt)},
          {"runq_wait_cores", round3((b.watched[i].runq_wait_s - a.watched[i].runq_wait_s) / dt)}};
    }
    out["watched"] = std::move(watched);
  }
  // Everyone else on the machine (other tenants; part of the kernel's softirq work).
  out["other_busy_cores"] = round3(
      std::max(0.0, (b.machine_busy_s - a.machine_busy_s) / dt - gen_cpu / dt - server_cores));
  return out;
}

json::object Run::server_info(const Snapshot& before, const Snapshot& after,
                              std::int64_t peak_kb) const {
  if (!before.has_server || !after.has_server) return {};
  json::array pids;
  for (int pid : after.server.pids) pids.push_back(pid);
  return {
      {"pids", std::move(pids)},
      {"cpus_allowed", cpus_allowed_list(options_.server_pid)},
      {"cpu_s", round3(after.server.cpu_s - before.server.cpu_s)},
      {"rss_start_mb", to_mb(before.server.rss_kb)},
      {"rss_end_mb", to_mb(after.server.rss_kb)},
      {"rss_peak_sampled_mb", to_mb(std::max(peak_kb, after.server.rss_kb))},
      {"peak_rss_mb", to_mb(after.server.hwm_kb)},  // VmHWM: since the server started
  };
}

// Which side ran out of CPU. "Demand" is CPU used plus time spent runnable waiting for a CPU:
// close to the cores a side may use means it wanted all it could get.
void Run::finish_step(json::object& line, const json::object& window, bool met, bool p99_ok,
                      double setup_s) const {
  line["met_offered_load"] = met;
  line["p99_limit_ms"] = options_.p99_limit_ms;
  line["p99_under_limit"] = p99_ok;
  line["sustained"] = met && p99_ok;
  line["limited_by"] = limited_by(window, met);
  line["setup_s"] = round3(setup_s);
  line["gen"] = gen_info();
  print(line);
}

std::string Run::limited_by(const json::object& win, bool met) const {
  const auto number = [&win](const char* key) {
    const auto* v = win.if_contains(key);
    return v ? v->to_number<double>() : 0.0;
  };
  std::string out;
  const auto add = [&out](const char* what) {
    if (!out.empty()) out += '+';
    out += what;
  };
  if (server_cores_ > 0 && win.contains("server_cpu_cores")) {
    const double used = number("server_cpu_cores");
    const double demand = used + number("server_runq_wait_cores");
    const auto cores = static_cast<double>(server_cores_);
    if (used >= 0.9 * cores || demand >= 0.9 * cores) add("server-cpu");
  }
  const double gen_used = number("gen_cpu_cores");
  const auto gen_cores = static_cast<double>(gen_cores_);
  if (gen_used >= 0.85 * gen_cores || gen_used + number("gen_runq_wait_cores") >= 0.9 * gen_cores) {
    add("generator-cpu");
  }
  const auto machine_cores = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  if (number("machine_busy_cores") >= 0.95 * machine_cores && number("other_busy_cores") >= 0.2) {
    add("machine-saturated(other-tenants)");
  }
  if (out.empty()) out = met ? "none (offered load delivered)" : "unclear (no side CPU-bound)";
  return out;
}

json::object Run::gen_info() const {
  return {{"threads", threads_},
          {"cpus_allowed", cpus_allowed_list(0)},
          {"cpu_s_total", round3(sample_self().cpu_s)},
          {"wall_s", round3(seconds_between(started_, now_micros()))}};
}

void Run::print(const json::object& line) { std::cout << json::serialize(line) << std::endl; }

int run_scenario(const Options& options) {
  if (options.scenario != "fanout" && options.scenario != "conns" && options.scenario != "churn") {
    throw std::invalid_argument("unknown scenario '" + options.scenario +
                                "' (fanout, conns or churn)");
  }
  Run run(options);
  try {
    if (options.scenario == "fanout") return run.fanout();
    if (options.scenario == "conns") return run.conns();
    return run.churn();
  } catch (const std::runtime_error& e) {
    json::object line{{"scenario", options.scenario}, {"error", e.what()}};
    if (!options.label.empty()) line["label"] = options.label;
    std::cout << json::serialize(line) << std::endl;
    std::cerr << "[loadgen " << options.scenario << "] " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace parley::loadgen
