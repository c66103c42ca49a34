#include "speech/tts/audio_encoder.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "speech/audio/ffmpeg.hpp"

namespace parley::speech::tts {
namespace {

char lower(char c) noexcept {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool iequal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

namespace ff = audio::ff;

std::string av_error_text(int err) {
  std::array<char, AV_ERROR_MAX_STRING_SIZE> buf{};
  av_strerror(err, buf.data(), buf.size());
  return std::string(buf.data());
}

Error ffmpeg_failure(std::string_view what, int err) {
  return fail(Errc::internal,
              "audio encoding failed (" + std::string(what) + ": " + av_error_text(err) + ")");
}

/// A growable in-memory file that muxers write to through a custom AVIO context. Seeking is
/// supported because the WAV and MP3 muxers go back to patch sizes and the Xing header.
class MemoryOutput {
 public:
  MemoryOutput() = default;
  MemoryOutput(const MemoryOutput&) = delete;
  MemoryOutput& operator=(const MemoryOutput&) = delete;

  bool open() {
    constexpr int kBufferSize = 32 * 1024;
    auto* buffer = static_cast<unsigned char*>(av_malloc(kBufferSize));
    if (buffer == nullptr) return false;
    ctx_.reset(avio_alloc_context(buffer, kBufferSize, 1, this, nullptr, &MemoryOutput::write,
                                  &MemoryOutput::seek));
    if (!ctx_) {
      av_free(buffer);
      return false;
    }
    return true;
  }

  AVIOContext* context() const noexcept { return ctx_.get(); }
  std::string take() { return std::move(data_); }

 private:
  static int write(void* opaque, std::uint8_t* buf, int size) {
    auto* self = static_cast<MemoryOutput*>(opaque);
    if (size <= 0) return 0;
    const auto n = static_cast<std::size_t>(size);
    if (self->pos_ + n > self->data_.size()) self->data_.resize(self->pos_ + n);
    std::memcpy(self->data_.data() + self->pos_, buf, n);
    self->pos_ += n;
    return size;
  }

  static std::int64_t seek(void* opaque, std::int64_t offset, int whence) {
    auto* self = static_cast<MemoryOutput*>(opaque);
    const auto size = static_cast<std::int64_t>(self->data_.size());
    whence &= ~AVSEEK_FORCE;
    if (whence == AVSEEK_SIZE) return size;
    const std::int64_t target =
        ff::seek_position(offset, whence, static_cast<std::int64_t>(self->pos_), size);
    if (target < 0) return AVERROR(EINVAL);
    self->pos_ = static_cast<std::size_t>(target);
    return target;
  }

  ff::AvioPtr ctx_;
  std::string data_;
  std::size_t pos_ = 0;
};

struct Target {
  const char* muxer;
  const char* encoder;
  std::int64_t bit_rate;
};

Target target_for(AudioFormat format) noexcept {
  switch (format) {
    case AudioFormat::ogg_opus:
      return {"ogg", "libopus", 32000};
    case AudioFormat::mp3:
      return {"mp3", "libmp3lame", 64000};
    case AudioFormat::wav:
      break;
  }
  return {"wav", "pcm_s16le", 0};
}

int choose_sample_rate(const AVCodec* codec, AudioFormat format, int input_rate) {
  if (format == AudioFormat::ogg_opus) return 48000;
  if (codec->supported_samplerates == nullptr) return input_rate;
  int best_above = 0;
  int highest = 0;
  for (const int* r = codec->supported_samplerates; *r != 0; ++r) {
    if (*r == input_rate) return input_rate;
    highest = std::max(highest, *r);
    if (*r > input_rate && (best_above == 0 || *r < best_above)) best_above = *r;
  }
  return best_above != 0 ? best_above : highest;
}

AVSampleFormat choose_sample_format(const AVCodec* codec) {
  if (codec->sample_fmts == nullptr) return AV_SAMPLE_FMT_S16;
  // Prefer s16 (no conversion loss), else whatever the encoder lists first.
  for (const AVSampleFormat* f = codec->sample_fmts; *f != AV_SAMPLE_FMT_NONE; ++f) {
    if (*f == AV_SAMPLE_FMT_S16 || *f == AV_SAMPLE_FMT_S16P) return *f;
  }
  return codec->sample_fmts[0];
}

/// Converts the whole input to the encoder's rate and sample format. Mono, so planar and packed
/// layouts are the same single plane of bytes.
Result<std::vector<std::uint8_t>> resample(const Pcm& pcm, int out_rate, AVSampleFormat out_fmt,
                                           int& out_samples) {
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  SwrContext* raw = nullptr;
  int err = swr_alloc_set_opts2(&raw, &mono, out_fmt, out_rate, &mono, AV_SAMPLE_FMT_S16,
                                pcm.sample_rate, 0, nullptr);
  ff::SwrPtr swr(raw);
  if (err < 0) return ffmpeg_failure("resampler", err);
  if ((err = swr_init(swr.get())) < 0) return ffmpeg_failure("resampler", err);

  const int in_count = static_cast<int>(pcm.samples.size());
  const int capacity = swr_get_out_samples(swr.get(), in_count) + 256;
  const int bytes_per_sample = av_get_bytes_per_sample(out_fmt);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(capacity) *
                                static_cast<std::size_t>(bytes_per_sample));
  std::uint8_t* out_planes[1] = {out.data()};
  const auto* in_bytes = reinterpret_cast<const std::uint8_t*>(pcm.samples.data());
  const std::uint8_t* in_planes[1] = {in_bytes};
  const int converted = swr_convert(swr.get(), out_planes, capacity, in_planes, in_count);
  if (converted < 0) return ffmpeg_failure("resampler", converted);
  int total = converted;
  // Drain the resampler's delay line.
  std::uint8_t* tail[1] = {out.data() + static_cast<std::size_t>(total) *
                                            static_cast<std::size_t>(bytes_per_sample)};
  const int flushed = swr_convert(swr.get(), tail, capacity - total, nullptr, 0);
  if (flushed < 0) return ffmpeg_failure("resampler", flushed);
  total += flushed;
  out.resize(static_cast<std::size_t>(total) * static_cast<std::size_t>(bytes_per_sample));
  out_samples = total;
  return out;
}

/// Sends one frame (or nullptr to flush) and writes every packet the encoder produces.
int encode_and_write(AVCodecContext* enc, AVFrame* frame, AVFormatContext* fmt, AVStream* st,
                     AVPacket* pkt) {
  int err = avcodec_send_frame(enc, frame);
  if (err < 0) return err;
  while (true) {
    err = avcodec_receive_packet(enc, pkt);
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return 0;
    if (err < 0) return err;
    av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
    pkt->stream_index = st->index;
    err = av_interleaved_write_frame(fmt, pkt);  // takes ownership of the packet's data
    if (err < 0) return err;
  }
}

}  // namespace

std::string_view mime_type(AudioFormat format) noexcept {
  switch (format) {
    case AudioFormat::ogg_opus:
      return "audio/ogg";
    case AudioFormat::mp3:
      return "audio/mpeg";
    case AudioFormat::wav:
      break;
  }
  return "audio/wav";
}

std::string_view file_extension(AudioFormat format) noexcept {
  switch (format) {
    case AudioFormat::ogg_opus:
      return "ogg";
    case AudioFormat::mp3:
      return "mp3";
    case AudioFormat::wav:
      break;
  }
  return "wav";
}

Result<AudioFormat> parse_audio_format(std::string_view name) {
  name = trim(name);
  if (iequal(name, "ogg") || iequal(name, "opus") || iequal(name, "ogg_opus")) {
    return AudioFormat::ogg_opus;
  }
  if (iequal(name, "mp3")) return AudioFormat::mp3;
  if (iequal(name, "wav")) return AudioFormat::wav;
  return fail(Errc::validation_failed, "unknown audio format (use ogg, mp3 or wav)");
}

std::optional<AudioFormat> format_from_accept(std::string_view accept_header) {
  constexpr std::array<AudioFormat, 3> kPreference = {AudioFormat::ogg_opus, AudioFormat::mp3,
                                                      AudioFormat::wav};
  if (trim(accept_header).empty()) return AudioFormat::ogg_opus;

  // Per format: q of the most specific matching range (2 = exact type, 1 = audio/*, 0 = */*).
  std::array<int, 3> specificity = {-1, -1, -1};
  std::array<double, 3> quality = {0, 0, 0};
  auto consider = [&](std::size_t index, int spec, double q) {
    if (spec > specificity[index] || (spec == specificity[index] && q > quality[index])) {
      specificity[index] = spec;
      quality[index] = q;
    }
  };

  std::string_view rest = accept_header;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);

