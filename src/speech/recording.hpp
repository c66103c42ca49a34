#pragma once
// Whole recordings (audio messages): cut into utterances by voice activity and recognized one
// utterance at a time, as a live stream would be, so long files never become one giant
// utterance that the recognizer handles badly.

#include <string_view>

#include "core/error.hpp"
#include "speech/audio/pcm.hpp"
#include "speech/stt/recognizer.hpp"

namespace parley::speech {

/// BLOCKING (CPU or network): run it on a worker. `pcm` is 16 kHz mono. The text of every
/// utterance, joined by spaces; "" when nobody spoke. Errors: the engine's.
Result<stt::Transcript> transcribe_recording(stt::SpeechRecognizer& engine, const audio::Pcm16& pcm,
                                             std::string_view language);

}  // namespace parley::speech
