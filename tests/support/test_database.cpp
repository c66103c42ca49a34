#include "support/test_database.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "core/random.hpp"
#include "store/database.hpp"

namespace parley::testing {

TestDatabase::TestDatabase(DatabaseKind kind) : kind_(kind) {
  folder_ = std::filesystem::temp_directory_path() /
            ("parley-test-" + std::to_string(::getpid()) + "-" + core::random_hex(6));
  std::filesystem::create_directories(folder_);
  if (kind == DatabaseKind::sqlite) {
    url_ = "sqlite:///" + (folder_ / "parley.db").string();
    return;
  }
  const char* admin = std::getenv("PARLEY_TEST_POSTGRES_URL");
  if (admin == nullptr || *admin == '\0') {
    ADD_FAILURE() << "PARLEY_TEST_POSTGRES_URL is unset: run through scripts/with-postgres.sh "
                     "(make test does)";
    return;
  }
  admin_url_ = admin;
  pg_name_ = "parley_api_" + core::random_hex(6);
  auto database = store::open_database(admin_url_);
  if (!database) {
    ADD_FAILURE() << "cannot reach PostgreSQL: " << database.error().message;
    return;
  }
  auto lease = (*database)->acquire();
  if (!lease || !(*lease)->execute("CREATE DATABASE " + pg_name_)) {
    ADD_FAILURE() << "cannot create the test database";
    return;
  }
  // Same server and credentials, another database: replace the path of the admin URL.
  const auto slash = admin_url_.rfind('/');
  url_ = admin_url_.substr(0, slash + 1) + pg_name_;
}

TestDatabase::~TestDatabase() {
  if (kind_ == DatabaseKind::postgres && !pg_name_.empty()) {
    if (auto database = store::open_database(admin_url_)) {
      if (auto lease = (*database)->acquire()) {
        (void)(*lease)->execute("DROP DATABASE IF EXISTS " + pg_name_ + " WITH (FORCE)");
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(folder_, ec);
}

}  // namespace parley::testing
