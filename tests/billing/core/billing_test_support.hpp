#pragma once
// Shared by the billing store and usage meter tests: a clock the test sets, and a migrated
// database (SQLite or PostgreSQL) with users to bill.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "store/database.hpp"
#include "support/database_test.hpp"

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

using testing::backend_name;

class DatabaseTest : public testing::MigratedDatabaseTest {
 protected:
  std::int64_t add_user(const std::string& name) {
    auto row =
        sql("INSERT INTO users (username, auth_provider, password_hash, created_at, updated_at) "
            "VALUES ($1, 'password', 'x', 0, 0) RETURNING id",
            {name});
    EXPECT_EQ(row.size(), 1u);
    return row.empty() ? 0 : *row[0].get<std::int64_t>(std::size_t{0});
  }
};

}  // namespace parley::billing::test
