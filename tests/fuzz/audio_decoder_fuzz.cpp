// libFuzzer target for the in-process audio decoder (SECURITY F44, STYLE habit 9). In
// production it only runs inside the sandboxed parley-audio-decoder child, but a crash there
// still loses a user's audio, and its allowlists and error mapping are ours to get right.
// fuzz-sources: src/speech/audio/decoder.cpp src/speech/audio/format.cpp src/core/error.cpp
// fuzz-libs: -lavformat -lavcodec -lswresample -lavutil
//
// The first byte chooses the declared InputFormat; the rest is the file. Limits are tiny so
// each input decodes fast. FFmpeg itself is not instrumented: coverage guides through our code
// and the container headers it inspects, and ASan still catches bad accesses in our buffers.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "speech/audio/decoder.hpp"

extern "C" {
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

namespace {

using namespace parley::speech::audio;

const bool quiet = [] {
  av_log_set_level(AV_LOG_QUIET);
  av_max_alloc(64u << 20);  // as parley-audio-decoder does (see decoder_main.cpp)
  return true;
}();

bool expected_failure(parley::Errc code) {
  return code == parley::Errc::unsupported_media_type || code == parley::Errc::validation_failed ||
         code == parley::Errc::payload_too_large;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)quiet;
  if (size == 0) return 0;
  constexpr InputFormat kFormats[] = {InputFormat::probe, InputFormat::webm, InputFormat::ogg,
                                      InputFormat::wav,   InputFormat::mp3,  InputFormat::m4a,
                                      InputFormat::flac};
  const InputFormat format = kFormats[data[0] % 7];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  DecodeLimits limits;
  limits.max_duration = std::chrono::milliseconds{2000};
  limits.max_sample_rate = 96000;
  limits.max_channels = 8;
  const auto pcm = decode_all(bytes, format, limits);
  if (!pcm) {
    if (!expected_failure(pcm.error().code) || pcm.error().message.empty()) std::abort();
    return 0;
  }
  // Success means real audio within the limit.
  if (pcm->samples.empty() || pcm->sample_rate != 16000) std::abort();
  if (pcm->samples.size() > 2000u * 16) std::abort();
  return 0;
}
