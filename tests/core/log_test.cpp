#include "core/log.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <vector>

namespace parley::core {
namespace {

class CapturingSink final : public LogSink {
 public:
  void write_line(std::string_view line) override { lines.emplace_back(line); }
  std::vector<std::string> lines;
};

TEST(Log, WritesOneJsonObjectPerLineAndFiltersByLevel) {
  CapturingSink sink;
  Logger log(sink, LogLevel::info);
  log.debug("hidden");
  log.info("shown", {{"count", 3}});
  ASSERT_EQ(sink.lines.size(), 1u);
  auto value = boost::json::parse(sink.lines[0]).as_object();
  EXPECT_EQ(value["event"], "shown");
  EXPECT_EQ(value["level"], "info");
  EXPECT_EQ(value["count"], 3);
  EXPECT_TRUE(value.contains("ts"));
}

TEST(Log, LineBreaksInValuesCannotForgeALine) {
  CapturingSink sink;
  Logger log(sink, LogLevel::debug);
  log.warning("login_failed", {{"username", "bob\n{\"level\":\"info\",\"event\":\"forged\"}"}});
  ASSERT_EQ(sink.lines.size(), 1u);
  EXPECT_EQ(sink.lines[0].find('\n'), std::string::npos);
  EXPECT_EQ(sink.lines[0].find('\r'), std::string::npos);
}

TEST(Log, AFieldCannotReplaceTheLinesOwnEventLevelOrTime) {
  CapturingSink sink;
  Logger log(sink, LogLevel::info);
  log.info("real", {{"event", "forged"}, {"level", "error"}, {"ts", "1970"}});
  auto value = boost::json::parse(sink.lines.at(0)).as_object();
  EXPECT_EQ(value["event"], "real");
  EXPECT_EQ(value["level"], "info");
  EXPECT_NE(value["ts"], "1970");
  EXPECT_EQ(value["field_event"], "forged");
  EXPECT_EQ(value["field_level"], "error");
}

TEST(Log, ParsesPythonLevelNames) {
  EXPECT_EQ(parse_log_level("DEBUG"), LogLevel::debug);
  EXPECT_EQ(parse_log_level("Info"), LogLevel::info);
  EXPECT_EQ(parse_log_level("WARN"), LogLevel::warning);
  EXPECT_EQ(parse_log_level("CRITICAL"), LogLevel::error);
  EXPECT_FALSE(parse_log_level("loud"));
}

}  // namespace
}  // namespace parley::core
