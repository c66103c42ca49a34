// The real `parley` executable, started as a process: CLI behaviour, configuration errors,
// migrations, health endpoints and graceful shutdown on SIGTERM.

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/child_process.hpp"
#include "support/http_client.hpp"

namespace parley {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using testing::ChildProcess;
using testing::run_to_completion;
using namespace std::chrono_literals;

class ParleyProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("parley-app-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "web");
    std::ofstream(dir_ / "web" / "index.html") << "<!doctype html><title>Parley</title>";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    std::map<std::string, std::string> vars{
        {"PATH", "/usr/bin:/bin"},
        {"DATABASE_URL", "sqlite:///" + (dir_ / "instance" / "parley.db").string()},
        {"UPLOAD_DIR", (dir_ / "uploads").string()},
        {"PARLEY_WEB_DIR", (dir_ / "web").string()},
        {"PARLEY_PORT", "0"},
        {"PARLEY_THREADS", "2"},
        {"PARLEY_ENV_FILE", (dir_ / "none.env").string()},
    };
    if (const char* asan = std::getenv("ASAN_OPTIONS")) vars["ASAN_OPTIONS"] = asan;
    for (auto& [k, v] : extra) vars[k] = v;
    return vars;
  }

  // Starts `parley serve` and returns the port from its "server_listening" log line.
  std::uint16_t start(ChildProcess& child) {
    auto line = child.wait_for_line("\"server_listening\"", 20s);
    EXPECT_TRUE(line) << child.read_stderr();
    if (!line) return 0;
    return static_cast<std::uint16_t>(boost::json::parse(*line).at("port").as_int64());
  }

  fs::path dir_;
};

TEST_F(ParleyProcessTest, VersionHelpAndUsageErrors) {
  auto version = run_to_completion({PARLEY_BINARY, "--version"}, env());
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_TRUE(version.out.starts_with("parley ")) << version.out;
  auto help = run_to_completion({PARLEY_BINARY, "--help"}, env());
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: parley"), std::string::npos);
  auto bad = run_to_completion({PARLEY_BINARY, "--frobnicate"}, env());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown option: --frobnicate"), std::string::npos);
  EXPECT_NE(bad.err.find("usage: parley"), std::string::npos);
}

TEST_F(ParleyProcessTest, ABadValueStopsStartUpWithOneLineNamingTheVariable) {
  auto bad = run_to_completion({PARLEY_BINARY, "serve"}, env({{"PARLEY_PORT", "eighty"}}));
  EXPECT_EQ(bad.exit_code, 78);
  EXPECT_EQ(bad.err,
            "parley: configuration error: PARLEY_PORT must be a whole number from 0 to 65535 "
            "(got \"eighty\")\n");
  auto prod = run_to_completion({PARLEY_BINARY, "serve"}, env({{"FLASK_ENV", "production"}}));
  EXPECT_EQ(prod.exit_code, 78);
  EXPECT_NE(prod.err.find("SECRET_KEY must be set in production"), std::string::npos);
}

TEST_F(ParleyProcessTest, DotenvFileIsReadAndTheEnvironmentWins) {
  std::ofstream(dir_ / "custom.env") << "PARLEY_PORT=notaport\nLOG_LEVEL=loud\n";
  auto from_file =
      run_to_completion({PARLEY_BINARY, "--env-file", (dir_ / "custom.env").string(), "serve"},
                        env({{"PARLEY_PORT", "0"}}));
  EXPECT_EQ(from_file.exit_code, 78);
  EXPECT_NE(from_file.err.find("LOG_LEVEL"), std::string::npos) << from_file.err;
}

TEST_F(ParleyProcessTest, TtsSpeaksIntoAFileAndRefusesBadUsage) {
  const auto out = dir_ / "hola.ogg";
  auto spoken = run_to_completion(
      {PARLEY_BINARY, "tts", "Hola, ¿cómo estás?", "--lang", "es", "-o", out.string()}, env());
  ASSERT_EQ(spoken.exit_code, 0) << spoken.err;
  std::ifstream file(out, std::ios::binary);
  std::string head(4, '\0');
  file.read(head.data(), 4);
  EXPECT_EQ(head, "OggS");
  EXPECT_GT(fs::file_size(out), 2000u);
  auto usage = run_to_completion({PARLEY_BINARY, "tts", "--lang", "es"}, env());
  EXPECT_EQ(usage.exit_code, 2);
  auto unknown = run_to_completion(
      {PARLEY_BINARY, "tts", "x", "--lang", "xx-nope", "-o", (dir_ / "x.ogg").string()}, env());
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_FALSE(unknown.err.empty());
}

