#include "speech/tts/espeak_synthesizer.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>
#pragma GCC diagnostic pop

namespace parley::speech::tts {
namespace {

// espeak-ng's state is process-wide: this flag is the one allowed global of the module. It is
// true while an EspeakSynthesizer exists.
std::atomic<bool> g_instance_alive{false};

// Upper bound on produced audio (the text limit keeps us far below; this guards the buffer).
constexpr std::size_t kMaxSamples =
    static_cast<std::size_t>(EspeakSynthesizer::kSampleRate) * 60 * 15;

std::string lower_tag(std::string_view tag) {
  std::string out;
  out.reserve(tag.size());
  for (char c : tag) {
    out.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

struct Capture {
  std::vector<std::int16_t>* samples;
  bool overflow = false;
};

// Called synchronously from espeak_ng_Synthesize on the calling thread.
int on_samples(short* wav, int count, espeak_EVENT* events) {
  if (events == nullptr || events->user_data == nullptr) return 0;
  auto* capture = static_cast<Capture*>(events->user_data);
  if (wav == nullptr || count <= 0) return 0;
  if (capture->samples->size() + static_cast<std::size_t>(count) > kMaxSamples) {
    capture->overflow = true;
    return 1;  // abort synthesis
  }
  capture->samples->insert(capture->samples->end(), wav, wav + count);
  return 0;
}

bool valid_variant(std::string_view v) noexcept {
  return !v.empty() && v.size() <= 20 && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

// Measured median F0 (voice_profile.cpp) of espeak-ng's en-US voice at pitch 50 with the
// variants chosen by choose_variant: what pitch parameter 50 sounds like.
constexpr double kMaleBaseHz = 104.0;
constexpr double kFemaleBaseHz = 208.0;

}  // namespace

int espeak_pitch_for(double pitch_hz, VoiceProfile::Gender gender) noexcept {
  if (!(pitch_hz > 0)) return 50;
  const double base = gender == VoiceProfile::Gender::female ? kFemaleBaseHz : kMaleBaseHz;
  // espeak-ng scales the voice's base pitch by roughly 2^((p - 50) / 50) over p in 0..100.
  const double p = 50.0 + 50.0 * std::log2(pitch_hz / base);
  return static_cast<int>(std::lround(std::clamp(p, 0.0, 100.0)));
}

Result<std::unique_ptr<EspeakSynthesizer>> EspeakSynthesizer::create() {
  bool expected = false;
  if (!g_instance_alive.compare_exchange_strong(expected, true)) {
    return fail(Errc::busy, "espeak-ng is already in use by another synthesizer in this process");
  }
  std::unique_ptr<EspeakSynthesizer> self(new EspeakSynthesizer());
  // From here on the destructor clears the flag and terminates espeak-ng.

  espeak_ng_InitializePath(nullptr);
  espeak_ng_ERROR_CONTEXT context = nullptr;
  espeak_ng_STATUS status = espeak_ng_Initialize(&context);
  if (status != ENS_OK) {
    espeak_ng_ClearErrorContext(&context);
    return fail(Errc::unavailable, "espeak-ng could not load its voice data");
  }
  status = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, nullptr);
  if (status != ENS_OK) return fail(Errc::unavailable, "espeak-ng could not start its output");
  espeak_SetSynthCallback(&on_samples);

  // Index the installed voices by the languages they declare; lower priority number = better.
  std::map<std::string, int, std::less<>> best_priority;
  const espeak_VOICE** voices = espeak_ListVoices(nullptr);
  for (std::size_t i = 0; voices != nullptr && voices[i] != nullptr; ++i) {
    const espeak_VOICE* v = voices[i];
    if (v->identifier == nullptr || v->languages == nullptr) continue;
    std::string_view id = v->identifier;
    const auto slash = id.rfind('/');
    const std::string file(slash == std::string_view::npos ? id : id.substr(slash + 1));
    self->voice_names_.emplace(lower_tag(file), file);
    // languages: repeated [priority byte][NUL-terminated name], ended by a zero byte.
    for (const char* p = v->languages; *p != 0;) {
      const int priority = static_cast<unsigned char>(*p);
      const std::string lang = lower_tag(p + 1);
      p += 1 + std::strlen(p + 1) + 1;
      const auto it = best_priority.find(lang);
      if (it == best_priority.end() || priority < it->second) {
        best_priority[lang] = priority;
        self->voice_by_language_[lang] = file;
      }
    }
  }
  if (self->voice_by_language_.empty()) {
    return fail(Errc::unavailable, "espeak-ng has no voices installed");
  }
  return self;
}

EspeakSynthesizer::~EspeakSynthesizer() {
  {
    std::lock_guard lock(mutex_);
    espeak_ng_Terminate();
  }
  g_instance_alive.store(false);
}

std::optional<std::string> EspeakSynthesizer::voice_for(std::string_view language) const {
  std::string tag = lower_tag(language);
  // Try the full tag, then drop subtags from the right: "pt-br-x" → "pt-br" → "pt".
  while (!tag.empty()) {
    if (const auto it = voice_by_language_.find(tag); it != voice_by_language_.end()) {
      return it->second;
    }
    const auto dash = tag.rfind('-');
    if (dash == std::string::npos) break;
    tag.resize(dash);
  }
  return std::nullopt;
}

bool EspeakSynthesizer::supports(std::string_view language) const noexcept {
  try {
    return voice_for(language).has_value();
  } catch (...) {
    return false;
  }
}

Result<Pcm> EspeakSynthesizer::synthesize_pcm(const SynthesisRequest& request) {
  if (auto valid = validate_text(request.text); !valid) return valid.error();

  // Resolve "<voice>[+<variant>]".
  std::string voice;
  std::string variant;
  if (request.voice && !request.voice->empty()) {
    std::string_view requested = *request.voice;
    const auto plus = requested.find('+');
    const auto base = lower_tag(requested.substr(0, plus));
    const auto it = voice_names_.find(base);
    if (it == voice_names_.end()) {
      return fail(Errc::unsupported, "espeak-ng has no voice called \"" + base + "\"");
    }
    voice = it->second;
    if (plus != std::string_view::npos) {
      variant = std::string(requested.substr(plus + 1));
      if (!valid_variant(variant))
        return fail(Errc::unsupported, "invalid espeak-ng voice variant");
    }
  } else {
    auto found = voice_for(request.language);
    if (!found) {
      return fail(Errc::unsupported,
                  "espeak-ng cannot speak the language \"" + std::string(request.language) + "\"");
    }
    voice = std::move(*found);
  }
  if (variant.empty() && request.profile && valid_variant(request.profile->espeak_variant)) {
    variant = request.profile->espeak_variant;
  }
  const std::string voice_name = variant.empty() ? voice : voice + "+" + variant;

  int rate = 175;  // espeakRATE default (words per minute)
  int pitch = 50;  // espeakPITCH default
  if (request.profile) {
    if (request.profile->speaking_rate_wpm > 0) {
      rate = static_cast<int>(
          std::lround(std::clamp(request.profile->speaking_rate_wpm, 80.0, 450.0)));
    }
    pitch = espeak_pitch_for(request.profile->pitch_hz, request.profile->gender);
  }

  Pcm pcm{kSampleRate, {}};
  Capture capture{&pcm.samples};
  {
    std::lock_guard lock(mutex_);
    if (espeak_ng_SetVoiceByName(voice_name.c_str()) != ENS_OK) {
      return fail(Errc::unsupported, "espeak-ng could not load the voice \"" + voice_name + "\"");
    }
    // Parameters persist across calls: set them every time.
    espeak_SetParameter(espeakRATE, rate, 0);
    espeak_SetParameter(espeakPITCH, pitch, 0);
    const espeak_ng_STATUS status =
        espeak_ng_Synthesize(request.text.c_str(), request.text.size() + 1, 0, POS_CHARACTER, 0,
                             espeakCHARS_UTF8 | espeakENDPAUSE, nullptr, &capture);
    espeak_ng_Synchronize();
    if (status != ENS_OK && !capture.overflow) {
      return fail(Errc::internal, "espeak-ng failed to synthesize the text");
    }
  }
  if (capture.overflow) return fail(Errc::validation_failed, "text to speak is too long");
  if (pcm.samples.empty()) return fail(Errc::internal, "espeak-ng produced no audio");
  return pcm;
}

Result<SynthesizedSpeech> EspeakSynthesizer::synthesize(const SynthesisRequest& request,
                                                        AudioFormat format) {
  auto pcm = synthesize_pcm(request);
  if (!pcm) return pcm.error();
  auto audio = encode(*pcm, format);
  if (!audio) return audio.error();
  return SynthesizedSpeech{std::move(*audio), format, pcm->duration()};
}

}  // namespace parley::speech::tts
