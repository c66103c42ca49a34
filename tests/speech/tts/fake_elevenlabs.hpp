#pragma once
// Runs tests/fakes/elevenlabs.mjs for the test binary and talks to its control API.

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "outbound/curl_http_client.hpp"
#include "support/child_process.hpp"

namespace parley::speech::testing {

class FakeElevenLabs {
 public:
  /// Started once per process, on first use.
  static FakeElevenLabs& instance();

  const std::string& base_url() const noexcept { return base_url_; }
  outbound::HttpClient& http() noexcept { return http_; }
  void reset();
  /// Queues scripted replies: a JSON array literal of {status, headers, body, delay_ms}.
  void script(const std::string& responses_json);
  boost::json::array requests();

 private:
  FakeElevenLabs();
  outbound::CurlHttpClient http_;
  std::unique_ptr<parley::testing::ChildProcess> process_;
  std::string base_url_;
};

}  // namespace parley::speech::testing
