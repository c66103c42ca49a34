#pragma once
// Image type and size from the container headers alone, for uploads (SECURITY F43, F44).
//
// The type comes from magic bytes, never from a file name or a client-supplied Content-Type,
// and only PNG, JPEG and WebP are accepted: GIF, SVG, HTML, PDF and polyglots such as
// `GIF89a<script>` are refused. Width and height are read from PNG IHDR, JPEG SOFn and WebP
// VP8/VP8L/VP8X headers without decoding any pixel, so a decompression bomb (a 20000x20000
// header over a few hundred bytes) is rejected by check_dimensions before a decoder ever runs.
// Passing the probe does not make a file safe to decode: decoding still happens in a
// sandboxed subprocess that re-encodes the image.

#include <cstdint>
#include <string_view>

#include "core/error.hpp"

namespace parley::media {

enum class ImageFormat { png, jpeg, webp };

struct ImageInfo {
  ImageFormat format = ImageFormat::png;
  std::string_view mime_type;  ///< "image/png", "image/jpeg" or "image/webp" (static storage)
  std::string_view extension;  ///< ".png", ".jpg" or ".webp" (static storage)
  std::uint32_t width = 0;     ///< pixels, >= 1
  std::uint32_t height = 0;    ///< pixels, >= 1
};

/// Identifies a PNG, JPEG or WebP image and reads its dimensions from the headers.
///
/// Checks made (cheap, no decoding): PNG signature, a well-formed IHDR with a valid CRC and
/// legal bit depth/colour type, and a chunk walk that must reach IEND inside `bytes`; JPEG SOI,
/// a marker walk (fill bytes, RSTn, segment lengths) to a baseline, extended or progressive
/// 8-bit SOF, and an EOI marker after it; WebP RIFF size within `bytes`, a VP8 key frame, VP8L
/// or VP8X header, and for VP8X an image chunk. Dimensions must be non-zero and within the
/// format's own limits.
///
/// Errors: Errc::unsupported_media_type for anything else — other formats, text or markup,
/// truncated or inconsistent headers, zero or impossible dimensions — with a message naming
/// the problem. Size policy is check_dimensions' job. Thread-safe (pure function); never reads
/// outside `bytes`; never throws for bad input.
Result<ImageInfo> probe_image(std::string_view bytes);

/// Enforces size limits on probed dimensions (0 means "no limit" for that bound).
///
/// Errors: Errc::validation_failed when width > max_width, height > max_height or
/// width * height > max_pixels (computed in 64 bits). Thread-safe.
Result<void> check_dimensions(const ImageInfo& info, std::uint32_t max_width,
                              std::uint32_t max_height, std::uint64_t max_pixels);

/// "png", "jpeg" or "webp" (for logs).
std::string_view to_string(ImageFormat format) noexcept;

}  // namespace parley::media
