#include "media/image_probe.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace parley::media {
namespace {

using namespace std::string_literals;

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

// Real files written by real encoders: CPython's Lib/test/imghdrdata (PSF License), 16x16 each.
// python.png is palette-based with cHRM/bKGD chunks, python.jpg is baseline JFIF with DQT/DHT
// and python.webp is VP8X with an ALPH and a lossy VP8 chunk.
const std::string python_png = from_hex(
    "89504e470d0a1a0a0000000d4948445200000010000000100803000000282d0f53000000206348524d00007a2600"
    "0080840000fa00000080e8000075300000ea6000003a98000017709cba513c000001c5504c54450000004e8dc04a"
    "86ba3c719e3768960000000000000000000000000000004e8fc44c8abf4885b6437dad3d74a1396c963666900000"
    "000000005291c6fddd4af9d53e000000326087000000fdd536000000356892000000ecce450000003669931b3145"
    "000000000000e2c345fdd9410000004681b2366791000000f2e16efde96afdcb1b437dae1c324bf5e36ff3c11a40"
    "75a33d73a2000000c29a12000000000000000000000000000000e8c73debc534ebc22aebbe21ebbb18c69b120000"
    "00000000000000000000000000000000000000fdde4e000000000000000000000000f1d03ffad339fdd22ffac719"
    "c097120000000000000000000000000000000000004883b4447ead4078a74c8abcffffff457faf4179a83e74a23a"
    "6f9b3669944985b74680b1427baa3e75a33b709d376a96386c974f8dc14b88bb447dad4078a63d73a0396d99ffe2"
    "55508fc34c89bc4884b53d74a1ffde4bffda414d8bbe4680b03b709cffda42ffd637ffd32d4a87b94781b2437cab"
    "3f76a5ffd738ffcf23ffe661ffe357ffdf4dffdb42ffd32effcf24ffeb6cffe761ffdb43ffd739ffcc1c3a709cff"
    "e762ffe358ffdf4effd32fffdb44ffd73affd330ffd025ffd83affd430ffd026924900020000005674524e5300af"
    "edf7920b032841157ea0a1a3a7aaaa4818bdf7820ab643ed24f74f883db65c4c476bf746f7aa4ea6f7f7d75bb3c2"
    "6ff74b7a3408213c35aaa9a9a9a97920020913122c1ef7401c05014cccf7d87b3b1d4245381ff832107100000001"
    "624b47445a03bba5a2000000f54944415418d36360000246a6b0f008661656360628888c8a8e898d8b6767850924"
    "242625a7a4c6737082795cdc3cbc7cfc0269f1f1824220be707a46586656764e3c50205744548c212fbf203aa630"
    "0ec81797282a9694622849284d4a2e4b8d971697912dafa89463a8aaaea99557501454e25056a9abac576550cbcc"
    "52d7d0d46a686c6aae6b69d55662d08929d4d56b6b6f6ceae86c69edd2e7603030ec366aebe9edebe8ec6fedea32"
    "3661303533b700f22dadac6d6c6ded38ec191c1c9d9c7bfb264c9c34b98bc3c2c515e27ab70953a64e8bd276f770"
    "f4f4020b78fbf84eebf2f30f708679ce34d02248293824d414c806004062427fc82d9be500000025744558746461"
    "74653a63726561746500323031342d30312d32365432303a35393a33372b30323a3030fb9a077700000025744558"
    "74646174653a6d6f6469667900323031342d30312d32365432303a35393a30302b30323a3030c1ef86a600000000"
    "49454e44ae426082");
const std::string python_jpg = from_hex(
    "ffd8ffe000104a46494600010101000100010000ffdb004300030202020202030202020303030304060404040404"
    "080606050609080a0a090809090a0c0f0c0a0b0e0b09090d110d0e0f101011100a0c12131210130f101010ffdb00"
    "430103030304030408040408100b090b101010101010101010101010101010101010101010101010101010101010"
    "1010101010101010101010101010101010101010ffc00011080010001003012200021101031101ffc40016000101"
    "0100000000000000000000000000070405ffc4002410000104010402020300000000000000000102030406050708"
    "121311220014093132ffc4001501010100000000000000000000000000000006ffc4002311000102050305000000"
    "00000000000000010211030405062100123115166181e1ffda000c03010002110311003f0014a6d26a1b73c1e613"
    "12d4951cf31163e42565beba5aec694540b1e520b254a51fd2cab8faf220ab963d976c9335e69b77d7e66da71781"
    "a5571c7f1cea71e24b39d7e32253f21a69ded4714a38b482e84b892a71691ecd2d213bf1efb91a74aceea15a758e"
    "d548ac655b858b81857b21299867a96b94b949654fb9c88529114b812af07ad9f23c807e55be0df662a140cce8e6"
    "9a3d5cb743b3d77a6558b1d9512188bf64b8d3f1c3680429c0d0febb3c02e03c5407b4bdd97b54e627fb6edf9460"
    "148262138db8529828370589727960e432896fc3828ea7528cea208dbe78191f07ad7fffd9");
const std::string python_webp = from_hex(
    "52494646a801000057454250565038580a000000100000000f00000f0000414c5048c30000000127a2a89124e57a"
    "e7185fe7df2a998898ff74718de02630e2e18b7732c8c1115c832b30e8b078158e785135c1080c024f92a06ab055"
    "191cd6b66d462f4ec6763cb6ed77fbaf29ae21a2ff49d1fd8f90f7ba4449241b3a259134f3146d0ec7d3e51620f4"
    "0b14be90e183b71a329e36827f1d297e4e7608fb889eb391ef997346e83282dbf8cc48b2f745307d20fd36178c21"
    "32562da5d66b23bc5de3a55915d59c81a4d96e96758a18310f8aaa2c5034fa3082dfba6b505229b52dcfe954140a"
    "0100000056503820be0000009002009d012a1000100003003425b00274304f08850c7c031d082cfde800fefd74a0"
    "fd029b1f8af7437c9c37f6d20cafd3ff3568e2eea7bdc96f1bf4aac563aeba9f9784df41a23bda5be4eff8cbf1bd"
    "7fe1affa3fe509ecf4bb665fffaa29d97fc96ce786e6ac97b9e4c6f493238c5fdd8f3955207f954ffc39f8ff6fd2"
    "6b03e89fbc8398666db1d513ff7617e6b1fe5d8ae49f47bfb3fabffe1d1df3128ffe5ccfc1faf918c3bdcfcf1f91"
    "39a001fd9a014b312cdebcd97baaac000000");

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}
std::string le16(std::uint32_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8)}; }
std::string le24(std::uint32_t v) { return le16(v) + static_cast<char>(v >> 16); }
std::string le32(std::uint32_t v) { return le16(v) + le16(v >> 16); }

