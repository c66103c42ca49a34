#include "translate/glossary/glossary_text.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace parley::translate {
namespace {

// An engine that translates word by word from a tiny dictionary, passes unknown words through,
// and can be told to ignore or to follow instructions.
class WordEngine final : public Translator {
 public:
  enum class Instructions { unsupported, followed, ignored };
  explicit WordEngine(Instructions mode = Instructions::unsupported) : mode_(mode) {}
  std::string_view name() const noexcept override { return "words"; }
  bool supports(std::string_view, std::string_view) const override { return true; }
  Result<Translation> translate(std::string_view text, std::string_view source,
                                std::string_view target) override {
    ++plain_calls;
    last_text = std::string(text);
    std::string out(text);
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"release", "liberación"},
                                   {"notes", "notas"},
                                   {"ready", "listas"}}) {
      for (auto at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size())) {
        out.replace(at, from.size(), to);
      }
    }
    return Translation{out, std::string(source), std::string(target), "words", {}};
  }
  Result<Translation> translate_with_terms(std::string_view text, std::string_view source,
                                           std::string_view target,
                                           std::span<const GlossaryEntry> terms) override {
    ++instructed_calls;
    if (mode_ == Instructions::unsupported) {
      return Translator::translate_with_terms(text, source, target, terms);
    }
    if (mode_ == Instructions::ignored) return Translation{"free text", "en", "es", "words", {}};
    return Translation{
        "las " + terms.front().translation + " están listas", "en", "es", "words", {}};
  }
  int plain_calls = 0;
  int instructed_calls = 0;
  std::string last_text;

 private:
  Instructions mode_;
};

std::vector<GlossaryTerm> glossary() {
  return {GlossaryTerm{1, "release notes", std::nullopt, {{"es", "notas de versión"}}},
          GlossaryTerm{2, "Parley", std::string("par lay"), {{"de", "Parley"}, {"es", "Parley"}}},
          GlossaryTerm{3, "notes", std::nullopt, {{"fr", "notes"}}}};
}

TEST(GlossaryText, MatchesWholeWordsIgnoringCaseAndSpacing) {
  EXPECT_TRUE(contains_term("The Release  Notes are out", "release notes"));
  EXPECT_TRUE(contains_term("release notes, finally", "Release notes"));
  EXPECT_FALSE(contains_term("prerelease notes", "release notes"));
  EXPECT_FALSE(contains_term("release notesy", "release notes"));
  EXPECT_TRUE(contains_term("Parley's team", "Parley"));
  EXPECT_FALSE(contains_term("Parleyé", "Parley"));  // a UTF-8 letter continues the word
  EXPECT_EQ(glossary_key("  Release \t Notes "), "release notes");
}

TEST(GlossaryText, WordEdgesFollowUnicodeNotBytes) {
  EXPECT_TRUE(contains_term("我用API开发", "API"));      // no spaces in Chinese
  EXPECT_TRUE(contains_term("l’API est prête", "API"));  // a typographic apostrophe
  EXPECT_TRUE(contains_term("«API»", "API"));            // guillemets
  EXPECT_TRUE(contains_term("API v2", "API"));           // a no-break space
  EXPECT_FALSE(contains_term("APIé", "API"));            // a Latin letter continues it
  EXPECT_FALSE(contains_term("ЖAPI", "API"));            // so does a Cyrillic one
  EXPECT_TRUE(contains_term("el café abre", "café"));
  EXPECT_FALSE(contains_term("el cafés abre", "café"));
  EXPECT_TRUE(contains_term("我们的开发团队", "开发"));
}

TEST(GlossaryText, TokensNeverCollideWithWhatTheUserWrote) {
  const std::vector<GlossaryEntry> entries{{"Parley", "Parley"}};
  const auto protected_text = protect_terms("zq1q is not Parley", entries);
  EXPECT_EQ(protected_text.text, "zq1q is not QX1Q");
  auto restored = restore_terms("zq1q no es QX1Q", protected_text);
  ASSERT_TRUE(restored);
  EXPECT_EQ(*restored, "zq1q no es Parley");
}

