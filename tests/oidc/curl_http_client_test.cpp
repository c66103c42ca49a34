// CurlHttpClient against a real HTTP server on 127.0.0.1 (no mocks of libcurl).

#include "outbound/curl_http_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "local_http_server.hpp"

namespace parley::outbound {
namespace {

using parley::testing::CannedResponse;
using parley::testing::LocalHttpServer;
using parley::testing::RecordedRequest;

/// Remembers what the server received.
struct Recorder {
  std::mutex mutex;
  std::vector<RecordedRequest> requests;
  void add(const RecordedRequest& request) {
    std::lock_guard lock(mutex);
    requests.push_back(request);
  }
  RecordedRequest last() {
    std::lock_guard lock(mutex);
    return requests.back();
  }
};

TEST(CurlHttpClient, GetSendsHeadersAndReturnsResponseWithCaseInsensitiveHeaders) {
  Recorder recorder;
  LocalHttpServer server([&](const RecordedRequest& request) {
    recorder.add(request);
    return CannedResponse{
        200, {{"Content-Type", "application/json"}, {"X-Reply", "one"}}, R"({"ok":true})"};
  });
  CurlHttpClient client;
  HttpRequest request;
  request.url = server.url("/hello?x=1");
  request.headers.add("X-Test", "abc");
  request.headers.add("Accept", "application/json");

  auto response = client.send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(response->headers.find("content-type").value_or(""), "application/json");
  EXPECT_EQ(response->headers.find("X-REPLY").value_or(""), "one");
  EXPECT_FALSE(response->headers.find("X-Missing"));

  const auto seen = recorder.last();
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.target, "/hello?x=1");
  EXPECT_EQ(seen.header("x-test"), "abc");
  EXPECT_EQ(seen.header("Expect"), "");
}

TEST(CurlHttpClient, PostSendsBody) {
  Recorder recorder;
  LocalHttpServer server([&](const RecordedRequest& request) {
    recorder.add(request);
    return CannedResponse{201, {}, "created"};
  });
  CurlHttpClient client;
  HttpRequest request;
  request.method = "POST";
  request.url = server.url("/items");
  request.headers.add("Content-Type", "application/x-www-form-urlencoded");
  request.body = form_encode({{"a", "1 2"}, {"b", "x&y=z"}});
  // Large enough that libcurl would otherwise send "Expect: 100-continue".
  request.body += "&pad=" + std::string(2 * 1024 * 1024, 'p');

  auto response = client.send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "created");
  const auto seen = recorder.last();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.body, request.body);
  EXPECT_EQ(seen.header("content-type"), "application/x-www-form-urlencoded");
}

TEST(CurlHttpClient, OtherMethodsAndEmptyPost) {
  Recorder recorder;
  LocalHttpServer server([&](const RecordedRequest& request) {
    recorder.add(request);
    return CannedResponse{204, {}, ""};
  });
  CurlHttpClient client;
  HttpRequest request;
  request.method = "DELETE";
  request.url = server.url("/items/1");
  auto response = client.send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 204);
  EXPECT_EQ(recorder.last().method, "DELETE");

  request.method = "POST";
  response = client.send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(recorder.last().method, "POST");
  EXPECT_EQ(recorder.last().body, "");
}

TEST(CurlHttpClient, HttpErrorStatusesAreResponsesNotErrors) {
  LocalHttpServer server([](const RecordedRequest&) {
    return CannedResponse{503, {{"Retry-After", "5"}}, "down"};
  });
  CurlHttpClient client;
  HttpRequest request;
  request.url = server.url("/");
  auto response = client.send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->headers.find("retry-after").value_or(""), "5");
}

TEST(CurlHttpClient, RedirectsAreNotFollowedUnlessAsked) {
  std::string final_url;
  LocalHttpServer server([&](const RecordedRequest& request) {
    if (request.target == "/final") return CannedResponse{200, {}, "final"};
    return CannedResponse{302, {{"Location", "/final"}}, ""};
  });
  CurlHttpClient client;
  HttpRequest request;
  request.url = server.url("/start");
  auto response = client.send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(response->headers.find("location").value_or(""), "/final");

  request.follow_redirects = true;
  response = client.send(request);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "final");
  // Headers are those of the final response only.
  EXPECT_FALSE(response->headers.find("Location"));
}

