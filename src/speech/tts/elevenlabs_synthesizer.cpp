#include "speech/tts/elevenlabs_synthesizer.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace parley::speech::tts {
namespace {

constexpr int kPcmRate = 22050;

std::string primary_subtag(std::string_view language) {
  std::string code(language.substr(0, language.find_first_of("-_")));
  std::transform(code.begin(), code.end(), code.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return code;
}

}  // namespace

bool ElevenLabsSynthesizer::supports(std::string_view language) const noexcept {
  static constexpr std::array<std::string_view, 29> kLanguages = {
      "en", "ja", "zh", "de", "hi", "fr", "ko", "pt", "it", "es", "id", "nl", "tr", "fil", "pl",
      "sv", "bg", "ro", "ar", "cs", "el", "fi", "hr", "ms", "sk", "da", "ta", "uk", "ru"};
  try {
    const std::string code = primary_subtag(language);
    return std::find(kLanguages.begin(), kLanguages.end(), code) != kLanguages.end();
  } catch (...) {
    return false;
  }
}

Result<SynthesizedSpeech> ElevenLabsSynthesizer::synthesize(const SynthesisRequest& request,
                                                            AudioFormat format) {
  if (auto valid = validate_text(request.text); !valid) return valid.error();
  if (!supports(request.language)) {
    return fail(Errc::unsupported,
                "ElevenLabs cannot speak the language \"" + request.language + "\"");
  }
  const std::string voice = request.voice && !request.voice->empty()
                                ? *request.voice
                                : client_.options().default_voice_id;
  if (voice.empty()) return fail(Errc::unsupported, "no ElevenLabs voice is configured");
  const std::string language = primary_subtag(request.language);

  if (format == AudioFormat::mp3) {
    auto audio = client_.text_to_speech(voice, request.text, language, "mp3_44100_128");
    if (!audio) return audio.error();
    const auto duration = mp3_duration(*audio);
    if (!duration) return fail(Errc::unavailable, "ElevenLabs returned audio that is not MP3");
    return SynthesizedSpeech{std::move(*audio), format, *duration};
  }

  auto raw = client_.text_to_speech(voice, request.text, language, "pcm_22050");
  if (!raw) return raw.error();
  Pcm pcm{kPcmRate, {}};
  pcm.samples.resize(raw->size() / 2);
  for (std::size_t i = 0; i < pcm.samples.size(); ++i) {
    // The service sends little-endian s16.
    const auto lo = static_cast<unsigned char>((*raw)[2 * i]);
    const auto hi = static_cast<unsigned char>((*raw)[2 * i + 1]);
    pcm.samples[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>(lo | (hi << 8)));
  }
  if (pcm.samples.empty()) return fail(Errc::unavailable, "ElevenLabs returned no audio");
  auto encoded = encode(pcm, format);
  if (!encoded) return encoded.error();
  return SynthesizedSpeech{std::move(*encoded), format, pcm.duration()};
}

}  // namespace parley::speech::tts
