#include "fake_elevenlabs.hpp"

#include <cstdlib>
#include <stdexcept>

namespace parley::speech::testing {

FakeElevenLabs& FakeElevenLabs::instance() {
  static FakeElevenLabs fake;
  return fake;
}

FakeElevenLabs::FakeElevenLabs() {
  std::map<std::string, std::string> env;
  if (const char* p = std::getenv("PATH")) env["PATH"] = p;
  if (const char* h = std::getenv("HOME")) env["HOME"] = h;
  process_ = std::make_unique<parley::testing::ChildProcess>(
      std::vector<std::string>{NODE_EXECUTABLE, FAKE_ELEVENLABS}, env);
  const auto line = process_->wait_for_line("listening", std::chrono::seconds(15));
  if (!line) throw std::runtime_error("fake ElevenLabs did not start: " + process_->read_stderr());
  base_url_ = "http://127.0.0.1:" + line->substr(line->find(' ') + 1);
}

void FakeElevenLabs::reset() {
  outbound::HttpRequest r;
  r.method = "POST";
  r.url = base_url_ + "/__reset";
  (void)http_.send(r);
}

void FakeElevenLabs::script(const std::string& responses_json) {
  outbound::HttpRequest r;
  r.method = "POST";
  r.url = base_url_ + "/__script";
  r.headers.set("content-type", "application/json");
  r.body = "{\"responses\":" + responses_json + "}";
  auto response = http_.send(r);
  if (!response || response->status != 200) throw std::runtime_error("cannot script the fake");
}

boost::json::array FakeElevenLabs::requests() {
  outbound::HttpRequest r;
  r.url = base_url_ + "/__requests";
  r.max_response_bytes = 64 * 1024 * 1024;
  auto response = http_.send(r);
  if (!response || response->status != 200) throw std::runtime_error("cannot read the fake");
  return boost::json::parse(response->body).as_array();
}

}  // namespace parley::speech::testing
