#pragma once
// Shared by the queue tests: a clock the test moves, and a migrated database (SQLite or
// PostgreSQL) with one room to hang messages on.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "store/database.hpp"
#include "store/migrations/migrator.hpp"
#include "support/test_database.hpp"

namespace parley::translate::test {

/// Real time plus an offset the test can advance (for leases and backoff with live threads),
/// or a fixed time when started with `fixed`.
class TestClock final : public core::Clock {
 public:
  TestClock() = default;
  explicit TestClock(std::int64_t fixed) : fixed_(true), now_(fixed) {}
  std::int64_t now_ms() const override {
    if (fixed_) return now_.load();
    return system_.now_ms() + now_.load();
  }
  void advance(std::chrono::milliseconds by) { now_.fetch_add(by.count()); }

 private:
  bool fixed_ = false;
  std::atomic<std::int64_t> now_{0};
  core::SystemClock system_;
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
    ASSERT_TRUE(store::migrate(*db_));
    auto lease = db_->acquire();
    ASSERT_TRUE(lease);
    auto room = (*lease)->query(
        "INSERT INTO chatrooms (name, created_at, updated_at) VALUES ('room', 0, 0) RETURNING id");
    ASSERT_TRUE(room) << room.error().message;
    room_ = *(*room)[0].get<std::int64_t>(std::size_t{0});
  }

  /// Another pool on the same database (another "process").
  std::unique_ptr<store::Database> open() {
    store::DatabaseOptions options;
    options.pool_size = 4;
    auto db = store::open_database(database_.url(), options);
    EXPECT_TRUE(db) << db.error().message;
    return db ? std::move(*db) : nullptr;
  }

  std::int64_t add_message(const std::string& text) {
    auto lease = db_->acquire();
    EXPECT_TRUE(lease);
    auto row = (*lease)->query(
        "INSERT INTO messages (chatroom_id, room_seq, kind, text, created_at) "
        "VALUES ($1, $2, 'text', $3, 0) RETURNING id",
        {room_, ++seq_, text});
    EXPECT_TRUE(row) << row.error().message;
    return *(*row)[0].get<std::int64_t>(std::size_t{0});
  }

  testing::TestDatabase database_{GetParam()};
  std::unique_ptr<store::Database> db_;
  std::int64_t room_ = 0;
  std::int64_t seq_ = 0;
};

}  // namespace parley::translate::test
