// The transcript written out: timestamps, the bilingual cue layout, text made safe for each
// format, and the times a query may carry.
#include "transcript/transcript_formats.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>

namespace parley::transcript {
namespace {

constexpr std::int64_t kOrigin = 1'795'737'600'000;  // 2026-11-27T00:00:00Z

chat::StoredMessage message(std::int64_t id, std::string sender, std::string text,
                            std::optional<std::string> language) {
  chat::StoredMessage m;
  m.id = id;
  m.room_id = 7;
  m.seq = id;
  if (!sender.empty()) m.sender = chat::Sender{id * 10, std::move(sender), std::nullopt};
  m.text = std::move(text);
  m.language = std::move(language);
  return m;
}

translate::MessageTranslation translation(std::int64_t id, std::string language, std::string text) {
  translate::MessageTranslation t;
  t.message_id = id;
  t.translation.text = std::move(text);
  t.translation.source = "en";
  t.translation.target = std::move(language);
  t.translation.engine = "apertium";
  return t;
}

// Three entries in Spanish: an English message with its translation, a Spanish one, and a spoken
// one from a deleted account that was not translated.
Transcript sample() {
  Transcript t;
  t.room.id = 7;
  t.room.name = "Café --> Lobby";
  t.language = "es";
  t.origin_ms = kOrigin;
  TranscriptEntry hello;
  hello.message = message(1, "Ana", "Hello everyone", "en");
  hello.start_ms = kOrigin + 1'000;
  hello.end_ms = kOrigin + 3'500;
  hello.translation = translation(1, "es", "Hola a todos");
  TranscriptEntry reply;
  reply.message = message(2, "Bea", "Hola Ana", "es");
  reply.start_ms = kOrigin + 4'000;
  reply.end_ms = kOrigin + 5'500;
  reply.in_reader_language = true;
  TranscriptEntry spoken;
  spoken.message = message(3, "", "the weather is nice today", "en-US");
  spoken.message.kind = chat::MessageKind::speech;
  spoken.start_ms = kOrigin + 3'723'004;
  spoken.end_ms = kOrigin + 3'725'000;
  t.entries = {hello, reply, spoken};
  t.languages = {"en", "es"};
  return t;
}

TEST(CueTimestamp, HoursMinutesSecondsAndMilliseconds) {
  EXPECT_EQ(cue_timestamp(0, '.'), "00:00:00.000");
  EXPECT_EQ(cue_timestamp(3'723'004, '.'), "01:02:03.004");
  EXPECT_EQ(cue_timestamp(3'723'004, ','), "01:02:03,004");
  EXPECT_EQ(cue_timestamp(100LL * 3'600'000, '.'), "100:00:00.000");
  EXPECT_EQ(cue_timestamp(-5, '.'), "00:00:00.000");
}

TEST(TranscriptVtt, BilingualCuesWithSpeakersReaderLanguageFirst) {
  EXPECT_EQ(render(sample(), TranscriptFormat::vtt, ""),
            "WEBVTT\n"
            "\n"
            "NOTE\n"
            "Parley transcript of \"Café --&gt; Lobby\" (room 7)\n"
            "From the beginning to now; times count from 2026-11-27T00:00:00.000Z\n"
            "Read in es, with the original under each translation\n"
            "\n"
            "msg-1\n"
            "00:00:01.000 --> 00:00:03.500\n"
            "<v Ana><lang es>Hola a todos</lang>\n"
            "<i><lang en>Hello everyone</lang></i>\n"
            "\n"
            "msg-2\n"
            "00:00:04.000 --> 00:00:05.500\n"
            "<v Bea><lang es>Hola Ana</lang>\n"
            "\n"
            "msg-3\n"
            "01:02:03.004 --> 01:02:05.000\n"
            "<v (deleted user)><lang en-US>the weather is nice today</lang>\n");
}

TEST(TranscriptVtt, MarkupIsEscapedAndBlankLinesCannotEndACue) {
  auto t = sample();
  t.entries.resize(1);
  t.entries[0].translation.reset();
  t.entries[0].message.text = "a <b>&</b> --> b\n\n  \nsecond line\r\n";
  t.entries[0].message.sender->username = "x<y>";
  const auto vtt = render(t, TranscriptFormat::vtt, "");
  EXPECT_NE(vtt.find("<v x&lt;y&gt;><lang en>a &lt;b&gt;&amp;&lt;/b&gt; --&gt; b</lang>\n"
                     "<lang en>second line</lang>\n"),
            std::string::npos)
      << vtt;
  // The only arrow left is the timing line's.
  EXPECT_EQ(vtt.find("-->"), vtt.find("00:00:01.000 --> ") + 13);
  EXPECT_EQ(vtt.find("-->", vtt.find("-->") + 3), std::string::npos);
  EXPECT_EQ(vtt.find("\n\n", vtt.find("msg-1")), std::string::npos);
}

TEST(TranscriptVtt, NoUserTextCanMakeAnArrowOrABlankLine) {
  auto t = sample();
  t.entries.resize(1);
  t.entries[0].message.sender->username = "bob--";
  t.entries[0].message.language = "en--";  // stored by an old path: no span for it
  t.entries[0].translation->translation.text = "Hola\r\rAna\x01\xc2\x85!";
  const auto vtt = render(t, TranscriptFormat::vtt, "");
  EXPECT_NE(vtt.find("<v bob-- ><lang es>Hola</lang>\n<lang es>Ana  !</lang>\n"
                     "<i>Hello everyone</i>\n"),
            std::string::npos)
      << vtt;
  EXPECT_EQ(vtt.find("-->", vtt.find("-->") + 3), std::string::npos) << vtt;
}

TEST(TranscriptSrt, NoRunOfDashesRebuildsATimingArrow) {
  auto t = sample();
  t.entries.resize(1);
  t.entries[0].translation.reset();
  t.entries[0].message.text = "hi\n7\n00:00:00,000 ---> 99:59:59,999\nana: I resign ----> x";
  const auto srt = render(t, TranscriptFormat::srt, "");
  EXPECT_EQ(srt.find("-->"), srt.find("00:00:01,000 --> ") + 13) << srt;
  EXPECT_EQ(srt.find("-->", srt.find("-->") + 3), std::string::npos) << srt;
  EXPECT_NE(srt.find("00:00:00,000 ---\u203a 99:59:59,999"), std::string::npos) << srt;
}

TEST(TranscriptSrt, NumberedCuesCommaTimesSpeakerAndItalicOriginal) {
  auto t = sample();
  t.entries[1].message.text = "one --> two\n\nthree";
  EXPECT_EQ(render(t, TranscriptFormat::srt, ""),
            "1\n"
            "00:00:01,000 --> 00:00:03,500\n"
            "Ana: Hola a todos\n"
            "<i>Hello everyone</i>\n"
            "\n"
            "2\n"
            "00:00:04,000 --> 00:00:05,500\n"
            "Bea: one --\u203a two\n"
            "three\n"
            "\n"
            "3\n"
            "01:02:03,004 --> 01:02:05,000\n"
            "(deleted user): the weather is nice today\n");
}

TEST(TranscriptText, OriginalThenTranslationWithLanguagesAndTimes) {
  const auto text = render(sample(), TranscriptFormat::text, "");
  EXPECT_EQ(text,
            "Parley transcript of \"Café --> Lobby\" (room 7)\n"
            "From the beginning to now; times count from 2026-11-27T00:00:00.000Z\n"
            "Read in es, with the original under each translation\n"
            "\n"
            "[00:00:01] Ana (en): Hello everyone\n"
            "    [es] Hola a todos\n"
            "\n"
            "[00:00:04] Bea (es): Hola Ana\n"
            "\n"
            "[01:02:03] (deleted user) (en-US) [spoken]: the weather is nice today\n");
}

TEST(TranscriptJson, EntriesCarryTimesTranslationAndTheRangeLanguages) {
  auto t = sample();
  t.from_ms = kOrigin;
  const auto json = boost::json::parse(render(t, TranscriptFormat::json, "https://parley.test"));
  const auto& out = json.as_object();
  EXPECT_EQ(out.at("language").as_string(), "es");
  EXPECT_EQ(out.at("from").as_string(), "2026-11-27T00:00:00.000Z");
  EXPECT_TRUE(out.at("to").is_null());
  EXPECT_EQ(out.at("languages").as_array().size(), 2u);
  const auto& entries = out.at("entries").as_array();
  ASSERT_EQ(entries.size(), 3u);
  const auto& first = entries[0].as_object();
  EXPECT_EQ(first.at("message").as_object().at("text").as_string(), "Hello everyone");
  EXPECT_EQ(first.at("start_ms").as_int64(), 1000);
  EXPECT_EQ(first.at("end_ms").as_int64(), 3500);
  EXPECT_EQ(first.at("start").as_string(), "2026-11-27T00:00:01.000Z");
  EXPECT_EQ(first.at("translation").as_object().at("text").as_string(), "Hola a todos");
  EXPECT_EQ(first.at("translation").as_object().at("engine").as_string(), "apertium");
  EXPECT_TRUE(entries[1].as_object().at("translation").is_null());
  EXPECT_TRUE(entries[1].as_object().at("in_reader_language").as_bool());
  EXPECT_TRUE(entries[2].as_object().at("message").as_object().at("sender").is_null());
}

TEST(TranscriptFormat, NamesContentTypesAndExtensions) {
  EXPECT_EQ(*parse_transcript_format("vtt"), TranscriptFormat::vtt);
  EXPECT_EQ(*parse_transcript_format("srt"), TranscriptFormat::srt);
  EXPECT_EQ(*parse_transcript_format("txt"), TranscriptFormat::text);
  EXPECT_EQ(*parse_transcript_format("json"), TranscriptFormat::json);
  for (const auto* bad : {"", "VTT", "html", "vtt "}) {
    auto parsed = parse_transcript_format(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, Errc::validation_failed);
  }
  EXPECT_EQ(content_type(TranscriptFormat::vtt), "text/vtt; charset=utf-8");
  EXPECT_EQ(content_type(TranscriptFormat::srt), "application/x-subrip; charset=utf-8");
  EXPECT_EQ(file_extension(TranscriptFormat::text), "txt");
}

TEST(TranscriptTime, UnixMillisecondsAndIso8601WithAZone) {
  EXPECT_EQ(*parse_time("1795737600000"), kOrigin);
  EXPECT_EQ(*parse_time("0"), 0);
  EXPECT_EQ(*parse_time("2026-11-27T00:00:00Z"), kOrigin);
  EXPECT_EQ(*parse_time("2026-11-27T00:00:00.25Z"), kOrigin + 250);
  EXPECT_EQ(*parse_time("2026-11-27T00:00:00.123456789Z"), kOrigin + 123);
  EXPECT_EQ(*parse_time("2026-11-27T01:30:00+01:30"), kOrigin);
  EXPECT_EQ(*parse_time("2026-11-26T22:00:00-02:00"), kOrigin);
  EXPECT_EQ(*parse_time("2024-02-29T00:00:00Z"), 1'709'164'800'000);
  // An unencoded '+' arrives as a space from a query string.
  EXPECT_EQ(*parse_time("2026-11-27T01:30:00 01:30"), kOrigin);
}

TEST(TranscriptTime, EverythingElseIsRefused) {
  for (const auto* bad :
       {"", "-5", "1e9", "2026-11-27", "2026-11-27T00:00:00", "2026-11-27 00:00:00Z",
        "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-27T24:00:00Z",
        "2026-11-27T00:00:60Z", "2026-11-27T00:00:00.Z", "2026-11-27T00:00:00+1:00",
        "2026-11-27T00:00:00+24:00", "2026-11-27T00:00:00Zjunk", "99999999999999999999",
        "２０２６-11-27T00:00:00Z", "1969-12-31T23:59:59.750Z", "0000-01-01T00:00:00Z"}) {
    auto parsed = parse_time(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, Errc::validation_failed);
    }
  }
}

}  // namespace
}  // namespace parley::transcript