std::uint32_t crc32(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (char c : data) {
    crc ^= static_cast<std::uint8_t>(c);
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
  }
  return ~crc;
}

std::string png_chunk(std::string_view type, std::string_view data) {
  const std::string body = std::string(type) + std::string(data);
  return be32(static_cast<std::uint32_t>(data.size())) + body + be32(crc32(body));
}

// A complete, decodable greyscale PNG: one zlib "stored" block holding one row of one pixel.
// A larger width/height gives a header that lies about its size, like a decompression bomb.
std::string make_png(std::uint32_t width, std::uint32_t height, char depth = 8,
                     char color_type = 0) {
  return "\x89PNG\r\n\x1a\n"s +
         png_chunk("IHDR", be32(width) + be32(height) + depth + color_type + "\0\0\0"s) +
         png_chunk("IDAT", from_hex("7801010200fdff000000020001")) + png_chunk("IEND", "");
}

// SOI, APP0 (JFIF), COM, an 8-bit frame header of the given type, a scan and EOI; with fill
// bytes and a stray RST marker between segments, which decoders accept.
std::string make_jpeg(std::uint32_t width, std::uint32_t height, char sof = '\xc0',
                      char precision = 8) {
  std::string jpeg = "\xff\xd8"s;
  jpeg += "\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"s;
  jpeg += "\xff\xff\xff\xfe\x00\x06hi\xff\xd9"s;  // fill bytes; a COM segment holding "\xff\xd9"
  jpeg += "\xff\xd0"s;
  jpeg += "\xff"s + sof + "\x00\x0b"s + precision + be32(height).substr(2) + be32(width).substr(2) +
          "\x01\x01\x11\x00"s;
  jpeg += "\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"s + "\x12\xff\x00\x34"s + "\xff\xd9"s;
  return jpeg;
}

