#include "translate/apertium/apertium_translator.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace parley::translate {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// One translator for the suite: pipelines take 0.2-1.3 s each to start.
class ApertiumTranslatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { translator_ = std::make_unique<ApertiumTranslator>(); }
  static void TearDownTestSuite() { translator_.reset(); }
  static ApertiumTranslator& translator() { return *translator_; }

 private:
  static std::unique_ptr<ApertiumTranslator> translator_;
};
std::unique_ptr<ApertiumTranslator> ApertiumTranslatorTest::translator_;

TEST_F(ApertiumTranslatorTest, ListsInstalledPairsWithIsoCodes) {
  const auto pairs = translator().pairs();
  const auto has = [&](const char* from, const char* to) {
    return std::find(pairs.begin(), pairs.end(),
                     std::make_pair(std::string(from), std::string(to))) != pairs.end();
  };
  EXPECT_TRUE(has("en", "es"));
  EXPECT_TRUE(has("es", "en"));
  EXPECT_TRUE(has("en", "ca"));
  EXPECT_TRUE(has("ca", "en"));
  EXPECT_TRUE(has("es", "ca"));
  EXPECT_TRUE(has("ca", "es"));
  EXPECT_TRUE(has("es", "it"));
  EXPECT_TRUE(has("it", "es"));
  EXPECT_TRUE(has("en", "gl"));
  EXPECT_TRUE(has("gl", "en"));
  for (const auto& [from, to] : pairs) {
    EXPECT_EQ(from.size(), 2u) << from;  // eng → en, no "eng"; no "cat_valencia" variants
    EXPECT_EQ(to.size(), 2u) << to;
  }
  EXPECT_TRUE(std::is_sorted(pairs.begin(), pairs.end()));
}

TEST_F(ApertiumTranslatorTest, TranslatesEnglishToSpanish) {
  auto result = translator().translate("The house is big.", "en", "es");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(contains(result->text, "casa")) << result->text;
  EXPECT_EQ(result->source, "en");
  EXPECT_EQ(result->target, "es");
  EXPECT_EQ(result->engine, "apertium");
  EXPECT_TRUE(result->via.empty());

  auto more = translator().translate(
      "I would like a coffee, please. Where is the station?\nThank you very much!", "en-US", "ES");
  ASSERT_TRUE(more) << more.error().message;
  EXPECT_TRUE(contains(more->text, "café")) << more->text;
  EXPECT_TRUE(contains(more->text, "gracias")) << more->text;
  EXPECT_TRUE(contains(more->text, "\n")) << more->text;
  EXPECT_EQ(more->source, "en");
  EXPECT_EQ(more->target, "es");
}

TEST_F(ApertiumTranslatorTest, TranslatesEnglishToCatalan) {
  auto result = translator().translate("The house is big and the dog is black.", "en", "ca");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(contains(result->text, "casa")) << result->text;
  EXPECT_TRUE(contains(result->text, "gos")) << result->text;
  EXPECT_TRUE(result->via.empty());
}

TEST_F(ApertiumTranslatorTest, TranslatesSpanishToEnglish) {
  auto result = translator().translate("La casa es grande y el perro es negro.", "es", "en");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(contains(result->text, "house")) << result->text;
  EXPECT_TRUE(contains(result->text, "dog")) << result->text;
}

TEST_F(ApertiumTranslatorTest, UnknownWordsAreKeptWithoutMarks) {
  auto result = translator().translate("The Smurfette blorfed the zorglub.", "en", "es");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(contains(result->text, "Smurfette")) << result->text;
  EXPECT_TRUE(contains(result->text, "zorglub")) << result->text;
  EXPECT_FALSE(contains(result->text, "*")) << result->text;
  EXPECT_FALSE(contains(result->text, "#")) << result->text;
  EXPECT_FALSE(contains(result->text, "@")) << result->text;
}

