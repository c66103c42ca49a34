#include "media/image_probe.hpp"

#include <string>

namespace parley::media {

namespace {

constexpr std::string_view png_signature("\x89PNG\r\n\x1a\n", 8);
constexpr std::string_view accepted = "only PNG, JPEG and WebP images are accepted";

Error unsupported(std::string message) {
  return fail(Errc::unsupported_media_type, std::move(message));
}

// Byte readers. Callers check bounds first; these only read what they are given.
std::uint8_t u8(std::string_view b, std::size_t at) { return static_cast<std::uint8_t>(b[at]); }
std::uint32_t be16(std::string_view b, std::size_t at) {
  return (std::uint32_t{u8(b, at)} << 8) | u8(b, at + 1);
}
std::uint32_t be32(std::string_view b, std::size_t at) {
  return (be16(b, at) << 16) | be16(b, at + 2);
}
std::uint32_t le16(std::string_view b, std::size_t at) {
  return std::uint32_t{u8(b, at)} | (std::uint32_t{u8(b, at + 1)} << 8);
}
std::uint32_t le24(std::string_view b, std::size_t at) {
  return le16(b, at) | (std::uint32_t{u8(b, at + 2)} << 16);
}
std::uint32_t le32(std::string_view b, std::size_t at) {
  return le16(b, at) | (le16(b, at + 2) << 16);
}

// CRC-32 as PNG defines it; only ever run over the 17 bytes of IHDR, so bitwise is enough.
std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (char c : data) {
    crc ^= static_cast<std::uint8_t>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

ImageInfo make_info(ImageFormat format, std::uint32_t width, std::uint32_t height) {
  ImageInfo info;
  info.format = format;
  switch (format) {
    case ImageFormat::png:
      info.mime_type = "image/png";
      info.extension = ".png";
      break;
    case ImageFormat::jpeg:
      info.mime_type = "image/jpeg";
      info.extension = ".jpg";
      break;
    case ImageFormat::webp:
      info.mime_type = "image/webp";
      info.extension = ".webp";
      break;
  }
  info.width = width;
  info.height = height;
  return info;
}

bool valid_png_depth(std::uint8_t color_type, std::uint8_t depth) {
  switch (color_type) {
    case 0:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2:
    case 4:
    case 6:
      return depth == 8 || depth == 16;
    default:
      return false;
  }
}

bool is_chunk_type(std::string_view type) {
  for (char c : type) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  }
  return true;
}

Result<ImageInfo> probe_png(std::string_view b) {
  // Signature (8) + IHDR length (4) + "IHDR" (4) + 13 bytes of data + CRC (4).
  constexpr std::size_t ihdr_end = 33;
  if (b.size() < ihdr_end) return unsupported("truncated PNG header");
  if (be32(b, 8) != 13 || b.substr(12, 4) != "IHDR") {
    return unsupported("PNG does not start with a valid IHDR chunk");
  }
  if (crc32(b.substr(12, 17)) != be32(b, 29)) return unsupported("PNG IHDR checksum mismatch");
  const std::uint32_t width = be32(b, 16);
  const std::uint32_t height = be32(b, 20);
  // PNG limits each dimension to 2^31 - 1.
  if (width == 0 || height == 0 || width > 0x7FFFFFFFu || height > 0x7FFFFFFFu) {
    return unsupported("PNG has invalid dimensions");
  }
  if (!valid_png_depth(u8(b, 25), u8(b, 24)) || u8(b, 26) != 0 || u8(b, 27) != 0 || u8(b, 28) > 1) {
    return unsupported("PNG IHDR has invalid parameters");
  }
  // Walk the chunk headers (not their data) to IEND: a truncated upload or a chunk length that
  // points past the end is refused here instead of inside the decoder.
  bool has_data = false;
  std::size_t pos = ihdr_end;
  for (;;) {
    if (b.size() - pos < 12) return unsupported("truncated PNG: no IEND chunk");
    const std::uint32_t length = be32(b, pos);
    const auto type = b.substr(pos + 4, 4);
    if (length > 0x7FFFFFFFu || !is_chunk_type(type)) return unsupported("corrupt PNG chunk");
    if (b.size() - pos - 12 < length) return unsupported("truncated PNG chunk");
    if (type == "IHDR") return unsupported("PNG has two IHDR chunks");
    if (type == "IDAT") has_data = true;
    if (type == "IEND") break;
    pos += 12 + std::size_t{length};
  }
  if (!has_data) return unsupported("PNG has no image data");
  return make_info(ImageFormat::png, width, height);
}

Result<ImageInfo> probe_jpeg(std::string_view b) {
  std::size_t pos = 2;  // after SOI
  for (;;) {
    if (pos >= b.size()) return unsupported("truncated JPEG: no frame header");
    if (u8(b, pos) != 0xFF) return unsupported("corrupt JPEG: expected a marker");
    while (pos < b.size() && u8(b, pos) == 0xFF) ++pos;  // fill bytes before a marker
    if (pos >= b.size()) return unsupported("truncated JPEG: no frame header");
    const std::uint8_t marker = u8(b, pos++);
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // TEM, RSTn: no length
    if (marker == 0x00 || marker == 0xD8) return unsupported("corrupt JPEG marker sequence");
    if (marker == 0xD9 || marker == 0xDA) return unsupported("JPEG has no frame header");
    if (b.size() - pos < 2) return unsupported("truncated JPEG segment");
    const std::uint32_t length = be16(b, pos);  // includes the two length bytes
    if (length < 2) return unsupported("corrupt JPEG segment length");
    if (b.size() - pos < length) return unsupported("truncated JPEG segment");
    const bool is_sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (!is_sof) {
      pos += length;
      continue;
    }
    // Browsers decode only baseline, extended and progressive Huffman JPEGs.
    if (marker > 0xC2) return unsupported("JPEG coding process is not supported");
    if (length < 8) return unsupported("corrupt JPEG frame header");
    const std::uint32_t precision = u8(b, pos + 2);
    const std::uint32_t height = be16(b, pos + 3);
    const std::uint32_t width = be16(b, pos + 5);
    const std::uint32_t components = u8(b, pos + 7);
    if (precision != 8) return unsupported("JPEG sample precision is not supported");
    if (components != 1 && components != 3 && components != 4) {
      return unsupported("JPEG component count is not supported");
    }
    if (length != 8 + 3 * components) return unsupported("corrupt JPEG frame header");
    // A zero height means "defined later by a DNL marker", which browsers do not support.
    if (width == 0 || height == 0) return unsupported("JPEG has invalid dimensions");
    // EOI must follow somewhere: catches uploads cut short. An EOI inside an earlier APP1
    // thumbnail does not count because the search starts after the frame header.
    if (b.find(std::string_view("\xFF\xD9", 2), pos + length) == std::string_view::npos) {
      return unsupported("truncated JPEG: no end of image marker");
    }
    return make_info(ImageFormat::jpeg, width, height);
  }
}

Result<ImageInfo> probe_webp(std::string_view b) {
  // "RIFF" size "WEBP", then chunks of fourcc (4) + payload size (4, little-endian) + payload
  // padded to an even length. The RIFF size counts everything after its own 8 bytes.
  const std::uint64_t riff_end = std::uint64_t{le32(b, 4)} + 8;
  if (riff_end > b.size()) return unsupported("truncated WebP");
  const auto riff = b.substr(0, static_cast<std::size_t>(riff_end));
  if (riff.size() < 20) return unsupported("truncated WebP");
  const auto fourcc = riff.substr(12, 4);
  const std::uint32_t size = le32(riff, 16);
  if (riff.size() - 20 < size) return unsupported("truncated WebP chunk");
  const auto payload = riff.substr(20, size);

  std::uint64_t width = 0;
  std::uint64_t height = 0;
  if (fourcc == "VP8 ") {
    // Frame tag (3 bytes, bit 0 clear on key frames), start code 9d 01 2a, then 14-bit width
    // and height each followed by a 2-bit scale.
    if (payload.size() < 10) return unsupported("truncated WebP VP8 header");
    if ((u8(payload, 0) & 1) != 0 || payload.substr(3, 3) != "\x9d\x01\x2a") {
      return unsupported("corrupt WebP VP8 header");
    }
    width = le16(payload, 6) & 0x3FFF;
    height = le16(payload, 8) & 0x3FFF;
  } else if (fourcc == "VP8L") {
    // Signature 0x2f, then 14 bits width-1, 14 bits height-1, 1 bit alpha, 3 bits version 0.
    if (payload.size() < 5) return unsupported("truncated WebP VP8L header");
    const std::uint32_t bits = le32(payload, 1);
    if (u8(payload, 0) != 0x2F || (bits >> 29) != 0) {
      return unsupported("corrupt WebP VP8L header");
    }
    width = (bits & 0x3FFF) + 1;
    height = ((bits >> 14) & 0x3FFF) + 1;
  } else if (fourcc == "VP8X") {
    // Flags (1), reserved (3), canvas width-1 (24 bits), canvas height-1 (24 bits).
    if (payload.size() < 10) return unsupported("truncated WebP VP8X header");
    width = std::uint64_t{le24(payload, 4)} + 1;
    height = std::uint64_t{le24(payload, 7)} + 1;
    if (width * height > 0xFFFFFFFFu) return unsupported("WebP canvas is too large");
    // The extended format must still carry image data (a still image or animation frames).
    bool has_image = false;
    std::uint64_t pos = 20 + std::uint64_t{size} + (size & 1);
    while (!has_image && pos + 8 <= riff.size()) {
      const auto type = riff.substr(static_cast<std::size_t>(pos), 4);
      const std::uint32_t chunk = le32(riff, static_cast<std::size_t>(pos) + 4);
      if (riff.size() - pos - 8 < chunk) return unsupported("truncated WebP chunk");
      has_image = type == "VP8 " || type == "VP8L" || type == "ANMF";
      pos += 8 + std::uint64_t{chunk} + (chunk & 1);
    }
    if (!has_image) return unsupported("WebP has no image data");
  } else {
    return unsupported("unknown WebP chunk");
  }
  if (width == 0 || height == 0) return unsupported("WebP has invalid dimensions");
  return make_info(ImageFormat::webp, static_cast<std::uint32_t>(width),
                   static_cast<std::uint32_t>(height));
}

// A friendlier message for the formats people actually try to upload.
Error not_an_accepted_image(std::string_view b) {
  if (b.starts_with("GIF87a") || b.starts_with("GIF89a")) {
    return unsupported("GIF images are not accepted; " + std::string(accepted));
  }
  if (b.starts_with("%PDF-"))
    return unsupported("PDF files are not accepted; " + std::string(accepted));
  auto text = b;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' ||
                           text.front() == '\n')) {
    text.remove_prefix(1);
  }
  if (text.starts_with("<")) {
    return unsupported("markup (HTML, SVG or XML) is not accepted; " + std::string(accepted));
  }
  if (b.empty()) return unsupported("the file is empty; " + std::string(accepted));
  return unsupported("unrecognised file type; " + std::string(accepted));
}

}  // namespace

