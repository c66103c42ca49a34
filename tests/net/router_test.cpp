#include "net/router.hpp"

#include <gtest/gtest.h>

namespace parley::net {
namespace {

Handler noop() {
  return [](RequestContext&) -> boost::asio::awaitable<Response> { co_return Response{}; };
}

TEST(Router, MatchesLiteralsAndCaptures) {
  Router router;
  router.add(http::verb::get, "/api/user-chatrooms/{user_id}", noop());
  router.add(http::verb::get, "/api/chatrooms/{id}", noop());
  router.add(http::verb::get, "/api/chatrooms/nearby", noop());
  router.add(http::verb::post, "/api/login", noop());

  auto hit = router.find(http::verb::get, "/api/user-chatrooms/42");
  ASSERT_TRUE(std::holds_alternative<Router::Match>(hit));
  EXPECT_EQ(std::get<Router::Match>(hit).params.get("user_id"), "42");

  auto literal = router.find(http::verb::get, "/api/chatrooms/nearby");
  ASSERT_TRUE(std::holds_alternative<Router::Match>(literal));
  EXPECT_EQ(std::get<Router::Match>(literal).route->pattern, "/api/chatrooms/nearby");

  auto capture = router.find(http::verb::get, "/api/chatrooms/7");
  ASSERT_TRUE(std::holds_alternative<Router::Match>(capture));
  EXPECT_EQ(std::get<Router::Match>(capture).params.get("id"), "7");

  EXPECT_TRUE(std::holds_alternative<Router::Match>(router.find(http::verb::post, "/api/login/")));
  EXPECT_TRUE(std::holds_alternative<Router::NotFound>(router.find(http::verb::get, "/api/nope")));
  EXPECT_TRUE(std::holds_alternative<Router::NotFound>(
      router.find(http::verb::get, "/api/user-chatrooms/1/extra")));
}

TEST(Router, ReportsAllowedMethodsFor405AndHeadFallsBackToGet) {
  Router router;
  router.add(http::verb::get, "/healthz", noop());
  router.add(http::verb::post, "/api/login", noop());
  auto wrong = router.find(http::verb::get, "/api/login");
  ASSERT_TRUE(std::holds_alternative<Router::MethodNotAllowed>(wrong));
  EXPECT_EQ(std::get<Router::MethodNotAllowed>(wrong).allow, "OPTIONS, POST");
  EXPECT_TRUE(std::holds_alternative<Router::Match>(router.find(http::verb::head, "/healthz")));
  EXPECT_EQ(router.allowed_methods("/healthz"), "GET, HEAD, OPTIONS");
}

TEST(Router, RejectsMalformedAndDuplicatePatterns) {
  Router router;
  router.add(http::verb::get, "/a/{id}", noop());
  EXPECT_THROW(router.add(http::verb::get, "/a/{other}", noop()), std::invalid_argument);
  EXPECT_THROW(router.add(http::verb::get, "no-slash", noop()), std::invalid_argument);
  EXPECT_THROW(router.add(http::verb::get, "/a/{broken", noop()), std::invalid_argument);
}

}  // namespace
}  // namespace parley::net
