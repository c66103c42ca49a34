#pragma once
// A throw-away database for one test: an SQLite file in a temporary folder, or a fresh database
// on the PostgreSQL server that scripts/with-postgres.sh started (PARLEY_TEST_POSTGRES_URL).

#include <filesystem>
#include <string>

namespace parley::testing {

enum class DatabaseKind { sqlite, postgres };

class TestDatabase {
 public:
  /// Fails the calling test (gtest ADD_FAILURE) and leaves url() empty when PostgreSQL is asked
  /// for but PARLEY_TEST_POSTGRES_URL is unset.
  explicit TestDatabase(DatabaseKind kind);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::filesystem::path& folder() const { return folder_; }

 private:
  DatabaseKind kind_;
  std::filesystem::path folder_;
  std::string url_;
  std::string admin_url_;
  std::string pg_name_;
};

}  // namespace parley::testing
