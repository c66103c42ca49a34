#include "app/batch_translate.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <memory>
#include <mutex>
#include <ostream>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "app/translation_setup.hpp"
#include "core/clock.hpp"
#include "outbound/curl_http_client.hpp"
#include "store/database.hpp"
#include "store/migrations/migrator.hpp"
#include "translate/langid/language_detector.hpp"
#include "translate/queue/queue_worker.hpp"
#include "translate/queue/translation_queue.hpp"
#include "translate/translation_engines.hpp"
#include "translate/translator.hpp"

namespace parley::app {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

const char* const kBatchTranslateUsage =
    "usage: parley batch-translate IN.jsonl OUT.jsonl --target LANG [--source LANG] [--threads "
    "N]\n"
    "  Translates every line of IN into LANG through the durable translation queue in\n"
    "  DATABASE_URL, with the server's engines, limits and retries, and writes one JSON line\n"
    "  per input line to OUT, in input order (OUT.tmp, then renamed: never half a file).\n"
    "  IN or OUT may be - (standard input, standard output).\n"
    "  Input lines: {\"text\": \"...\", \"id\": any JSON, \"source\": \"en\"} (id and source\n"
    "  optional) or a JSON string; blank lines are skipped. At most 100000 lines, each text\n"
    "  at most 16384 bytes.\n"
    "  --source LANG  language of lines without \"source\" (default: detected line by line)\n"
    "  --threads N    translation threads, 1-64 (default: PARLEY_TRANSLATION_THREADS)\n"
    "  Exit status: 0 every line translated, 1 some lines failed (their output line has\n"
    "  \"error\"), 2 usage or set-up error. Jobs are durable: an interrupted run leaves its jobs\n"
    "  in the queue, and running the command again submits every line again.";

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kPrefix = "parley batch-translate: ";
constexpr std::string_view kProgressPrefix = "batch-translate: ";
constexpr std::string_view kSkipped = "already in the target language";
constexpr std::string_view kUndetected = "the language could not be detected; give source";

/// A raw line longer than this is refused without parsing it: JSON escapes (\uXXXX) make a
/// text's line at most 6 times its size, plus room for an id.
constexpr std::size_t kMaxLineBytes = 8 * translate::kMaxTranslationBytes;

constexpr std::chrono::milliseconds kTerminalProgressEvery{500};
constexpr std::chrono::milliseconds kLogProgressEvery{5000};
/// Time spent submitting jobs before the states are polled and progress is shown.
constexpr std::chrono::milliseconds kSubmitSlice{100};
/// Jobs looked up per poll (round robin), on top of those this process just finished.
constexpr std::size_t kPollBudget = 500;
/// Give up when the database has failed every look-up for this long.
constexpr std::chrono::seconds kDatabaseGiveUp{60};

// ---------------------------------------------------------------------------------------------
// Arguments

struct Args {
  std::string input;
  std::string output;
  std::string target;
  std::optional<std::string> source;
  std::optional<std::size_t> threads;
  bool help = false;
};

/// On failure returns the reason (printed before the usage text).
std::optional<std::string> parse_args(std::span<const std::string> args, Args& parsed) {
  std::vector<std::string> positional;
  std::optional<std::string> target;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    // "--name value" or "--name=value".
    auto option = [&](std::string_view name, std::string& value) -> std::optional<bool> {
      if (arg == name) {
        if (i + 1 >= args.size()) return false;
        value = args[++i];
        return true;
      }
      if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=') {
        value = arg.substr(name.size() + 1);
        return true;
      }
      return std::nullopt;
    };
    std::string value;
    if (arg == "-h" || arg == "--help") {
      parsed.help = true;
      return std::nullopt;
    } else if (auto t = option("--target", value)) {
      if (!*t || value.empty()) return "--target needs a language code such as es";
      parsed.target = translate::normalize_language_tag(value);
      if (parsed.target.empty() || parsed.target == "und") {
        return "--target needs a language code such as es (got \"" + value + "\")";
      }
      target = parsed.target;
    } else if (auto s = option("--source", value)) {
      if (!*s || value.empty()) return "--source needs a language code such as en";
      auto source = translate::normalize_language_tag(value);
      if (source.empty() || source == "und") {
        return "--source needs a language code such as en (got \"" + value + "\")";
      }
      parsed.source = source;
    } else if (auto n = option("--threads", value)) {
      if (!*n) return "--threads needs a number from 1 to 64";
      std::size_t threads = 0;
      const auto* end = value.data() + value.size();
      auto [ptr, ec] = std::from_chars(value.data(), end, threads);
      if (ec != std::errc() || ptr != end || threads < 1 || threads > 64) {
        return "--threads needs a number from 1 to 64 (got \"" + value + "\")";
      }
      parsed.threads = threads;
    } else if (arg.size() > 1 && arg[0] == '-') {
      return "unknown option " + arg;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() < 2) return "give an input and an output file (- for stdin or stdout)";
  if (positional.size() > 2) return "unexpected argument \"" + positional[2] + "\"";
  if (!target) return "--target is required";
  parsed.input = positional[0];
  parsed.output = positional[1];
  if (parsed.input.empty() || parsed.output.empty()) return "file names cannot be empty";
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Input

struct RawLine {
  std::size_t number = 0;  // 1-based, blank lines counted
  std::string bytes;
  bool too_long = false;
};

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  });
}

