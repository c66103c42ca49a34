#pragma once
// Runs tests/fakes/elevenlabs.mjs for the test binary and talks to its control API.

#include <boost/json.hpp>
#include <string>

#include "support/fake_service.hpp"

namespace parley::speech::testing {

class FakeElevenLabs {
 public:
  /// Started once per process, on first use.
  static FakeElevenLabs& instance();

  const std::string& base_url() const noexcept { return service_.base_url(); }
  outbound::HttpClient& http() noexcept { return service_.http(); }
  void reset() { service_.reset(); }
  /// Queues scripted replies: a JSON array literal of {status, headers, body, delay_ms}.
  void script(const std::string& responses_json) {
    service_.script("{\"responses\":" + responses_json + "}");
  }
  boost::json::array requests() { return service_.requests(); }

 private:
  FakeElevenLabs();
  parley::testing::FakeService service_;
};

}  // namespace parley::speech::testing
