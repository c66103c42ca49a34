#include "metrics/process_metrics.hpp"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace parley::metrics {

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(std::string("cannot read ") + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ProcStat read_stat() {
  auto stat = parse_proc_stat(read_file("/proc/self/stat"));
  if (!stat) throw std::runtime_error("unexpected /proc/self/stat");
  return *stat;
}

// Seconds since the epoch at boot (btime in /proc/stat).
double boot_time_seconds() {
  std::istringstream in(read_file("/proc/stat"));
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double value = 0;
      in >> value;
      return value;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  throw std::runtime_error("no btime in /proc/stat");
}

double ticks_per_second() {
  const long ticks = ::sysconf(_SC_CLK_TCK);
  return ticks > 0 ? static_cast<double>(ticks) : 100.0;
}

double page_size() {
  const long size = ::sysconf(_SC_PAGESIZE);
  return size > 0 ? static_cast<double>(size) : 4096.0;
}

std::vector<Sample> one(double value) { return {Sample{{}, value}}; }

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // After ") ": field 3 (state) is index 0 here; utime is field 14, stime 15, starttime 22,
  // vsize 23, rss 24.
  std::vector<std::string_view> fields;
  std::size_t pos = close + 1;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n')) ++pos;
    if (pos >= text.size()) break;
    const auto end = text.find_first_of(" \n", pos);
    const auto stop = end == std::string_view::npos ? text.size() : end;
    fields.push_back(text.substr(pos, stop - pos));
    pos = stop;
  }
  if (fields.size() < 22) return std::nullopt;
  const auto number = [&](std::size_t field, auto& out) {
    const auto value = fields[field - 3];
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    return ec == std::errc() && ptr == value.data() + value.size();
  };
  ProcStat stat;
  if (!number(14, stat.utime_ticks) || !number(15, stat.stime_ticks) ||
      !number(22, stat.start_ticks) || !number(23, stat.vsize_bytes) ||
      !number(24, stat.rss_pages)) {
    return std::nullopt;
  }
  return stat;
}

void register_process_metrics(Registry& registry) {
  registry.callback("process_resident_memory_bytes", "Resident memory size in bytes.", Type::gauge,
                    {},
                    [] { return one(static_cast<double>(read_stat().rss_pages) * page_size()); });
  registry.callback("process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::gauge,
                    {}, [] { return one(static_cast<double>(read_stat().vsize_bytes)); });
  registry.callback(
      "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
      Type::counter, {}, [] {
        const auto stat = read_stat();
        return one(static_cast<double>(stat.utime_ticks + stat.stime_ticks) / ticks_per_second());
      });
  registry.callback("process_open_fds", "Number of open file descriptors.", Type::gauge, {}, [] {
    std::error_code ec;
    std::size_t count = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
      ++count;
    }
    if (ec) throw std::runtime_error("cannot list /proc/self/fd");
    // The directory listing holds a descriptor of its own while it runs.
    return one(static_cast<double>(count > 0 ? count - 1 : 0));
  });
  // Constant for the life of the process: computed once, at registration.
  double start = 0;
  try {
    start = boot_time_seconds() + static_cast<double>(read_stat().start_ticks) / ticks_per_second();
  } catch (const std::exception&) {
    start = 0;
  }
  registry.callback("process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.", Type::gauge, {},
                    [start] { return start > 0 ? one(start) : std::vector<Sample>{}; });
}

}  // namespace parley::metrics
