#include "net/static_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace parley::net {
namespace {

namespace fs = std::filesystem;

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("parley-static-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "web" / "sub");
    write(base_ / "web" / "index.html", "<h1>hi</h1>");
    write(base_ / "web" / "sub" / "app.js", "console.log(1)");
    write(base_ / "web" / ".env", "SECRET=1");
    write(base_ / "secret.txt", "top secret");
    fs::create_symlink(base_ / "secret.txt", base_ / "web" / "link.txt");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }
  fs::path base_;
};

TEST_F(StaticFilesTest, ResolvesFilesAndIndexes) {
  StaticFiles files(base_ / "web");
  EXPECT_EQ(files.resolve("/").value().filename(), "index.html");
  EXPECT_EQ(files.resolve("/sub/app.js").value().filename(), "app.js");
  EXPECT_EQ(files.resolve("/sub/app.js?v=3").value().filename(), "app.js");
  EXPECT_EQ(files.resolve("/sub%2Fapp.js").error().code, Errc::not_found);
}

TEST_F(StaticFilesTest, RefusesEveryTraversalShape) {
  StaticFiles files(base_ / "web");
  for (const char* target :
       {"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
        "/..%2fsecret.txt", "/..%5csecret.txt", "/sub/..%5c..%5csecret.txt", "/.env", "/%2eenv",
        "/link.txt", "/index.html%00.js", "//etc/passwd", "/sub/./app.js", "/C:%5cwindows",
        "http://evil/../secret.txt", "/nope.html"}) {
    auto resolved = files.resolve(target);
    EXPECT_FALSE(resolved) << target << " resolved to " << resolved.value();
  }
}

TEST_F(StaticFilesTest, PagesCarryAContentSecurityPolicyAndScriptsDoNot) {
  StaticFiles files(base_ / "web");
  Request page{http::verb::get, "/", 11};
  auto served = files.serve(page);
  ASSERT_TRUE(served);
  const auto& html = std::get<FileResponse>(*served);
  const std::string policy(html["Content-Security-Policy"]);
  EXPECT_NE(policy.find("default-src 'self'"), std::string::npos) << policy;
  EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos) << policy;
  EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos) << policy;
  EXPECT_EQ(html[http::field::cache_control], "no-cache");

  Request script{http::verb::get, "/sub/app.js", 11};
  served = files.serve(script);
  ASSERT_TRUE(served);
  EXPECT_TRUE(std::get<FileResponse>(*served)["Content-Security-Policy"].empty());
}

TEST_F(StaticFilesTest, GuessesContentTypes) {
  EXPECT_EQ(StaticFiles::content_type_for("a.html"), "text/html; charset=utf-8");
  EXPECT_EQ(StaticFiles::content_type_for("a.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(StaticFiles::content_type_for("a.unknown"), "application/octet-stream");
}

}  // namespace
}  // namespace parley::net
