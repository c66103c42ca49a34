#include "app/cli.hpp"

#include <gtest/gtest.h>

namespace parley::app {
namespace {

CommandLine parsed(std::vector<std::string> args) {
  auto r = parse_command_line(args);
  EXPECT_TRUE(std::holds_alternative<CommandLine>(r));
  return std::get<CommandLine>(r);
}

std::string error_of(std::vector<std::string> args) {
  auto r = parse_command_line(args);
  EXPECT_TRUE(std::holds_alternative<CliError>(r));
  return std::holds_alternative<CliError>(r) ? std::get<CliError>(r).message : "";
}

TEST(Cli, Commands) {
  EXPECT_EQ(parsed({}).command, Command::help);
  EXPECT_EQ(parsed({"serve"}).command, Command::serve);
  EXPECT_EQ(parsed({"migrate"}).command, Command::migrate);
  EXPECT_EQ(parsed({"--version"}).command, Command::version);
  EXPECT_EQ(parsed({"--help"}).command, Command::help);
  auto with_env = parsed({"--env-file", "/etc/parley.env", "serve"});
  EXPECT_EQ(with_env.env_file, "/etc/parley.env");
  EXPECT_EQ(parsed({"serve", "--env-file=x.env"}).env_file, "x.env");
  // `tts` takes everything after it as its own arguments.
  auto tts = parsed({"--env-file", "a.env", "tts", "hola", "--lang", "es", "-o", "x.ogg"});
  EXPECT_EQ(tts.command, Command::tts);
  EXPECT_EQ(tts.env_file, "a.env");
  EXPECT_EQ(tts.tool_args, (std::vector<std::string>{"hola", "--lang", "es", "-o", "x.ogg"}));
  EXPECT_NE(error_of({"serve", "tts", "x"}).find("only one command"), std::string::npos);
  // So does `batch-translate`, its own options included.
  auto batch = parsed({"batch-translate", "in.jsonl", "-", "--target", "es", "--help"});
  EXPECT_EQ(batch.command, Command::batch_translate);
  EXPECT_EQ(batch.tool_args,
            (std::vector<std::string>{"in.jsonl", "-", "--target", "es", "--help"}));
  EXPECT_EQ(error_of({"migrate", "batch-translate", "a", "b"}),
            "only one command at a time (got batch-translate after another)");
}

TEST(Cli, UnknownFlagsAndCommandsAreErrors) {
  EXPECT_EQ(error_of({"--port=80"}), "unknown option: --port=80");
  EXPECT_EQ(error_of({"start"}), "unknown command: start");
  EXPECT_EQ(error_of({"--env-file"}), "--env-file needs a path");
  EXPECT_NE(error_of({"serve", "migrate"}).find("only one command"), std::string::npos);
}

}  // namespace
}  // namespace parley::app