    const auto semi = item.find(';');
    const std::string_view range = trim(item.substr(0, semi));
    double q = 1.0;
    if (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      while (!params.empty()) {
        const auto next = params.find(';');
        const std::string_view param = trim(params.substr(0, next));
        params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
        if (param.size() >= 2 && lower(param[0]) == 'q' && param[1] == '=') {
          const std::string value(trim(param.substr(2)));
          char* end = nullptr;
          const double parsed = std::strtod(value.c_str(), &end);
          q = (end != value.c_str() && parsed >= 0.0) ? std::min(parsed, 1.0) : 0.0;
        }
      }
    }
    if (range.empty()) continue;

    if (range == "*/*") {
      for (std::size_t i = 0; i < kPreference.size(); ++i) consider(i, 0, q);
    } else if (iequal(range, "audio/*")) {
      for (std::size_t i = 0; i < kPreference.size(); ++i) consider(i, 1, q);
    } else if (iequal(range, "audio/ogg") || iequal(range, "audio/opus")) {
      consider(0, 2, q);
    } else if (iequal(range, "audio/mpeg") || iequal(range, "audio/mp3")) {
      consider(1, 2, q);
    } else if (iequal(range, "audio/wav") || iequal(range, "audio/x-wav") ||
               iequal(range, "audio/wave")) {
      consider(2, 2, q);
    }
  }

  std::optional<AudioFormat> best;
  double best_q = 0.0;
  for (std::size_t i = 0; i < kPreference.size(); ++i) {
    if (specificity[i] >= 0 && quality[i] > best_q) {
      best_q = quality[i];
      best = kPreference[i];
    }
  }
  return best;
}