TEST_F(ParleyProcessTest, MigrateIsIdempotent) {
  auto first = run_to_completion({PARLEY_BINARY, "migrate"}, env());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(fs::exists(dir_ / "instance" / "parley.db"));
  auto second = run_to_completion({PARLEY_BINARY, "migrate"}, env());
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("\"applied\":0"), std::string::npos) << second.out;
}

TEST_F(ParleyProcessTest, ProductionRefusesToServeAnUnmigratedDatabase) {
  const std::map<std::string, std::string> prod{{"FLASK_ENV", "production"},
                                                {"SECRET_KEY", std::string(40, 's')},
                                                {"JWT_SECRET_KEY", std::string(40, 'j')}};
  auto refused = run_to_completion({PARLEY_BINARY, "serve"}, env(prod));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("parley migrate"), std::string::npos) << refused.err;
  ASSERT_EQ(run_to_completion({PARLEY_BINARY, "migrate"}, env(prod)).exit_code, 0);
  ChildProcess server({PARLEY_BINARY, "serve"}, env(prod));
  const auto port = start(server);
  ASSERT_NE(port, 0);
  EXPECT_EQ(testing::request(port, testing::http::verb::get, "/readyz").result_int(), 200);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(10s), 0) << server.read_stderr();
}

TEST_F(ParleyProcessTest, ServesHealthReadinessConfigAndTheWebFolder) {
  ChildProcess server({PARLEY_BINARY, "serve"}, env());
  const auto port = start(server);
  ASSERT_NE(port, 0);
  using testing::http::verb;
  auto health = testing::request(port, verb::get, "/healthz");
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(testing::json_of(health).at("status"), "ok");
  auto ready = testing::request(port, verb::get, "/readyz");
  EXPECT_EQ(ready.result_int(), 200) << ready.body();
  EXPECT_EQ(testing::json_of(ready).at("checks").at("database"), "ok");
  auto config = testing::request(port, verb::get, "/api/config");
  EXPECT_EQ(config.result_int(), 200);
  EXPECT_EQ(testing::json_of(config).at("name"), "parley");
  auto page = testing::request(port, verb::get, "/");
  EXPECT_NE(page.body().find("<title>Parley</title>"), std::string::npos);
  for (const char* folder : {"avatars", "chatroom_audio", "chatroom_photo", "clonedTranslatedVoice",
                             "voice_clone_reference"}) {
    EXPECT_TRUE(fs::is_directory(dir_ / "uploads" / folder)) << folder;
  }
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(10s), 0) << server.read_stderr();
}

TEST_F(ParleyProcessTest, SigtermFinishesARequestInFlightThenExitsZero) {
  ChildProcess server({PARLEY_BINARY, "serve"}, env());
  const auto port = start(server);
  ASSERT_NE(port, 0);
  // A request whose body is still arriving when SIGTERM lands is in flight: it gets its answer.
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string head =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n";
  asio::write(socket, asio::buffer(head + "12345"));
  std::this_thread::sleep_for(200ms);
  server.signal(SIGTERM);
  ASSERT_TRUE(server.wait_for_line("\"shutdown_requested\"", 5s));
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(server.wait(0ms)) << "exited before the request in flight was answered";
  asio::write(socket, asio::buffer(std::string("67890")));
  std::string reply;
  boost::system::error_code ec;
  char chunk[1024];
  for (;;) {
    auto n = socket.read_some(asio::buffer(chunk), ec);
    if (ec) break;
    reply.append(chunk, n);
  }
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  EXPECT_EQ(server.wait(10s), 0) << server.read_stderr();
}

}  // namespace
}  // namespace parley
