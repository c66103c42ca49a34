#include "net/multipart.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley::net {
namespace {

using namespace std::string_literals;

constexpr std::string_view curl_type =
    "multipart/form-data; boundary=------------------------d74496d66958873e";

// What `curl -F text=hello -F "file=@photo.png;type=image/png"` sends (data shortened).
std::string curl_body(std::string_view file_data) {
  return "--------------------------d74496d66958873e\r\n"
         "Content-Disposition: form-data; name=\"text\"\r\n"
         "\r\n"
         "hello\r\n"
         "--------------------------d74496d66958873e\r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\n"
         "Content-Type: image/png\r\n"
         "\r\n" +
         std::string(file_data) +
         "\r\n"
         "--------------------------d74496d66958873e--\r\n";
}

Error error_of(std::string_view type, std::string_view body, const MultipartLimits& limits = {}) {
  auto parts = parse_multipart(type, body, limits);
  EXPECT_FALSE(parts) << "expected a failure for body: " << body;
  return parts ? Error{} : parts.error();
}

std::string simple_body(std::string_view boundary, std::string_view headers,
                        std::string_view data) {
  return "--" + std::string(boundary) + "\r\n" + std::string(headers) + "\r\n\r\n" +
         std::string(data) + "\r\n--" + std::string(boundary) + "--\r\n";
}

TEST(Multipart, ParsesACurlBodyWithATextFieldAndAFile) {
  const std::string body = curl_body("\x89PNG\r\n\x1a\n");
  auto parts = parse_multipart(curl_type, body, {});
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);

  const FormPart* text = find_part(*parts, "text");
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->data, "hello");
  EXPECT_FALSE(text->filename.has_value());
  EXPECT_EQ(text->content_type, "text/plain");

  const FormPart* file = find_part(*parts, "file");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->filename, "photo.png");
  EXPECT_EQ(file->content_type, "image/png");
  EXPECT_EQ(file->data, "\x89PNG\r\n\x1a\n");
  ASSERT_EQ(file->headers.size(), 2u);
  EXPECT_EQ(file->headers[1].first, "content-type");
  EXPECT_EQ(file->headers[1].second, "image/png");
  EXPECT_EQ(find_part(*parts, "missing"), nullptr);
}

TEST(Multipart, DataIsAZeroCopyViewIntoTheBody) {
  const std::string body = curl_body("abc");
  auto parts = parse_multipart(curl_type, body, {});
  ASSERT_TRUE(parts);
  const auto data = (*parts)[1].data;
  EXPECT_GE(data.data(), body.data());
  EXPECT_LE(data.data() + data.size(), body.data() + body.size());
}

TEST(Multipart, KeepsBinaryDataWithCrLfNulAndBoundaryLookalikes) {
  // Everything a naive parser would trip over: CRLFs, NUL, the boundary without its CRLF,
  // "\r\n--" plus a boundary prefix, and the boundary after a bare LF.
  const std::string data =
      "\r\n\r\n\0\xff\r\n--\r\n-------------------------d74496d66958873e"
      "\r\n--------------------------d74496d66958873\n--------------------------d74496d66958873e"
      "\r\r\n"s;
  const std::string body = curl_body(data);
  auto parts = parse_multipart(curl_type, body, {});
  ASSERT_TRUE(parts) << parts.error().message;
  EXPECT_EQ(find_part(*parts, "file")->data, data);
}

TEST(Multipart, AcceptsQuotedBoundaryCaseInsensitiveTypeAndBrowserStyleBodies) {
  const std::string boundary = "----WebKitFormBoundary7MA4YWxk TrZu0gW";  // space is a bchar
  const std::string body = "--" + boundary + "\r\n" +
                           "content-disposition: form-data; name=\"title\"\r\n\r\n"
                           "Caf\xc3\xa9 \"quoted\"\r\n"
                           "--" +
                           boundary + "\r\n" +
                           "Content-Disposition: form-data; name=\"avatar\"; filename=\"\"\r\n"
                           "Content-Type: application/octet-stream\r\n\r\n"
                           "\r\n--" +
                           boundary + "--";
  auto parts = parse_multipart("Multipart/Form-Data ; charset=utf-8; boundary=\"" + boundary + "\"",
                               body, {});
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].data, "Caf\xc3\xa9 \"quoted\"");
  EXPECT_EQ((*parts)[1].filename, "");  // a file input with no file chosen
  EXPECT_TRUE((*parts)[1].data.empty());
}

TEST(Multipart, IgnoresPreambleEpilogueAndTransportPadding) {
  const std::string body =
      "This is the preamble.\r\n--xyz  \t\r\n"
      "Content-Disposition: form-data; name=a\r\n\r\n"
      "1\r\n--xyz--\r\nepilogue --xyz garbage";
  auto parts = parse_multipart("multipart/form-data; boundary=xyz", body, {});
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].name, "a");
  EXPECT_EQ((*parts)[0].data, "1");
}

