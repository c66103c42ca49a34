#pragma once
// Encodes synthesized speech (mono int16 PCM) into the container formats Parley serves:
// Ogg/Opus (browsers, small), MP3 (universal) and WAV (lossless, tests and tools). Everything
// happens in memory with the FFmpeg libraries; no temporary files.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "speech/tts/pcm.hpp"

namespace parley::speech::tts {

enum class AudioFormat { ogg_opus, mp3, wav };

/// "audio/ogg", "audio/mpeg" or "audio/wav".
std::string_view mime_type(AudioFormat format) noexcept;
/// File extension without the dot: "ogg", "mp3", "wav".
std::string_view file_extension(AudioFormat format) noexcept;

/// Accepts "ogg", "opus", "ogg_opus", "mp3", "wav" (case-insensitive).
/// Errors: validation_failed for anything else.
Result<AudioFormat> parse_audio_format(std::string_view name);

/// Picks the format to answer an HTTP `Accept` header with (RFC 9110 §12.5.1): audio/ogg and
/// audio/opus → ogg_opus, audio/mpeg and audio/mp3 → mp3, audio/wav (audio/x-wav, audio/wave)
/// → wav, audio/* and */* → any. The most specific range decides each format's q-value; q=0
/// excludes it; ties go to ogg_opus, then mp3, then wav. An empty header accepts anything.
/// nullopt: none of our formats is acceptable (answer 406).
std::optional<AudioFormat> format_from_accept(std::string_view accept_header);

/// Limits on what encode() accepts.
inline constexpr int kMinSampleRate = 8000;
inline constexpr int kMaxSampleRate = 192000;
inline constexpr std::chrono::minutes kMaxEncodeDuration{15};

/// Encodes `pcm` (mono int16 at any rate in [kMinSampleRate, kMaxSampleRate]) into a complete
/// file of the given format. Ogg/Opus is resampled to 48 kHz (libopus, 32 kb/s); MP3 keeps the
/// rate when libmp3lame supports it, else the nearest supported one above (64 kb/s); WAV keeps
/// the rate (pcm_s16le).
///
/// Errors: validation_failed (no samples, rate out of range, longer than kMaxEncodeDuration),
/// unavailable (the FFmpeg build lacks the encoder), internal (FFmpeg failed unexpectedly).
/// Thread-safety: reentrant; calls share no state.
Result<std::string> encode(const Pcm& pcm, AudioFormat format);

/// Duration of an MP3 stream from its frame headers (skips an ID3v2 tag); nullopt when no
/// MPEG audio frame is found. Used when a service returns MP3 that we pass through untouched.
std::optional<std::chrono::milliseconds> mp3_duration(std::string_view mp3);

}  // namespace parley::speech::tts