/// Reads every non-blank line, keeping at most kMaxLineBytes of each (longer ones are marked).
/// Errors: unavailable (read error), payload_too_large (more than kMaxBatchLines lines).
Result<std::vector<RawLine>> read_lines(std::istream& in) {
  std::vector<RawLine> lines;
  RawLine current;
  current.number = 1;
  auto finish_line = [&]() -> bool {
    if (current.number == 1 && current.bytes.starts_with("\xEF\xBB\xBF")) {
      current.bytes.erase(0, 3);  // a UTF-8 byte order mark
    }
    if (!current.bytes.empty() && current.bytes.back() == '\r') current.bytes.pop_back();
    if (current.too_long || !is_blank(current.bytes)) {
      if (lines.size() >= kMaxBatchLines) return false;
      lines.push_back(std::move(current));
    }
    const std::size_t next = current.number + 1;
    current = RawLine{};
    current.number = next;
    return true;
  };
  std::vector<char> buffer(64 * 1024);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    std::string_view chunk(buffer.data(), got);
    while (!chunk.empty()) {
      const auto newline = chunk.find('\n');
      const auto piece = chunk.substr(0, newline);
      if (!current.too_long) {
        if (current.bytes.size() + piece.size() > kMaxLineBytes) {
          current.too_long = true;
          current.bytes.clear();
          current.bytes.shrink_to_fit();
        } else {
          current.bytes.append(piece);
        }
      }
      if (newline == std::string_view::npos) break;
      if (!finish_line()) {
        return fail(Errc::payload_too_large, "the input has more than " +
                                                 std::to_string(kMaxBatchLines) +
                                                 " lines; split it into smaller files");
      }
      chunk.remove_prefix(newline + 1);
    }
  }
  if (in.bad()) return fail(Errc::unavailable, "reading the input failed");
  if (!current.bytes.empty() || current.too_long) {
    if (!finish_line()) {
      return fail(Errc::payload_too_large, "the input has more than " +
                                               std::to_string(kMaxBatchLines) +
                                               " lines; split it into smaller files");
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Output file: OUT.tmp, written in full, synced, then renamed over OUT.

class AtomicFile {
 public:
  ~AtomicFile() { discard(); }

  /// Creates (truncates) `path`.tmp. Errors carry a one-line reason.
  Result<void> open(const std::string& path) {
    path_ = path;
    temp_ = path + ".tmp";
    std::error_code ec;
    if (std::filesystem::is_directory(path_, ec)) {
      return fail(Errc::validation_failed, path_ + " is a directory");
    }
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) return fail(Errc::unavailable, "cannot create " + temp_ + ": " + errno_text());
    return {};
  }

  /// Writes `data`, syncs it and renames the temporary file over the target.
  Result<void> commit(std::string_view data) {
    while (!data.empty()) {
      const auto written = ::write(fd_, data.data(), data.size());
      if (written < 0 && errno == EINTR) continue;
      if (written < 0)
        return fail(Errc::unavailable, "cannot write " + temp_ + ": " + errno_text());
      data.remove_prefix(static_cast<std::size_t>(written));
    }
    if (::fsync(fd_) != 0)
      return fail(Errc::unavailable, "cannot sync " + temp_ + ": " + errno_text());
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0)
      return fail(Errc::unavailable, "cannot write " + temp_ + ": " + errno_text());
    if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
      return fail(Errc::unavailable,
                  "cannot rename " + temp_ + " to " + path_ + ": " + errno_text());
    }
    committed_ = true;
    // Make the rename itself durable (best effort: some file systems refuse to sync a folder).
    auto folder = std::filesystem::path(path_).parent_path();
    if (folder.empty()) folder = ".";
    if (const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    return {};
  }

  /// Closes and removes the temporary file unless it was committed.
  void discard() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
    temp_.clear();
  }

 private:
  static std::string errno_text() { return std::strerror(errno); }

  std::string path_;
  std::string temp_;
  int fd_ = -1;
  bool committed_ = false;
};

