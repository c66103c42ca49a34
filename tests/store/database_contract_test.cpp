// The Database/Connection contract, run against every backend.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "store/database.hpp"
#include "store_test_support.hpp"

namespace parley::store::testing {
namespace {

using namespace std::chrono_literals;

class DatabaseContractTest : public StoreTest {
 protected:
  void create_items_table() {
    run_script(
        "CREATE TABLE items (id {{id_pk}}, i BIGINT, d {{real}}, s TEXT, b {{blob}});"
        "CREATE TABLE parents (id {{id_pk}}, name TEXT NOT NULL UNIQUE,"
        "  score INTEGER CHECK (score IS NULL OR score >= 0));"
        "CREATE TABLE children (id {{id_pk}},"
        "  parent_id BIGINT NOT NULL REFERENCES parents (id) ON DELETE CASCADE);");
  }

  std::int64_t count(Connection& connection, std::string_view table) {
    auto rows = connection.query("SELECT COUNT(*) AS n FROM " + std::string(table));
    EXPECT_TRUE(rows) << rows.error().message;
    if (!rows || rows->empty()) return -1;
    return (*rows)[0].get<std::int64_t>("n").value();
  }
};

const std::vector<Value>& sample_values() {
  static const std::vector<Value> values = {
      Value{null_value},
      Value{std::int64_t{0}},
      Value{std::numeric_limits<std::int64_t>::max()},
      Value{std::numeric_limits<std::int64_t>::min()},
      Value{3.141592653589793},
      Value{-1e-300},
      Value{1.7976931348623157e308},
      Value{std::string()},
      Value{std::string("plain ascii")},
      Value{std::string("h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x91\x8B\xF0\x9F\x8F\xBD")},
      Value{Blob{}},
      Value{to_blob(std::string_view("\0\x01\0\xff\0", 5))},
  };
  return values;
}

TEST_P(DatabaseContractTest, PingAndDialect) {
  PARLEY_EXPECT_OK(db().ping());
  EXPECT_EQ(db().dialect(), dialect());
  EXPECT_EQ(db().pool_size(), 4u);
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  EXPECT_EQ((*lease)->dialect(), dialect());
}

TEST_P(DatabaseContractTest, ValuesRoundTripThroughSelect) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  for (const Value& value : sample_values()) {
    auto rows = (*lease)->query("SELECT $1 AS v", {value});
    PARLEY_ASSERT_OK(rows);
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0][0], value) << "type " << type_name(value);
  }
}