TEST_F(ApertiumTranslatorTest, PivotsThroughSpanish) {
  EXPECT_TRUE(translator().supports("en", "it"));
  EXPECT_TRUE(translator().supports("ca", "it"));
  EXPECT_EQ(translator().route("en", "it"), std::vector<std::string>{"es"});
  EXPECT_EQ(translator().route("en", "es"), std::vector<std::string>{});

  auto result = translator().translate("The house is big.", "en", "it");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->via, std::vector<std::string>{"es"});
  EXPECT_TRUE(contains(result->text, "casa")) << result->text;
  EXPECT_EQ(result->source, "en");
  EXPECT_EQ(result->target, "it");

  auto catalan = translator().translate("El gos és negre.", "ca", "it");
  ASSERT_TRUE(catalan) << catalan.error().message;
  EXPECT_EQ(catalan->via, std::vector<std::string>{"es"});
  EXPECT_TRUE(contains(catalan->text, "cane")) << catalan->text;
}

TEST_F(ApertiumTranslatorTest, UnsupportedPairIsAnError) {
  EXPECT_FALSE(translator().supports("en", "ja"));
  EXPECT_FALSE(translator().supports("ja", "en"));
  EXPECT_FALSE(translator().supports("gl", "it"));  // would need two intermediate languages
  EXPECT_FALSE(translator().supports("en", "en"));
  EXPECT_FALSE(translator().route("en", "ja").has_value());
  auto result = translator().translate("The house is big.", "en", "ja");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unsupported);
  EXPECT_FALSE(result.error().message.empty());
  auto start = translator().start("en", "it");  // no direct pair to start
  ASSERT_FALSE(start);
  EXPECT_EQ(start.error().code, Errc::unsupported);
}

TEST_F(ApertiumTranslatorTest, RejectsBadText) {
  for (const std::string text : {"", "   ", "\n\t "}) {
    auto result = translator().translate(text, "en", "es");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, Errc::validation_failed);
  }
  const std::string too_long(kMaxTranslationBytes + 1, 'a');
  auto long_result = translator().translate(too_long, "en", "es");
  ASSERT_FALSE(long_result);
  EXPECT_EQ(long_result.error().code, Errc::validation_failed);

  auto invalid = translator().translate("the house \xff\xfe is big", "en", "es");
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().code, Errc::validation_failed);

  auto same = translator().translate("the house", "en", "en-GB");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code, Errc::validation_failed);

  auto no_language = translator().translate("the house", "", "es");
  ASSERT_FALSE(no_language);
  EXPECT_EQ(no_language.error().code, Errc::validation_failed);

  // The pipeline is still fine afterwards, and text at the limit is accepted.
  std::string at_limit;
  while (at_limit.size() + 18 <= kMaxTranslationBytes) at_limit += "The house is big. ";
  auto big = translator().translate(at_limit, "en", "es");
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_TRUE(contains(big->text, "casa"));
}

TEST_F(ApertiumTranslatorTest, SpecialCharactersSurvive) {
  const std::string text =
      "Price ^5$ for @anna / <b>bold</b> {x} [y] *star* #tag a+b ~tilde a|b back\\slash "
      "\"quoted\" 'single' 😀 café\nsecond line\r\nthird\tline";
  auto result = translator().translate(text, "en", "es");
  ASSERT_TRUE(result) << result.error().message;
  std::printf("special: %s\n", result->text.c_str());
  for (const char* kept : {"^", "$", "@anna", "/", "<b>", "</b>", "{",  "}", "[", "]",
                           "*", "#", "+",     "~", "|",   "\\",   "\"", "'", "😀", "\n"}) {
    EXPECT_TRUE(contains(result->text, kept)) << kept << " lost in: " << result->text;
  }
  auto text_with_nul = translator().translate(std::string("the house\0 is big", 17), "en", "es");
  ASSERT_TRUE(text_with_nul) << text_with_nul.error().message;
  EXPECT_TRUE(contains(text_with_nul->text, "casa"));

  // Apertium's own stream syntax in user text does not desynchronize the pipeline.
  for (const char* syntax :
       {"^house<n><sg>$", "[[t:b:123]]house[[/]]", "\\", "$", "^", "[", "]]", "{{", "@@@", "a\\"}) {
    auto odd = translator().translate(syntax, "en", "es");
    ASSERT_TRUE(odd) << syntax << ": " << odd.error().message;
  }
  auto next = translator().translate("The house is big.", "en", "es");
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_TRUE(contains(next->text, "casa")) << next->text;
}

