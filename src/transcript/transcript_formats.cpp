#include "transcript/transcript_formats.hpp"

#include <boost/json/serialize.hpp>
#include <cctype>
#include <charconv>
#include <ctime>
#include <vector>

#include "auth/user.hpp"
#include "chat/chatroom.hpp"

namespace parley::transcript {

namespace json = boost::json;

namespace {

constexpr std::string_view kDeletedSpeaker = "(deleted user)";

std::string_view speaker_name(const chat::StoredMessage& message) {
  return message.sender ? std::string_view(message.sender->username) : kDeletedSpeaker;
}

// A text's lines for a cue. A blank line would end the cue, and CR is a line break to caption
// parsers, so both split lines and blank ones are dropped; other control characters (a stored
// translation is an engine's output) become spaces.
std::vector<std::string> cue_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::string line;
  const auto finish_line = [&] {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
    line.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\r') {
      finish_line();
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      line += ' ';
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      line += ' ';  // a C1 control (U+0080..U+009F)
      ++i;
    } else {
      line += static_cast<char>(c);
    }
  }
  finish_line();
  if (lines.empty()) lines.emplace_back("…");
  return lines;
}

// A language tag safe inside a WebVTT <lang> tag: letters, digits and single hyphens between
// them ("en", "pt-BR"); anything else gets no span.
bool plain_language_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 35 || tag.front() == '-' || tag.back() == '-') return false;
  if (tag.find("--") != std::string_view::npos) return false;
  return tag.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") ==
         std::string_view::npos;
}

// WebVTT cue text: '&', '<' and '>' are markup (escaping '>' also takes "-->" apart).
void append_vtt_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
}

// SubRip has no escapes: the arrow that would read as a timing line is taken apart, however
// many dashes lead to it ("--->" must not become "-->").
void append_srt_safe(std::string& out, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '>' && i >= 2 && text[i - 1] == '-' && text[i - 2] == '-') {
      out += "\u203a";  // SINGLE RIGHT-POINTING ANGLE QUOTATION MARK
    } else {
      out += text[i];
    }
  }
}

// What the reader reads first (their language when there is a translation, else the original),
// and the original under it when the first is a translation.
struct CueText {
  std::string_view primary;
  std::optional<std::string> primary_language;
  std::optional<std::string_view> original;
  std::optional<std::string> original_language;
};

CueText cue_text(const TranscriptEntry& entry) {
  CueText text;
  const auto& message = entry.message;
  if (entry.translation) {
    text.primary = entry.translation->translation.text;
    text.primary_language = entry.translation->translation.target;
    text.original = message.text;
    text.original_language = message.language;
  } else {
    text.primary = message.text;
    text.primary_language = message.language;
  }
  return text;
}

void append_vtt_lines(std::string& out, std::string_view text,
                      const std::optional<std::string>& language, bool italic,
                      std::string_view first_prefix) {
  bool first = true;
  for (const auto& line : cue_lines(text)) {
    if (first) out += first_prefix;
    first = false;
    if (italic) out += "<i>";
    const bool span = language && plain_language_tag(*language);
    if (span) out += "<lang " + *language + ">";
    append_vtt_escaped(out, line);
    if (span) out += "</lang>";
    if (italic) out += "</i>";
    out += '\n';
  }
}

std::string header_line(const Transcript& transcript) {
  return "Parley transcript of \"" + transcript.room.name + "\" (room " +
         std::to_string(transcript.room.id) + ")";
}

std::string range_line(const Transcript& transcript) {
  std::string line = "From ";
  line += transcript.from_ms ? auth::iso8601(*transcript.from_ms) : std::string("the beginning");
  line += " to ";
  line += transcript.to_ms ? auth::iso8601(*transcript.to_ms) : std::string("now");
  line += "; times count from " + auth::iso8601(transcript.origin_ms);
  return line;
}

std::string language_line(const Transcript& transcript) {
  if (!transcript.language) return "Originals only";
  return "Read in " + *transcript.language + ", with the original under each translation";
}

