#pragma once
// Command-line parsing for the `parley` executable. Pure: no I/O, so every case is unit-tested.

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace parley::app {

enum class Command { serve, migrate, tts, batch_translate, version, help };

struct CommandLine {
  Command command = Command::help;
  std::optional<std::string> env_file;  ///< --env-file PATH (default: PARLEY_ENV_FILE or .env)
  /// For tools that take their own arguments (`tts`, `batch-translate`): everything after the
  /// command name.
  std::vector<std::string> tool_args;
};

struct CliError {
  std::string message;  ///< one line, shown before the usage text
};

/// Parses argv[1..]. `parley` alone prints help; unknown commands and flags are errors.
std::variant<CommandLine, CliError> parse_command_line(const std::vector<std::string>& args);

std::string usage_text();

}  // namespace parley::app
