#include "speech/audio/wav.hpp"

#include <cstdint>

namespace parley::speech::audio {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
}

}  // namespace

std::string encode_wav(const Pcm16& pcm) {
  const auto data_bytes = static_cast<std::uint32_t>(pcm.samples.size() * 2);
  const auto rate = static_cast<std::uint32_t>(pcm.sample_rate);
  std::string out;
  out.reserve(kWavHeaderBytes + data_bytes);
  out += "RIFF";
  put_u32(out, 36 + data_bytes);
  out += "WAVEfmt ";
  put_u32(out, 16);  // fmt chunk size
  put_u16(out, 1);   // PCM
  put_u16(out, 1);   // mono
  put_u32(out, rate);
  put_u32(out, rate * 2);  // byte rate
  put_u16(out, 2);         // block align
  put_u16(out, 16);        // bits per sample
  out += "data";
  put_u32(out, data_bytes);
  for (const std::int16_t s : pcm.samples) put_u16(out, static_cast<std::uint16_t>(s));
  return out;
}

}  // namespace parley::speech::audio
