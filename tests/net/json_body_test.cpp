#include "net/json_body.hpp"

#include <gtest/gtest.h>

namespace parley::net {
namespace {

Request json_request(std::string body, std::string content_type = "application/json") {
  Request req{http::verb::post, "/", 11};
  req.set(http::field::content_type, content_type);
  req.body() = std::move(body);
  return req;
}

TEST(JsonBody, AcceptsAnObjectWithCharsetParameter) {
  auto body = parse_json_object(json_request(R"({"a":1})", "application/json; charset=UTF-8"));
  ASSERT_TRUE(body);
  EXPECT_EQ(body->at("a"), 1);
}

TEST(JsonBody, RejectsWrongMediaTypeMalformedJsonAndNonObjects) {
  EXPECT_EQ(parse_json_object(json_request("{}", "text/plain")).error().code,
            Errc::unsupported_media_type);
  EXPECT_EQ(parse_json_object(json_request("{}", "application/json; charset=latin1")).error().code,
            Errc::unsupported_media_type);
  EXPECT_EQ(parse_json_object(json_request("{\"a\":")).error().code, Errc::invalid_request);
  EXPECT_EQ(parse_json_object(json_request("[1,2]")).error().code, Errc::invalid_request);
  EXPECT_EQ(parse_json_object(json_request("\"\xff\xfe\"")).error().code, Errc::invalid_request);
  EXPECT_EQ(
      parse_json_object(json_request(std::string(100, '[') + std::string(100, ']'))).error().code,
      Errc::invalid_request);
}

TEST(JsonBody, FieldRulesGiveValidationErrorsNamingTheField) {
  auto body = *parse_json_object(json_request(
      R"({"name":"  Ana  ","n":5,"flag":true,"num":"5","nul":"a\u0000b","emoji":"😀😀😀"})"));
  EXPECT_EQ(required_string(body, "name").value(), "Ana");
  auto missing = required_string(body, "missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::validation_failed);
  EXPECT_EQ(missing.error().message, "field 'missing' is required");
  EXPECT_EQ(required_string(body, "n").error().message, "field 'n' must be a string");
  EXPECT_EQ(required_string(body, "nul").error().code, Errc::validation_failed);
  EXPECT_EQ(required_string(body, "emoji", {.min_length = 0, .max_length = 3}).value(), "😀😀😀");
  EXPECT_FALSE(required_string(body, "emoji", {.min_length = 0, .max_length = 2}));
  EXPECT_FALSE(required_string(body, "name", {.min_length = 4}));
  EXPECT_EQ(optional_int(body, "n", 1, 10).value(), 5);
  EXPECT_FALSE(optional_int(body, "n", 6, 10));
  EXPECT_FALSE(optional_int(body, "num", 0, 10));
  EXPECT_FALSE(optional_int(body, "absent", 0, 10).value().has_value());
  EXPECT_EQ(optional_bool(body, "flag").value(), true);
  EXPECT_FALSE(optional_bool(body, "n"));
}

}  // namespace
}  // namespace parley::net
