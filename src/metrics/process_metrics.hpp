#pragma once
// The standard process_* series of Prometheus client libraries, read from /proc at scrape time:
// process_resident_memory_bytes, process_virtual_memory_bytes, process_cpu_seconds_total,
// process_open_fds, process_start_time_seconds.

#include <cstdint>
#include <optional>
#include <string_view>

#include "metrics/registry.hpp"

namespace parley::metrics {

/// The fields of /proc/<pid>/stat the process metrics use (proc(5)).
struct ProcStat {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t start_ticks = 0;  ///< since boot
  std::uint64_t vsize_bytes = 0;
  std::int64_t rss_pages = 0;
};

/// Parses the text of /proc/<pid>/stat; the command name may hold spaces and parentheses (it
/// is whatever the program called itself), so fields are counted after the last ')'.
/// nullopt when the text is not in that shape.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

/// Registers the five process series on `registry` (Linux /proc; on a read failure a series
/// is left out of that scrape).
void register_process_metrics(Registry& registry);

}  // namespace parley::metrics
