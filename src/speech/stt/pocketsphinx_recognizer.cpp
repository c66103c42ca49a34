#include "speech/stt/pocketsphinx_recognizer.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <ckd_alloc.h>
#include <pocketsphinx.h>
#pragma GCC diagnostic pop

namespace parley::speech::stt {
namespace {

struct DecoderDeleter {
  void operator()(ps_decoder_t* decoder) const noexcept { ps_free(decoder); }
};
using DecoderPtr = std::unique_ptr<ps_decoder_t, DecoderDeleter>;

struct ConfigDeleter {
  void operator()(cmd_ln_t* config) const noexcept { cmd_ln_free_r(config); }
};
using ConfigPtr = std::unique_ptr<cmd_ln_t, ConfigDeleter>;

// pocketsphinx's logger (err_set_logfile, set by ps_init from -logfn) is process-wide state:
// creations are serialized across every recognizer of the process.
std::mutex& creation_mutex() {
  static std::mutex mutex;
  return mutex;
}

bool readable_file(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// pocketsphinx calls exit() (E_FATAL) on some missing or broken model files instead of returning
// NULL, so everything it will open is checked before it sees the configuration.
Result<void> check_model(const std::filesystem::path& dir) {
  const std::filesystem::path hmm = dir / "en-us";
  for (const auto& file :
       {hmm / "mdef", hmm / "means", hmm / "variances", hmm / "transition_matrices",
        hmm / "feat.params", dir / "en-us.lm.bin", dir / "cmudict-en-us.dict"}) {
    if (!readable_file(file)) {
      return fail(Errc::unavailable, "the English speech recognition model is not installed (" +
                                         file.filename().string() +
                                         " missing; install pocketsphinx-en-us)");
    }
  }
  return {};
}

Result<DecoderPtr> create_decoder(const PocketsphinxOptions& options) {
  const std::filesystem::path dir(options.model_dir);
  if (auto checked = check_model(dir); !checked) return checked.error();
  const std::string hmm = (dir / "en-us").string();
  const std::string lm = (dir / "en-us.lm.bin").string();
  const std::string dict = (dir / "cmudict-en-us.dict").string();
  const char* const fast = options.fast ? "no" : "yes";

  std::lock_guard lock(creation_mutex());
  ConfigPtr config(cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-lm", lm.c_str(),
                               "-dict", dict.c_str(), "-logfn", "/dev/null", "-fwdflat", fast,
                               "-bestpath", fast, static_cast<const char*>(nullptr)));
  if (!config) return fail(Errc::internal, "pocketsphinx rejected its configuration");
  // ps_init keeps its own reference to the configuration.
  DecoderPtr decoder(ps_init(config.get()));
  if (!decoder) {
    return fail(Errc::unavailable, "the English speech recognition model could not be loaded");
  }
  return decoder;
}

}  // namespace

class PocketsphinxRecognizer::Pool {
 public:
  explicit Pool(PocketsphinxOptions options) : options_(std::move(options)) {}

  const PocketsphinxOptions& options() const noexcept { return options_; }

  Result<DecoderPtr> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        DecoderPtr decoder = std::move(idle_.back());
        idle_.pop_back();
        return decoder;
      }
      if (total_ >= options_.max_decoders) {
        return Error(Errc::busy,
                     "all " + std::to_string(options_.max_decoders) +
                         " English speech recognizers are in use; try again shortly",
                     std::chrono::seconds(1));
      }
      ++total_;  // reserved now, so concurrent starts cannot overshoot max_decoders
    }
    auto created = create_decoder(options_);
    std::lock_guard lock(mutex_);
    if (!created) {
      --total_;
      return created.error();
    }
    ++created_;
    return std::move(*created);
  }

  void give_back(DecoderPtr decoder) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(decoder));
  }

  // A decoder that failed mid-utterance is freed, not reused: its state is unknown.
  void discard(DecoderPtr decoder) {
    decoder.reset();
    std::lock_guard lock(mutex_);
    --total_;
  }

  std::size_t created() const {
    std::lock_guard lock(mutex_);
    return created_;
  }

 private:
  const PocketsphinxOptions options_;
  mutable std::mutex mutex_;
  std::vector<DecoderPtr> idle_;
  std::size_t total_ = 0;    // idle + lent + being created
  std::size_t created_ = 0;  // ever created
};