// ---------------------------------------------------------------------------------------------
// Lines and their outcomes

enum class Outcome { pending, translated, skipped, failed };

struct Item {
  RawLine raw;
  std::optional<json::value> id;
  std::string text;
  std::string source;
  Outcome outcome = Outcome::pending;
  std::int64_t job = 0;   // 0: no job (not submitted yet, invalid or skipped)
  bool retrying = false;  // the job's last run failed and it will run again
  bool retried = false;   // the job needed more than one run
  json::object output;    // the output line once the outcome is known
};

json::object line_head(const Item& item) {
  json::object line;
  if (item.id) line["id"] = *item.id;
  line["line"] = item.raw.number;
  return line;
}

void fail_item(Item& item, std::string_view code, std::string_view message, bool with_text,
               std::string_view target = {}) {
  item.outcome = Outcome::failed;
  item.output = line_head(item);
  if (with_text) {
    item.output["text"] = item.text;
    if (!item.source.empty()) item.output["source"] = item.source;
    if (!target.empty()) item.output["target"] = target;
  }
  item.output["error"] = json::object{{"code", code}, {"message", message}};
}

std::string format_rate(double per_second) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", per_second);
  return buffer;
}

struct Counts {
  std::size_t finished = 0;
  std::size_t translated = 0;
  std::size_t skipped = 0;
  std::size_t failed = 0;
  std::size_t retrying = 0;
  std::size_t retried = 0;
};

Counts count(const std::vector<Item>& items) {
  Counts c;
  for (const auto& item : items) {
    switch (item.outcome) {
      case Outcome::pending:
        if (item.retrying) ++c.retrying;
        break;
      case Outcome::translated:
        ++c.translated;
        break;
      case Outcome::skipped:
        ++c.skipped;
        break;
      case Outcome::failed:
        ++c.failed;
        break;
    }
    if (item.retried) ++c.retried;
  }
  c.finished = c.translated + c.skipped + c.failed;
  return c;
}

/// The progress line on the error stream: redrawn in place on a terminal, a line every few
/// seconds otherwise.
class Progress {
 public:
  Progress(std::ostream& err, bool terminal)
      : err_(err), terminal_(terminal), started_(Clock::now()) {
    if (!terminal_) last_ = started_;  // the first line after kLogProgressEvery
  }

  void update(const std::vector<Item>& items, bool force = false) {
    const auto now = Clock::now();
    const auto every = terminal_ ? kTerminalProgressEvery : kLogProgressEvery;
    if (!force && now - last_ < every) return;
    last_ = now;
    const Counts c = count(items);
    std::string text = std::string(kProgressPrefix) + std::to_string(c.finished) + "/" +
                       std::to_string(items.size()) + " done, " + std::to_string(c.failed) +
                       " failed, " + std::to_string(c.retrying) + " retrying, " +
                       format_rate(rate(c.finished)) + "/s";
    if (terminal_) {
      const std::size_t width = text.size();
      if (text.size() < drawn_) text.append(drawn_ - text.size(), ' ');
      drawn_ = width;
      err_ << '\r' << text << std::flush;
    } else {
      err_ << text << '\n' << std::flush;
    }
  }

