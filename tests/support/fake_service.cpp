#include "support/fake_service.hpp"

#include <stdexcept>

namespace parley::testing {

FakeService::FakeService(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds startup)
    : process_(std::make_unique<ChildProcess>(argv, env)) {
  const auto line = process_->wait_for_line("listening", startup);
  if (!line) {
    throw std::runtime_error("the fake " + (argv.size() > 1 ? argv[1] : argv.at(0)) +
                             " did not start: " + process_->read_stderr());
  }
  base_url_ = "http://127.0.0.1:" + line->substr(line->find(' ') + 1);
}

FakeService::~FakeService() = default;

boost::json::value FakeService::control(const std::string& path, const std::string& body) {
  outbound::HttpRequest request;
  request.method = body.empty() ? "GET" : "POST";
  request.url = base_url_ + path;
  request.body = body;
  request.headers.add("Content-Type", "application/json");
  request.max_response_bytes = 64 * 1024 * 1024;
  auto response = http_.send(request);
  if (!response) {
    throw std::runtime_error("the fake did not answer " + path + ": " + response.error().message);
  }
  if (response->status != 200) {
    throw std::runtime_error("the fake refused " + path + " (HTTP " +
                             std::to_string(response->status) + "): " + response->body);
  }
  return boost::json::parse(response->body);
}

void FakeServiceTest::start_fake(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& env) {
  try {
    fake_ = new FakeService(argv, env);
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  http_ = &fake_->http();
}

void FakeServiceTest::stop_fake() {
  delete fake_;
  fake_ = nullptr;
  http_ = nullptr;
}

void FakeServiceTest::SetUp() {
  ASSERT_TRUE(fake_);
  fake_->reset();
}

}  // namespace parley::testing