TEST_P(DatabaseContractTest, ValuesRoundTripThroughTable) {
  create_items_table();
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  Connection& c = **lease;
  const std::string big = "\xF0\x9F\x98\x80 emoji and \xE2\x82\xAC";
  const Blob zeros = to_blob(std::string_view("\0\0\x7f\x80\0", 5));
  struct Case {
    Value i, d, s, b;
  };
  const std::vector<Case> cases = {
      {Value{null_value}, Value{null_value}, Value{null_value}, Value{null_value}},
      {Value{std::numeric_limits<std::int64_t>::max()}, Value{0.1}, Value{big}, Value{zeros}},
      {Value{std::numeric_limits<std::int64_t>::min()}, Value{-2.5e-308}, Value{std::string()},
       Value{Blob{}}},
  };
  for (const auto& row : cases) {
    auto inserted = c.execute("INSERT INTO items (i, d, s, b) VALUES ($1, $2, $3, $4)",
                              {row.i, row.d, row.s, row.b});
    PARLEY_ASSERT_OK(inserted);
    EXPECT_EQ(*inserted, 1);
  }
  auto rows = c.query("SELECT i, d, s, b FROM items ORDER BY id");
  PARLEY_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), cases.size());
  EXPECT_EQ(rows->columns(), (std::vector<std::string>{"i", "d", "s", "b"}));
  for (std::size_t r = 0; r < cases.size(); ++r) {
    const Row& row = (*rows)[r];
    EXPECT_EQ(row[0], cases[r].i) << r;
    EXPECT_EQ(row[1], cases[r].d) << r;
    EXPECT_EQ(row[2], cases[r].s) << r;
    EXPECT_EQ(row[3], cases[r].b) << r;
  }
  // Typed reads by name.
  EXPECT_EQ((*rows)[1].get<std::int64_t>("i").value(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ((*rows)[1].get<std::string>("s").value(), big);
  EXPECT_EQ((*rows)[1].get<Blob>("b").value(), zeros);
  EXPECT_EQ((*rows)[0].get<std::optional<std::string>>("s").value(), std::nullopt);
  EXPECT_EQ((*rows)[0].try_get<std::int64_t>("i"), std::nullopt);
  EXPECT_EQ((*rows)[1].try_get<double>("d"), 0.1);
  PARLEY_EXPECT_ERRC((*rows)[1].get<std::int64_t>("s"), Errc::internal);
  PARLEY_EXPECT_ERRC((*rows)[1].get<std::int64_t>("nope"), Errc::internal);
  PARLEY_EXPECT_ERRC((*rows)[1].get<std::int64_t>(std::size_t{9}), Errc::internal);
  PARLEY_EXPECT_ERRC((*rows)[0].get<std::int64_t>("i"), Errc::internal);  // NULL, not optional
}

TEST_P(DatabaseContractTest, BooleansAreIntegers) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  auto rows = (*lease)->query("SELECT 1 = 1 AS yes, 1 = 0 AS no");
  PARLEY_ASSERT_OK(rows);
  EXPECT_EQ((*rows)[0].get<bool>("yes").value(), true);
  EXPECT_EQ((*rows)[0].get<bool>("no").value(), false);
}

TEST_P(DatabaseContractTest, PlaceholdersOutOfOrderAndRepeated) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  auto rows =
      (*lease)->query("SELECT $2 AS a, $1 AS b, $2 AS c", {std::int64_t{7}, std::string("seven")});
  PARLEY_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].get<std::string>("a").value(), "seven");
  EXPECT_EQ((*rows)[0].get<std::int64_t>("b").value(), 7);
  EXPECT_EQ((*rows)[0].get<std::string>("c").value(), "seven");
}

TEST_P(DatabaseContractTest, MissingParameterIsAnError) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  PARLEY_EXPECT_ERRC((*lease)->query("SELECT $1, $2", {std::int64_t{1}}), Errc::internal);
  // The connection stays usable.
  PARLEY_EXPECT_OK((*lease)->query("SELECT 1"));
}

TEST_P(DatabaseContractTest, QueryTakesOneStatementOnly) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  PARLEY_EXPECT_ERRC((*lease)->query("SELECT 1; SELECT 2"), Errc::internal);
  PARLEY_EXPECT_ERRC((*lease)->query("SELEC 1"), Errc::internal);
  PARLEY_EXPECT_OK((*lease)->query("SELECT 1;"));
}

TEST_P(DatabaseContractTest, EmptyResultKeepsColumnNames) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  auto rows = (*lease)->query("SELECT 1 AS a, 2 AS b WHERE 1 = 0");
  PARLEY_ASSERT_OK(rows);
  EXPECT_TRUE(rows->empty());
  EXPECT_EQ(rows->columns(), (std::vector<std::string>{"a", "b"}));
}