  /// Ends the redrawn line (terminal) before other output.
  void finish_line() {
    if (terminal_ && drawn_ > 0) err_ << '\n';
    drawn_ = 0;
  }

  double seconds() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }
  double rate(std::size_t finished) const {
    const double s = seconds();
    return s > 0 ? static_cast<double>(finished) / s : 0.0;
  }

 private:
  std::ostream& err_;
  bool terminal_;
  Clock::time_point started_;
  Clock::time_point last_{};
  std::size_t drawn_ = 0;
};

/// Job ids this process's worker just finished (done or dead), so that they are looked up
/// first. Filled on the worker threads.
class FinishedHints {
 public:
  void add(std::int64_t job) {
    std::lock_guard lock(mutex_);
    ids_.push_back(job);
  }
  std::vector<std::int64_t> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(ids_, {});
  }

 private:
  std::mutex mutex_;
  std::vector<std::int64_t> ids_;
};

/// Runs a job: the line's source (always given by this command; detected for other jobs that
/// have none), the engine serving the pair, then the translation. Retries, backoff and dead
/// letters are the queue's.
Result<translate::Translation> translate_job(const translate::TranslationEngines& engines,
                                             const translate::Job& job) {
  std::string source = job.source.value_or("");
  if (source.empty()) {
    source = engines.detector().detect(job.text).language;
    if (source == "und") return fail(Errc::validation_failed, std::string(kUndetected));
  }
  auto translator = engines.translator_for(source, job.target);
  if (!translator) return translator.error();
  return (*translator)->translate(job.text, source, job.target);
}

/// Applies a job's stored state to its line. Returns true when the job finished (done or dead).
bool apply_record(Item& item, const translate::JobRecord& record, std::string_view target) {
  item.retried = record.job.attempts > 1;
  switch (record.state) {
    case translate::JobState::done: {
      if (!record.result) {
        fail_item(item, to_code(Errc::internal), "the job is done but has no result", true, target);
        return true;
      }
      const auto& result = *record.result;
      item.outcome = Outcome::translated;
      item.retrying = false;
      item.output = line_head(item);
      item.output["text"] = item.text;
      item.output["translation"] = result.text;
      item.output["source"] = result.source.empty() ? item.source : result.source;
      item.output["target"] = result.target.empty() ? std::string(target) : result.target;
      item.output["engine"] = result.engine;
      json::array via;
      for (const auto& language : result.via) via.emplace_back(language);
      item.output["via"] = std::move(via);
      return true;
    }
    case translate::JobState::dead:
      item.retrying = false;
      fail_item(item, record.last_error_code.value_or(std::string(to_code(Errc::internal))),
                record.last_error.value_or("the translation failed"), true, target);
      return true;
    case translate::JobState::queued:
    case translate::JobState::running:
      item.retrying = record.last_error.has_value();
      return false;
  }
  return false;
}

/// The "id" of a line that failed to parse as a batch item, when it is a JSON object with one.
std::optional<json::value> id_of(std::string_view line) {
  if (line.size() > kMaxLineBytes) return std::nullopt;
  boost::system::error_code ec;
  json::value value = json::parse(line, ec);
  if (ec || !value.is_object()) return std::nullopt;
  if (const auto* id = value.as_object().if_contains("id")) return *id;
  return std::nullopt;
}

int usage_error(std::ostream& err, std::string_view reason) {
  err << kPrefix << reason << "\n" << kBatchTranslateUsage << "\n";
  return kExitUsage;
}

int setup_error(std::ostream& err, std::string_view reason) {
  err << kPrefix << reason << "\n";
  return kExitUsage;
}

}  // namespace