TEST(Multipart, AnEmptyFormHasNoParts) {
  auto parts = parse_multipart("multipart/form-data; boundary=xyz", "--xyz--\r\n", {});
  ASSERT_TRUE(parts);
  EXPECT_TRUE(parts->empty());
}

TEST(Multipart, DecodesFilenameEscapesAndRfc5987AndStripsControlCharacters) {
  const auto parse_filename = [](std::string_view disposition) -> std::optional<std::string> {
    const std::string body =
        simple_body("b", "Content-Disposition: " + std::string(disposition), "x");
    auto parts = parse_multipart("multipart/form-data; boundary=b", body, {});
    EXPECT_TRUE(parts) << disposition << ": " << parts.error().message;
    return parts ? (*parts)[0].filename : std::nullopt;
  };
  EXPECT_EQ(parse_filename(R"(form-data; name="f"; filename="a \"b\" \\c.png")"),
            R"(a "b" \c.png)");
  EXPECT_EQ(parse_filename(R"(form-data; name="f"; filename="../../etc/passwd")"),
            "../../etc/passwd");  // kept for logs: never used as a path
  EXPECT_EQ(parse_filename("form-data; name=\"f\"; filename=\"fallback.png\"; "
                           "filename*=UTF-8''%E2%82%AC%20rates%00%0A.png"),
            "\xe2\x82\xac rates.png");
  EXPECT_EQ(parse_filename("form-data; name=f; filename*=iso-8859-1'en'%A3.txt"), "\xc2\xa3.txt");
  EXPECT_EQ(parse_filename("FORM-DATA; NAME=f; FILENAME=plain.txt"), "plain.txt");
}

TEST(Multipart, RejectsContentTypesThatAreNotMultipartFormData) {
  for (std::string_view type :
       {"application/json", "multipart/mixed; boundary=x", "", "text/plain",
        "multipart/form-datax; boundary=x", "multipart/form-data boundary=x"}) {
    EXPECT_EQ(error_of(type, "--x--").code, Errc::unsupported_media_type) << type;
  }
}

TEST(Multipart, RejectsMissingOrInvalidBoundaryParameters) {
  const auto message_for = [](std::string_view type) {
    auto error = error_of(type, "--x--");
    EXPECT_EQ(error.code, Errc::invalid_request) << type;
    return error.message;
  };
  EXPECT_EQ(message_for("multipart/form-data"), "multipart Content-Type has no boundary parameter");
  EXPECT_EQ(message_for("multipart/form-data; charset=utf-8"),
            "multipart Content-Type has no boundary parameter");
  EXPECT_NE(message_for("multipart/form-data; boundary=\"\"").find("1 to 70"), std::string::npos);
  message_for("multipart/form-data; boundary=" + std::string(71, 'a'));
  message_for("multipart/form-data; boundary=\"ends with space \"");
  message_for("multipart/form-data; boundary=\"semi;colon\"");
  message_for("multipart/form-data; boundary=\"unterminated");
  message_for("multipart/form-data; boundary=a; boundary=b");
  message_for("multipart/form-data; boundary");
  EXPECT_TRUE(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'a')));
}

TEST(Multipart, RejectsStructuralErrors) {
  const std::string type = "multipart/form-data; boundary=b";
  const std::string ok_headers = "Content-Disposition: form-data; name=\"a\"";
  const auto message_for = [&](std::string_view body) {
    auto error = error_of(type, body);
    EXPECT_EQ(error.code, Errc::invalid_request) << body;
    return error.message;
  };
  EXPECT_EQ(message_for(""), "multipart body does not contain the boundary");
  EXPECT_EQ(message_for("no boundary here"), "multipart body does not contain the boundary");
  const std::string missing_close = "multipart body has no closing boundary";
  EXPECT_EQ(message_for("--b\r\n" + ok_headers + "\r\n\r\ndata"), missing_close);
  EXPECT_EQ(message_for("--b\r\n" + ok_headers + "\r\n\r\ndata\r\n--b"), missing_close);
  EXPECT_EQ(message_for("--b\r\n" + ok_headers + "\r\n\r\ndata\r\n--b\r\n"), missing_close);
  EXPECT_EQ(message_for("--b\r\n" + ok_headers), missing_close);
  EXPECT_EQ(message_for("--b"), missing_close);
  EXPECT_EQ(message_for("--bx\r\n" + ok_headers + "\r\n\r\nd\r\n--b--"),
            "multipart boundary line is followed by unexpected characters");
  EXPECT_EQ(message_for("--b\r\n" + ok_headers + "\r\n\r\nd\r\n--bb\r\n--b--"),
            "multipart boundary line is followed by unexpected characters");
  // Bare LF line endings are refused, not guessed at.
  EXPECT_NE(message_for("--b\n" + ok_headers + "\n\nd\n--b--\n").find("unexpected characters"),
            std::string::npos);
  EXPECT_EQ(message_for("--b\r\n" + ok_headers + "\nX: y\r\n\r\nd\r\n--b--"),
            "multipart part 1: part header contains a control character");
}

