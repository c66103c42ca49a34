#include "fake_elevenlabs.hpp"

#include <chrono>
#include <cstdlib>
#include <map>

namespace parley::speech::testing {
namespace {

std::map<std::string, std::string> fake_environment() {
  std::map<std::string, std::string> env;
  if (const char* p = std::getenv("PATH")) env["PATH"] = p;
  if (const char* h = std::getenv("HOME")) env["HOME"] = h;
  return env;
}

}  // namespace

FakeElevenLabs& FakeElevenLabs::instance() {
  static FakeElevenLabs fake;
  return fake;
}

FakeElevenLabs::FakeElevenLabs()
    : service_({NODE_EXECUTABLE, FAKE_ELEVENLABS}, fake_environment(), std::chrono::seconds(15)) {}

}  // namespace parley::speech::testing
