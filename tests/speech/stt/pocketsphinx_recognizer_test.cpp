// pocketsphinx on real recordings (pocketsphinx-testdata) and flite-spoken sentences.

#include "speech/stt/pocketsphinx_recognizer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "speech/support/speech_test_support.hpp"

namespace parley::speech::stt {
namespace {

using namespace std::chrono_literals;
using testing::flite_speech;
using testing::read_raw;
using testing::TempDir;
using testing::word_error_rate;

const std::filesystem::path kTestData = "/usr/share/pocketsphinx/test/data";
constexpr std::size_t kChunk = kSampleRate / 10;  // 100 ms, what a browser sends

struct Recognized {
  std::vector<std::string> partials;
  std::string final_text;
};

// Feeds `pcm` in 100 ms chunks like a live stream, collecting partials, then finishes.
Recognized recognize(RecognitionStream& stream, std::span<const std::int16_t> pcm) {
  Recognized out;
  for (std::size_t at = 0; at < pcm.size(); at += kChunk) {
    auto partial = stream.accept(pcm.subspan(at, std::min(kChunk, pcm.size() - at)));
    EXPECT_TRUE(partial) << partial.error().message;
    if (partial && *partial) out.partials.push_back(**partial);
  }
  auto final_result = stream.finish();
  EXPECT_TRUE(final_result) << final_result.error().message;
  if (final_result) {
    out.final_text = final_result->text;
    EXPECT_EQ(final_result->language, "en");
  }
  return out;
}

class PocketsphinxTest : public ::testing::Test {
 protected:
  // Decoders take ~0.5 s and ~94 MB each: one recognizer for the suite, reused by every test.
  static void SetUpTestSuite() {
    recognizer_ = new PocketsphinxRecognizer(PocketsphinxOptions{.max_decoders = 2});
  }
  static void TearDownTestSuite() {
    delete recognizer_;
    recognizer_ = nullptr;
  }

  std::unique_ptr<RecognitionStream> start(std::string_view language = "en-US") {
    auto stream = recognizer_->start(language);
    EXPECT_TRUE(stream) << stream.error().message;
    return stream ? std::move(*stream) : nullptr;
  }

