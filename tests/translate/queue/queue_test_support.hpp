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
#include "support/database_test.hpp"

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

using testing::backend_name;

class DatabaseTest : public testing::MigratedDatabaseTest {
 protected:
  void SetUp() override {
    MigratedDatabaseTest::SetUp();
    if (HasFatalFailure()) return;
    auto room = sql(
        "INSERT INTO chatrooms (name, created_at, updated_at) VALUES ('room', 0, 0) RETURNING id");
    ASSERT_EQ(room.size(), 1u);
    room_ = *room[0].get<std::int64_t>(std::size_t{0});
  }

  std::int64_t add_message(const std::string& text) {
    auto row =
        sql("INSERT INTO messages (chatroom_id, room_seq, kind, text, created_at) "
            "VALUES ($1, $2, 'text', $3, 0) RETURNING id",
            {room_, ++seq_, text});
    EXPECT_EQ(row.size(), 1u);
    return row.empty() ? 0 : *row[0].get<std::int64_t>(std::size_t{0});
  }

  std::int64_t room_ = 0;
  std::int64_t seq_ = 0;
};

}  // namespace parley::translate::test
