// parley: the executable. Parses the command line, loads configuration, and hands over to the
// composition root. Exit codes: 0 success, 2 usage error, 78 configuration error (EX_CONFIG),
// 1 any other start-up failure (and, for batch-translate, some lines that failed).

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "app/batch_translate.hpp"
#include "app/cli.hpp"
#include "app/server_app.hpp"
#include "app/version.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "speech/tts/cli.hpp"

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitConfig = 78;

int run(const parley::app::CommandLine& line) {
  using namespace parley;
  auto env = core::Environment::from_process();
  const std::string env_file = line.env_file.value_or(env.get("PARLEY_ENV_FILE").value_or(".env"));
  if (auto merged = env.merge_dotenv_file(env_file); !merged) {
    std::fprintf(stderr, "parley: configuration error: %s\n", merged.error().message.c_str());
    return kExitConfig;
  }
  auto config = core::load_config(env);
  if (!config) {
    std::fprintf(stderr, "parley: configuration error: %s\n", config.error().message.c_str());
    return kExitConfig;
  }
  if (line.command == app::Command::tts) {
    return speech::tts::run_tts_command(line.tool_args, std::cout, std::cerr,
                                        app::elevenlabs_options(*config));
  }
  if (line.command == app::Command::batch_translate) {
    // stdout may be the output file (`-`): warnings go to stderr, and only warnings and above.
    core::FileLogSink err_sink(stderr);
    core::Logger err_log(err_sink, std::max(config->log_level, core::LogLevel::warning));
    const app::BatchTranslateIo io{std::cin, std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1};
    return app::run_batch_translate(line.tool_args, *config, io, err_log);
  }
  core::FileLogSink sink(stdout);
  core::Logger log(sink, config->log_level);

  if (line.command == app::Command::migrate) {
    if (auto done = app::run_migrations(*config, log); !done) {
      std::fprintf(stderr, "parley: migration failed: %s\n", done.error().message.c_str());
      return 1;
    }
    return 0;
  }

  log.info("configuration", core::describe(*config));
  if (config->secrets_generated) {
    log.warning("secrets_generated",
                {{"detail",
                  "SECRET_KEY/JWT_SECRET_KEY unset: generated for this process; "
                  "sessions end when it stops"}});
  }
  auto server = app::ServerApp::create(std::move(*config), log);
  if (!server) {
    std::fprintf(stderr, "parley: cannot start: %s\n", server.error().message.c_str());
    return 1;
  }
  (*server)->run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace parley::app;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto parsed = parse_command_line(args);
  if (const auto* error = std::get_if<CliError>(&parsed)) {
    std::fprintf(stderr, "parley: %s\n\n%s", error->message.c_str(), usage_text().c_str());
    return kExitUsage;
  }
  const auto& line = std::get<CommandLine>(parsed);
  switch (line.command) {
    case Command::help:
      std::fputs(usage_text().c_str(), stdout);
      return 0;
    case Command::version:
      std::printf("parley %s\n", kVersion);
      return 0;
    case Command::serve:
    case Command::migrate:
    case Command::tts:
    case Command::batch_translate:
      try {
        return run(line);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "parley: fatal: %s\n", e.what());
        return 1;
      }
  }
  return 1;
}
