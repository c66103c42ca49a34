#pragma once
// What the benchmark reads from /proc: CPU time, run-queue wait and memory of the server (its
// whole process tree), of the generator itself, and of the machine.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace parley::loadgen {

using SteadyTime = std::chrono::steady_clock::time_point;

/// A process tree at one moment. CPU counts every thread (utime + stime from /proc/PID/stat).
struct ProcessSample {
  std::vector<int> pids;
  double cpu_s = 0;
  double sys_s = 0;
  double runq_wait_s = 0;  ///< time runnable but not running (schedstat): wanted more CPU
  std::int64_t rss_kb = 0;
  std::int64_t hwm_kb = 0;  ///< VmHWM: peak RSS since the process started
};

/// `pid` and all its descendants; empty (pids empty) when the process is gone.
ProcessSample sample_process_tree(int pid);
/// This process: all its threads, from getrusage (finer than clock ticks) and schedstat.
ProcessSample sample_self();
/// Busy CPU seconds of the whole machine, all CPUs (everything but idle and iowait).
double machine_busy_seconds();
/// CPUs in the affinity mask of `pid` (0 = this process), as a count and as a list ("0-1").
std::size_t cpus_allowed(int pid);
std::string cpus_allowed_list(int pid);
/// RLIMIT_NOFILE soft limit raised to the hard limit; returns the new soft limit.
std::uint64_t raise_open_file_limit();

/// One moment of everything the reports compare.
struct Snapshot {
  SteadyTime at;
  bool has_server = false;
  ProcessSample server;
  ProcessSample self;
  double machine_busy_s = 0;
  std::vector<ProcessSample> watched;  ///< the `watched` trees, in order
};
Snapshot take_snapshot(int server_pid, const std::vector<int>& watched = {});

}  // namespace parley::loadgen