std::string riff_webp(std::string_view chunks) {
  return "RIFF" + le32(static_cast<std::uint32_t>(4 + chunks.size())) + "WEBP" +
         std::string(chunks);
}

std::string webp_chunk(std::string_view fourcc, std::string_view payload) {
  std::string chunk =
      std::string(fourcc) + le32(static_cast<std::uint32_t>(payload.size())) + std::string(payload);
  if (payload.size() % 2 == 1) chunk += '\0';
  return chunk;
}

// A lossless bitstream: header, then no transform, no colour cache, no meta prefix codes and
// five single-symbol prefix codes (so every pixel is transparent black and costs zero bits).
std::string vp8l_chunk(std::uint32_t width, std::uint32_t height, std::uint32_t version = 0) {
  return webp_chunk("VP8L", "\x2f"s + le32((width - 1) | ((height - 1) << 14) | (version << 29)) +
                                "\x88\x88\x08"s);
}

std::string vp8_chunk(std::uint32_t width, std::uint32_t height, char frame_tag = '\x10') {
  return webp_chunk("VP8 ", frame_tag + "\x02\x00\x9d\x01\x2a"s + le16(width) + le16(height) +
                                "\x00\x00\x00\x00"s);
}

std::string vp8x_chunk(std::uint32_t width, std::uint32_t height) {
  return webp_chunk("VP8X", "\x10\0\0\0"s + le24(width - 1) + le24(height - 1));
}

ImageInfo probe_ok(std::string_view bytes) {
  auto info = probe_image(bytes);
  EXPECT_TRUE(info) << info.error().message;
  return info ? *info : ImageInfo{};
}

Error probe_error(std::string_view bytes) {
  auto info = probe_image(bytes);
  EXPECT_FALSE(info) << "accepted as " << to_string(info->format);
  if (info) return {};
  EXPECT_EQ(info.error().code, Errc::unsupported_media_type) << info.error().message;
  return info.error();
}

TEST(ImageProbe, ReadsRealPngJpegAndWebpFiles) {
  const auto png = probe_ok(python_png);
  EXPECT_EQ(png.format, ImageFormat::png);
  EXPECT_EQ(png.mime_type, "image/png");
  EXPECT_EQ(png.extension, ".png");
  EXPECT_EQ(png.width, 16u);
  EXPECT_EQ(png.height, 16u);

  const auto jpeg = probe_ok(python_jpg);
  EXPECT_EQ(jpeg.format, ImageFormat::jpeg);
  EXPECT_EQ(jpeg.mime_type, "image/jpeg");
  EXPECT_EQ(jpeg.extension, ".jpg");
  EXPECT_EQ(jpeg.width, 16u);
  EXPECT_EQ(jpeg.height, 16u);

  const auto webp = probe_ok(python_webp);
  EXPECT_EQ(webp.format, ImageFormat::webp);
  EXPECT_EQ(webp.mime_type, "image/webp");
  EXPECT_EQ(webp.extension, ".webp");
  EXPECT_EQ(webp.width, 16u);
  EXPECT_EQ(webp.height, 16u);
}

