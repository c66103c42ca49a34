// Avatar uploads: the type comes from the bytes, sizes and dimensions are limited before any
// decoding, files get server-made names and are served with the right headers.

#include <gtest/gtest.h>

#include <filesystem>

#include "api_test_support.hpp"
#include "support/test_server.hpp"

namespace parley::testing {
namespace {

namespace json = boost::json;

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

// A real 1x1 PNG.
const std::string kPng = from_hex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c63000100"
    "000500010d0a2db40000000049454e44ae426082");

std::uint32_t crc32(std::string_view bytes) {
  std::uint32_t crc = 0xffffffffu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// The 1x1 PNG with other dimensions in its header (and a correct IHDR checksum): a valid file
// as far as its header goes, which is all an attacker needs for a decompression bomb.
std::string png_claiming(std::uint32_t width, std::uint32_t height) {
  std::string png = kPng;
  const auto put = [&png](std::size_t at, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) png[at + i] = static_cast<char>((value >> (24 - 8 * i)) & 0xff);
  };
  put(16, width);
  put(20, height);
  put(29, crc32(std::string_view(png).substr(12, 17)));  // over "IHDR" and its 13 data bytes
  return png;
}

std::string multipart(const std::string& field, const std::string& filename,
                      const std::string& type, const std::string& bytes) {
  return "--XBOUNDARYX\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\"" +
         filename + "\"\r\nContent-Type: " + type + "\r\n\r\n" + bytes + "\r\n--XBOUNDARYX--\r\n";
}

class AvatarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reply = post_json(server_.port(), "/api/register",
                           {{"email", "ava@example.test"},
                            {"username", "ava"},
                            {"password", "a long and private passphrase"}});
    ASSERT_EQ(reply.result_int(), 201) << reply.body();
    token_ = account_of(reply).access_token;
  }
  Reply upload(const std::string& body, const std::string& token,
               const std::string& content_type = "multipart/form-data; boundary=XBOUNDARYX") {
    Headers headers{{"Content-Type", content_type}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return request(server_.port(), http::verb::post, "/api/upload-avatar", body, headers);
  }
  std::size_t stored_files() const {
    std::size_t n = 0;
    const auto folder = server_.folder() / "uploads" / "avatars";
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
      if (entry.is_regular_file()) ++n;
    }
    return n;
  }

  TestServer server_{DatabaseKind::sqlite, {{"PARLEY_MAX_AVATAR_BYTES", "65536"}}};
  std::string token_;
};

TEST_F(AvatarTest, AValidImageIsStoredUnderARandomNameAndServedSafely) {
  auto reply = upload(multipart("avatar", "../../etc/passwd.html", "text/html", kPng), token_);
  ASSERT_EQ(reply.result_int(), 200) << reply.body();
  const std::string url(json_of(reply).at("user").at("avatar_url").as_string());
  ASSERT_TRUE(url.starts_with(std::string(TestServer::kBackendUrl) + "/uploads/avatars/")) << url;
  EXPECT_TRUE(url.ends_with(".png")) << "the type comes from the bytes, not the name";
  const std::string path = url.substr(std::string(TestServer::kBackendUrl).size());
  auto image = request(server_.port(), http::verb::get, path);
  ASSERT_EQ(image.result_int(), 200);
  EXPECT_EQ(image[http::field::content_type], "image/png");
  EXPECT_EQ(image["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(image["Content-Security-Policy"], "sandbox");
  EXPECT_EQ(image.body(), kPng);
  // A second upload replaces the first file instead of accumulating files.
  ASSERT_EQ(upload(multipart("avatar", "again.png", "image/png", kPng), token_).result_int(), 200);
  EXPECT_EQ(stored_files(), 1u);
  EXPECT_EQ(request(server_.port(), http::verb::get, path).result_int(), 404);
}

TEST_F(AvatarTest, FakesOversizeAndHugeDimensionsAreRefused) {
  const std::string html = "<html><script>alert(1)</script></html>";
  auto fake = upload(multipart("avatar", "cat.png", "image/png", html), token_);
  EXPECT_EQ(fake.result_int(), 415) << fake.body();
  auto gif =
      upload(multipart("avatar", "x.gif", "image/gif", "GIF89a<script>alert(1)</script>"), token_);
  EXPECT_EQ(gif.result_int(), 415);
  auto svg = upload(
      multipart("avatar", "x.svg", "image/svg+xml", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
      token_);
  EXPECT_EQ(svg.result_int(), 415);
  auto huge =
      upload(multipart("avatar", "big.png", "image/png", png_claiming(20000, 20000)), token_);
  EXPECT_EQ(huge.result_int(), 422) << huge.body();
  auto oversize =
      upload(multipart("avatar", "big.png", "image/png", kPng + std::string(200000, 'x')), token_);
  EXPECT_EQ(oversize.result_int(), 413);
  auto missing = upload(multipart("picture", "x.png", "image/png", kPng), token_);
  EXPECT_EQ(missing.result_int(), 422);
  auto not_multipart = upload(kPng, token_, "image/png");
  EXPECT_EQ(not_multipart.result_int(), 415);
  auto anonymous = upload(multipart("avatar", "x.png", "image/png", kPng), "");
  EXPECT_EQ(anonymous.result_int(), 401);
  // Anonymous large uploads are refused from the headers, before any body byte is read.
  auto raw = raw_exchange(server_.port(),
                          "POST /api/upload-avatar HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n"
                          "Content-Type: multipart/form-data; boundary=XBOUNDARYX\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 401")) << raw.substr(0, 60);
  EXPECT_EQ(stored_files(), 0u) << "nothing is stored for a refused upload";
  for (const char* bad : {"/uploads/avatars/..%2f..%2fparley.db", "/uploads/avatars/x.png",
                          "/uploads/avatars/0123456789abcdef0123456789abcdef.html"}) {
    EXPECT_EQ(request(server_.port(), http::verb::get, bad).result_int(), 404) << bad;
  }
}

}  // namespace
}  // namespace parley::testing