TEST_P(DatabaseContractTest, ExecuteReturnsAffectedRows) {
  create_items_table();
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  Connection& c = **lease;
  for (std::int64_t i = 0; i < 5; ++i) {
    PARLEY_ASSERT_OK(c.execute("INSERT INTO items (i) VALUES ($1)", {i}));
  }
  auto updated =
      c.execute("UPDATE items SET s = $1 WHERE i >= $2", {std::string("x"), std::int64_t{2}});
  PARLEY_ASSERT_OK(updated);
  EXPECT_EQ(*updated, 3);
  auto deleted = c.execute("DELETE FROM items WHERE i < $1", {std::int64_t{100}});
  PARLEY_ASSERT_OK(deleted);
  EXPECT_EQ(*deleted, 5);
  auto returning = c.query("INSERT INTO items (i) VALUES ($1) RETURNING id, i", {std::int64_t{9}});
  PARLEY_ASSERT_OK(returning);
  ASSERT_EQ(returning->size(), 1u);
  EXPECT_GT((*returning)[0].get<std::int64_t>("id").value(), 0);
}

TEST_P(DatabaseContractTest, ConstraintViolationsMapToErrorCodes) {
  create_items_table();
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  Connection& c = **lease;
  PARLEY_ASSERT_OK(c.execute("INSERT INTO parents (name) VALUES ($1)", {std::string("a")}));
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO parents (name) VALUES ($1)", {std::string("a")}),
                     Errc::conflict);
  PARLEY_EXPECT_ERRC(
      c.execute("INSERT INTO children (parent_id) VALUES ($1)", {std::int64_t{424242}}),
      Errc::validation_failed);
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO parents (name) VALUES ($1)", {null_value}),
                     Errc::validation_failed);
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO parents (name, score) VALUES ($1, $2)",
                               {std::string("b"), std::int64_t{-1}}),
                     Errc::validation_failed);
  auto explicit_id = c.query("INSERT INTO parents (id, name) VALUES ($1, $2) RETURNING id",
                             {std::int64_t{1000}, std::string("c")});
  PARLEY_ASSERT_OK(explicit_id);
  PARLEY_EXPECT_ERRC(c.execute("INSERT INTO parents (id, name) VALUES ($1, $2)",
                               {std::int64_t{1000}, std::string("d")}),
                     Errc::conflict);
  EXPECT_EQ(count(c, "parents"), 2);
}

TEST_P(DatabaseContractTest, TransactionGuardRollsBackUnlessCommitted) {
  create_items_table();
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  Connection& c = **lease;
  {
    auto tx = Transaction::begin(c);
    PARLEY_ASSERT_OK(tx);
    EXPECT_TRUE(c.in_transaction());
    PARLEY_ASSERT_OK(c.execute("INSERT INTO items (i) VALUES (1)"));
  }  // destroyed without commit
  EXPECT_FALSE(c.in_transaction());
  EXPECT_EQ(count(c, "items"), 0);
  {
    auto tx = Transaction::begin(c);
    PARLEY_ASSERT_OK(tx);
    PARLEY_ASSERT_OK(c.execute("INSERT INTO items (i) VALUES (2)"));
    PARLEY_ASSERT_OK(tx->commit());
    EXPECT_FALSE(tx->active());
    PARLEY_EXPECT_ERRC(tx->commit(), Errc::internal);
  }
  EXPECT_EQ(count(c, "items"), 1);
  {
    auto tx = Transaction::begin(c);
    PARLEY_ASSERT_OK(tx);
    PARLEY_ASSERT_OK(c.execute("INSERT INTO items (i) VALUES (3)"));
    PARLEY_ASSERT_OK(tx->rollback());
    EXPECT_FALSE(c.in_transaction());
  }
  EXPECT_EQ(count(c, "items"), 1);
  // Visible from another connection only after commit.
  auto other = db().acquire();
  PARLEY_ASSERT_OK(other);
  EXPECT_EQ(count(**other, "items"), 1);
}

TEST_P(DatabaseContractTest, BeginTwiceIsAnError) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  auto tx = Transaction::begin(**lease);
  PARLEY_ASSERT_OK(tx);
  PARLEY_EXPECT_ERRC(Transaction::begin(**lease), Errc::internal);
  EXPECT_TRUE((*lease)->in_transaction());
}

