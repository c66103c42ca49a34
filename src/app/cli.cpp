#include "app/cli.hpp"

namespace parley::app {

std::string usage_text() {
  return "usage: parley [--env-file PATH] <command>\n"
         "\n"
         "commands:\n"
         "  serve      apply pending migrations (development) and run the server\n"
         "  migrate    apply pending database migrations and exit\n"
         "  tts TEXT --lang es -o out.ogg [--voice V] [--format ogg|mp3|wav]\n"
         "             speak TEXT into an audio file (espeak-ng, or ElevenLabs when\n"
         "             ELEVENLABS_API_KEY is set)\n"
         "  batch-translate IN.jsonl OUT.jsonl --target es [--source en] [--threads N]\n"
         "             translate a JSON-lines file through the durable translation queue\n"
         "             (DATABASE_URL), with progress on stderr; - for stdin/stdout;\n"
         "             `parley batch-translate --help` for the formats\n"
         "  --version  print the version and exit\n"
         "  --help     print this text and exit\n"
         "\n"
         "Configuration comes from the environment and an optional .env file;\n"
         "see docs/configuration.md.\n";
}

std::variant<CommandLine, CliError> parse_command_line(const std::vector<std::string>& args) {
  CommandLine line;
  std::optional<Command> command;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::optional<Command> this_command;
    if (arg == "--help" || arg == "-h" || arg == "help") {
      this_command = Command::help;
    } else if (arg == "--version" || arg == "-V" || arg == "version") {
      this_command = Command::version;
    } else if (arg == "serve") {
      this_command = Command::serve;
    } else if (arg == "migrate") {
      this_command = Command::migrate;
    } else if (arg == "tts" || arg == "batch-translate") {
      if (command) return CliError{"only one command at a time (got " + arg + " after another)"};
      line.command = arg == "tts" ? Command::tts : Command::batch_translate;
      line.tool_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      return line;
    } else if (arg == "--env-file" || arg.starts_with("--env-file=")) {
      if (arg == "--env-file") {
        if (i + 1 >= args.size()) return CliError{"--env-file needs a path"};
        line.env_file = args[++i];
      } else {
        line.env_file = arg.substr(std::string("--env-file=").size());
      }
      if (line.env_file->empty()) return CliError{"--env-file needs a path"};
      continue;
    } else if (arg.starts_with("-")) {
      return CliError{"unknown option: " + arg};
    } else {
      return CliError{"unknown command: " + arg};
    }
    if (command && *command != *this_command) {
      return CliError{"only one command at a time (got " + arg + " after another)"};
    }
    command = this_command;
  }
  line.command = command.value_or(Command::help);
  return line;
}

}  // namespace parley::app