std::string render_vtt(const Transcript& transcript) {
  std::string out = "WEBVTT\n\nNOTE\n";
  // A NOTE ends at a blank line and must not hold "-->": the escaping covers both.
  for (const auto& line :
       {header_line(transcript), range_line(transcript), language_line(transcript)}) {
    append_vtt_escaped(out, line);
    out += '\n';
  }
  for (const auto& entry : transcript.entries) {
    out += "\nmsg-" + std::to_string(entry.message.id) + '\n';
    out += cue_timestamp(entry.start_ms - transcript.origin_ms, '.');
    out += " --> ";
    out += cue_timestamp(entry.end_ms - transcript.origin_ms, '.');
    out += '\n';
    const auto text = cue_text(entry);
    std::string voice = "<v ";
    append_vtt_escaped(voice, speaker_name(entry.message));
    // "<v bob-->" would hold "-->", which ends a cue; the annotation's trailing space is
    // stripped by parsers.
    if (voice.back() == '-') voice += ' ';
    voice += '>';
    append_vtt_lines(out, text.primary, text.primary_language, false, voice);
    if (text.original) append_vtt_lines(out, *text.original, text.original_language, true, {});
  }
  return out;
}

std::string render_srt(const Transcript& transcript) {
  std::string out;
  std::size_t index = 0;
  for (const auto& entry : transcript.entries) {
    if (index > 0) out += '\n';
    out += std::to_string(++index) + '\n';
    out += cue_timestamp(entry.start_ms - transcript.origin_ms, ',');
    out += " --> ";
    out += cue_timestamp(entry.end_ms - transcript.origin_ms, ',');
    out += '\n';
    const auto text = cue_text(entry);
    bool first = true;
    for (const auto& line : cue_lines(text.primary)) {
      if (first) {
        append_srt_safe(out, speaker_name(entry.message));
        out += ": ";
      }
      first = false;
      append_srt_safe(out, line);
      out += '\n';
    }
    if (text.original) {
      for (const auto& line : cue_lines(*text.original)) {
        out += "<i>";
        append_srt_safe(out, line);
        out += "</i>\n";
      }
    }
  }
  return out;
}

void append_joined(std::string& out, const std::vector<std::string>& lines,
                   std::string_view separator) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += separator;
    out += lines[i];
  }
}

std::string render_text(const Transcript& transcript) {
  std::string out = header_line(transcript) + '\n' + range_line(transcript) + '\n' +
                    language_line(transcript) + '\n';
  for (const auto& entry : transcript.entries) {
    const auto& message = entry.message;
    // Seconds are enough to read by; the captions carry milliseconds.
    const auto stamp = cue_timestamp(entry.start_ms - transcript.origin_ms, '.');
    out += "\n[" + stamp.substr(0, stamp.size() - 4) + "] ";
    out += speaker_name(message);
    if (message.language) out += " (" + *message.language + ")";
    if (message.kind == chat::MessageKind::speech) out += " [spoken]";
    out += ": ";
    append_joined(out, cue_lines(message.text), "\n    ");
    if (entry.translation) {
      const auto& translation = entry.translation->translation;
      out += "\n    [" + translation.target + "] ";
      append_joined(out, cue_lines(translation.text), "\n    ");
    }
    out += '\n';
  }
  return out;
}

std::string render_json(const Transcript& transcript, const std::string& public_base_url) {
  json::array entries;
  entries.reserve(transcript.entries.size());
  for (const auto& entry : transcript.entries) {
    json::object item{{"message", chat::to_json(entry.message, public_base_url)},
                      {"start", auth::iso8601(entry.start_ms)},
                      {"end", auth::iso8601(entry.end_ms)},
                      {"start_ms", entry.start_ms - transcript.origin_ms},
                      {"end_ms", entry.end_ms - transcript.origin_ms},
                      {"in_reader_language", entry.in_reader_language}};
    if (entry.translation) {
      const auto& t = entry.translation->translation;
      json::array via;
      for (const auto& pivot : t.via) via.emplace_back(pivot);
      item["translation"] = json::object{{"language", t.target},
                                         {"text", t.text},
                                         {"source", t.source},
                                         {"engine", t.engine},
                                         {"via", std::move(via)}};
    } else {
      item["translation"] = nullptr;
    }
    entries.push_back(std::move(item));
  }
  json::array languages;
  for (const auto& language : transcript.languages) languages.emplace_back(language);
  json::object out{
      {"room", json::object{{"id", transcript.room.id}, {"name", transcript.room.name}}},
      {"origin", auth::iso8601(transcript.origin_ms)},
      {"languages", std::move(languages)},
      {"entries", std::move(entries)}};
  out["language"] = transcript.language ? json::value(*transcript.language) : json::value(nullptr);
  out["from"] =
      transcript.from_ms ? json::value(auth::iso8601(*transcript.from_ms)) : json::value(nullptr);
  out["to"] =
      transcript.to_ms ? json::value(auth::iso8601(*transcript.to_ms)) : json::value(nullptr);
  return json::serialize(out);
}

