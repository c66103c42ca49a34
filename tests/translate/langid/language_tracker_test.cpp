#include "translate/langid/language_tracker.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "translate/langid/language_detector.hpp"

namespace parley::translate {
namespace {

// Labels each line as a tracker would, with CLD2's real detections.
std::vector<std::string> labels(LanguageTracker& tracker, const std::vector<std::string>& lines) {
  const LanguageDetector detector;
  std::vector<std::string> out;
  for (const auto& line : lines) out.push_back(tracker.observe(detector.detect(line)));
  return out;
}

Detection confident(std::string language, int letters = 20, int confidence = 99) {
  Detection d;
  d.language = std::move(language);
  d.reliable = true;
  d.letters = letters;
  d.confidence = confidence;
  return d;
}

TEST(LanguageTracker, StartsInTheInitialLanguageWhenDeclaredElseTheFirstDeclared) {
  EXPECT_EQ(LanguageTracker({"en", "es"}, "es").current(), "es");
  EXPECT_EQ(LanguageTracker({"en", "es"}, "fr").current(), "en");
  EXPECT_EQ(LanguageTracker({}, "fr").current(), "fr");
}

TEST(LanguageTracker, OneConfidentShortLineInAnotherLanguageDoesNotFlip) {
  LanguageTracker tracker({"en", "es"}, "en");
  EXPECT_EQ(tracker.observe(confident("es")), "en");
  EXPECT_EQ(tracker.observe(confident("en")), "en");  // and the streak starts over
  EXPECT_EQ(tracker.observe(confident("es")), "en");
}

TEST(LanguageTracker, TwoConfidentLinesInARowSwitch) {
  LanguageTracker tracker({"en", "es"}, "en");
  EXPECT_EQ(tracker.observe(confident("es")), "en");
  EXPECT_EQ(tracker.observe(confident("es")), "es");
  EXPECT_EQ(tracker.current(), "es");
  EXPECT_EQ(tracker.observe(confident("en")), "es");  // and no flip straight back
}

TEST(LanguageTracker, UnreliableDetectionsNeitherCountNorBreakTheStreak) {
  LanguageTracker tracker({"en", "es"}, "en");
  Detection vague = confident("es");
  vague.reliable = false;
  EXPECT_EQ(tracker.observe(vague), "en");
  EXPECT_EQ(tracker.observe(vague), "en");
  EXPECT_EQ(tracker.observe(confident("es")), "en");
  EXPECT_EQ(tracker.observe(vague), "en");  // "ok" between two Spanish lines
  EXPECT_EQ(tracker.observe(confident("es")), "es");
  Detection hinted = confident("en");
  hinted.from_hint = true;
  EXPECT_EQ(tracker.observe(hinted), "es");
  EXPECT_EQ(tracker.observe(hinted), "es");
}

TEST(LanguageTracker, UndeclaredLanguagesNeverWinAndBreakTheStreak) {
  LanguageTracker tracker({"en", "es"}, "en");
  EXPECT_EQ(tracker.observe(confident("it", 200)), "en");
  EXPECT_EQ(tracker.observe(confident("it", 200)), "en");
  EXPECT_EQ(tracker.observe(confident("es")), "en");
  EXPECT_EQ(tracker.observe(confident("pt")), "en");  // undeclared: the Spanish streak is over
  EXPECT_EQ(tracker.observe(confident("es")), "en");
  EXPECT_EQ(tracker.observe(confident("es")), "es");
}

TEST(LanguageTracker, ALongClearUtteranceCarriesItsOwnPersistence) {
  LanguageTracker tracker({"en", "es"}, "en");
  EXPECT_EQ(tracker.observe(confident("es", kStrongLetters, kStrongConfidence)), "es");
  LanguageTracker unsure({"en", "es"}, "en");
  EXPECT_EQ(unsure.observe(confident("es", kStrongLetters, kStrongConfidence - 1)), "en");
  EXPECT_EQ(unsure.observe(confident("es", kStrongLetters - 1, 100)), "es");
}

TEST(LanguageTracker, WithNothingDeclaredAnyLanguageMaySwitchButStillNeedsPersistence) {
  LanguageTracker tracker({}, "en");
  EXPECT_EQ(tracker.observe(confident("de")), "en");
  EXPECT_EQ(tracker.observe(confident("de")), "de");
}

TEST(LanguageTracker, ACorrectionSwitchesAtOnceWhenTheLanguageIsDeclared) {
  LanguageTracker tracker({"en", "es"}, "en");
  tracker.observe(confident("es"));
  tracker.correct("es");
  EXPECT_EQ(tracker.current(), "es");
  EXPECT_EQ(tracker.observe(confident("en")), "es");  // the streak was reset
  tracker.correct("fr");                              // not one the speaker speaks
  EXPECT_EQ(tracker.current(), "es");
}

TEST(LanguageTracker, ABilingualChatWithRealDetectionsDoesNotFlipFlop) {
  LanguageTracker tracker({"en", "es"}, "en");
  const auto got = labels(tracker, {
                                       "I will be a little late to the meeting.",
                                       "ok",
                                       "Hasta luego amigos",  // one short Spanish line
                                       "Could you send me the report before Friday?",
                                       "Mañana vamos a la playa con mis primos.",
                                       "¿Puedes enviarme el informe antes del viernes?",
                                       "si",
                                       "El tiempo ha sido maravilloso toda la semana.",
                                   });
  EXPECT_EQ(got, (std::vector<std::string>{"en", "en", "en", "en", "en", "es", "es", "es"}));
}

}  // namespace
}  // namespace parley::translate
