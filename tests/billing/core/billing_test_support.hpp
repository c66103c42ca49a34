#pragma once
// Shared by the billing store and usage meter tests: a clock the test sets, and a migrated
// database (SQLite or PostgreSQL) with users to bill.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "store/database.hpp"
#include "store/migrations/migrator.hpp"
#include "support/test_database.hpp"

namespace parley::billing::test {

/// A fixed time the test moves.
class TestClock final : public core::Clock {
 public:
  explicit TestClock(std::int64_t now_ms) : now_(now_ms) {}
  std::int64_t now_ms() const override { return now_.load(); }
  void set(std::int64_t now_ms) { now_.store(now_ms); }
  void advance_ms(std::int64_t by) { now_.fetch_add(by); }

 private:
  std::atomic<std::int64_t> now_;
};

inline std::string backend_name(const ::testing::TestParamInfo<testing::DatabaseKind>& info) {
  return info.param == testing::DatabaseKind::sqlite ? "SQLite" : "PostgreSQL";
}

class DatabaseTest : public ::testing::TestWithParam<testing::DatabaseKind> {
 protected:
  void SetUp() override {
    ASSERT_FALSE(database_.url().empty()) << "no database for this run";
    db_ = open();
    ASSERT_TRUE(db_);
    auto migrated = store::migrate(*db_);
    ASSERT_TRUE(migrated) << migrated.error().message;
  }

  /// Another pool on the same database (another "process").
  std::unique_ptr<store::Database> open() {
    store::DatabaseOptions options;
    options.pool_size = 4;
    auto db = store::open_database(database_.url(), options);
    EXPECT_TRUE(db) << db.error().message;
    return db ? std::move(*db) : nullptr;
  }

  std::int64_t add_user(const std::string& name) {
    auto lease = db_->acquire();
    EXPECT_TRUE(lease);
    auto row = (*lease)->query(
        "INSERT INTO users (username, auth_provider, password_hash, created_at, updated_at) "
        "VALUES ($1, 'password', 'x', 0, 0) RETURNING id",
        {name});
    EXPECT_TRUE(row) << row.error().message;
    return *(*row)[0].get<std::int64_t>(std::size_t{0});
  }

  store::Rows sql(const std::string& statement, std::initializer_list<store::Value> params = {}) {
    auto lease = db_->acquire();
    EXPECT_TRUE(lease);
    auto rows = (*lease)->query(statement, params);
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? std::move(*rows) : store::Rows{};
  }

  testing::TestDatabase database_{GetParam()};
  std::unique_ptr<store::Database> db_;
};

}  // namespace parley::billing::test
