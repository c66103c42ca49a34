// The registry and the text exposition format 0.0.4: HELP/TYPE lines, label escaping, histogram
// buckets, callbacks, name rules, bounded families, and exact counts under concurrent use.

#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace parley::metrics {
namespace {

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(MetricsRegistry, RendersCountersAndGaugesWithHelpAndType) {
  Registry registry;
  auto& requests = registry.counter("parley_things_total", "Things done.");
  auto& level = registry.gauge("parley_level", "A level.");
  requests.inc();
  requests.inc(4);
  level.set(2.5);
  level.sub(1);
  EXPECT_EQ(registry.render(),
            "# HELP parley_things_total Things done.\n"
            "# TYPE parley_things_total counter\n"
            "parley_things_total 5\n"
            "# HELP parley_level A level.\n"
            "# TYPE parley_level gauge\n"
            "parley_level 1.5\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  Registry registry;
  auto& family =
      registry.counter_family("parley_escaped_total", "Back\\slash and\nnewline.", {"path"});
  family.with({"a\\b\"c\nd"}).inc();
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "# HELP parley_escaped_total Back\\\\slash and\\nnewline.\n")) << text;
  EXPECT_TRUE(contains(text, "parley_escaped_total{path=\"a\\\\b\\\"c\\nd\"} 1\n")) << text;
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_help("say \"hi\""), "say \"hi\"") << "quotes are not escaped in HELP";
}

TEST(MetricsRegistry, LabelledChildrenAreStableAndSorted) {
  Registry registry;
  auto& family = registry.counter_family("parley_by_route_total", "By route.", {"route", "code"});
  auto& b = family.with({"/b", "200"});
  auto& a = family.with({"/a", "500"});
  EXPECT_EQ(&b, &family.with({"/b", "200"})) << "the same child for the same labels";
  b.inc(2);
  a.inc();
  const auto text = registry.render();
  const auto pos_a = text.find("parley_by_route_total{route=\"/a\",code=\"500\"} 1\n");
  const auto pos_b = text.find("parley_by_route_total{route=\"/b\",code=\"200\"} 2\n");
  ASSERT_NE(pos_a, std::string::npos) << text;
  ASSERT_NE(pos_b, std::string::npos) << text;
  EXPECT_LT(pos_a, pos_b);
  EXPECT_THROW(family.with({"/a"}), std::invalid_argument);
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  const std::array<double, 3> bounds = {0.1, 1, 10};
  auto& family = registry.histogram_family("parley_latency_seconds", "Latency.", {"route"}, bounds);
  auto& h = family.with({"/x"});
  h.observe(0.05);
  h.observe(0.1);  // on the bound: counts in le="0.1"
  h.observe(0.5);
  h.observe(20);
  h.observe(std::numeric_limits<double>::quiet_NaN());  // ignored
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "# TYPE parley_latency_seconds histogram\n"));
  EXPECT_TRUE(contains(text,
                       "parley_latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
                       "parley_latency_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
                       "parley_latency_seconds_bucket{route=\"/x\",le=\"10\"} 3\n"
                       "parley_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
                       "parley_latency_seconds_sum{route=\"/x\"} 20.65\n"
                       "parley_latency_seconds_count{route=\"/x\"} 4\n"))
      << text;
}

TEST(MetricsRegistry, UnlabelledHistogramHasOnlyTheLeLabel) {
  Registry registry;
  const std::array<double, 1> bounds = {1};
  registry.histogram("parley_h", "H.", bounds).observe(3);
  const auto text = registry.render();
  EXPECT_TRUE(contains(text,
                       "parley_h_bucket{le=\"1\"} 0\nparley_h_bucket{le=\"+Inf\"} 1\n"
                       "parley_h_sum 3\nparley_h_count 1\n"))
      << text;
}

TEST(MetricsRegistry, RefusesBadBuckets) {
  const std::array<double, 2> descending = {1, 0.5};
  EXPECT_THROW(Histogram{descending}, std::invalid_argument);
  EXPECT_THROW(Histogram{std::span<const double>{}}, std::invalid_argument);
  const std::array<double, 1> infinite = {std::numeric_limits<double>::infinity()};
  EXPECT_THROW(Histogram{infinite}, std::invalid_argument);
}

TEST(MetricsRegistry, CallbacksAreEvaluatedAtScrapeTime) {
  Registry registry;
  int calls = 0;
  registry.callback_gauge("parley_calls", "Calls.", [&calls] { return ++calls; });
  registry.callback("parley_by_state", "By state.", Type::gauge, {"state"}, [] {
    return std::vector<Sample>{{{"running"}, 2}, {{"queued"}, 7}, {{"bad", "arity"}, 1}};
  });
  registry.callback("parley_broken", "Throws.", Type::counter, {},
                    []() -> std::vector<Sample> { throw std::runtime_error("database down"); });
  (void)registry.render();
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "parley_calls 2\n")) << text;
  EXPECT_TRUE(contains(text,
                       "parley_by_state{state=\"queued\"} 7\n"
                       "parley_by_state{state=\"running\"} 2\n"))
      << text;
  EXPECT_FALSE(contains(text, "arity")) << "a sample with the wrong number of labels is dropped";
  EXPECT_TRUE(contains(text, "# TYPE parley_broken counter\n"));
  EXPECT_FALSE(contains(text, "\nparley_broken ")) << "a failing callback drops only its series";
}