namespace {

class PocketsphinxStream final : public RecognitionStream {
 public:
  PocketsphinxStream(std::shared_ptr<PocketsphinxRecognizer::Pool> pool, DecoderPtr decoder)
      : pool_(std::move(pool)),
        decoder_(std::move(decoder)),
        partial_samples_(static_cast<std::size_t>(pool_->options().partial_interval.count()) *
                         kSampleRate / 1000),
        max_samples_(static_cast<std::size_t>(pool_->options().max_utterance.count()) *
                     kSampleRate) {}

  ~PocketsphinxStream() override {
    if (decoder_) {
      // An abandoned utterance is closed so the decoder can start the next one.
      healthy_ = healthy_ && ps_end_utt(decoder_.get()) >= 0;
      release();
    }
  }
  PocketsphinxStream(const PocketsphinxStream&) = delete;
  PocketsphinxStream& operator=(const PocketsphinxStream&) = delete;

  Result<void> begin() {
    if (ps_start_utt(decoder_.get()) < 0) {
      healthy_ = false;
      release();
      return fail(Errc::internal, "pocketsphinx could not start an utterance");
    }
    return {};
  }

  Result<std::optional<std::string>> accept(std::span<const std::int16_t> pcm16k) override {
    if (!decoder_) return fail(Errc::validation_failed, "the utterance is already finished");
    if (pcm16k.empty()) return std::optional<std::string>{};
    if (pcm16k.size() > max_samples_ - samples_) {
      return fail(Errc::payload_too_large,
                  "the utterance is longer than " +
                      std::to_string(pool_->options().max_utterance.count()) + " seconds");
    }
    if (ps_process_raw(decoder_.get(), pcm16k.data(), pcm16k.size(), FALSE, FALSE) < 0) {
      healthy_ = false;
      release();
      return fail(Errc::internal, "pocketsphinx failed to process audio");
    }
    samples_ += pcm16k.size();
    since_partial_ += pcm16k.size();
    if (since_partial_ < partial_samples_) {
      return std::optional<std::string>{};
    }
    since_partial_ = 0;
    const char* hyp = ps_get_hyp(decoder_.get(), nullptr);
    std::string text = hyp != nullptr ? hyp : "";
    if (text.empty() || text == last_partial_) return std::optional<std::string>{};
    last_partial_ = text;
    return std::optional<std::string>{std::move(text)};
  }

  Result<Transcript> finish() override {
    if (!decoder_) return fail(Errc::validation_failed, "the utterance is already finished");
    if (ps_end_utt(decoder_.get()) < 0) {
      healthy_ = false;
      release();
      return fail(Errc::internal, "pocketsphinx failed to end the utterance");
    }
    const char* hyp = ps_get_hyp(decoder_.get(), nullptr);
    Transcript transcript{hyp != nullptr ? hyp : "", "en"};
    // Given back now rather than at destruction: the caller may keep the stream object around.
    release();
    return transcript;
  }

 private:
  void release() {
    if (!decoder_) return;
    if (healthy_) {
      pool_->give_back(std::move(decoder_));
    } else {
      pool_->discard(std::move(decoder_));
    }
    decoder_.reset();
  }

  std::shared_ptr<PocketsphinxRecognizer::Pool> pool_;
  DecoderPtr decoder_;  // null once finished: given back to the pool
  bool healthy_ = true;
  std::size_t partial_samples_;
  std::size_t max_samples_;
  std::size_t samples_ = 0;
  std::size_t since_partial_ = 0;
  std::string last_partial_;
};

}  // namespace

PocketsphinxRecognizer::PocketsphinxRecognizer(PocketsphinxOptions options)
    : pool_(std::make_shared<Pool>(std::move(options))) {}

