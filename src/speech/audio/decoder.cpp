#include "speech/audio/decoder.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "speech/audio/ffmpeg.hpp"

namespace parley::speech::audio {
namespace {

constexpr int kOutRate = 16000;
constexpr int kIoBufferSize = 4096;
// Enough for every allowed container's header; garbage fails after reading at most this much.
constexpr unsigned kMaxProbeBytes = 1u << 20;
// Consecutive packets that fail to decode before the rest of the file is given up on.
constexpr int kMaxConsecutiveErrors = 200;

// Demuxer names as FFmpeg spells them (AVInputFormat::name), i.e. the only demuxers that may
// ever read untrusted bytes.
constexpr std::array<std::string_view, 7> kAllowedDemuxers = {
    "matroska,webm", "ogg", "wav", "mp3", "mov,mp4,m4a,3gp,3g2,mj2", "aac", "flac"};
constexpr const char* kFormatWhitelist = "matroska,webm,ogg,wav,mp3,mov,mp4,m4a,aac,flac";

bool allowed_codec(std::string_view name) {
  static constexpr std::array<std::string_view, 14> kCodecs = {
      "opus",      "libopus", "vorbis", "libvorbis", "mp3float", "mp3",           "aac",
      "aac_fixed", "flac",    "alac",   "mp2float",  "mp2",      "adpcm_ima_wav", "adpcm_ms"};
  if (name.starts_with("pcm_")) return true;
  return std::find(kCodecs.begin(), kCodecs.end(), name) != kCodecs.end();
}

bool allowed_demuxer(std::string_view name) {
  return std::find(kAllowedDemuxers.begin(), kAllowedDemuxers.end(), name) !=
         kAllowedDemuxers.end();
}

// "png_pipe" → "png", "mov,mp4,m4a,..." → "m4a", "matroska,webm" → "webm".
std::string short_name(std::string_view demuxer) {
  if (demuxer == "matroska,webm") return "webm";
  if (demuxer.starts_with("mov,")) return "m4a";
  demuxer = demuxer.substr(0, demuxer.find(','));
  if (demuxer.ends_with("_pipe")) demuxer.remove_suffix(5);
  return std::string(demuxer);
}

bool matches_declared(InputFormat declared, std::string_view demuxer) {
  switch (declared) {
    case InputFormat::probe:
      return true;
    case InputFormat::webm:
      return demuxer == "matroska,webm";
    case InputFormat::ogg:
      return demuxer == "ogg";
    case InputFormat::wav:
      return demuxer == "wav";
    case InputFormat::mp3:
      return demuxer == "mp3";
    case InputFormat::m4a:
      return demuxer.starts_with("mov,") || demuxer == "aac";
    case InputFormat::flac:
      return demuxer == "flac";
  }
  return false;
}

struct IoState {
  ByteSource* source = nullptr;
  std::int64_t bytes_read = 0;
  bool read_error = false;
};

int read_callback(void* opaque, std::uint8_t* buffer, int size) {
  auto* io = static_cast<IoState*>(opaque);
  if (size <= 0) return 0;
  const auto n = io->source->read(std::span<std::uint8_t>(buffer, static_cast<std::size_t>(size)));
  if (n == 0) return AVERROR_EOF;
  if (n < 0) {
    io->read_error = true;
    return AVERROR(EIO);
  }
  io->bytes_read += n;
  return static_cast<int>(std::min<std::ptrdiff_t>(n, size));
}

std::int64_t seek_callback(void* opaque, std::int64_t offset, int whence) {
  auto* io = static_cast<IoState*>(opaque);
  return io->source->seek(offset, whence & ~AVSEEK_FORCE);
}

// Nested opens (MP4 data references, playlists) would read other files or URLs: refuse all.
int deny_io_open(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) {
  return AVERROR(EPERM);
}

std::string seconds_text(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

Error too_long(const DecodeLimits& limits) {
  return fail(Errc::payload_too_large,
              "audio is longer than the " + seconds_text(limits.max_duration) + " limit");
}

// Converts decoded frames of whatever layout/format/rate to 16 kHz mono s16, rebuilding the
// resampler when a chained stream changes parameters mid-file.
class Converter {
 public:
  Converter(const DecodeLimits& limits, const PcmSink& sink) : limits_(limits), sink_(sink) {
    max_samples_ = limits.max_duration.count() * kOutRate / 1000;
  }

  // Returns an error to stop decoding; skips (and counts as bad) frames with absurd parameters.
  Result<bool> push(const AVFrame& frame) {
    if (frame.sample_rate <= 0 || frame.format < 0 || frame.nb_samples <= 0 ||
        frame.ch_layout.nb_channels <= 0) {
      return false;
    }
    if (frame.sample_rate > limits_.max_sample_rate) {
      return fail(Errc::validation_failed, "sample rate " + std::to_string(frame.sample_rate) +
                                               " Hz is above the limit of " +
                                               std::to_string(limits_.max_sample_rate) + " Hz");
    }
    if (frame.ch_layout.nb_channels > limits_.max_channels) {
      return fail(Errc::validation_failed, std::to_string(frame.ch_layout.nb_channels) +
                                               " channels is above the limit of " +
                                               std::to_string(limits_.max_channels));
    }
    if (!swr_ || frame.sample_rate != in_rate_ || frame.format != in_format_ ||
        av_channel_layout_compare(&frame.ch_layout, &in_layout_) != 0) {
      if (swr_) {
        auto flushed = flush();
        if (!flushed) return flushed.error();
      }
      auto configured = configure(frame);
      if (!configured) return configured.error();
    }
    const int capacity = swr_get_out_samples(swr_.get(), frame.nb_samples);
    if (capacity < 0) return fail(Errc::internal, "audio resampler failed");
    buffer_.resize(static_cast<std::size_t>(capacity) + 16);
    auto* out = reinterpret_cast<std::uint8_t*>(buffer_.data());
    const int converted =
        swr_convert(swr_.get(), &out, static_cast<int>(buffer_.size()),
                    const_cast<const std::uint8_t**>(frame.extended_data), frame.nb_samples);
    if (converted < 0) return fail(Errc::internal, "audio resampler failed");
    auto delivered = deliver(static_cast<std::size_t>(converted));
    if (!delivered) return delivered.error();
    return true;
  }

  Result<void> flush() {
    if (!swr_) return {};
    buffer_.resize(4096);
    auto* out = reinterpret_cast<std::uint8_t*>(buffer_.data());
    const int converted =
        swr_convert(swr_.get(), &out, static_cast<int>(buffer_.size()), nullptr, 0);
    if (converted < 0) return fail(Errc::internal, "audio resampler failed");
    return deliver(static_cast<std::size_t>(converted));
  }

  std::int64_t samples_out() const { return samples_out_; }

  ~Converter() { av_channel_layout_uninit(&in_layout_); }
  Converter(const Converter&) = delete;
  Converter& operator=(const Converter&) = delete;

 private:
  Result<void> configure(const AVFrame& frame) {
    av_channel_layout_uninit(&in_layout_);
    if (frame.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC ||
        av_channel_layout_check(&frame.ch_layout) == 0) {
      av_channel_layout_default(&in_layout_, frame.ch_layout.nb_channels);
    } else if (av_channel_layout_copy(&in_layout_, &frame.ch_layout) < 0) {
      return fail(Errc::internal, "out of memory");
    }
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    SwrContext* raw = nullptr;
    int rc = swr_alloc_set_opts2(&raw, &mono, AV_SAMPLE_FMT_S16, kOutRate, &in_layout_,
                                 static_cast<AVSampleFormat>(frame.format), frame.sample_rate, 0,
                                 nullptr);
    ff::SwrPtr swr(raw);
    if (rc >= 0) rc = swr_init(swr.get());
    if (rc < 0) return fail(Errc::validation_failed, "corrupt audio (unusable sample format)");
    // Compare against the frame's own layout next time, not the defaulted one.
    av_channel_layout_uninit(&in_layout_);
    if (av_channel_layout_copy(&in_layout_, &frame.ch_layout) < 0) {
      return fail(Errc::internal, "out of memory");
    }
    swr_ = std::move(swr);
    in_rate_ = frame.sample_rate;
    in_format_ = frame.format;
    return {};
  }

  Result<void> deliver(std::size_t count) {
    if (count == 0) return {};
    samples_out_ += static_cast<std::int64_t>(count);
    if (samples_out_ > max_samples_) return too_long(limits_);
    if (!sink_(std::span<const std::int16_t>(buffer_.data(), count))) {
      return fail(Errc::internal, "output closed");
    }
    return {};
  }

  const DecodeLimits& limits_;
  const PcmSink& sink_;
  ff::SwrPtr swr_;
  AVChannelLayout in_layout_{};
  int in_rate_ = 0;
  int in_format_ = -1;
  std::vector<std::int16_t> buffer_;
  std::int64_t samples_out_ = 0;
  std::int64_t max_samples_ = 0;
};

}  // namespace

std::ptrdiff_t MemorySource::read(std::span<std::uint8_t> out) {
  const std::size_t n = std::min(out.size(), bytes_.size() - pos_);
  if (n == 0) return 0;
  std::memcpy(out.data(), bytes_.data() + pos_, n);
  pos_ += n;
  return static_cast<std::ptrdiff_t>(n);
}

std::int64_t MemorySource::seek(std::int64_t offset, int whence) {
  const auto size = static_cast<std::int64_t>(bytes_.size());
  if (whence == AVSEEK_SIZE) return size;
  const std::int64_t target =
      ff::seek_position(offset, whence, static_cast<std::int64_t>(pos_), size);
  if (target < 0 || target > size) return -1;
  pos_ = static_cast<std::size_t>(target);
  return target;
}

Result<DecodeSummary> decode_stream(ByteSource& source, InputFormat declared,
                                    const DecodeLimits& limits, const PcmSink& sink) {
  if (limits.max_duration.count() <= 0 || limits.max_sample_rate <= 0 || limits.max_channels <= 0) {
    return fail(Errc::internal, "invalid decode limits");
  }
  IoState io{&source};
  auto* io_buffer = static_cast<std::uint8_t*>(av_malloc(kIoBufferSize));
  if (!io_buffer) return fail(Errc::internal, "out of memory");
  ff::AvioPtr avio(avio_alloc_context(io_buffer, kIoBufferSize, 0, &io, &read_callback, nullptr,
                                      &seek_callback));
  if (!avio) {
    av_free(io_buffer);
    return fail(Errc::internal, "out of memory");
  }
  avio->seekable = 0;

  // Probe ourselves (header inspection only) so that a file outside the allowlist is named in
  // the error and no demuxer outside the allowlist ever parses it.
  const AVInputFormat* found = nullptr;
  const int score = av_probe_input_buffer2(avio.get(), &found, "", nullptr, 0, kMaxProbeBytes);
  if (io.read_error) return fail(Errc::internal, "could not read the audio input");
  if (io.bytes_read == 0) return fail(Errc::validation_failed, "empty audio input");
  if (score < 0 || found == nullptr) {
    return fail(Errc::unsupported_media_type, "not an audio file");
  }
  const std::string_view demuxer = found->name;
  if (!allowed_demuxer(demuxer)) {
    return fail(Errc::unsupported_media_type,
                "not an audio file (found: " + short_name(demuxer) + ")");
  }
  // A weak guess (a few bytes that happen to look like an MP3 frame) is garbage, not audio.
  if (score <= AVPROBE_SCORE_RETRY) return fail(Errc::unsupported_media_type, "not an audio file");
  if (!matches_declared(declared, demuxer)) {
    return fail(Errc::unsupported_media_type, "declared " + std::string(to_string(declared)) +
                                                  " but the data is " + short_name(demuxer));
  }
  // Seeking is only offered where it cannot stall a live stream: a whole input in memory,
  // or MP4, whose index may sit at the end.
  // Otherwise the seek callback goes too: FFmpeg calls it even on non-seekable input (to get
  // the size, or to skip ahead), which would block until the whole stream had arrived.
  if (source.seekable() && (source.seek(0, AVSEEK_SIZE) >= 0 || demuxer.starts_with("mov,"))) {
    avio->seekable = AVIO_SEEKABLE_NORMAL;
  } else {
    avio->seek = nullptr;
  }

  AVFormatContext* raw_ctx = avformat_alloc_context();
  if (!raw_ctx) return fail(Errc::internal, "out of memory");
  raw_ctx->pb = avio.get();
  raw_ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
  raw_ctx->io_open = &deny_io_open;
  // Defence in depth: even a forced format outside the allowlist would be refused.
  AVDictionary* options = nullptr;
  av_dict_set(&options, "format_whitelist", kFormatWhitelist, 0);
  av_dict_set(&options, "max_streams", "32", 0);
  int rc = avformat_open_input(&raw_ctx, nullptr, found, &options);
  av_dict_free(&options);
  ff::FormatPtr ctx(raw_ctx);  // null on failure: avformat_open_input freed it
  if (rc < 0) {
    // ENOMEM here is nearly always a header claiming absurd sizes: the file's fault.
    return fail(Errc::validation_failed,
                "corrupt audio (unreadable " + short_name(demuxer) + " header)");
  }

  int index = av_find_best_stream(ctx.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  const auto incomplete = [&](int i) {
    const AVCodecParameters* par = ctx->streams[i]->codecpar;
    return par->codec_id == AV_CODEC_ID_NONE || par->sample_rate <= 0 ||
           par->ch_layout.nb_channels <= 0;
  };
  // Most headers describe the stream fully; only read ahead when one does not, because
  // reading ahead delays the first PCM of a live stream.
  if (index < 0 || incomplete(index)) {
    ctx->probesize = 1 << 20;
    ctx->max_analyze_duration = 5 * AV_TIME_BASE;
    if (avformat_find_stream_info(ctx.get(), nullptr) < 0 && index < 0) {
      return fail(Errc::validation_failed, "corrupt audio (no readable stream)");
    }
    index = av_find_best_stream(ctx.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  }
  if (index < 0) {
    return fail(Errc::unsupported_media_type,
                "not an audio file (no audio stream in " + short_name(demuxer) + ")");
  }
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    if (static_cast<int>(i) != index) ctx->streams[i]->discard = AVDISCARD_ALL;
  }
  AVStream* stream = ctx->streams[index];
  const AVCodecParameters* par = stream->codecpar;
  if (par->sample_rate > limits.max_sample_rate) {
    return fail(Errc::validation_failed, "sample rate " + std::to_string(par->sample_rate) +
                                             " Hz is above the limit of " +
                                             std::to_string(limits.max_sample_rate) + " Hz");
  }
  if (par->ch_layout.nb_channels > limits.max_channels) {
    return fail(Errc::validation_failed, std::to_string(par->ch_layout.nb_channels) +
                                             " channels is above the limit of " +
                                             std::to_string(limits.max_channels));
  }
  if (ctx->duration != AV_NOPTS_VALUE && ctx->duration > 0 &&
      ctx->duration / 1000 > limits.max_duration.count()) {
    return too_long(limits);
  }

  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec || !allowed_codec(codec->name)) {
    const char* name = avcodec_get_name(par->codec_id);
    return fail(Errc::unsupported_media_type,
                std::string("unsupported audio codec (") + (name ? name : "unknown") + ")");
  }
  ff::CodecPtr decoder(avcodec_alloc_context3(codec));
  if (!decoder) return fail(Errc::internal, "out of memory");
  if (avcodec_parameters_to_context(decoder.get(), par) < 0) {
    return fail(Errc::validation_failed, "corrupt audio (bad codec parameters)");
  }
  decoder->thread_count = 1;
  decoder->pkt_timebase = stream->time_base;
  if (avcodec_open2(decoder.get(), codec, nullptr) < 0) {
    return fail(Errc::validation_failed, "corrupt audio (codec would not open)");
  }

  ff::PacketPtr packet(av_packet_alloc());
  ff::FramePtr frame(av_frame_alloc());
  if (!packet || !frame) return fail(Errc::internal, "out of memory");

  DecodeSummary summary;
  summary.container = short_name(demuxer);
  summary.codec = codec->name;
  Converter converter(limits, sink);
  int consecutive_errors = 0;

  // Returns false when decoding must stop because the frame stream is broken for good.
  const auto drain = [&]() -> Result<bool> {
    while (true) {
      rc = avcodec_receive_frame(decoder.get(), frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return true;
      if (rc < 0) {
        ++consecutive_errors;
        return consecutive_errors < kMaxConsecutiveErrors;
      }
      auto pushed = converter.push(*frame);
      av_frame_unref(frame.get());
      if (!pushed) return pushed.error();
      if (*pushed) {
        consecutive_errors = 0;
      } else {
        ++consecutive_errors;
      }
    }
  };

  bool keep_going = true;
  while (keep_going) {
    rc = av_read_frame(ctx.get(), packet.get());
    if (rc < 0) {
      if (rc != AVERROR_EOF) summary.truncated = true;
      break;
    }
    if (packet->stream_index == index) {
      rc = avcodec_send_packet(decoder.get(), packet.get());
      if (rc < 0 && rc != AVERROR(EAGAIN)) ++consecutive_errors;
      auto drained = drain();
      if (!drained) return drained.error();
      keep_going = *drained && consecutive_errors < kMaxConsecutiveErrors;
      if (!keep_going) summary.truncated = true;
    }
    av_packet_unref(packet.get());
  }
  avcodec_send_packet(decoder.get(), nullptr);
  auto drained = drain();
  if (!drained) return drained.error();
  auto flushed = converter.flush();
  if (!flushed) return flushed.error();
  if (io.read_error) return fail(Errc::internal, "could not read the audio input");

  summary.samples_out = converter.samples_out();
  if (summary.samples_out == 0) {
    return fail(Errc::validation_failed, "corrupt audio (nothing could be decoded)");
  }
  return summary;
}

Result<Pcm16> decode_all(std::string_view bytes, InputFormat declared, const DecodeLimits& limits) {
  MemorySource source(bytes);
  Pcm16 pcm;
  const PcmSink sink = [&pcm](std::span<const std::int16_t> samples) {
    pcm.samples.insert(pcm.samples.end(), samples.begin(), samples.end());
    return true;
  };
  auto summary = decode_stream(source, declared, limits, sink);
  if (!summary) return summary.error();
  return pcm;
}

}  // namespace parley::speech::audio