TEST(MetricsRegistry, RefusesMalformedAndDuplicateNames) {
  Registry registry;
  registry.counter("parley_ok_total", "ok");
  EXPECT_THROW(registry.counter("parley_ok_total", "again"), std::invalid_argument);
  EXPECT_THROW(registry.counter("9starts_with_digit", "x"), std::invalid_argument);
  EXPECT_THROW(registry.gauge("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("parley_l", "x", {"bad:label"}), std::invalid_argument);
  EXPECT_THROW(registry.counter_family("parley_m", "x", {"__reserved"}), std::invalid_argument);
  const std::array<double, 1> bounds = {1};
  EXPECT_THROW(registry.histogram_family("parley_n", "x", {"le"}, bounds), std::invalid_argument);
  registry.gauge("parley:recording_rule_style", "colons are allowed in metric names");
}

TEST(MetricsRegistry, FamiliesStopGrowingAtTheirLimit) {
  Registry registry;
  auto& family = registry.counter_family("parley_many_total", "Many.", {"id"});
  for (std::size_t i = 0; i < Family<Counter>::kMaxChildren + 50; ++i) {
    family.with({std::to_string(i)}).inc();
  }
  const auto text = registry.render();
  EXPECT_TRUE(contains(text, "parley_many_total{id=\"_other\"} 50\n")) << "the excess is folded";
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, Family<Counter>::kMaxChildren + 1 + 2);
}

TEST(MetricsRegistry, FormatsValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(1e20), "1e+20");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(MetricsRegistry, CollectFlattensEverySeries) {
  Registry registry;
  registry.counter_family("parley_c_total", "c", {"k"}).with({"v"}).inc(3);
  const std::array<double, 1> bounds = {1};
  registry.histogram("parley_h_seconds", "h", bounds).observe(0.5);
  registry.callback_gauge("parley_g", "g", [] { return 9.0; });
  const auto points = registry.collect();
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0].name, "parley_c_total");
  EXPECT_EQ(points[0].labels, (std::vector<std::pair<std::string, std::string>>{{"k", "v"}}));
  EXPECT_EQ(points[0].value, 3);
  EXPECT_EQ(points[1].name, "parley_h_seconds_count");
  EXPECT_EQ(points[1].value, 1);
  EXPECT_EQ(points[2].name, "parley_h_seconds_sum");
  EXPECT_EQ(points[2].value, 0.5);
  EXPECT_EQ(points[3].name, "parley_g");
  EXPECT_EQ(points[3].value, 9);
}

// Writers on several threads while another thread scrapes and registers: every increment is
// counted, every rendered histogram is consistent (+Inf bucket == count), nothing races (run
// under TSan by the tsan preset).
TEST(MetricsRegistry, CountsExactlyUnderConcurrentUse) {
  Registry registry;
  auto& family = registry.counter_family("parley_hits_total", "Hits.", {"worker"});
  const std::array<double, 3> bounds = {1, 2, 3};
  auto& histogram = registry.histogram("parley_values", "Values.", bounds);
  auto& gauge = registry.gauge("parley_in_flight", "In flight.");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    int n = 0;
    while (!done.load()) {
      const auto text = registry.render();
      EXPECT_FALSE(text.empty());
      if (n < 20)
        registry.gauge("parley_late_" + std::to_string(n++), "Registered while scraping.");
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      auto& mine = family.with({std::to_string(t)});
      auto& shared = family.with({"shared"});
      for (int i = 0; i < kPerThread; ++i) {
        gauge.add(1);
        mine.inc();
        shared.inc();
        histogram.observe(i % 4);
        gauge.sub(1);
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  scraper.join();
  EXPECT_EQ(family.with({"shared"}).value(), std::uint64_t{kThreads} * kPerThread);
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(family.with({std::to_string(t)}).value(), kPerThread);
  const auto snap = histogram.snapshot();
  EXPECT_EQ(snap.count, std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(snap.cumulative[0], std::uint64_t{kThreads} * kPerThread / 2);  // 0 and 1
  EXPECT_EQ(snap.sum, double{kThreads} * kPerThread / 4 * (0 + 1 + 2 + 3));
  EXPECT_EQ(gauge.value(), 0);
}

}  // namespace
}  // namespace parley::metrics