  static PocketsphinxRecognizer* recognizer_;
};
PocketsphinxRecognizer* PocketsphinxTest::recognizer_ = nullptr;

TEST_F(PocketsphinxTest, RecognizesGoForwardWithPartialsBeforeTheFinal) {
  const auto pcm = read_raw(kTestData / "goforward.raw");
  ASSERT_GT(pcm.size(), 2U * kSampleRate);
  auto stream = start();
  ASSERT_TRUE(stream);
  const auto result = recognize(*stream, pcm);
  EXPECT_LE(word_error_rate("go forward ten meters", result.final_text), 0.25)
      << "final: " << result.final_text;
  ASSERT_FALSE(result.partials.empty()) << "no partial while feeding 100 ms chunks";
  // Each partial is new: only changes are reported.
  for (std::size_t i = 1; i < result.partials.size(); ++i) {
    EXPECT_NE(result.partials[i], result.partials[i - 1]);
  }
  EXPECT_NE(result.partials.front().find("go"), std::string::npos) << result.partials.front();
}

TEST_F(PocketsphinxTest, PartialsAreThrottledByAudioFed) {
  // 10 ms chunks: a partial search at most every 150 ms of audio, whatever the chunk size.
  const auto pcm = read_raw(kTestData / "goforward.raw");
  auto stream = start();
  ASSERT_TRUE(stream);
  std::size_t partials = 0;
  for (std::size_t at = 0; at < pcm.size(); at += 160) {
    auto partial =
        stream->accept(std::span(pcm).subspan(at, std::min<std::size_t>(160, pcm.size() - at)));
    ASSERT_TRUE(partial);
    partials += *partial ? 1 : 0;
  }
  EXPECT_GE(partials, 1U);
  EXPECT_LE(partials, pcm.size() / (kSampleRate * 150 / 1000));
  auto final_result = stream->finish();
  ASSERT_TRUE(final_result);
  EXPECT_LE(word_error_rate("go forward ten meters", final_result->text), 0.25);
}

TEST_F(PocketsphinxTest, FirstPartialComesEarlyInTheAudio) {
  const auto pcm = read_raw(kTestData / "goforward.raw");
  auto stream = start("en");
  ASSERT_TRUE(stream);
  std::size_t fed = 0;
  std::optional<std::size_t> first_partial_at;
  for (std::size_t at = 0; at < pcm.size() && !first_partial_at; at += kChunk) {
    const auto chunk = std::span(pcm).subspan(at, std::min(kChunk, pcm.size() - at));
    auto partial = stream->accept(chunk);
    ASSERT_TRUE(partial);
    fed += chunk.size();
    if (*partial) first_partial_at = fed;
  }
  ASSERT_TRUE(first_partial_at);
  // goforward.raw is ~2.8 s long; the first words are heard well before its end.
  EXPECT_LT(*first_partial_at, pcm.size() * 3 / 4);
  ASSERT_TRUE(stream->finish());
}

TEST_F(PocketsphinxTest, RecognizesTheNumbersRecordingAsNumbers) {
  // numbers.raw is a spoken digit string made for pocketsphinx's TIDIGITS model; Debian ships no
  // transcript of it, so what is checked is that the general English model hears a run of
  // number words (measured: "thirty three four or six ninety two").
  const std::set<std::string> number_words{
      "oh",      "zero",    "one",       "two",      "three",    "four",   "five",     "six",
      "seven",   "eight",   "nine",      "ten",      "eleven",   "twelve", "thirteen", "fourteen",
      "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",   "forty",
      "fifty",   "sixty",   "seventy",   "eighty",   "ninety",   "hundred"};
  const auto pcm = read_raw(kTestData / "numbers.raw");
  auto stream = start();
  ASSERT_TRUE(stream);
  const auto result = recognize(*stream, pcm);
  std::istringstream words(result.final_text);
  std::size_t total = 0;
  std::size_t numbers = 0;
  for (std::string word; words >> word; ++total) numbers += number_words.count(word);
  EXPECT_GE(total, 4U) << result.final_text;
  EXPECT_GE(static_cast<double>(numbers), 0.75 * static_cast<double>(total)) << result.final_text;
}

TEST_F(PocketsphinxTest, FliteSentencesStayUnderTheWordErrorBound) {
  // A quarter of the words wrong at most, aggregated over the sentences (measured ~9% here).
  const std::vector<std::string> sentences{
      "the weather is nice today",
      "please send me the report by friday",
      "i would like a cup of coffee",
      "we are meeting at the train station",
      "my phone number is five five five one two three four",
  };
  TempDir dir;
  std::size_t errors = 0;
  std::size_t words = 0;
  std::string details;
  for (const auto& sentence : sentences) {
    const auto pcm = flite_speech(sentence, dir.path());
    auto stream = start("en-GB");
    ASSERT_TRUE(stream);
    const auto result = recognize(*stream, pcm);
    errors += testing::word_errors(sentence, result.final_text);
    words += testing::word_count(sentence);
    details += "\n  '" + sentence + "' -> '" + result.final_text + "'";
  }
  const double wer = static_cast<double>(errors) / static_cast<double>(words);
  EXPECT_LE(wer, 0.25) << "WER " << wer << details;
  std::cout << "[ flite WER ] " << wer << details << "\n";
}

// Issue 11: a room glossary's word the dictionary lacks is added, pronounced as its respelling.
TEST_F(PocketsphinxTest, AGlossaryWordItDoesNotKnowIsAddedWithItsRespelling) {
  TempDir dir;
  const auto pcm = flite_speech("please open kubrix today", dir.path());
  auto plain = start();
  ASSERT_TRUE(plain);
  const auto before = recognize(*plain, pcm).final_text;
  EXPECT_EQ(before.find("kubrix"), std::string::npos) << before;  // not a word it knows

  const std::vector<VocabularyTerm> vocabulary{{"Kubrix", std::string("cube ricks")},
                                               {"release notes", std::nullopt},
                                               {"Zzqx", std::string("zzqx")}};
  auto biased = recognizer_->start_biased("en", vocabulary);
  ASSERT_TRUE(biased) << biased.error().message;
  const auto after = recognize(**biased, pcm).final_text;
  EXPECT_NE(after.find("kubrix"), std::string::npos) << before << " -> " << after;
}

TEST_F(PocketsphinxTest, SilenceGivesAnEmptyFinal) {
  const std::vector<std::int16_t> silence(2 * kSampleRate, 0);
  auto stream = start();
  ASSERT_TRUE(stream);
  const auto result = recognize(*stream, silence);
  EXPECT_EQ(result.final_text, "");
  EXPECT_TRUE(result.partials.empty());
}

TEST_F(PocketsphinxTest, FinishWithoutAudioGivesAnEmptyFinal) {
  auto stream = start();
  ASSERT_TRUE(stream);
  auto final_result = stream->finish();
  ASSERT_TRUE(final_result) << final_result.error().message;
  EXPECT_EQ(final_result->text, "");
}

TEST_F(PocketsphinxTest, UnsupportedLanguagesAreRefusedByName) {
  EXPECT_TRUE(recognizer_->supports("en"));
  EXPECT_TRUE(recognizer_->supports("en-US"));
  EXPECT_TRUE(recognizer_->supports("EN-gb"));
  EXPECT_TRUE(recognizer_->supports("en_AU"));
  EXPECT_FALSE(recognizer_->supports("fr"));
  EXPECT_FALSE(recognizer_->supports("auto"));
  EXPECT_FALSE(recognizer_->supports(""));
  EXPECT_FALSE(recognizer_->supports("e"));
  EXPECT_FALSE(recognizer_->supports("eng"));
  for (const std::string_view language : {"fr-FR", "es", "auto", "", "en\x01"}) {
    auto stream = recognizer_->start(language);
    ASSERT_FALSE(stream) << language;
    EXPECT_EQ(stream.error().code, Errc::unsupported);
    EXPECT_NE(stream.error().message.find("pocketsphinx recognizes English only"),
              std::string::npos);
    EXPECT_NE(stream.error().message.find("'" + displayable_language(language) + "'"),
              std::string::npos);
  }
  {
    auto stream = recognizer_->start("de\n\x7f-AT");
    ASSERT_FALSE(stream);
    EXPECT_NE(stream.error().message.find("'de?\?-AT'"), std::string::npos)
        << stream.error().message;
  }
  EXPECT_EQ(recognizer_->name(), "pocketsphinx");
  EXPECT_TRUE(recognizer_->gives_partials());
}

TEST_F(PocketsphinxTest, AStreamIsUsedOnce) {
  auto stream = start();
  ASSERT_TRUE(stream);
  const std::vector<std::int16_t> silence(kChunk, 0);
  ASSERT_TRUE(stream->accept(silence));
  ASSERT_TRUE(stream->finish());
  auto again = stream->accept(silence);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::validation_failed);
  auto finished_twice = stream->finish();
  ASSERT_FALSE(finished_twice);
  EXPECT_EQ(finished_twice.error().code, Errc::validation_failed);
}

TEST_F(PocketsphinxTest, ConcurrentStartsShareTheBoundedPool) {
  const auto pcm = read_raw(kTestData / "goforward.raw");
  auto worker = [&] {
    auto stream = recognizer_->start("en");
    if (!stream) return std::string("error: ") + stream.error().message;
    return recognize(**stream, pcm).final_text;
  };
  auto a = std::async(std::launch::async, worker);
  auto b = std::async(std::launch::async, worker);
  const std::string text_a = a.get();
  const std::string text_b = b.get();
  EXPECT_LE(word_error_rate("go forward ten meters", text_a), 0.25) << text_a;
  EXPECT_EQ(text_a, text_b);  // same audio, same model: same words
  EXPECT_LE(recognizer_->decoders_created(), 2U);
}

TEST(PocketsphinxPoolTest, DecodersAreReusedAndBounded) {
  PocketsphinxRecognizer recognizer(PocketsphinxOptions{.max_decoders = 1});
  EXPECT_EQ(recognizer.decoders_created(), 0U);  // lazy
  const auto pcm = read_raw(kTestData / "goforward.raw");

  auto first = recognizer.start("en");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(recognizer.decoders_created(), 1U);
  // Half the utterance, then a second speaker: the only decoder is lent.
  ASSERT_TRUE((*first)->accept(std::span(pcm).first(pcm.size() / 2)));
  auto second = recognizer.start("en");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::busy);
  EXPECT_GT(second.error().retry_after.count(), 0);

