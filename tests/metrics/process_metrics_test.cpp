// Process metrics from /proc: the stat parser (command names with spaces and parentheses) and
// plausible values for this very test process.

#include "metrics/process_metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

namespace parley::metrics {
namespace {

TEST(ProcessMetrics, ParsesProcStatWithAnAwkwardCommandName) {
  const std::string text =
      "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 50 0 0 20 0 9 0 123456 "
      "987654321 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto stat = parse_proc_stat(text);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->utime_ticks, 150u);
  EXPECT_EQ(stat->stime_ticks, 50u);
  EXPECT_EQ(stat->start_ticks, 123456u);
  EXPECT_EQ(stat->vsize_bytes, 987654321u);
  EXPECT_EQ(stat->rss_pages, 2500);
}

TEST(ProcessMetrics, RefusesTruncatedOrGarbledStat) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("1 (x) S 1 2 3"));
  EXPECT_FALSE(parse_proc_stat(
      "1 (x) S 1 1 1 0 -1 0 0 0 0 0 ab 50 0 0 20 0 9 0 1 2 3 4 1 1 0 0 0 0 0 0 0 0 0 0 17"));
}

double value_of(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  ADD_FAILURE() << name << " missing from:\n" << text;
  return -1;
}

TEST(ProcessMetrics, ReportsThisProcess) {
  Registry registry;
  register_process_metrics(registry);
  const auto text = registry.render();
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\n"), std::string::npos);
  EXPECT_GT(value_of(text, "process_resident_memory_bytes"), 1024 * 1024);
  EXPECT_GT(value_of(text, "process_virtual_memory_bytes"),
            value_of(text, "process_resident_memory_bytes"));
  EXPECT_GE(value_of(text, "process_cpu_seconds_total"), 0);
  EXPECT_GE(value_of(text, "process_open_fds"), 3);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = value_of(text, "process_start_time_seconds");
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 3600) << "this test process started within the hour";
}

}  // namespace
}  // namespace parley::metrics