Result<BatchItem> parse_batch_line(std::string_view line) {
  if (line.size() > kMaxLineBytes) {
    return fail(Errc::validation_failed,
                "the line is longer than " + std::to_string(kMaxLineBytes) + " bytes");
  }
  boost::system::error_code ec;
  json::value value = json::parse(line, ec);
  if (ec) {
    return fail(Errc::validation_failed, "the line is not valid JSON (" + ec.message() + ")");
  }
  BatchItem item;
  const json::string* text = nullptr;
  if (value.is_string()) {
    text = &value.as_string();
  } else if (value.is_object()) {
    const auto& object = value.as_object();
    if (const auto* id = object.if_contains("id")) item.id = *id;
    const auto* field = object.if_contains("text");
    if (field == nullptr) return fail(Errc::validation_failed, "the line has no \"text\"");
    if (!field->is_string()) return fail(Errc::validation_failed, "\"text\" must be a string");
    text = &field->as_string();
    if (const auto* source = object.if_contains("source");
        source != nullptr && !source->is_null()) {
      if (!source->is_string()) {
        return fail(Errc::validation_failed, "\"source\" must be a language code such as \"en\"");
      }
      if (!source->as_string().empty()) {
        auto code = translate::normalize_language_tag(source->as_string());
        if (code.empty() || code == "und") {
          return fail(Errc::validation_failed, "\"source\" must be a language code such as \"en\"");
        }
        item.source = std::move(code);
      }
    }
  } else {
    return fail(Errc::validation_failed,
                "the line must be a JSON object with \"text\", or a JSON string");
  }
  if (text->empty()) return fail(Errc::validation_failed, "there is no text to translate");
  if (text->size() > translate::kMaxTranslationBytes) {
    return fail(Errc::validation_failed, "the text is too long to translate (at most " +
                                             std::to_string(translate::kMaxTranslationBytes) +
                                             " bytes)");
  }
  item.text = std::string(*text);
  return item;
}

