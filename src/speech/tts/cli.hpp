#pragma once
// `parley tts "text" --lang es -o out.ogg [--voice V] [--format ogg|mp3|wav]
//  [--engine espeak-ng|elevenlabs]`: speaks a text into an audio file (the original's
// elevenlabs_tts.py). The format comes from --format, else from the -o extension.

#include <iosfwd>
#include <span>
#include <string>

#include "speech/tts/elevenlabs_client.hpp"
#include "speech/tts/synthesizer.hpp"

namespace parley::speech::tts {

/// The engines the command may use; either may be null. Without --engine, `cloud` is used when
/// present, else `embedded`.
struct TtsEngines {
  SpeechSynthesizer* embedded = nullptr;  ///< espeak-ng
  SpeechSynthesizer* cloud = nullptr;     ///< ElevenLabs, when configured with a key
};

/// `args` are the arguments after "tts". Writes progress to `out`, problems to `err`.
/// Returns 0 on success, 2 on a usage error (prints the usage line), 1 when the engine or the
/// output file fails (prints the message). Blocking.
int run_tts_command(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                    const TtsEngines& engines);

/// Same, creating the engines itself: ElevenLabs (over libcurl) when `elevenlabs.api_key` is
/// set, espeak-ng otherwise or when --engine espeak-ng asks for it.
int run_tts_command(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                    const ElevenLabsOptions& elevenlabs);

/// The usage line printed on usage errors.
extern const char* const kTtsUsage;

}  // namespace parley::speech::tts