TEST(Multipart, RejectsBadPartHeaders) {
  const auto message_for = [](std::string_view headers) {
    auto error = error_of("multipart/form-data; boundary=b", simple_body("b", headers, "d"));
    EXPECT_EQ(error.code, Errc::invalid_request) << headers;
    return error.message;
  };
  EXPECT_EQ(message_for("Content-Type: text/plain"),
            "multipart part 1: part has no Content-Disposition header");
  EXPECT_NE(message_for("Content-Disposition: attachment; name=a").find("must be form-data"),
            std::string::npos);
  EXPECT_NE(message_for("Content-Disposition: form-data").find("no name"), std::string::npos);
  EXPECT_NE(message_for("Content-Disposition: form-data; name=\"\"").find("no name"),
            std::string::npos);
  EXPECT_NE(message_for("Content-Disposition: form-data; name=a; name=b").find("twice"),
            std::string::npos);
  EXPECT_NE(message_for("Content-Disposition: form-data; name=\"a\r\nX: y\"").find("malformed"),
            std::string::npos);
  message_for("Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b");
  message_for("Content-Disposition: form-data; name=a\r\nContent-Type: a\r\nContent-Type: b");
  message_for("Content-Disposition: form-data; name=a\r\n folded: continuation");
  message_for("Content-Disposition: form-data; name=a\r\nNo-Colon");
  message_for("Content-Disposition: form-data; name=a\r\nBad Name: x");
  message_for("Content-Disposition: form-data; name=a\r\nX: nul\0byte"s);
  message_for("Content-Disposition: form-data; name=a\r\nContent-Transfer-Encoding: base64");
  message_for("Content-Disposition: form-data; name=a; filename*=UTF-8''%4");
  message_for("Content-Disposition: form-data; name=a; filename*=koi8-r''x");
  message_for("Content-Disposition: form-data; name=a; filename*=no-quotes");
  message_for("Content-Disposition: form-data; name=\"unterminated");
  message_for("Content-Disposition: form-data; name=a junk");
}

TEST(Multipart, RejectsDuplicateFieldNames) {
  const std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--b--";
  auto error = error_of("multipart/form-data; boundary=b", body);
  EXPECT_EQ(error.code, Errc::invalid_request);
  EXPECT_EQ(error.message, "multipart field 'a' appears twice");
}

TEST(Multipart, EnforcesLimits) {
  std::string body;
  for (int i = 0; i < 3; ++i) {
    body +=
        "--b\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) + "\"\r\n\r\nx\r\n";
  }
  body += "--b--";
  const std::string type = "multipart/form-data; boundary=b";
  EXPECT_TRUE(parse_multipart(type, body, {.max_parts = 3}));
  auto too_many = error_of(type, body, {.max_parts = 2});
  EXPECT_EQ(too_many.code, Errc::invalid_request);
  EXPECT_EQ(too_many.message, "multipart body has more than 2 parts");

  EXPECT_TRUE(parse_multipart(type, body, {.max_total_bytes = body.size()}));
  auto too_big = error_of(type, body, {.max_total_bytes = body.size() - 1});
  EXPECT_EQ(too_big.code, Errc::payload_too_large);

  // The header block "Content-Disposition: form-data; name=\"f0\"" is 41 bytes.
  EXPECT_TRUE(parse_multipart(type, body, {.max_part_header_bytes = 41}));
  auto long_headers = error_of(type, body, {.max_part_header_bytes = 40});
  EXPECT_EQ(long_headers.code, Errc::invalid_request);
  EXPECT_EQ(long_headers.message, "multipart part headers are longer than 40 bytes");

  // An endless header line is refused once it passes the limit, not scanned to the end.
  const std::string endless = "--b\r\nX-Long: " + std::string(100000, 'a');
  EXPECT_NE(error_of(type, endless).message.find("longer than 8192 bytes"), std::string::npos);
}

TEST(Multipart, LongFieldNamesAreShortenedInMessages) {
  const std::string name(500, 'n');
  const std::string part =
      "--b\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n1\r\n";
  auto error = error_of("multipart/form-data; boundary=b", part + part + "--b--");
  EXPECT_LT(error.message.size(), 120u);
}

}  // namespace
}  // namespace parley::net
