#pragma once
// A fixture for tests that run once per database backend (SQLite, and PostgreSQL under
// scripts/with-postgres.sh): a migrated throw-away database, more pools on it, and raw SQL.

#include <gtest/gtest.h>

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>

#include "store/database.hpp"
#include "store/migrations/migrator.hpp"
#include "support/test_database.hpp"

namespace parley::testing {

/// The test-name suffix of a backend-parameterized test: "SQLite" or "PostgreSQL".
inline std::string backend_name(const ::testing::TestParamInfo<DatabaseKind>& info) {
  return info.param == DatabaseKind::sqlite ? "SQLite" : "PostgreSQL";
}

class MigratedDatabaseTest : public ::testing::TestWithParam<DatabaseKind> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(database_.url().empty()) << "no database for this run";
    db_ = open();
    ASSERT_TRUE(db_);
    auto migrated = store::migrate(*db_);
    ASSERT_TRUE(migrated) << migrated.error().message;
  }

  /// Another pool on the same database (another "process").
  std::unique_ptr<store::Database> open(std::size_t pool_size = 4) {
    store::DatabaseOptions options;
    options.pool_size = pool_size;
    auto db = store::open_database(database_.url(), options);
    EXPECT_TRUE(db) << db.error().message;
    return db ? std::move(*db) : nullptr;
  }

  /// Runs one statement on the test's pool; a failure fails the test.
  store::Rows sql(const std::string& statement, std::initializer_list<store::Value> params = {}) {
    auto lease = db_->acquire();
    EXPECT_TRUE(lease);
    if (!lease) return {};
    auto rows = (*lease)->query(statement, params);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? std::move(*rows) : store::Rows{};
  }

  TestDatabase database_{GetParam()};
  std::unique_ptr<store::Database> db_;
};

}  // namespace parley::testing
