#pragma once
// FFmpeg headers (C, with macros GCC would warn about) and RAII owners for their objects.
// Header-only, so it adds no link dependency: used by src/speech/audio (decoding, resampling)
// and src/speech/tts (encoding), which each link the FFmpeg libraries they call.

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}
#pragma GCC diagnostic pop

#include <cstdint>
#include <cstdio>
#include <memory>

namespace parley::speech::audio::ff {

struct AvioDeleter {
  void operator()(AVIOContext* io) const noexcept {
    // The buffer may have been reallocated by FFmpeg: free the current one, not ours.
    av_freep(&io->buffer);
    avio_context_free(&io);
  }
};
/// An opened demuxer (avformat_open_input).
struct FormatDeleter {
  void operator()(AVFormatContext* ctx) const noexcept { avformat_close_input(&ctx); }
};
/// A muxer (avformat_alloc_output_context2); its AVIO context is owned separately.
struct OutputFormatDeleter {
  void operator()(AVFormatContext* ctx) const noexcept { avformat_free_context(ctx); }
};
struct CodecDeleter {
  void operator()(AVCodecContext* ctx) const noexcept { avcodec_free_context(&ctx); }
};
struct FrameDeleter {
  void operator()(AVFrame* frame) const noexcept { av_frame_free(&frame); }
};
struct PacketDeleter {
  void operator()(AVPacket* packet) const noexcept { av_packet_free(&packet); }
};
struct SwrDeleter {
  void operator()(SwrContext* swr) const noexcept { swr_free(&swr); }
};

using AvioPtr = std::unique_ptr<AVIOContext, AvioDeleter>;
using FormatPtr = std::unique_ptr<AVFormatContext, FormatDeleter>;
using OutputFormatPtr = std::unique_ptr<AVFormatContext, OutputFormatDeleter>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

/// Where an lseek-style seek of an AVIO callback lands: `offset` from the start (SEEK_SET),
/// from `pos` (SEEK_CUR) or from `size` (SEEK_END). -1 for any other `whence` (AVSEEK_SIZE is
/// the caller's to answer, AVSEEK_FORCE to mask off) or for a position before the start.
inline std::int64_t seek_position(std::int64_t offset, int whence, std::int64_t pos,
                                  std::int64_t size) noexcept {
  std::int64_t target = 0;
  switch (whence) {
    case SEEK_SET:
      target = offset;
      break;
    case SEEK_CUR:
      target = pos + offset;
      break;
    case SEEK_END:
      target = size + offset;
      break;
    default:
      return -1;
  }
  return target < 0 ? -1 : target;
}

}  // namespace parley::speech::audio::ff
