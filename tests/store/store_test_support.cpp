#include "store_test_support.hpp"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <system_error>

#include "store/migrations/migrator.hpp"

namespace parley::store::testing {
namespace {

/// Replaces the database name (URI path) of a postgresql:// URL.
std::string with_database(const std::string& url, const std::string& name) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  auto path = url.find('/', scheme + 3);
  auto query = url.find('?', scheme + 3);
  std::string base = url.substr(0, std::min(path, query));
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return base + "/" + name + rest;
}

std::string random_suffix() {
  std::random_device device;
  std::uniform_int_distribution<unsigned long long> dist;
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", dist(device));
  return buffer;
}

}  // namespace

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::sqlite ? "SQLite" : "PostgreSQL";
}

void StoreTest::SetUp() {
  if (GetParam() == Backend::sqlite) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "parley-store-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << "mkdtemp failed";
    temp_dir_ = pattern;
    url_ = "sqlite:///" + (temp_dir_ / "test.db").string();  // absolute: four slashes
  } else {
    const char* admin_url = std::getenv("PARLEY_TEST_POSTGRES_URL");
    if (admin_url == nullptr || *admin_url == '\0') {
      const char* allow = std::getenv("PARLEY_TEST_ALLOW_NO_POSTGRES");
      if (allow != nullptr && std::string_view(allow) == "1") {
        GTEST_SKIP() << "PARLEY_TEST_POSTGRES_URL is not set (PARLEY_TEST_ALLOW_NO_POSTGRES=1)";
      }
      GTEST_FAIL() << "PARLEY_TEST_POSTGRES_URL is not set: run the tests through "
                      "scripts/with-postgres.sh (or `make test`), or set "
                      "PARLEY_TEST_ALLOW_NO_POSTGRES=1 to skip the PostgreSQL tests";
    }
    DatabaseOptions admin_options;
    admin_options.pool_size = 1;
    auto admin = open_database(admin_url, admin_options);
    PARLEY_ASSERT_OK(admin);
    admin_ = std::move(*admin);
    pg_database_ = "parley_test_" + random_suffix();
    auto lease = admin_->acquire();
    PARLEY_ASSERT_OK(lease);
    auto created = (*lease)->execute_script("CREATE DATABASE " + pg_database_);
    PARLEY_ASSERT_OK(created);
    url_ = with_database(admin_url, pg_database_);
  }
  auto opened = open_database(url_);
  PARLEY_ASSERT_OK(opened);
  db_ = std::move(*opened);
}

void StoreTest::TearDown() {
  db_.reset();
  if (admin_ && !pg_database_.empty()) {
    auto lease = admin_->acquire();
    PARLEY_EXPECT_OK(lease);
    if (lease) {
      auto dropped =
          (*lease)->execute_script("DROP DATABASE IF EXISTS " + pg_database_ + " WITH (FORCE)");
      PARLEY_EXPECT_OK(dropped);
    }
  }
  admin_.reset();
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

std::unique_ptr<Database> StoreTest::open(const DatabaseOptions& options) {
  auto opened = open_database(url_, options);
  EXPECT_TRUE(opened) << opened.error().message;
  return opened ? std::move(*opened) : nullptr;
}

std::string StoreTest::render(std::string_view sql) const {
  auto rendered = render_migration(sql, dialect());
  EXPECT_TRUE(rendered) << rendered.error().message;
  return rendered ? *rendered : std::string();
}

void StoreTest::run_script(std::string_view sql) {
  auto lease = db_->acquire();
  PARLEY_ASSERT_OK(lease);
  auto done = (*lease)->execute_script(render(sql));
  PARLEY_ASSERT_OK(done);
}

}  // namespace parley::store::testing