Result<ImageInfo> probe_image(std::string_view bytes) {
  if (bytes.starts_with(png_signature)) return probe_png(bytes);
  if (bytes.starts_with("\xFF\xD8\xFF")) return probe_jpeg(bytes);
  if (bytes.size() >= 12 && bytes.starts_with("RIFF") && bytes.substr(8, 4) == "WEBP") {
    return probe_webp(bytes);
  }
  return not_an_accepted_image(bytes);
}

Result<void> check_dimensions(const ImageInfo& info, std::uint32_t max_width,
                              std::uint32_t max_height, std::uint64_t max_pixels) {
  const std::string size = std::to_string(info.width) + "x" + std::to_string(info.height);
  if ((max_width != 0 && info.width > max_width) || (max_height != 0 && info.height > max_height)) {
    const auto bound = [](std::uint32_t limit) {
      return limit == 0 ? std::string("any") : std::to_string(limit);
    };
    return fail(Errc::validation_failed, "image is " + size + " pixels; the maximum is " +
                                             bound(max_width) + "x" + bound(max_height));
  }
  // 64-bit product: two 32-bit dimensions cannot overflow it.
  const std::uint64_t pixels = std::uint64_t{info.width} * info.height;
  if (max_pixels != 0 && pixels > max_pixels) {
    return fail(Errc::validation_failed, "image is " + size + " (" + std::to_string(pixels) +
                                             " pixels); the maximum is " +
                                             std::to_string(max_pixels) + " pixels");
  }
  return {};
}

std::string_view to_string(ImageFormat format) noexcept {
  switch (format) {
    case ImageFormat::png:
      return "png";
    case ImageFormat::jpeg:
      return "jpeg";
    case ImageFormat::webp:
      return "webp";
  }
  return "unknown";
}

}  // namespace parley::media