TEST(CurlHttpClient, SlowServerTimesOut) {
  LocalHttpServer server([](const RecordedRequest&) {
    return CannedResponse{200, {}, "late", std::chrono::seconds(3)};
  });
  CurlHttpClient client;
  HttpRequest request;
  request.url = server.url("/slow");
  request.timeout = std::chrono::milliseconds(300);
  const auto started = std::chrono::steady_clock::now();
  auto response = client.send(request);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::timeout) << response.error().message;
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(CurlHttpClient, RefusedPortIsUnavailable) {
  CurlHttpClient client;
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(parley::testing::unused_port()) + "/";
  auto response = client.send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::unavailable) << response.error().message;
}

TEST(CurlHttpClient, OversizeBodyIsRefusedWithAndWithoutContentLength) {
  const std::string big(64 * 1024, 'x');
  for (const bool chunked : {false, true}) {
    LocalHttpServer server([&](const RecordedRequest&) {
      CannedResponse response{200, {}, big};
      response.chunked = chunked;
      return response;
    });
    CurlHttpClient client;
    HttpRequest request;
    request.url = server.url("/big");
    request.max_response_bytes = 1024;
    auto response = client.send(request);
    ASSERT_FALSE(response) << "chunked=" << chunked;
    EXPECT_EQ(response.error().code, Errc::payload_too_large) << response.error().message;

    request.max_response_bytes = big.size();  // exactly at the cap is fine
    response = client.send(request);
    ASSERT_TRUE(response) << response.error().message;
    EXPECT_EQ(response->body.size(), big.size());
  }
}

TEST(CurlHttpClient, OnlyHttpAndHttpsSchemes) {
  CurlHttpClient client;
  for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/x",
                          "dict://127.0.0.1/x", "not a url"}) {
    HttpRequest request;
    request.url = url;
    auto response = client.send(request);
    ASSERT_FALSE(response) << url;
    EXPECT_EQ(response.error().code, Errc::invalid_request)
        << url << ": " << response.error().message;
  }
}

TEST(CurlHttpClient, RejectsHeaderInjectionAndMissingDeadline) {
  CurlHttpClient client;
  HttpRequest request;
  request.url = "http://127.0.0.1:9/";
  request.headers.add("Authorization", "Bearer secret\r\nX-Injected: 1");
  auto response = client.send(request);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, Errc::invalid_request);
  // The credential never appears in the error message.
  EXPECT_EQ(response.error().message.find("secret"), std::string::npos);

  request.headers.clear();
  request.headers.add("Bad Name", "x");
  EXPECT_EQ(client.send(request).error().code, Errc::invalid_request);

  request.headers.clear();
  request.timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(client.send(request).error().code, Errc::invalid_request);

  request.timeout = std::chrono::seconds(1);
  request.method = "GET /x HTTP/1.1\r\n";
  EXPECT_EQ(client.send(request).error().code, Errc::invalid_request);
}

TEST(CurlHttpClient, ConcurrentSendsFromManyThreads) {
  LocalHttpServer server([](const RecordedRequest& request) {
    return CannedResponse{200, {}, request.target};
  });
  CurlHttpClient client;
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        HttpRequest request;
        const std::string target = "/t" + std::to_string(t) + "/" + std::to_string(i);
        request.url = server.url(target);
        auto response = client.send(request);
        if (response && response->body == target) ++successes;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(successes.load(), 20);
}

TEST(HttpHeaders, CaseInsensitiveLookupSetAndFindAll) {
  HttpHeaders headers{{"Set-Cookie", "a=1"}, {"set-cookie", "b=2"}, {"Content-Type", "x"}};
  EXPECT_EQ(headers.find_all("SET-COOKIE").size(), 2U);
  headers.set("content-type", "y");
  EXPECT_EQ(headers.find("Content-Type").value_or(""), "y");
  EXPECT_EQ(headers.size(), 3U);
}

TEST(FormEncode, EncodesEverythingOutsideUnreserved) {
  EXPECT_EQ(percent_encode("a b+c/d?e=f&g~h.i_j-k"), "a%20b%2Bc%2Fd%3Fe%3Df%26g~h.i_j-k");
  EXPECT_EQ(percent_encode("\xC3\xA9"), "%C3%A9");
  EXPECT_EQ(form_encode({{"x", "1"}, {"y z", "&"}}), "x=1&y%20z=%26");
}

}  // namespace
}  // namespace parley::outbound
