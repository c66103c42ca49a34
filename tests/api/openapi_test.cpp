// The served OpenAPI document parses and matches the router: every route is documented and
// every documented operation exists. (Schema validity is checked by an OpenAPI validator from
// npm in tests/e2e/openapi.test.mjs.)

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "api_test_support.hpp"
#include "support/test_server.hpp"

namespace parley::testing {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(OpenApi, TheDocumentIsServedAndMatchesTheRoutes) {
  TestServer server;
  auto reply = get_with(server.port(), "/api/openapi.json");
  ASSERT_EQ(reply.result_int(), 200);
  EXPECT_EQ(reply[http::field::content_type], "application/json");
  auto doc = json_of(reply).as_object();
  EXPECT_EQ(std::string(doc.at("openapi").as_string()).substr(0, 2), "3.");

  std::set<std::string> documented;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, operation] : item.as_object()) {
      (void)operation;
      documented.insert(lower(std::string(method)) + " " + std::string(path));
    }
  }
  std::set<std::string> routed;
  for (const auto& route : server.app().router().routes()) {
    routed.insert(lower(std::string(http::to_string(route.method))) + " " + route.pattern);
  }
  for (const auto& r : routed) EXPECT_TRUE(documented.count(r)) << "undocumented route: " << r;
  for (const auto& d : documented) EXPECT_TRUE(routed.count(d)) << "documented, not routed: " << d;
}

}  // namespace
}  // namespace parley::testing
