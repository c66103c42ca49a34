#pragma once
// A room's transcript written out: bilingual WebVTT and SubRip captions (the reader's language
// first, the original under it), plain text, or JSON. Pure functions: no I/O.
//
// Cue times count from Transcript::origin_ms. Message text is made safe for each format: no
// blank line inside a cue (it would end the cue), no "-->" (it would read as a timing line),
// and in WebVTT the markup characters escaped.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "transcript/room_transcript.hpp"

namespace parley::transcript {

enum class TranscriptFormat { vtt, srt, text, json };

/// "vtt", "srt", "txt" or "json". Errors: validation_failed.
Result<TranscriptFormat> parse_transcript_format(std::string_view name);
std::string_view content_type(TranscriptFormat format) noexcept;
std::string_view file_extension(TranscriptFormat format) noexcept;

/// `public_base_url` (BACKEND_URL) makes the JSON's avatar and audio URLs absolute.
std::string render(const Transcript& transcript, TranscriptFormat format,
                   const std::string& public_base_url);

/// A caption timestamp: "01:02:03.004" (WebVTT, separator '.') or "01:02:03,004" (SubRip, ',').
/// Negative durations are written as zero.
std::string cue_timestamp(std::int64_t ms, char fraction_separator);

/// A point in time from a query: unix milliseconds ("1795766400000") or ISO 8601 with seconds
/// and a zone ("2026-11-27T10:00:00Z", "2026-11-27T10:00:00.250+01:00"). Errors:
/// validation_failed.
Result<std::int64_t> parse_time(std::string_view text);

}  // namespace parley::transcript