TEST(ImageProbe, ReadsHandBuiltMinimalFiles) {
  auto png = probe_ok(make_png(1, 1));
  EXPECT_EQ(png.format, ImageFormat::png);
  EXPECT_EQ(png.width, 1u);
  EXPECT_EQ(png.height, 1u);

  for (char sof : {'\xc0', '\xc1', '\xc2'}) {
    auto jpeg = probe_ok(make_jpeg(640, 3, sof));
    EXPECT_EQ(jpeg.format, ImageFormat::jpeg);
    EXPECT_EQ(jpeg.width, 640u);
    EXPECT_EQ(jpeg.height, 3u);
  }

  auto lossless = probe_ok(riff_webp(vp8l_chunk(1, 1)));
  EXPECT_EQ(lossless.format, ImageFormat::webp);
  EXPECT_EQ(lossless.width, 1u);
  EXPECT_EQ(lossless.height, 1u);
  auto wide = probe_ok(riff_webp(vp8l_chunk(16384, 7)));
  EXPECT_EQ(wide.width, 16384u);
  EXPECT_EQ(wide.height, 7u);

  auto lossy = probe_ok(riff_webp(vp8_chunk(640, 480)));
  EXPECT_EQ(lossy.width, 640u);
  EXPECT_EQ(lossy.height, 480u);

  auto extended = probe_ok(riff_webp(vp8x_chunk(300, 200) + vp8l_chunk(300, 200)));
  EXPECT_EQ(extended.width, 300u);
  EXPECT_EQ(extended.height, 200u);
}

TEST(ImageProbe, TrailingBytesAfterTheImageAreTolerated) {
  EXPECT_TRUE(probe_image(make_png(1, 1) + "tail"));
  EXPECT_TRUE(probe_image(python_jpg + "\0\0"s));
  EXPECT_TRUE(probe_image(python_webp + "x"));
}

TEST(ImageProbe, RejectsEveryTruncationOfValidFiles) {
  for (const std::string& file :
       {python_png, python_jpg, python_webp, make_png(1, 1), make_jpeg(2, 2),
        riff_webp(vp8x_chunk(2, 2) + vp8l_chunk(2, 2)), riff_webp(vp8_chunk(2, 2))}) {
    for (std::size_t n = 0; n < file.size(); ++n) {
      auto info = probe_image(std::string_view(file).substr(0, n));
      ASSERT_FALSE(info) << "prefix of " << n << " of " << file.size() << " bytes accepted";
      EXPECT_EQ(info.error().code, Errc::unsupported_media_type);
    }
  }
}

TEST(ImageProbe, RejectsOtherFormatsTextAndMarkupWithClearMessages) {
  EXPECT_EQ(probe_error("GIF89a<script>alert(1)</script>").message,
            "GIF images are not accepted; only PNG, JPEG and WebP images are accepted");
  EXPECT_NE(probe_error("GIF87a\x01\x00\x01\x00").message.find("GIF"), std::string::npos);
  const std::string markup = "markup (HTML, SVG or XML) is not accepted";
  EXPECT_EQ(probe_error("<svg xmlns=\"http://www.w3.org/2000/svg\"/>").message.find(markup), 0u);
  EXPECT_EQ(probe_error("<?xml version=\"1.0\"?><svg/>").message.find(markup), 0u);
  EXPECT_EQ(probe_error("\xef\xbb\xbf\r\n  <!DOCTYPE html><html>").message.find(markup), 0u);
  EXPECT_NE(probe_error("%PDF-1.7\n").message.find("PDF"), std::string::npos);
  EXPECT_NE(probe_error("").message.find("empty"), std::string::npos);
  EXPECT_NE(probe_error("BM\x3a\0\0\0"s).message.find("unrecognised"), std::string::npos);
  probe_error("RIFF\x24\0\0\0WAVEfmt "s);
  probe_error("photo.png");  // a file name is not evidence of anything
}

TEST(ImageProbe, RejectsCorruptOrImpossiblePngHeaders) {
  probe_error(make_png(0, 1));
  probe_error(make_png(1, 0));
  probe_error(make_png(0x80000000u, 1));
  probe_error(make_png(1, 1, 3, 2));  // RGB needs 8 or 16 bits
  probe_error(make_png(1, 1, 8, 5));  // no colour type 5
  std::string bad_crc = make_png(1, 1);
  bad_crc[30] ^= 1;
  EXPECT_EQ(probe_error(bad_crc).message, "PNG IHDR checksum mismatch");
  std::string huge_chunk = make_png(1, 1);
  huge_chunk.replace(33, 4, be32(0x7FFFFFF0u));  // IDAT length pointing past the end
  probe_error(huge_chunk);
  const auto no_idat = "\x89PNG\r\n\x1a\n"s +
                       png_chunk("IHDR", be32(1) + be32(1) + "\x08\x00\x00\x00\x00"s) +
                       png_chunk("IEND", "");
  EXPECT_EQ(probe_error(no_idat).message, "PNG has no image data");
  probe_error("\x89PNG\r\n\x1a\n"s + png_chunk("tEXt", "a") + make_png(1, 1).substr(8));
}

