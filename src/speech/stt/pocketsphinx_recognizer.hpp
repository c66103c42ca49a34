#pragma once
// Embedded, offline US-English recognition with CMU pocketsphinx (5prealpha, Debian 12).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "speech/stt/recognizer.hpp"

namespace parley::speech::stt {

struct PocketsphinxOptions {
  /// Holds en-us/ (acoustic model), en-us.lm.bin and cmudict-en-us.dict (pocketsphinx-en-us).
  std::string model_dir = "/usr/share/pocketsphinx/model/en-us";
  /// Decoders are ~94 MB each and nothing is shared between them: this bounds both memory and
  /// the number of utterances recognized at once.
  std::size_t max_decoders = 4;
  /// `-fwdflat no -bestpath no`: end of utterance costs 15-35 ms instead of 130-500 ms, for a
  /// slightly higher word error rate.
  bool fast = true;
  /// A partial hypothesis is computed at most once per this much AUDIO fed (0: at every
  /// accept()); each costs a partial search.
  std::chrono::milliseconds partial_interval{150};
  /// Longest utterance one stream accepts (decoder memory grows with it); beyond it accept()
  /// fails with payload_too_large.
  std::chrono::seconds max_utterance{120};
};

/// Recognizes English (any "en-*" tag) only. Decoders are created lazily, up to max_decoders,
/// and reused: a stream borrows one and gives it back when destroyed.
///
/// Process-wide state: pocketsphinx's logger is global (`-logfn /dev/null` redirects it for the
/// whole process), so decoder creation is serialized inside the process by a lock shared by all
/// recognizers. Decoding itself uses per-decoder state only and runs in parallel.
///
/// Thread-safety: start() and the other members may be called concurrently from any thread;
/// each stream is used by one thread at a time. Streams may outlive the recognizer.
class PocketsphinxRecognizer final : public SpeechRecognizer {
 public:
  /// Cheap: checks nothing and loads nothing until the first start().
  explicit PocketsphinxRecognizer(PocketsphinxOptions options = {});
  ~PocketsphinxRecognizer() override;
  PocketsphinxRecognizer(const PocketsphinxRecognizer&) = delete;
  PocketsphinxRecognizer& operator=(const PocketsphinxRecognizer&) = delete;

  std::string_view name() const noexcept override { return "pocketsphinx"; }
  /// Primary subtag "en" only.
  bool supports(std::string_view language) const noexcept override;
  bool gives_partials() const noexcept override { return true; }
  /// Borrows an idle decoder or creates one (0.3-1 s, BLOCKING) while fewer than max_decoders
  /// exist. Errors: unsupported (not English), busy (max_decoders streams are open; retry_after
  /// set), unavailable (model files missing or unreadable), internal.
  Result<std::unique_ptr<RecognitionStream>> start(std::string_view language) override;
  /// Like start(), after adding to the decoder's dictionary each single-word term it does not
  /// know, pronounced as its respelling's words are (those must be known words): "Kubrix" as
  /// "cube ricks". A word added stays in that decoder (every later stream on it knows it too).
  /// Terms of known words need nothing; others are left out (no guessed pronunciations).
  Result<std::unique_ptr<RecognitionStream>> start_biased(
      std::string_view language, std::span<const VocabularyTerm> vocabulary) override;
  /// Creates decoders (about 0.3 s and 94 MB each) until `streams` exist or the pool is full.
  Result<void> prepare(std::size_t streams) override;

  /// Decoders created so far (idle or lent), for metrics and tests. Thread-safe.
  std::size_t decoders_created() const;

  class Pool;

 private:
  std::shared_ptr<Pool> pool_;
};

}  // namespace parley::speech::stt