// Each reserved character alone, first and last, through pipelines with different stages
// (lrx-proc in eng-spa and cat-spa, none in en-gl): none may stall a pipeline.
TEST_F(ApertiumTranslatorTest, ReservedCharactersNeverStallAPipeline) {
  const std::string reserved = "\\^$@/<>{}[]*#+~|";
  for (const auto& [from, to] : std::vector<std::pair<const char*, const char*>>{
           {"en", "es"}, {"ca", "es"}, {"es", "it"}, {"en", "gl"}}) {
    for (const char c : reserved) {
      const std::string one(1, c);
      for (const std::string& text :
           {one, "the house " + one, one + " the house", "the house " + one + "\n", one + one}) {
        auto result = translator().translate(text, from, to);
        ASSERT_TRUE(result) << from << "->" << to << " [" << text
                            << "]: " << result.error().message;
        EXPECT_TRUE(contains(result->text, one))
            << from << "->" << to << " [" << text << "] gave [" << result->text << "]";
      }
    }
  }
}

TEST_F(ApertiumTranslatorTest, ConcurrentTranslationsOnOnePair) {
  ASSERT_TRUE(translator().start("en", "es"));
  std::atomic<int> ok{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string text = t % 2 == 0 ? "The house is big." : "The dog is black.";
        auto result = translator().translate(text, "en", "es");
        const bool right = result && contains(result->text, t % 2 == 0 ? "casa" : "perro") &&
                           !contains(result->text, t % 2 == 0 ? "perro" : "casa");
        ++(right ? ok : wrong);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(ApertiumTranslatorTest, KilledPipelineIsRestarted) {
  ASSERT_TRUE(translator().start("es", "en"));
  const auto group = translator().pipeline_process_group_for_testing("es", "en");
  ASSERT_TRUE(group.has_value());
  ASSERT_EQ(::kill(-*group, SIGKILL), 0);
  std::this_thread::sleep_for(200ms);  // let the kill land
  auto result = translator().translate("La casa es grande.", "es", "en");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(contains(result->text, "house")) << result->text;
  const auto restarted = translator().pipeline_process_group_for_testing("es", "en");
  ASSERT_TRUE(restarted.has_value());
  EXPECT_NE(*restarted, *group);
}

TEST_F(ApertiumTranslatorTest, PipelineKilledMidRequestFailsThenRecovers) {
  ASSERT_TRUE(translator().start("en", "ca"));
  const auto group = translator().pipeline_process_group_for_testing("en", "ca");
  ASSERT_TRUE(group.has_value());
  std::string long_text;
  while (long_text.size() + 40 < kMaxTranslationBytes) {
    long_text += "The house is big and the dog is black. ";
  }
  std::thread killer([&] {
    std::this_thread::sleep_for(3ms);
    ::kill(-*group, SIGKILL);
  });
  auto during = translator().translate(long_text, "en", "ca");
  killer.join();
  std::printf("killed mid-request: %s\n",
              during ? "answered first" : std::string(to_code(during.error().code)).c_str());
  if (!during) {  // the kill may land after the answer on a fast machine
    EXPECT_EQ(during.error().code, Errc::unavailable) << during.error().message;
  }
  std::this_thread::sleep_for(100ms);
  auto after = translator().translate("The house is big.", "en", "ca");
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_TRUE(contains(after->text, "casa")) << after->text;
}

TEST_F(ApertiumTranslatorTest, Latency) {
  ASSERT_TRUE(translator().start("en", "es"));
  const std::vector<std::string> sentences{
      "Hello, how are you today?",           "I will be a little late to the meeting.",
      "Could you send me the report?",       "The weather is wonderful this week.",
      "We should book the concert tickets.", "Where is the nearest train station?",
      "Thank you very much for your help.",  "Let's meet at the cafe at five."};
  std::vector<double> direct_ms;
  std::vector<double> pivot_ms;
  for (int round = 0; round < 8; ++round) {
    for (const auto& sentence : sentences) {
      auto start = Clock::now();
      ASSERT_TRUE(translator().translate(sentence, "en", "es"));
      direct_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      start = Clock::now();
      ASSERT_TRUE(translator().translate(sentence, "en", "it"));
      pivot_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
  }
  const auto report = [](const char* label, std::vector<double> ms) {
    std::sort(ms.begin(), ms.end());
    std::printf("apertium %s: median %.2f ms, p95 %.2f ms, max %.2f ms (%zu sentences)\n", label,
                ms[ms.size() / 2], ms[ms.size() * 95 / 100], ms.back(), ms.size());
  };
  report("en->es direct", direct_ms);
  report("en->it via es", pivot_ms);
}

TEST(ApertiumTranslatorOptions, TimeoutKillsAndRestartsThePipeline) {
  ApertiumOptions options;
  options.request_timeout = 1ms;
  ApertiumTranslator translator(options);
  ASSERT_TRUE(translator.start("en", "es"));  // start has its own, longer deadline
  const auto group = translator.pipeline_process_group_for_testing("en", "es");
  std::string long_text;
  while (long_text.size() + 40 < kMaxTranslationBytes) {
    long_text += "The house is big and the dog is black. ";
  }
  auto result = translator.translate(long_text, "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::timeout) << result.error().message;
  EXPECT_EQ(translator.running_pipelines(), 0u);
  EXPECT_FALSE(translator.pipeline_process_group_for_testing("en", "es").has_value());
  ASSERT_TRUE(translator.start("en", "es"));
  EXPECT_NE(translator.pipeline_process_group_for_testing("en", "es"), group);
}

TEST(ApertiumTranslatorOptions, MaxPipelinesEvictsTheLeastRecentlyUsed) {
  ApertiumOptions options;
  options.max_pipelines = 1;
  ApertiumTranslator translator(options);
  auto first = translator.translate("The house is big.", "en", "es");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(translator.running_pipelines(), 1u);
  auto second = translator.translate("La casa es grande.", "es", "en");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(translator.running_pipelines(), 1u);
  EXPECT_FALSE(translator.pipeline_process_group_for_testing("en", "es").has_value());
  EXPECT_TRUE(translator.pipeline_process_group_for_testing("es", "en").has_value());
}

TEST(ApertiumTranslatorOptions, MissingModesDirectoryMeansNoPairs) {
  ApertiumOptions options;
  options.modes_dir = "/nonexistent/apertium/modes";
  ApertiumTranslator translator(options);
  EXPECT_TRUE(translator.pairs().empty());
  EXPECT_FALSE(translator.supports("en", "es"));
  auto result = translator.translate("The house", "en", "es");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::unsupported);
}

TEST(ApertiumTranslatorOptions, BrokenModeFileFailsCleanly) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("parley-apertium-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "eng-spa.mode") << "lt-proc '/nonexistent/eng-spa.automorf.bin'\n";
  std::ofstream(dir / "eng-cat_valencia.mode") << "cat\n";  // a variant: ignored
  ApertiumOptions options;
  options.modes_dir = dir.string();
  options.start_timeout = 5s;
  {
    ApertiumTranslator translator(options);
    ASSERT_EQ(translator.pairs().size(), 1u);
    const auto started = Clock::now();
    auto result = translator.translate("The house", "en", "es");
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().code == Errc::unavailable || result.error().code == Errc::timeout)
        << result.error().message;
    EXPECT_LT(Clock::now() - started, 6s);
    EXPECT_EQ(translator.running_pipelines(), 0u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley::translate
