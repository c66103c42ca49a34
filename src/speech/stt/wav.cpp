#include "speech/stt/wav.hpp"

namespace parley::speech::stt {
namespace {

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFU));
}
void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xFFU));
  out.push_back(static_cast<char>((v >> 8) & 0xFFU));
}

}  // namespace

std::string make_wav(std::span<const std::int16_t> samples, int sample_rate, int channels) {
  const auto data_bytes = static_cast<std::uint32_t>(samples.size() * 2);
  const auto block_align = static_cast<std::uint16_t>(channels * 2);
  std::string out;
  out.reserve(kWavHeaderBytes + data_bytes);
  out.append("RIFF");
  put_u32(out, 36 + data_bytes);
  out.append("WAVE");
  out.append("fmt ");
  put_u32(out, 16);  // PCM fmt chunk size
  put_u16(out, 1);   // WAVE_FORMAT_PCM
  put_u16(out, static_cast<std::uint16_t>(channels));
  put_u32(out, static_cast<std::uint32_t>(sample_rate));
  put_u32(out, static_cast<std::uint32_t>(sample_rate) * block_align);
  put_u16(out, block_align);
  put_u16(out, 16);
  out.append("data");
  put_u32(out, data_bytes);
  // Written sample by sample so the file is little-endian whatever the host is.
  for (const std::int16_t s : samples) put_u16(out, static_cast<std::uint16_t>(s));
  return out;
}

}  // namespace parley::speech::stt