Result<std::string> encode(const Pcm& pcm, AudioFormat format) {
  if (pcm.samples.empty()) return fail(Errc::validation_failed, "no audio to encode");
  if (pcm.sample_rate < kMinSampleRate || pcm.sample_rate > kMaxSampleRate) {
    return fail(Errc::validation_failed,
                "unsupported sample rate " + std::to_string(pcm.sample_rate) + " Hz");
  }
  if (pcm.samples.size() / static_cast<std::size_t>(pcm.sample_rate) >
      static_cast<std::size_t>(std::chrono::seconds(kMaxEncodeDuration).count())) {
    return fail(Errc::validation_failed, "audio is too long to encode");
  }

  const Target target = target_for(format);
  const AVCodec* codec = avcodec_find_encoder_by_name(target.encoder);
  if (codec == nullptr) {
    return fail(Errc::unavailable,
                std::string("the ") + target.encoder + " encoder is not available");
  }

  ff::CodecPtr enc(avcodec_alloc_context3(codec));
  if (!enc) return fail(Errc::internal, "audio encoding failed (out of memory)");
  const int out_rate = choose_sample_rate(codec, format, pcm.sample_rate);
  const AVSampleFormat out_fmt = choose_sample_format(codec);
  enc->sample_rate = out_rate;
  enc->sample_fmt = out_fmt;
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  int err = av_channel_layout_copy(&enc->ch_layout, &mono);
  if (err < 0) return ffmpeg_failure("encoder", err);
  enc->time_base = AVRational{1, out_rate};
  if (target.bit_rate > 0) enc->bit_rate = target.bit_rate;

  MemoryOutput output;
  if (!output.open()) return fail(Errc::internal, "audio encoding failed (out of memory)");

  AVFormatContext* raw_fmt = nullptr;
  err = avformat_alloc_output_context2(&raw_fmt, nullptr, target.muxer, nullptr);
  ff::OutputFormatPtr fmt(raw_fmt);
  if (err < 0 || !fmt) return ffmpeg_failure("muxer", err);
  fmt->pb = output.context();
  fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  if ((fmt->oformat->flags & AVFMT_GLOBALHEADER) != 0) {
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  }
  if (format == AudioFormat::ogg_opus) {
    // Speech, not music: favour intelligibility at low bit rates.
    av_opt_set(enc->priv_data, "application", "voip", 0);
    // libopus complexity 10 (its default) costs several times the synthesis itself; at 5 the
    // encoder is much faster and speech from a synthesizer loses nothing audible.
    enc->compression_level = 5;
  }

  if ((err = avcodec_open2(enc.get(), codec, nullptr)) < 0) return ffmpeg_failure("encoder", err);

  AVStream* st = avformat_new_stream(fmt.get(), nullptr);
  if (st == nullptr) return fail(Errc::internal, "audio encoding failed (out of memory)");
  if ((err = avcodec_parameters_from_context(st->codecpar, enc.get())) < 0) {
    return ffmpeg_failure("muxer", err);
  }
  st->time_base = enc->time_base;
  if (format == AudioFormat::mp3) {
    // No ID3v2 tag: the file starts with audio, the smallest valid MP3.
    av_opt_set_int(fmt->priv_data, "id3v2_version", 0, 0);
  }
  if ((err = avformat_write_header(fmt.get(), nullptr)) < 0) return ffmpeg_failure("muxer", err);

  int total_samples = 0;
  auto converted = resample(pcm, out_rate, out_fmt, total_samples);
  if (!converted) return converted.error();
  const int bytes_per_sample = av_get_bytes_per_sample(out_fmt);

  const bool variable_frames =
      (codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) != 0 || enc->frame_size <= 0;
  const bool small_last = (codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME) != 0;
  const int frame_size = variable_frames ? 1024 : enc->frame_size;

  ff::FramePtr frame(av_frame_alloc());
  ff::PacketPtr pkt(av_packet_alloc());
  if (!frame || !pkt) return fail(Errc::internal, "audio encoding failed (out of memory)");

  for (int offset = 0; offset < total_samples; offset += frame_size) {
    const int available = std::min(frame_size, total_samples - offset);
    const int n = (variable_frames || small_last) ? available : frame_size;
    av_frame_unref(frame.get());
    frame->nb_samples = n;
    frame->format = out_fmt;
    frame->sample_rate = out_rate;
    if ((err = av_channel_layout_copy(&frame->ch_layout, &mono)) < 0) {
      return ffmpeg_failure("encoder", err);
    }
    if ((err = av_frame_get_buffer(frame.get(), 0)) < 0) return ffmpeg_failure("encoder", err);
    const auto bytes =
        static_cast<std::size_t>(available) * static_cast<std::size_t>(bytes_per_sample);
    std::memcpy(frame->data[0],
                converted->data() +
                    static_cast<std::size_t>(offset) * static_cast<std::size_t>(bytes_per_sample),
                bytes);
    if (n > available) {
      // Silence pads the last frame of encoders that need full frames.
      av_samples_set_silence(frame->data, available, n - available, 1, out_fmt);
    }
    frame->pts = offset;
    if ((err = encode_and_write(enc.get(), frame.get(), fmt.get(), st, pkt.get())) < 0) {
      return ffmpeg_failure(target.encoder, err);
    }
  }
  if ((err = encode_and_write(enc.get(), nullptr, fmt.get(), st, pkt.get())) < 0) {
    return ffmpeg_failure(target.encoder, err);
  }
  if ((err = av_write_trailer(fmt.get())) < 0) return ffmpeg_failure("muxer", err);
  avio_flush(output.context());
  return output.take();
}

