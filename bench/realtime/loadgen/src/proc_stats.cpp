#include "proc_stats.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace parley::loadgen {

namespace {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

double clock_ticks_per_second() {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return ticks;
}

// Fields of /proc/PID/stat after "(comm) ": the command name may contain spaces and parentheses,
// so parsing starts after the last ')'. Returns {utime, stime} in seconds.
std::pair<double, double> cpu_of(int pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return {0, 0};
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  double utime = 0;
  double stime = 0;
  // state is field 3 (index 0 here); utime and stime are fields 14 and 15.
  for (int i = 0; i <= 12 && fields >> field; ++i) {
    if (i == 11) utime = std::stod(field);
    if (i == 12) stime = std::stod(field);
  }
  return {utime / clock_ticks_per_second(), stime / clock_ticks_per_second()};
}

double runq_wait_of(const std::string& proc_dir) {
  double ns = 0;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator(proc_dir + "/task", ec)) {
    std::istringstream fields(read_file(task.path().string() + "/schedstat"));
    double on_cpu = 0;
    double waiting = 0;
    if (fields >> on_cpu >> waiting) ns += waiting;
  }
  return ns / 1e9;
}

std::int64_t status_kb(const std::string& status, const std::string& key) {
  const auto at = status.find("\n" + key + ":");
  if (at == std::string::npos) return 0;
  return std::strtoll(status.c_str() + at + key.size() + 2, nullptr, 10);
}

void collect_tree(int pid, std::vector<int>& out) {
  const std::string dir = "/proc/" + std::to_string(pid);
  if (!fs::exists(dir)) return;
  out.push_back(pid);
  std::error_code ec;
  for (const auto& task : fs::directory_iterator(dir + "/task", ec)) {
    std::istringstream children(read_file(task.path().string() + "/children"));
    int child = 0;
    while (children >> child) collect_tree(child, out);
  }
}

}  // namespace

ProcessSample sample_process_tree(int pid) {
  ProcessSample sample;
  collect_tree(pid, sample.pids);
  for (int p : sample.pids) {
    const auto [user, system] = cpu_of(p);
    sample.cpu_s += user + system;
    sample.sys_s += system;
    const std::string dir = "/proc/" + std::to_string(p);
    sample.runq_wait_s += runq_wait_of(dir);
    const std::string status = read_file(dir + "/status");
    sample.rss_kb += status_kb(status, "VmRSS");
    sample.hwm_kb += status_kb(status, "VmHWM");
  }
  return sample;
}

ProcessSample sample_self() {
  ProcessSample sample;
  sample.pids.push_back(static_cast<int>(getpid()));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  sample.sys_s = seconds(usage.ru_stime);
  sample.cpu_s = seconds(usage.ru_utime) + sample.sys_s;
  sample.runq_wait_s = runq_wait_of("/proc/self");
  const std::string status = read_file("/proc/self/status");
  sample.rss_kb = status_kb(status, "VmRSS");
  sample.hwm_kb = status_kb(status, "VmHWM");
  return sample;
}

double machine_busy_seconds() {
  std::istringstream line(read_file("/proc/stat"));
  std::string cpu;
  line >> cpu;  // "cpu": the sum over all CPUs
  double total = 0;
  double idle = 0;
  double value = 0;
  for (int i = 0; i < 10 && line >> value; ++i) {
    total += value;
    if (i == 3 || i == 4) idle += value;  // idle, iowait
  }
  return (total - idle) / clock_ticks_per_second();
}

std::size_t cpus_allowed(int pid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(pid, sizeof set, &set) != 0) return 1;
  return static_cast<std::size_t>(CPU_COUNT(&set));
}

std::string cpus_allowed_list(int pid) {
  const std::string status =
      read_file(pid == 0 ? "/proc/self/status" : "/proc/" + std::to_string(pid) + "/status");
  const std::string key = "\nCpus_allowed_list:";
  const auto at = status.find(key);
  if (at == std::string::npos) return {};
  std::istringstream rest(status.substr(at + key.size()));
  std::string list;
  rest >> list;
  return list;
}

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

Snapshot take_snapshot(int server_pid, const std::vector<int>& watched) {
  Snapshot snapshot;
  snapshot.at = std::chrono::steady_clock::now();
  for (int pid : watched) snapshot.watched.push_back(sample_process_tree(pid));
  if (server_pid > 0) {
    snapshot.server = sample_process_tree(server_pid);
    snapshot.has_server = !snapshot.server.pids.empty();
  }
  snapshot.self = sample_self();
  snapshot.machine_busy_s = machine_busy_seconds();
  return snapshot;
}

}  // namespace parley::loadgen