TEST(ImageProbe, RejectsUnsupportedOrCorruptJpegs) {
  probe_error(make_jpeg(0, 1));
  probe_error(make_jpeg(1, 0));  // height defined by DNL
  EXPECT_EQ(probe_error(make_jpeg(1, 1, '\xc3')).message, "JPEG coding process is not supported");
  probe_error(make_jpeg(1, 1, '\xc9'));      // arithmetic coding
  probe_error(make_jpeg(1, 1, '\xc0', 12));  // 12-bit samples
  probe_error("\xff\xd8\xff\xd9"s);          // no frame at all
  probe_error("\xff\xd8\xff\xda\x00\x02"s);  // scan before frame
  probe_error("\xff\xd8\xff\xe0\x00\x01"s);  // segment length below 2
  probe_error("\xff\xd8\xff\xe0\x00\x02garbage\xff\xc0"s);
  probe_error("\xff\xd8\xff\xe0\xff\xff"s);  // length past the end
  std::string no_eoi = make_jpeg(1, 1);
  no_eoi.resize(no_eoi.size() - 2);
  EXPECT_EQ(probe_error(no_eoi + "\0\0\0\0"s).message, "truncated JPEG: no end of image marker");
}

TEST(ImageProbe, RejectsCorruptWebps) {
  probe_error(riff_webp(vp8_chunk(640, 480, '\x11')));  // not a key frame
  probe_error(riff_webp(vp8_chunk(0, 480)));
  probe_error(riff_webp(vp8l_chunk(1, 1, 1)));  // unknown VP8L version
  EXPECT_EQ(probe_error(riff_webp(vp8x_chunk(2, 2))).message, "WebP has no image data");
  probe_error(riff_webp(vp8x_chunk(2, 2) + webp_chunk("EXIF", "abc")));
  EXPECT_EQ(probe_error(riff_webp(vp8x_chunk(1u << 24, 1u << 24) + vp8l_chunk(1, 1))).message,
            "WebP canvas is too large");
  probe_error(riff_webp(webp_chunk("ALPH", "x")));
  std::string lying_size = riff_webp(vp8l_chunk(1, 1));
  lying_size.replace(4, 4, le32(0xFFFFFFF0u));
  EXPECT_EQ(probe_error(lying_size).message, "truncated WebP");
}

TEST(ImageProbe, CheckDimensionsRejectsADecompressionBombFromItsHeader) {
  // 20000x20000 is 400 megapixels (1.6 GB as RGBA) in a file of under 100 bytes.
  const std::string bomb = make_png(20000, 20000);
  ASSERT_LT(bomb.size(), 100u);
  const auto info = probe_ok(bomb);
  EXPECT_EQ(info.width, 20000u);
  auto checked = check_dimensions(info, 8192, 8192, 40'000'000);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, Errc::validation_failed);
  EXPECT_NE(checked.error().message.find("20000x20000"), std::string::npos);
}

TEST(ImageProbe, CheckDimensionsEnforcesEachLimit) {
  ImageInfo info;
  info.width = 4000;
  info.height = 3000;
  EXPECT_TRUE(check_dimensions(info, 4000, 3000, 12'000'000));
  EXPECT_TRUE(check_dimensions(info, 0, 0, 0));  // 0 = no limit
  EXPECT_EQ(check_dimensions(info, 3999, 3000, 0).error().code, Errc::validation_failed);
  EXPECT_EQ(check_dimensions(info, 4000, 2999, 0).error().code, Errc::validation_failed);
  auto pixels = check_dimensions(info, 0, 0, 11'999'999);
  ASSERT_FALSE(pixels);
  EXPECT_EQ(pixels.error().code, Errc::validation_failed);
  info.width = info.height = 0xFFFFFFFFu;  // the product must not overflow
  EXPECT_FALSE(check_dimensions(info, 0, 0, 0xFFFFFFFFu));
}

}  // namespace
}  // namespace parley::media
