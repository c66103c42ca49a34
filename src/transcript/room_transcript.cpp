#include "transcript/room_transcript.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <span>

#include "chat/text_rules.hpp"
#include "translate/langid/language_detector.hpp"
#include "translate/messages/message_translator.hpp"

namespace parley::transcript {

namespace {

// MessageTranslations::find takes at most this many ids per call.
constexpr std::size_t kTranslationBatch = 1000;

// Reading speed for captions: a second to notice, then ~17 characters a second (the usual
// subtitle guideline), within bounds that keep a cue neither flashing nor lingering.
constexpr std::int64_t kReadingBaseMs = 1000;
constexpr std::int64_t kReadingPerCodePointMs = 60;
constexpr std::int64_t kMinReadingMs = 1500;
constexpr std::int64_t kMaxReadingMs = 8000;
// A spoken cue lasts at least this long, however short the utterance was measured.
constexpr std::int64_t kMinSpokenMs = 500;

// The message's language as a listener language ("en-US" → "en"): its stored original
// language, or what a translation found its source to be.
std::optional<std::string> original_language(
    const chat::StoredMessage& message,
    std::span<const translate::MessageTranslation> translations) {
  if (message.language) return translate::listener_language(*message.language);
  for (const auto& stored : translations) {
    if (!stored.translation.source.empty() && stored.translation.source != "und") {
      return translate::listener_language(stored.translation.source);
    }
  }
  return std::nullopt;
}

}  // namespace

std::int64_t reading_time_ms(const TranscriptEntry& entry) {
  std::size_t longest = chat::code_points(entry.message.text);
  if (entry.translation) {
    longest = std::max(longest, chat::code_points(entry.translation->translation.text));
  }
  const auto wanted = kReadingBaseMs + static_cast<std::int64_t>(longest) * kReadingPerCodePointMs;
  return std::clamp(wanted, kMinReadingMs, kMaxReadingMs);
}

Result<Transcript> RoomTranscripts::read(const TranscriptQuery& query) {
  std::optional<std::string> language;
  if (query.language) {
    if (translate::normalize_language_tag(*query.language).empty()) {
      return fail(Errc::validation_failed, "lang must be a language tag such as es or pt-BR");
    }
    language = translate::listener_language(*query.language);
  }
  const std::int64_t from = query.from_ms.value_or(std::numeric_limits<std::int64_t>::min());
  // Up to now: what is stored after the read began belongs to the next one.
  const std::int64_t to = query.to_ms.value_or(clock_.now_ms() + 1);
  if (query.from_ms && query.to_ms && *query.from_ms >= *query.to_ms) {
    return fail(Errc::validation_failed, "from must be before to");
  }

  auto member = rooms_.membership(query.room_id, query.viewer_id);
  if (!member) {
    if (member.error().code == Errc::not_found) return fail(Errc::not_found, "no such chat room");
    return member.error();
  }
  if (member->banned) return fail(Errc::not_found, "no such chat room");
  auto room = rooms_.find(query.room_id);
  if (!room) return room.error();

  auto messages = rooms_.messages_between(query.room_id, from, to, kMaxTranscriptEntries + 1);
  if (!messages) return messages.error();
  if (messages->size() > kMaxTranscriptEntries) {
    return fail(Errc::validation_failed, "the range holds more than " +
                                             std::to_string(kMaxTranscriptEntries) +
                                             " messages; ask for a shorter one with from and to");
  }

  // Every stored translation of the range: the reader's is shown, the others say which
  // languages the range can be read in.
  std::map<std::int64_t, std::vector<translate::MessageTranslation>> by_message;
  std::vector<std::int64_t> ids;
  ids.reserve(messages->size());
  for (const auto& message : *messages) ids.push_back(message.id);
  for (std::size_t first = 0; first < ids.size(); first += kTranslationBatch) {
    const auto count = std::min(kTranslationBatch, ids.size() - first);
    auto found = translations_.find(std::span<const std::int64_t>(ids).subspan(first, count));
    if (!found) return found.error();
    for (auto& stored : *found) by_message[stored.message_id].push_back(std::move(stored));
  }

  Transcript transcript;
  transcript.room = std::move(*room);
  transcript.language = language;
  transcript.from_ms = query.from_ms;
  transcript.to_ms = query.to_ms;
  std::set<std::string> languages;
  transcript.entries.reserve(messages->size());
  for (auto& message : *messages) {
    const auto stored = by_message.find(message.id);
    const std::span<const translate::MessageTranslation> translations =
        stored == by_message.end() ? std::span<const translate::MessageTranslation>()
                                   : std::span<const translate::MessageTranslation>(stored->second);
    const auto original = original_language(message, translations);
    if (original) languages.insert(*original);
    TranscriptEntry entry;
    for (const auto& translation : translations) {
      languages.insert(translation.translation.target);
      if (language && translation.translation.target == *language) entry.translation = translation;
    }
    entry.in_reader_language = language && original && *original == *language;
    if (entry.in_reader_language) entry.translation.reset();
    entry.start_ms = message.started_at();
    if (message.spoken_ended_at) {
      entry.end_ms = std::max(*message.spoken_ended_at, entry.start_ms + kMinSpokenMs);
    }
    entry.message = std::move(message);
    if (!entry.message.spoken_ended_at) entry.end_ms = entry.start_ms + reading_time_ms(entry);
    transcript.entries.push_back(std::move(entry));
  }
  transcript.languages.assign(languages.begin(), languages.end());
  if (query.from_ms) {
    transcript.origin_ms = *query.from_ms;
  } else if (!transcript.entries.empty()) {
    transcript.origin_ms = transcript.entries.front().start_ms;
  } else {
    transcript.origin_ms = to;  // nothing said: the range's end, not 1970
  }
  return transcript;
}

}  // namespace parley::transcript
