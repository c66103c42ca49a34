#include "speech/audio/format.hpp"

namespace parley::speech::audio {

Result<InputFormat> parse_input_format(std::string_view name) {
  if (name == "webm" || name == "webm-opus") return InputFormat::webm;
  if (name == "ogg" || name == "ogg-opus") return InputFormat::ogg;
  if (name == "wav") return InputFormat::wav;
  if (name == "mp3") return InputFormat::mp3;
  if (name == "m4a" || name == "mp4" || name == "aac") return InputFormat::m4a;
  if (name == "flac") return InputFormat::flac;
  if (name == "probe" || name == "auto") return InputFormat::probe;
  return fail(Errc::unsupported_media_type,
              "unsupported audio format (use webm, ogg, wav, mp3, m4a or flac)");
}

std::string_view to_string(InputFormat format) noexcept {
  switch (format) {
    case InputFormat::probe:
      return "probe";
    case InputFormat::webm:
      return "webm";
    case InputFormat::ogg:
      return "ogg";
    case InputFormat::wav:
      return "wav";
    case InputFormat::mp3:
      return "mp3";
    case InputFormat::m4a:
      return "m4a";
    case InputFormat::flac:
      return "flac";
  }
  return "probe";
}

}  // namespace parley::speech::audio