  // Abandoned mid-utterance: the decoder comes back clean, nothing of the first half leaks
  // into the next utterance.
  first->reset();
  auto third = recognizer.start("en");
  ASSERT_TRUE(third) << third.error().message;
  const auto result = recognize(**third, pcm);
  EXPECT_LE(word_error_rate("go forward ten meters", result.final_text), 0.25) << result.final_text;

  // finish() gives the decoder back even while the stream object lives on.
  auto fourth = recognizer.start("en");
  ASSERT_TRUE(fourth) << fourth.error().message;
  EXPECT_LE(word_error_rate("go forward ten meters", recognize(**fourth, pcm).final_text), 0.25);
  EXPECT_EQ(recognizer.decoders_created(), 1U);
}

TEST(PocketsphinxPoolTest, PrepareCreatesDecodersAheadUpToTheBound) {
  PocketsphinxRecognizer recognizer(PocketsphinxOptions{.max_decoders = 2});
  ASSERT_TRUE(recognizer.prepare(1));
  EXPECT_EQ(recognizer.decoders_created(), 1U);
  ASSERT_TRUE(recognizer.prepare(5));  // bounded by max_decoders, not an error
  EXPECT_EQ(recognizer.decoders_created(), 2U);
  // Prepared decoders serve streams without creating more.
  auto a = recognizer.start("en");
  auto b = recognizer.start("en");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(recognizer.decoders_created(), 2U);
  PocketsphinxRecognizer missing(PocketsphinxOptions{.model_dir = "/nonexistent/model"});
  auto failed = missing.prepare(1);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, Errc::unavailable);
}

