#include "translate/langid/language_detector.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace parley::translate {
namespace {

struct Sample {
  const char* language;
  const char* text;
};

// Ordinary chat-length sentences, 4-5 per language.
const std::vector<Sample>& samples() {
  static const std::vector<Sample> kSamples{
      {"en", "I will be a little late to the meeting this afternoon."},
      {"en", "Could you send me the report before Friday, please?"},
      {"en", "The weather has been wonderful all week long."},
      {"en", "We should book the tickets for the concert tonight."},
      {"es", "Mañana vamos a la playa con mis primos y mis tíos."},
      {"es", "¿Puedes enviarme el informe antes del viernes, por favor?"},
      {"es", "El tiempo ha sido maravilloso durante toda la semana."},
      {"es", "Llegaré un poco tarde a la reunión de esta tarde."},
      {"ca", "Demà anirem a la platja amb els meus cosins i els oncles."},
      {"ca", "Pots enviar-me l'informe abans de divendres, si us plau?"},
      {"ca", "El temps ha estat meravellós durant tota la setmana."},
      {"ca", "Arribaré una mica tard a la reunió d'aquesta tarda."},
      {"fr", "Je vais arriver un peu en retard à la réunion cet après-midi."},
      {"fr", "Pourriez-vous m'envoyer le rapport avant vendredi, s'il vous plaît ?"},
      {"fr", "Il a fait un temps magnifique toute la semaine."},
      {"fr", "Nous devrions réserver les billets pour le concert de ce soir."},
      {"de", "Ich werde heute Nachmittag etwas später zum Treffen kommen."},
      {"de", "Könntest du mir bitte den Bericht vor Freitag schicken?"},
      {"de", "Das Wetter war die ganze Woche über wunderbar."},
      {"de", "Wir sollten die Karten für das Konzert heute Abend buchen."},
      {"it", "Arriverò un po' in ritardo alla riunione di questo pomeriggio."},
      {"it", "Potresti mandarmi il rapporto prima di venerdì, per favore?"},
      {"it", "Il tempo è stato meraviglioso per tutta la settimana."},
      {"it", "Dovremmo prenotare i biglietti per il concerto di stasera."},
      {"pt", "Vou chegar um pouco atrasado à reunião desta tarde."},
      {"pt", "Você poderia me enviar o relatório antes de sexta-feira, por favor?"},
      {"pt", "O tempo esteve maravilhoso durante toda a semana."},
      {"pt", "Devíamos reservar os bilhetes para o concerto de hoje à noite."},
      {"gl", "Chegarei un pouco tarde á reunión desta tarde, desculpade."},
      {"gl", "Onte estivemos na praia cos meus curmáns e os meus tíos."},
      {"gl", "O tempo foi marabilloso durante toda a semana en Galicia."},
      {"nl", "Ik kom vanmiddag een beetje te laat op de vergadering."},
      {"nl", "Het weer was de hele week prachtig, vind je niet?"},
      {"ru", "Я немного опоздаю на встречу сегодня днём."},
      {"ja", "今日の午後の会議に少し遅れます。"},
      {"zh", "我今天下午开会会晚到一点。"},
  };
  return kSamples;
}

TEST(LanguageDetector, DetectsRealSentencesInManyLanguages) {
  const LanguageDetector detector;
  int right = 0;
  for (const auto& sample : samples()) {
    const Detection detection = detector.detect(sample.text);
    if (detection.language == sample.language) {
      ++right;
    } else {
      std::printf("miss: want %s got %s (%d%%, reliable %d): %s\n", sample.language,
                  detection.language.c_str(), detection.confidence,
                  static_cast<int>(detection.reliable), sample.text);
    }
    EXPECT_FALSE(detection.from_hint);
  }
  const auto total = static_cast<int>(samples().size());
  std::printf("langid: %d/%d right\n", right, total);
  EXPECT_GE(right * 100, total * 90);
}

TEST(LanguageDetector, ReliableDetectionHasConfidenceAndBeatsTheHint) {
  const LanguageDetector detector;
  const Detection detection =
      detector.detect("Llegaré un poco tarde a la reunión de esta tarde, lo siento mucho.", "en");
  EXPECT_EQ(detection.language, "es");
  EXPECT_TRUE(detection.reliable);
  EXPECT_FALSE(detection.from_hint);
  EXPECT_GT(detection.confidence, 50);
  EXPECT_LE(detection.confidence, 100);
}

TEST(LanguageDetector, ShortTextFallsBackToTheHint) {
  const LanguageDetector detector;
  for (const char* text : {"ok", "si", "lol", "jaja", ":)", "ok!!", "👍"}) {
    const Detection detection = detector.detect(text, "ca");
    EXPECT_EQ(detection.language, "ca") << text;
    EXPECT_TRUE(detection.from_hint) << text;
    EXPECT_FALSE(detection.reliable) << text;
    EXPECT_EQ(detection.confidence, 0) << text;
  }
}

TEST(LanguageDetector, ShortTextWithoutHintIsNotReliable) {
  const LanguageDetector detector;
  const Detection detection = detector.detect("si");
  EXPECT_FALSE(detection.reliable);
  EXPECT_FALSE(detection.from_hint);
  EXPECT_FALSE(detection.language.empty());
}

TEST(LanguageDetector, HintIsNormalised) {
  const LanguageDetector detector;
  EXPECT_EQ(detector.detect("ok", "es-ES").language, "es");
  EXPECT_EQ(detector.detect("ok", "PT_br").language, "pt");
  EXPECT_EQ(detector.detect("ok", "iw").language, "he");
  // A hint that is no language tag is ignored.
  const Detection bad = detector.detect("", "not a language");
  EXPECT_EQ(bad.language, "und");
  EXPECT_FALSE(bad.from_hint);
}

TEST(LanguageDetector, EmptyOrBlankTextIsUnknownOrTheHint) {
  const LanguageDetector detector;
  for (const char* text : {"", " ", "\n\t  \r\n"}) {
    const Detection none = detector.detect(text);
    EXPECT_EQ(none.language, "und");
    EXPECT_FALSE(none.reliable);
    EXPECT_EQ(none.confidence, 0);
    const Detection hinted = detector.detect(text, "gl");
    EXPECT_EQ(hinted.language, "gl");
    EXPECT_TRUE(hinted.from_hint);
  }
}

TEST(LanguageDetector, InvalidUtf8DoesNotCrash) {
  const LanguageDetector detector;
  const std::string bad_bytes[] = {
      std::string("\xff\xfe\xfd the house is big and the garden is green"),
      std::string("La casa es grande \xc3"),    // truncated sequence at the end
      std::string("\xc0\xaf\xe0\x80\xaf"),      // overlong encodings
      std::string("\xed\xa0\x80 surrogate"),    // UTF-16 surrogate in UTF-8
      std::string("nul\0inside the text", 20),  // embedded NUL
  };
  for (const auto& text : bad_bytes) {
    const Detection none = detector.detect(text);
    EXPECT_FALSE(none.language.empty());
    const Detection hinted = detector.detect(text, "es");
    EXPECT_FALSE(hinted.language.empty());
  }
  EXPECT_EQ(detector.detect(bad_bytes[0], "es").language, "es");
}

TEST(LanguageDetector, LongTextIsCutOnACharacterBoundary) {
  const LanguageDetector detector;
  std::string text;
  while (text.size() < 70 * 1024) text += "El niño comió una manzana en el jardín de su abuela. ";
  const Detection detection = detector.detect(text, "en");
  EXPECT_EQ(detection.language, "es");
  EXPECT_TRUE(detection.reliable);
}

TEST(LanguageDetector, NormalizeLanguageTag) {
  EXPECT_EQ(normalize_language_tag("en"), "en");
  EXPECT_EQ(normalize_language_tag("zh-Hant"), "zh");
  EXPECT_EQ(normalize_language_tag("haw"), "haw");
  EXPECT_EQ(normalize_language_tag("jw"), "jv");
  EXPECT_EQ(normalize_language_tag(""), "");
  EXPECT_EQ(normalize_language_tag("e"), "");
  EXPECT_EQ(normalize_language_tag("english"), "");
  EXPECT_EQ(normalize_language_tag("e1"), "");
}

TEST(LanguageDetector, ConcurrentDetectionsAgree) {
  const LanguageDetector detector;
  std::vector<std::thread> threads;
  std::vector<int> right(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (const auto& sample : samples()) {
          if (detector.detect(sample.text).language == sample.language) ++right[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(right[t], right[0]);
}

TEST(LanguageDetector, LatencyPerSentence) {
  const LanguageDetector detector;
  const auto start = std::chrono::steady_clock::now();
  int calls = 0;
  for (int round = 0; round < 20; ++round) {
    for (const auto& sample : samples()) {
      (void)detector.detect(sample.text);
      ++calls;
    }
  }
  const auto elapsed =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  std::printf("langid: %.1f us per sentence (%d calls, this build)\n", elapsed / calls, calls);
}

}  // namespace
}  // namespace parley::translate