TEST(GlossaryText, PicksTheTermsOfTheTargetThatOccurLongestFirst) {
  const auto terms = glossary();
  const auto es = glossary_entries(terms, "Parley release notes", "es-ES");
  ASSERT_EQ(es.size(), 2u);
  EXPECT_EQ(es[0].term, "release notes");
  EXPECT_EQ(es[1].term, "Parley");
  EXPECT_TRUE(glossary_entries(terms, "Parley release notes", "it").empty());
  EXPECT_TRUE(glossary_entries(terms, "nothing here", "es").empty());
}

TEST(GlossaryText, ProtectsEachOccurrenceAndRestoresTheFixedTranslation) {
  const std::vector<GlossaryEntry> entries{{"release notes", "notas de versión"},
                                           {"Parley", "Parley"}};
  const auto protected_text =
      protect_terms("Parley: the release notes. Release Notes of Parley!", entries);
  EXPECT_EQ(protected_text.text, "ZQ1Q: the ZQ2Q. ZQ2Q of ZQ1Q!");
  auto restored = restore_terms("zq1q: las ZQ2Q. ZQ2Q de ZQ1Q!", protected_text);
  ASSERT_TRUE(restored);
  EXPECT_EQ(*restored, "Parley: las notas de versión. notas de versión de Parley!");
  auto lost = restore_terms("ZQ1Q: las notas", protected_text);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().code, Errc::internal);
}

TEST(GlossaryText, AnEngineWithoutInstructionsHasTheTermsSubstituted) {
  WordEngine engine;
  const std::vector<GlossaryEntry> entries{{"release notes", "notas de versión"}};
  auto out = translate_honouring(engine, "the release notes are ready", "en", "es", entries);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->text, "the notas de versión are listas");
  EXPECT_EQ(engine.last_text, "the ZQ1Q are ready");
  auto plain = translate_honouring(engine, "the release notes", "en", "es", {});
  EXPECT_EQ(plain->text, "the liberación notas");
}

TEST(GlossaryText, AnInstructedEngineIsBelievedOnlyWhenItsOutputHasTheTerms) {
  const std::vector<GlossaryEntry> entries{{"release notes", "notas de versión"}};
  WordEngine follows(WordEngine::Instructions::followed);
  auto told = translate_honouring(follows, "the release notes are ready", "en", "es", entries);
  EXPECT_EQ(told->text, "las notas de versión están listas");
  EXPECT_EQ(follows.plain_calls, 0);

  WordEngine ignores(WordEngine::Instructions::ignored);
  auto checked = translate_honouring(ignores, "the release notes are ready", "en", "es", entries);
  EXPECT_EQ(checked->text, "the notas de versión are listas");
  EXPECT_EQ(ignores.instructed_calls, 1);
  EXPECT_EQ(ignores.plain_calls, 1);
}

// An engine that loses tokens: the translation is not lost with them.
class TokenEater final : public Translator {
 public:
  std::string_view name() const noexcept override { return "eater"; }
  bool supports(std::string_view, std::string_view) const override { return true; }
  Result<Translation> translate(std::string_view text, std::string_view,
                                std::string_view) override {
    const bool protected_text = std::string(text).find("ZQ1Q") != std::string::npos;
    return Translation{protected_text ? "lost it" : "plain", "en", "es", "eater", {}};
  }
};

TEST(GlossaryText, ALostTokenFallsBackToAPlainTranslation) {
  TokenEater engine;
  const std::vector<GlossaryEntry> entries{{"release notes", "notas de versión"}};
  auto out = translate_honouring(engine, "the release notes", "en", "es", entries);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->text, "plain");
}

TEST(GlossaryText, PronunciationsReplaceTheirTermsForSpeech) {
  const auto terms = glossary();
  EXPECT_EQ(apply_pronunciations("Welcome to Parley, parley users", terms),
            "Welcome to par lay, par lay users");
  EXPECT_EQ(apply_pronunciations("no terms", terms), "no terms");
}

}  // namespace
}  // namespace parley::translate