PocketsphinxRecognizer::~PocketsphinxRecognizer() = default;

bool PocketsphinxRecognizer::supports(std::string_view language) const noexcept {
  try {
    return primary_language(language) == "en";
  } catch (...) {  // allocation failure: not a reason to terminate
    return false;
  }
}

namespace {

// Dictionary words are lower-case ASCII letters and apostrophes.
std::optional<std::string> dictionary_word(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalpha(u) == 0 && c != '\'') return std::nullopt;
    out.push_back(static_cast<char>(std::tolower(u)));
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto begin = text.find_first_not_of(" \t", at);
    if (begin == std::string_view::npos) break;
    const auto end = std::min(text.find_first_of(" \t", begin), text.size());
    out.push_back(text.substr(begin, end - begin));
    at = end;
  }
  return out;
}

// The phones of a known word ("" when the dictionary does not have it).
std::string phones_of(ps_decoder_t* decoder, const std::string& word) {
  char* phones = ps_lookup_word(decoder, word.c_str());
  if (phones == nullptr) return {};
  std::string out(phones);
  ckd_free(phones);
  return out;
}

void add_vocabulary(ps_decoder_t* decoder, std::span<const VocabularyTerm> vocabulary) {
  // Collected first: the search is rebuilt once, after the last word (it costs a moment).
  std::vector<std::pair<std::string, std::string>> additions;
  for (const auto& [term, pronunciation] : vocabulary) {
    const auto words = words_of(term);
    if (words.size() != 1 || !pronunciation) continue;
    const auto word = dictionary_word(words.front());
    if (!word || !phones_of(decoder, *word).empty()) continue;  // not a word, or known already
    std::string phones;
    bool complete = true;
    for (const auto said : words_of(*pronunciation)) {
      const auto part = dictionary_word(said);
      const std::string part_phones = part ? phones_of(decoder, *part) : std::string();
      if (part_phones.empty()) {
        complete = false;
        break;
      }
      phones += (phones.empty() ? "" : " ") + part_phones;
    }
    if (complete && !phones.empty()) additions.emplace_back(*word, std::move(phones));
  }
  for (std::size_t i = 0; i < additions.size(); ++i) {
    (void)ps_add_word(decoder, additions[i].first.c_str(), additions[i].second.c_str(),
                      i + 1 == additions.size() ? TRUE : FALSE);
  }
}

}  // namespace

Result<std::unique_ptr<RecognitionStream>> PocketsphinxRecognizer::start(
    std::string_view language) {
  return start_biased(language, {});
}

Result<std::unique_ptr<RecognitionStream>> PocketsphinxRecognizer::start_biased(
    std::string_view language, std::span<const VocabularyTerm> vocabulary) {
  if (!supports(language)) {
    return fail(Errc::unsupported, "pocketsphinx recognizes English only; language '" +
                                       displayable_language(language) +
                                       "' needs another speech recognition engine");
  }
  auto decoder = pool_->acquire();
  if (!decoder) return decoder.error();
  if (!vocabulary.empty()) add_vocabulary(decoder->get(), vocabulary);
  auto stream = std::make_unique<PocketsphinxStream>(pool_, std::move(*decoder));
  if (auto begun = stream->begin(); !begun) return begun.error();
  return std::unique_ptr<RecognitionStream>(std::move(stream));
}

std::size_t PocketsphinxRecognizer::decoders_created() const { return pool_->created(); }

Result<void> PocketsphinxRecognizer::prepare(std::size_t streams) {
  // Borrow that many at once (creating the missing ones), then return them all idle.
  std::vector<DecoderPtr> held;
  Result<void> outcome;
  while (held.size() < streams) {
    auto decoder = pool_->acquire();
    if (!decoder) {
      if (decoder.error().code != Errc::busy) outcome = decoder.error();
      break;
    }
    held.push_back(std::move(*decoder));
  }
  for (auto& decoder : held) pool_->give_back(std::move(decoder));
  return outcome;
}

}  // namespace parley::speech::stt
