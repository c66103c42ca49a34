#pragma once
// An Engine.IO listener that keeps what a session tells it, for the realtime tests.

#include <memory>
#include <string>
#include <vector>

#include "realtime/engineio/session.hpp"

namespace parley::realtime::testing {

class RecordingListener final : public EngineIoListener {
 public:
  void on_open(const std::shared_ptr<EngineIoSession>&) override {}
  void on_message(const std::shared_ptr<EngineIoSession>&, std::string data, bool) override {
    messages.push_back(std::move(data));
  }
  void on_close(const std::shared_ptr<EngineIoSession>&, std::string reason) override {
    closes.push_back(std::move(reason));
  }
  std::vector<std::string> messages;
  std::vector<std::string> closes;
};

}  // namespace parley::realtime::testing
