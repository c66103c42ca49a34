#pragma once
// Runs a Node fake of an external API (tests/fakes/*.mjs) for a test binary and talks to its
// control API: the script prints `listening <port>` once ready, records the requests it gets
// (GET /__requests), takes scripted replies (POST /__script) and forgets both (POST /__reset).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "outbound/curl_http_client.hpp"
#include "support/child_process.hpp"

namespace parley::testing {

class FakeService {
 public:
  /// Starts `argv` (e.g. {node, script}) with exactly `env` and waits for its `listening <port>`
  /// line. Throws std::runtime_error (with the fake's stderr) if it does not start in time.
  FakeService(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              std::chrono::milliseconds startup = std::chrono::seconds(20));
  ~FakeService();
  FakeService(const FakeService&) = delete;
  FakeService& operator=(const FakeService&) = delete;

  /// "http://127.0.0.1:<port>", without a trailing '/'.
  const std::string& base_url() const noexcept { return base_url_; }
  /// A client for the code under test (and the control calls below).
  outbound::HttpClient& http() noexcept { return http_; }

  /// POSTs `body` (JSON) to `path`, or GETs it when `body` is empty; returns the JSON reply.
  /// Throws std::runtime_error unless the fake answers 200.
  boost::json::value control(const std::string& path, const std::string& body);
  /// POST /__reset: forgets recorded requests and scripted replies.
  void reset() { control("/__reset", "{}"); }
  /// POST /__script with `body`, a JSON object such as {"responses": [...]}.
  void script(const std::string& body) { control("/__script", body); }
  /// GET /__requests: the requests recorded since the last reset.
  boost::json::array requests() { return control("/__requests", "").as_array(); }

 private:
  outbound::CurlHttpClient http_;
  std::unique_ptr<ChildProcess> process_;
  std::string base_url_;
};

/// A test suite whose tests share one fake: started once (call start_fake() from the suite's
/// SetUpTestSuite, stop_fake() from its TearDownTestSuite) and reset before each test.
class FakeServiceTest : public ::testing::Test {
 protected:
  static void start_fake(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env);
  static void stop_fake();
  void SetUp() override;

  static std::string origin() { return fake_->base_url(); }
  static void script(const std::string& body) { fake_->script(body); }
  static boost::json::array requests() { return fake_->requests(); }

  static inline FakeService* fake_ = nullptr;
  static inline outbound::HttpClient* http_ = nullptr;
};

/// Records the waits a client asks for instead of sleeping, so retry tests stay fast.
struct SleepRecorder {
  std::mutex mutex;
  std::vector<std::chrono::milliseconds> waits;
  std::function<void(std::chrono::milliseconds)> function() {
    return [this](std::chrono::milliseconds d) {
      std::lock_guard lock(mutex);
      waits.push_back(d);
    };
  }
};

}  // namespace parley::testing
