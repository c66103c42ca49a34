#pragma once
// `parley batch-translate IN.jsonl OUT.jsonl --target es [--source en] [--threads N]`: bulk
// translation of a JSON-lines file through the durable translation queue, with the server's
// engines, limits and retries (app/translation_setup.hpp).
//
// Every valid input line becomes an ad hoc job (no message) in the configured database, which is
// migrated first; a QueueWorker in this process runs jobs (with PostgreSQL, other Parley
// processes may run some of them too), and the results are read back by job id. The output has
// one line per non-blank input line, in input order, and is written atomically (OUT.tmp, then
// rename). Progress goes to the error stream.
//
// Input line: {"text": "...", "id"?: any JSON, "source"?: "en"} or a bare JSON string (the
// text). Output line, translated:
//   {"id"?, "line", "text", "translation", "source", "target", "engine", "via": [...]}
// already in the target language (never passed off as a translation):
//   {"id"?, "line", "text", "source", "target", "skipped": "already in the target language"}
// failed (a malformed line, or a job that was dead-lettered):
//   {"id"?, "line", ["text", "source", "target",] "error": {"code", "message"}}
// A failed line with "text" is valid input again, so failed lines can be fed back as they are.

#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace parley::app {

/// Most non-blank lines one input may have; a longer file is refused (split it).
inline constexpr std::size_t kMaxBatchLines = 100'000;

/// The usage text printed for --help and before usage errors.
extern const char* const kBatchTranslateUsage;

/// Where the command reads and writes besides files.
struct BatchTranslateIo {
  std::istream& in;   ///< read when IN is "-"
  std::ostream& out;  ///< written when OUT is "-" (and --help)
  std::ostream& err;  ///< usage errors, progress and the summary
  /// The error stream is a terminal: progress is one line redrawn with '\r' (at most twice a
  /// second); otherwise a progress line is written every few seconds.
  bool err_is_terminal = false;
  /// How often the jobs' states are read back from the database.
  std::chrono::milliseconds poll_interval{150};
};

/// One parsed input line.
struct BatchItem {
  std::optional<boost::json::value> id;  ///< copied to the output as it was
  std::string text;
  std::optional<std::string> source;  ///< normalised ("en-US" → "en"); nullopt: not given
};

/// Parses one non-blank input line. Errors (validation_failed, the message says why): not JSON,
/// neither an object nor a string, "text" missing, empty or not a string, text longer than
/// translate::kMaxTranslationBytes, "source" not a language code.
Result<BatchItem> parse_batch_line(std::string_view line);

/// Runs the command; `args` are the arguments after "batch-translate". BLOCKING until every job
/// is done or dead. Returns 0 when every line was translated (or already in the target
/// language), 1 when some lines failed (the output is still written), 2 on usage or set-up
/// errors (bad arguments, unreadable input, too many lines, unwritable output, database
/// unavailable). `log` receives the queue workers' warnings.
int run_batch_translate(std::span<const std::string> args, const core::Config& config,
                        const BatchTranslateIo& io, core::Logger& log);

}  // namespace parley::app