TEST_P(DatabaseContractTest, ErrorInsideTransactionThenRollbackLeavesConnectionUsable) {
  create_items_table();
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  Connection& c = **lease;
  {
    auto tx = Transaction::begin(c);
    PARLEY_ASSERT_OK(tx);
    PARLEY_ASSERT_OK(c.execute("INSERT INTO parents (name) VALUES ('x')"));
    PARLEY_EXPECT_ERRC(c.execute("INSERT INTO parents (name) VALUES ('x')"), Errc::conflict);
  }
  EXPECT_FALSE(c.in_transaction());
  EXPECT_EQ(count(c, "parents"), 0);
  PARLEY_EXPECT_OK(c.execute("INSERT INTO parents (name) VALUES ('x')"));
}

TEST_P(DatabaseContractTest, LeaseReturnedWithOpenTransactionIsRolledBack) {
  create_items_table();
  {
    auto lease = db().acquire();
    PARLEY_ASSERT_OK(lease);
    PARLEY_ASSERT_OK((*lease)->begin());
    PARLEY_ASSERT_OK((*lease)->execute("INSERT INTO items (i) VALUES (1)"));
  }
  // Every pooled connection is clean and nothing was committed.
  std::vector<ConnectionLease> leases;
  for (std::size_t i = 0; i < db().pool_size(); ++i) {
    auto lease = db().acquire();
    PARLEY_ASSERT_OK(lease);
    EXPECT_FALSE((*lease)->in_transaction());
    leases.push_back(std::move(*lease));
  }
  EXPECT_EQ(count(*leases.front(), "items"), 0);
}

TEST_P(DatabaseContractTest, PoolExhaustionWaitsThenTimesOutWithBusy) {
  DatabaseOptions options;
  options.pool_size = 2;
  options.acquire_timeout = 150ms;
  auto small = open(options);
  ASSERT_TRUE(small);
  auto first = small->acquire();
  auto second = small->acquire();
  PARLEY_ASSERT_OK(first);
  PARLEY_ASSERT_OK(second);
  const auto start = std::chrono::steady_clock::now();
  PARLEY_EXPECT_ERRC(small->acquire(), Errc::busy);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 140ms);
  EXPECT_LT(waited, 3s);
  PARLEY_EXPECT_ERRC(small->ping(), Errc::busy);

  // A waiter gets a connection as soon as one is returned.
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    first->reset();
  });
  auto third = small->acquire(std::chrono::steady_clock::now() + 5s);
  releaser.join();
  PARLEY_ASSERT_OK(third);
  PARLEY_EXPECT_OK((*third)->query("SELECT 1"));
}

TEST_P(DatabaseContractTest, StatementTimeoutGivesTimeout) {
  DatabaseOptions options;
  options.statement_timeout = 200ms;
  auto limited = open(options);
  ASSERT_TRUE(limited);
  auto lease = limited->acquire();
  PARLEY_ASSERT_OK(lease);
  const std::string slow = dialect() == Dialect::postgres
                               ? "SELECT pg_sleep(10)"
                               : "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                                 "SELECT COUNT(*) FROM c";
  const auto start = std::chrono::steady_clock::now();
  PARLEY_EXPECT_ERRC((*lease)->query(slow), Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  PARLEY_EXPECT_OK((*lease)->query("SELECT 1"));
}

TEST_P(DatabaseContractTest, ConnectionsWorkFromManyThreads) {
  create_items_table();
  constexpr int kThreads = 6;  // more threads than connections: some wait
  constexpr int kInserts = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kInserts; ++i) {
        auto lease = db().acquire();
        if (!lease ||
            !(*lease)->execute("INSERT INTO items (i) VALUES ($1)", {std::int64_t{t * 1000 + i}})) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  EXPECT_EQ(count(**lease, "items"), kThreads * kInserts);
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseContractTest,
                         ::testing::Values(Backend::sqlite, Backend::postgres), backend_name);

}  // namespace
}  // namespace parley::store::testing