std::optional<std::chrono::milliseconds> mp3_duration(std::string_view mp3) {
  const auto* data = reinterpret_cast<const unsigned char*>(mp3.data());
  const std::size_t size = mp3.size();
  std::size_t pos = 0;
  // ID3v2: "ID3", version (2), flags (1), syncsafe size (4).
  if (size >= 10 && std::memcmp(data, "ID3", 3) == 0) {
    const std::size_t tag = (std::size_t{data[6]} & 0x7f) << 21 |
                            (std::size_t{data[7]} & 0x7f) << 14 |
                            (std::size_t{data[8]} & 0x7f) << 7 | (std::size_t{data[9]} & 0x7f);
    pos = 10 + tag + ((data[5] & 0x10) != 0 ? 10 : 0);
  }
  // Bit rates (kb/s) for layer III: MPEG-1 and MPEG-2/2.5.
  static constexpr std::array<int, 16> kRateV1 = {0,   32,  40,  48,  56,  64,  80,  96,
                                                  112, 128, 160, 192, 224, 256, 320, 0};
  static constexpr std::array<int, 16> kRateV2 = {0,  8,  16, 24,  32,  40,  48,  56,
                                                  64, 80, 96, 112, 128, 144, 160, 0};
  static constexpr std::array<int, 3> kSampleRateV1 = {44100, 48000, 32000};

  std::int64_t samples_total = 0;
  int sample_rate = 0;
  std::size_t frames = 0;
  while (pos + 4 <= size) {
    if (data[pos] != 0xff || (data[pos + 1] & 0xe0) != 0xe0) {
      ++pos;  // resynchronise
      continue;
    }
    const int version_bits = (data[pos + 1] >> 3) & 0x3;  // 3 = MPEG-1, 2 = MPEG-2, 0 = 2.5
    const int layer_bits = (data[pos + 1] >> 1) & 0x3;    // 1 = layer III
    const int rate_index = (data[pos + 2] >> 4) & 0xf;
    const int sr_index = (data[pos + 2] >> 2) & 0x3;
    const int padding = (data[pos + 2] >> 1) & 0x1;
    if (version_bits == 1 || layer_bits != 1 || rate_index == 0 || rate_index == 15 ||
        sr_index == 3) {
      ++pos;
      continue;
    }
    const bool v1 = version_bits == 3;
    const int kbps = v1 ? kRateV1[static_cast<std::size_t>(rate_index)]
                        : kRateV2[static_cast<std::size_t>(rate_index)];
    int sr = kSampleRateV1[static_cast<std::size_t>(sr_index)];
    if (version_bits == 2) sr /= 2;
    if (version_bits == 0) sr /= 4;
    const int samples_per_frame = v1 ? 1152 : 576;
    const std::size_t frame_len =
        static_cast<std::size_t>((samples_per_frame / 8) * kbps * 1000 / sr + padding);
    if (frame_len < 4) {
      ++pos;
      continue;
    }
    sample_rate = sr;
    samples_total += samples_per_frame;
    ++frames;
    pos += frame_len;
  }
  if (frames == 0 || sample_rate == 0) return std::nullopt;
  return std::chrono::milliseconds{samples_total * 1000 / sample_rate};
}

}  // namespace parley::speech::tts
