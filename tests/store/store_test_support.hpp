#pragma once
// Fixture shared by the store tests: a fresh, empty database per test on each backend.
//   SQLite: a file in a new temporary folder.
//   PostgreSQL: CREATE DATABASE with a random name through PARLEY_TEST_POSTGRES_URL (the admin
//   URL), dropped after the test. Without that variable the PostgreSQL tests FAIL, unless
//   PARLEY_TEST_ALLOW_NO_POSTGRES=1, then they are skipped.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/database.hpp"

namespace parley::store::testing {

enum class Backend { sqlite, postgres };

std::string backend_name(const ::testing::TestParamInfo<Backend>& info);

/// Asserts a Result is ok, printing the error otherwise. `expr` is evaluated once.
#define PARLEY_ASSERT_OK(expr)                                        \
  do {                                                                \
    auto&& parley_ok = (expr);                                        \
    ASSERT_TRUE(parley_ok) << to_code(parley_ok.error().code) << ": " \
                           << parley_ok.error().message;              \
  } while (false)
#define PARLEY_EXPECT_OK(expr)                                        \
  do {                                                                \
    auto&& parley_ok = (expr);                                        \
    EXPECT_TRUE(parley_ok) << to_code(parley_ok.error().code) << ": " \
                           << parley_ok.error().message;              \
  } while (false)
/// Asserts a Result failed with `errc`.
#define PARLEY_EXPECT_ERRC(expr, errc)                                  \
  do {                                                                  \
    auto&& parley_r = (expr);                                           \
    ASSERT_FALSE(parley_r) << "expected " << to_code(errc);             \
    EXPECT_EQ(parley_r.error().code, errc) << parley_r.error().message; \
  } while (false)

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// Opens another handle on this test's database.
  std::unique_ptr<Database> open(const DatabaseOptions& options = {});

  /// The test's database with default options (opened in SetUp).
  Database& db() { return *db_; }
  Dialect dialect() const {
    return GetParam() == Backend::sqlite ? Dialect::sqlite : Dialect::postgres;
  }
  /// Applies the migration placeholders ({{id_pk}}, ...) for this backend.
  std::string render(std::string_view sql) const;
  /// Runs statements on a leased connection, failing the test on error.
  void run_script(std::string_view sql);

  std::string url_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Database> admin_;  // PostgreSQL only: connected to the admin database
  std::string pg_database_;
  std::filesystem::path temp_dir_;
};

}  // namespace parley::store::testing