int run_batch_translate(std::span<const std::string> args, const core::Config& config,
                        const BatchTranslateIo& io, core::Logger& log) {
  Args parsed;
  if (auto problem = parse_args(args, parsed)) return usage_error(io.err, *problem);
  if (parsed.help) {
    io.out << kBatchTranslateUsage << "\n";
    return kExitOk;
  }
  const std::string& target = parsed.target;
  const std::size_t threads = parsed.threads.value_or(config.translation_threads);

  // Input, read whole: a bad file is refused before any job is queued.
  std::vector<RawLine> lines;
  {
    std::ifstream file;
    std::istream* in = &io.in;
    if (parsed.input != "-") {
      std::error_code ec;
      if (std::filesystem::is_directory(parsed.input, ec)) {
        return setup_error(io.err, "cannot read " + parsed.input + ": it is a directory");
      }
      file.open(parsed.input, std::ios::binary);
      if (!file) {
        return setup_error(io.err, "cannot read " + parsed.input + ": " + std::strerror(errno));
      }
      in = &file;
    }
    auto read = read_lines(*in);
    if (!read) {
      return setup_error(
          io.err, (parsed.input == "-" ? std::string("standard input") : parsed.input) + ": " +
                      read.error().message);
    }
    lines = std::move(*read);
  }

  AtomicFile output;
  if (parsed.output != "-") {
    if (auto opened = output.open(parsed.output); !opened) {
      return setup_error(io.err, opened.error().message);
    }
  }

  // The database, migrated like `parley migrate` does.
  store::DatabaseOptions db_options;
  db_options.pool_size = std::max<std::size_t>(config.db_pool_size, threads + 2);
  auto database = store::open_database(config.database_url, db_options);
  if (!database) {
    return setup_error(io.err, "the database is unavailable: " + database.error().message);
  }
  if (auto migrated = store::migrate(**database); !migrated) {
    return setup_error(io.err, "migrating the database failed: " + migrated.error().message);
  }

  std::unique_ptr<outbound::CurlHttpClient> http;
  std::unique_ptr<translate::TranslationEngines> engines;
  std::unique_ptr<translate::TranslationQueue> queue;
  core::SystemClock clock;
  try {
    http = std::make_unique<outbound::CurlHttpClient>();
    engines = make_translation_engines(config, *http);
    queue = std::make_unique<translate::TranslationQueue>(**database, clock,
                                                          translation_queue_options(config));
  } catch (const std::exception& e) {
    return setup_error(io.err, std::string("cannot start the translation engines: ") + e.what());
  }

  std::vector<Item> items;
  items.reserve(lines.size());
  for (auto& raw : lines) {
    items.emplace_back();
    items.back().raw = std::move(raw);
  }
  lines.clear();
  std::unordered_map<std::int64_t, std::size_t> by_job;  // job id -> index in items
  std::vector<std::size_t> pending;                      // indexes with a job still running

  FinishedHints hints;
  translate::QueueWorkerOptions worker_options;
  worker_options.name = "batch-translate";
  worker_options.threads = threads;
  worker_options.logger = &log;
  // Only ad hoc jobs: a chat message's job is delivered to its room by a server. This process
  // writes the results of its own jobs to OUT and marks them delivered itself; another batch's
  // job it happens to run (the queue is shared) stays undelivered for its owner to read.
  worker_options.scope = translate::JobScope::ad_hoc;
  worker_options.mark_delivered = false;
  auto on_done = [&hints](const translate::Job& job, const translate::Translation&) {
    hints.add(job.id);
  };
  auto on_dead = [&hints](const translate::Job& job, const Error&) { hints.add(job.id); };
  const translate::TranslationEngines& engine_set = *engines;
  std::unique_ptr<translate::QueueWorker> worker;
  try {
    worker = std::make_unique<translate::QueueWorker>(
        *queue, [&engine_set](const translate::Job& job) { return translate_job(engine_set, job); },
        on_done, worker_options, on_dead);
  } catch (const std::exception& e) {
    return setup_error(io.err, std::string("cannot start the translation workers: ") + e.what());
  }

  Progress progress(io.err, io.err_is_terminal);
  std::size_t next = 0;    // next item to submit
  std::size_t cursor = 0;  // the item the next poll starts with (round robin)
  std::optional<Clock::time_point> failing_since;  // look-ups failing since
  Clock::time_point last_poll{};
  std::string fatal;

  // Prepares and submits one line: parsed, source known, pair served, then queued.
  auto submit = [&](std::size_t index) -> bool {
    Item& item = items[index];
    auto parsed_line = item.raw.too_long
                           ? Result<BatchItem>(fail(Errc::validation_failed,
                                                    "the line is longer than " +
                                                        std::to_string(kMaxLineBytes) + " bytes"))
                           : parse_batch_line(item.raw.bytes);
    const std::string raw_bytes = std::exchange(item.raw.bytes, {});
    if (!parsed_line) {
      item.id = id_of(raw_bytes);
      fail_item(item, to_code(parsed_line.error().code), parsed_line.error().message, false);
      return true;
    }
    item.id = std::move(parsed_line->id);
    item.text = std::move(parsed_line->text);
    if (parsed_line->source) {
      item.source = *parsed_line->source;
    } else if (parsed.source) {
      item.source = *parsed.source;
    } else {
      item.source = engine_set.detector().detect(item.text).language;
      if (item.source == "und") {
        item.source.clear();
        fail_item(item, to_code(Errc::validation_failed), kUndetected, true, target);
        return true;
      }
    }
    if (item.source == target) {
      item.outcome = Outcome::skipped;
      item.output = line_head(item);
      item.output["text"] = item.text;
      item.output["source"] = item.source;
      item.output["target"] = target;
      item.output["skipped"] = kSkipped;
      return true;
    }
    if (auto served = engine_set.translator_for(item.source, target); !served) {
      fail_item(item, to_code(served.error().code), served.error().message, true, target);
      return true;
    }
    translate::NewJob job;
    job.text = item.text;
    job.source = item.source;
    job.target = target;
    auto queued = queue->enqueue(job);
    if (!queued) {
      if (queued.error().code == Errc::validation_failed) {
        fail_item(item, to_code(queued.error().code), queued.error().message, true, target);
        return true;
      }
      fatal =
          "queuing line " + std::to_string(item.raw.number) + " failed: " + queued.error().message;
      return false;
    }
    item.job = *queued;
    by_job.emplace(item.job, index);
    pending.push_back(index);  // increasing: `pending` stays sorted
    return true;
  };

  // Reads one job back; false when the database failed.
  auto look_up = [&](std::size_t index) -> bool {
    Item& item = items[index];
    auto record = queue->find(item.job);
    if (!record) {
      if (!failing_since) failing_since = Clock::now();
      return false;
    }
    failing_since.reset();
    if (!*record) {
      // Deleted under us (a retention purge of dead jobs, or an operator).
      fail_item(item, to_code(Errc::not_found),
                "the job disappeared from the queue before its result was read", true, target);
      return true;
    }
    if (apply_record(item, **record, target) && item.outcome == Outcome::translated) {
      if (auto marked = queue->mark_delivered(item.job); !marked) {
        log.warning("batch_translate_mark_delivered_failed",
                    {{"job", item.job}, {"error", marked.error().message}});
      }
    }
    return true;
  };

  auto poll = [&]() -> bool {
    last_poll = Clock::now();
    for (const auto job : hints.take()) {
      if (auto found = by_job.find(job); found != by_job.end()) {
        if (items[found->second].outcome == Outcome::pending) look_up(found->second);
      }
    }
    // Round robin over the jobs still pending, from where the last poll stopped.
    std::size_t position = static_cast<std::size_t>(
        std::lower_bound(pending.begin(), pending.end(), cursor) - pending.begin());
    const std::size_t visits = std::min(kPollBudget, pending.size());
    for (std::size_t n = 0; n < visits; ++n) {
      if (position >= pending.size()) position = 0;
      const std::size_t index = pending[position++];
      if (items[index].outcome == Outcome::pending && !look_up(index)) break;  // database down
    }
    cursor = position < pending.size() ? pending[position] : 0;
    std::erase_if(pending,
                  [&](std::size_t index) { return items[index].outcome != Outcome::pending; });
    if (failing_since && Clock::now() - *failing_since > kDatabaseGiveUp) {
      fatal = "the database has been unavailable for over " +
              std::to_string(kDatabaseGiveUp.count()) + " s";
      return false;
    }
    return true;
  };

  bool ok = true;
  while (ok) {
    // Submit for a slice of time, so that progress shows while a big file is being queued.
    const auto slice_end = Clock::now() + kSubmitSlice;
    const std::size_t before = pending.size();
    while (ok && next < items.size() && Clock::now() < slice_end) {
      ok = submit(next);
      ++next;
    }
    if (!ok) break;
    if (pending.size() != before) worker->wake();
    const bool all_submitted = next >= items.size();
    if (all_submitted && pending.empty()) break;
    if (all_submitted) {
      const auto due = last_poll + io.poll_interval;
      if (Clock::now() < due) std::this_thread::sleep_until(due);
    }
    if (all_submitted || Clock::now() - last_poll >= io.poll_interval) ok = poll();
    progress.update(items);
  }
  worker->stop();

  if (!ok) {
    progress.finish_line();
    io.err << kPrefix << fatal << "\n"
           << kPrefix << "nothing was written; jobs already queued stay in the queue\n";
    return kExitUsage;
  }

  std::string text;
  for (const auto& item : items) {
    text += json::serialize(item.output);
    text += '\n';
  }
  if (parsed.output == "-") {
    io.out << text << std::flush;
    if (!io.out) {
      progress.finish_line();
      return setup_error(io.err, "cannot write the output");
    }
  } else if (auto written = output.commit(text); !written) {
    progress.finish_line();
    return setup_error(io.err, written.error().message);
  }

  if (io.err_is_terminal) progress.update(items, true);
  progress.finish_line();
  const Counts c = count(items);
  io.err << kProgressPrefix << "finished " << items.size()
         << (items.size() == 1 ? " line in " : " lines in ") << format_rate(progress.seconds())
         << " s (" << format_rate(progress.rate(c.finished)) << "/s): " << c.translated
         << " translated, " << c.skipped << " " << kSkipped << ", " << c.failed << " failed, "
         << c.retried << " retried; wrote "
         << (parsed.output == "-" ? std::string("standard output") : parsed.output) << "\n"
         << std::flush;
  return c.failed == 0 ? kExitOk : kExitFailed;
}

}  // namespace parley::app