TEST(PocketsphinxPoolTest, StreamsOutliveTheRecognizer) {
  std::unique_ptr<RecognitionStream> stream;
  {
    PocketsphinxRecognizer recognizer(PocketsphinxOptions{.max_decoders = 1});
    auto started = recognizer.start("en");
    ASSERT_TRUE(started) << started.error().message;
    stream = std::move(*started);
  }
  const auto pcm = read_raw(kTestData / "goforward.raw");
  EXPECT_LE(word_error_rate("go forward ten meters", recognize(*stream, pcm).final_text), 0.25);
}

TEST(PocketsphinxPoolTest, UtteranceLengthIsBounded) {
  PocketsphinxRecognizer recognizer(PocketsphinxOptions{.max_decoders = 1, .max_utterance = 1s});
  auto stream = recognizer.start("en");
  ASSERT_TRUE(stream) << stream.error().message;
  const std::vector<std::int16_t> second(kSampleRate, 0);
  ASSERT_TRUE((*stream)->accept(std::span(second).first(kSampleRate / 2)));
  auto too_long = (*stream)->accept(second);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, Errc::payload_too_large);
  // The stream stays usable: what was accepted is still recognized.
  auto final_result = (*stream)->finish();
  ASSERT_TRUE(final_result) << final_result.error().message;
  EXPECT_EQ(final_result->text, "");
}

TEST(PocketsphinxPoolTest, MissingModelIsUnavailableNotACrash) {
  TempDir dir;
  PocketsphinxRecognizer missing(PocketsphinxOptions{.model_dir = (dir.path() / "none").string()});
  auto stream = missing.start("en-US");
  ASSERT_FALSE(stream);
  EXPECT_EQ(stream.error().code, Errc::unavailable);
  EXPECT_NE(stream.error().message.find("pocketsphinx-en-us"), std::string::npos);
  EXPECT_EQ(stream.error().message.find(dir.path().string()), std::string::npos);

  // A model folder with one file missing is caught too (pocketsphinx would exit() on it).
  const std::filesystem::path copy = dir.path() / "partial";
  std::filesystem::create_directories(copy / "en-us");
  std::filesystem::copy_file("/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict",
                             copy / "cmudict-en-us.dict");
  PocketsphinxRecognizer partial(PocketsphinxOptions{.model_dir = copy.string()});
  auto again = partial.start("en");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::unavailable);
  // A failed creation does not use up the pool.
  auto third = partial.start("en");
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, Errc::unavailable);
  EXPECT_EQ(partial.decoders_created(), 0U);
}

TEST(PocketsphinxPoolTest, CorruptModelFileIsUnavailable) {
  // Every file present, the language model garbage: pocketsphinx must fail, not exit().
  TempDir dir;
  const std::filesystem::path model = "/usr/share/pocketsphinx/model/en-us";
  std::filesystem::create_directory_symlink(model / "en-us", dir.path() / "en-us");
  std::filesystem::create_symlink(model / "cmudict-en-us.dict", dir.path() / "cmudict-en-us.dict");
  {
    std::ofstream lm(dir.path() / "en-us.lm.bin", std::ios::binary);
    lm << "this is not a language model\n";
  }
  PocketsphinxRecognizer corrupt(PocketsphinxOptions{.model_dir = dir.path().string()});
  auto stream = corrupt.start("en");
  ASSERT_FALSE(stream);
  EXPECT_EQ(stream.error().code, Errc::unavailable);
}

}  // namespace
}  // namespace parley::speech::stt