// Digits only, exactly `count` of them, as a number.
bool fixed_digits(std::string_view text, std::size_t count, int& value) {
  if (text.size() < count) return false;
  value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

Result<TranscriptFormat> parse_transcript_format(std::string_view name) {
  if (name == "vtt") return TranscriptFormat::vtt;
  if (name == "srt") return TranscriptFormat::srt;
  if (name == "txt") return TranscriptFormat::text;
  if (name == "json") return TranscriptFormat::json;
  return fail(Errc::validation_failed, "format must be one of vtt, srt, txt and json");
}

std::string_view content_type(TranscriptFormat format) noexcept {
  switch (format) {
    case TranscriptFormat::vtt:
      return "text/vtt; charset=utf-8";
    case TranscriptFormat::srt:
      return "application/x-subrip; charset=utf-8";
    case TranscriptFormat::text:
      return "text/plain; charset=utf-8";
    case TranscriptFormat::json:
      break;
  }
  return "application/json";
}

std::string_view file_extension(TranscriptFormat format) noexcept {
  switch (format) {
    case TranscriptFormat::vtt:
      return "vtt";
    case TranscriptFormat::srt:
      return "srt";
    case TranscriptFormat::text:
      return "txt";
    case TranscriptFormat::json:
      break;
  }
  return "json";
}

std::string render(const Transcript& transcript, TranscriptFormat format,
                   const std::string& public_base_url) {
  switch (format) {
    case TranscriptFormat::vtt:
      return render_vtt(transcript);
    case TranscriptFormat::srt:
      return render_srt(transcript);
    case TranscriptFormat::text:
      return render_text(transcript);
    case TranscriptFormat::json:
      break;
  }
  return render_json(transcript, public_base_url);
}

std::string cue_timestamp(std::int64_t ms, char fraction_separator) {
  if (ms < 0) ms = 0;
  const auto hours = ms / 3'600'000;
  const auto minutes = ms / 60'000 % 60;
  const auto seconds = ms / 1000 % 60;
  const auto millis = ms % 1000;
  char out[48];
  std::snprintf(out, sizeof out, "%02lld:%02lld:%02lld%c%03lld", static_cast<long long>(hours),
                static_cast<long long>(minutes), static_cast<long long>(seconds),
                fraction_separator, static_cast<long long>(millis));
  return out;
}

Result<std::int64_t> parse_time(std::string_view text) {
  const auto bad = [] {
    return fail(Errc::validation_failed,
                "a time is unix milliseconds or ISO 8601 such as 2026-11-27T10:00:00Z");
  };
  if (text.empty()) return bad();
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || end != text.data() + text.size()) return bad();
    return ms;
  }
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 || !fixed_digits(text, 4, year) || text[4] != '-' ||
      !fixed_digits(text.substr(5), 2, month) || text[7] != '-' ||
      !fixed_digits(text.substr(8), 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !fixed_digits(text.substr(11), 2, hour) || text[13] != ':' ||
      !fixed_digits(text.substr(14), 2, minute) || text[16] != ':' ||
      !fixed_digits(text.substr(17), 2, second)) {
    return bad();
  }
  std::string_view rest = text.substr(19);
  std::int64_t millis = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    std::size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) {
      if (digits < 3) millis = millis * 10 + (rest[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 9) return bad();
    for (std::size_t i = digits; i < 3; ++i) millis *= 10;
    rest.remove_prefix(digits);
  }
  std::int64_t offset_minutes = 0;
  if (rest == "Z" || rest == "z") {
    offset_minutes = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-' || rest[0] == ' ') &&
             rest[3] == ':') {
    // ' ' is a '+' that a query string decoded (an unencoded "+01:00").
    int offset_hours = 0, offset_mins = 0;
    if (!fixed_digits(rest.substr(1), 2, offset_hours) ||
        !fixed_digits(rest.substr(4), 2, offset_mins) || offset_hours > 23 || offset_mins > 59) {
      return bad();
    }
    offset_minutes = (offset_hours * 60 + offset_mins) * (rest[0] == '-' ? -1 : 1);
  } else {
    return bad();
  }
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 59) {
    return bad();
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t seconds = timegm(&tm);
  // timegm normalises an impossible date (February 30th): such a date is not accepted.
  if (tm.tm_mday != day || tm.tm_mon != month - 1) return bad();
  return (static_cast<std::int64_t>(seconds) - offset_minutes * 60) * 1000 + millis;
}

}  // namespace parley::transcript
