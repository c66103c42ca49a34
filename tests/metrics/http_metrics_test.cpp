// The HTTP observer: series by route pattern (never the raw path), "unmatched", method and
// status; the latency histogram; requests in flight; routes registered late.

#include "metrics/http_metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace parley::metrics {
namespace {

namespace http = net::http;
using namespace std::chrono_literals;

net::Handler nothing() {
  return [](net::RequestContext&) -> boost::asio::awaitable<net::Response> {
    co_return net::Response{};
  };
}

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

class HttpMetricsTest : public ::testing::Test {
 protected:
  HttpMetricsTest() {
    router_.add(http::verb::get, "/api/chatrooms/{id}", nothing());
    router_.add(http::verb::post, "/api/chatrooms", nothing());
  }
  const net::Router::Route* route(http::verb method, std::string_view path) {
    auto found = router_.find(method, path);
    auto* match = std::get_if<net::Router::Match>(&found);
    return match != nullptr ? match->route : nullptr;
  }
  net::Router router_;
  Registry registry_;
};

TEST_F(HttpMetricsTest, CountsByRoutePatternMethodAndStatus) {
  HttpMetrics metrics(registry_, router_);
  for (const char* path : {"/api/chatrooms/1", "/api/chatrooms/2", "/api/chatrooms/3"}) {
    metrics.request_started();
    metrics.request_ended(route(http::verb::get, path), http::verb::get, 200, 20ms);
  }
  metrics.request_started();
  metrics.request_ended(route(http::verb::get, "/api/chatrooms/4"), http::verb::get, 404, 2ms);
  metrics.request_started();
  metrics.request_ended(route(http::verb::head, "/api/chatrooms/5"), http::verb::head, 200, 1ms);
  metrics.request_started();
  metrics.request_ended(nullptr, http::verb::get, 404, 1ms);
  metrics.request_started();
  metrics.request_ended(nullptr, http::verb::propfind, 405, 1ms);
  metrics.request_started();  // still running

  const auto text = registry_.render();
  EXPECT_TRUE(contains(text,
                       "parley_http_requests_total{route=\"/api/chatrooms/"
                       "{id}\",method=\"GET\",status=\"200\"} 3\n"))
      << text;
  EXPECT_TRUE(contains(text,
                       "parley_http_requests_total{route=\"/api/chatrooms/"
                       "{id}\",method=\"GET\",status=\"404\"} 1\n"));
  EXPECT_TRUE(contains(text,
                       "parley_http_requests_total{route=\"/api/chatrooms/"
                       "{id}\",method=\"HEAD\",status=\"200\"} 1\n"));
  EXPECT_TRUE(contains(
      text, "parley_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"));
  EXPECT_TRUE(contains(
      text, "parley_http_requests_total{route=\"unmatched\",method=\"OTHER\",status=\"405\"} 1\n"));
  EXPECT_FALSE(contains(text, "/api/chatrooms/1\"")) << "raw paths never become labels";
  EXPECT_TRUE(contains(text,
                       "parley_http_request_duration_seconds_bucket{route=\"/api/chatrooms/"
                       "{id}\",le=\"0.025\"} 5\n"))
      << text;
  EXPECT_TRUE(contains(
      text, "parley_http_request_duration_seconds_count{route=\"/api/chatrooms/{id}\"} 5\n"));
  EXPECT_TRUE(
      contains(text, "parley_http_request_duration_seconds_count{route=\"unmatched\"} 2\n"));
  EXPECT_TRUE(contains(text, "parley_http_requests_in_flight 1\n"));
  EXPECT_FALSE(contains(text, "route=\"/api/chatrooms\",method")) << "no request, no series";
}

TEST_F(HttpMetricsTest, RoutesRegisteredLaterAreStillLabelledByPattern) {
  HttpMetrics metrics(registry_, router_);
  router_.add(http::verb::get, "/late/{x}", nothing());
  metrics.request_started();
  metrics.request_ended(route(http::verb::get, "/late/abc"), http::verb::get, 200, 1ms);
  const auto text = registry_.render();
  EXPECT_TRUE(contains(
      text, "parley_http_requests_total{route=\"/late/{x}\",method=\"GET\",status=\"200\"} 1\n"))
      << text;
}

TEST_F(HttpMetricsTest, UncommonStatusesAndNoResponse) {
  HttpMetrics metrics(registry_, router_);
  const auto* r = route(http::verb::post, "/api/chatrooms");
  metrics.request_started();
  metrics.request_ended(r, http::verb::post, 451, 1ms);  // outside the cached table
  metrics.request_started();
  metrics.request_ended(r, http::verb::post, 0, 1ms);  // connection failed mid-body
  const auto text = registry_.render();
  EXPECT_TRUE(contains(text, "route=\"/api/chatrooms\",method=\"POST\",status=\"451\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(text, "route=\"/api/chatrooms\",method=\"POST\",status=\"0\"} 1\n"));
  EXPECT_TRUE(contains(text, "parley_http_requests_in_flight 0\n"));
}

TEST_F(HttpMetricsTest, ConcurrentRequestsAreCountedExactly) {
  HttpMetrics metrics(registry_, router_);
  const auto* r = route(http::verb::get, "/api/chatrooms/1");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        metrics.request_started();
        metrics.request_ended(r, http::verb::get, i % 2 == 0 ? 200 : 503, 1ms);
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto text = registry_.render();
  EXPECT_TRUE(contains(text, "method=\"GET\",status=\"200\"} 10000\n")) << text;
  EXPECT_TRUE(contains(text, "method=\"GET\",status=\"503\"} 10000\n"));
  EXPECT_TRUE(contains(text, "parley_http_requests_in_flight 0\n"));
}

}  // namespace
}  // namespace parley::metrics
