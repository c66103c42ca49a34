#pragma once
// Embedded rule-based translation with Apertium (Debian packages). One long-running pipeline
// per installed pair, fed one request at a time in null-flush mode: 1-4 ms per sentence,
// instead of ~0.5 s for a process per sentence. Pairs are found from the mode files at
// construction; pipelines start lazily (or through start()), are bounded in number (the least
// recently used idle one is stopped to make room) and are restarted after they die or time out.
//
// Without a direct pair, text goes through one intermediate language (en → it as en → es → it)
// and Translation::via says so. Output is plain text without Apertium's escapes or unknown-word
// marks; words Apertium does not know are kept as they were written.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "translate/translator.hpp"

namespace parley::translate {

namespace apertium {
class PipelineProcess;
}

struct ApertiumOptions {
  /// Where the installed pairs' `*.mode` files are. Variants (`eng-cat_valencia.mode`) are
  /// ignored; only `xx-yy` / `xxx-yyy` names count.
  std::string modes_dir = "/usr/share/apertium/modes";
  /// Deadline of one round trip through one pipeline. A pipeline that misses it is killed and
  /// restarted on the next request.
  std::chrono::milliseconds request_timeout{5000};
  /// Deadline for a new pipeline to load its dictionaries and answer a first sentence.
  std::chrono::milliseconds start_timeout{20000};
  /// Most pipelines running at once (each costs ~15 processes and ~100 MB for a big pair).
  std::size_t max_pipelines = 8;
  /// Preferred intermediate languages when no direct pair exists, best first; any other
  /// language that bridges the pair comes after these, in alphabetical order.
  std::vector<std::string> pivot_preference{"es", "en", "ca"};
};

class ApertiumTranslator final : public Translator {
 public:
  /// Reads the modes directory (a missing or empty one gives a translator with no pairs:
  /// supports() is false everywhere). Starts no process.
  explicit ApertiumTranslator(ApertiumOptions options = {});
  ~ApertiumTranslator() override;
  ApertiumTranslator(const ApertiumTranslator&) = delete;
  ApertiumTranslator& operator=(const ApertiumTranslator&) = delete;

  std::string_view name() const noexcept override { return "apertium"; }
  /// Direct pairs and routes through one intermediate language. Tags are compared by their
  /// lower-case primary subtag ("es-ES" counts as "es").
  bool supports(std::string_view source, std::string_view target) const override;
  /// Thread-safe; BLOCKING (1-4 ms per pipeline hop once running; the first use of a pair also
  /// starts its pipeline, 0.2-1.3 s). Errors: unsupported (no route), validation_failed (empty
  /// or blank text, longer than kMaxTranslationBytes, invalid UTF-8, source == target),
  /// unavailable (the pipeline could not start or died during the request; the next request
  /// starts a new one), timeout (request_timeout passed; same), busy (max_pipelines are all in
  /// use at this moment).
  Result<Translation> translate(std::string_view text, std::string_view source,
                                std::string_view target) override;

  /// Installed direct pairs as ISO 639-1 codes (source, target), sorted; for GET /api/languages.
  std::vector<std::pair<std::string, std::string>> pairs() const;
  /// The languages one hop in between when no direct pair exists: {} for a direct pair,
  /// {"es"} for en → it; nullopt when there is no route.
  std::optional<std::vector<std::string>> route(std::string_view source,
                                                std::string_view target) const;

  /// Starts the direct pair's pipeline now and waits until it answers (so the first user does
  /// not wait for the dictionaries to load). BLOCKING. Errors: unsupported (no such direct
  /// pair), unavailable, timeout, busy.
  Result<void> start(std::string_view source, std::string_view target);

  /// Pipelines running now.
  std::size_t running_pipelines() const noexcept { return running_.load(); }

  /// For tests: the process group of the direct pair's running pipeline, if one runs.
  std::optional<pid_t> pipeline_process_group_for_testing(std::string_view source,
                                                          std::string_view target) const;

 private:
  struct Slot;
  using PairKey = std::pair<std::string, std::string>;

  Slot* find_slot(const std::string& source, const std::string& target) const;
  // Both take the slot's mutex held by the caller.
  Result<void> ensure_running(Slot& slot);
  void stop(Slot& slot);
  Result<std::string> run(Slot& slot, std::string_view text);

  ApertiumOptions options_;
  std::map<PairKey, std::unique_ptr<Slot>> slots_;  // fixed after construction
  std::atomic<std::size_t> running_{0};
  std::atomic<std::int64_t> use_clock_{0};  // orders uses, for least-recently-used eviction
  std::mutex lifecycle_;                    // serializes decisions to start or evict pipelines
};

}  // namespace parley::translate
