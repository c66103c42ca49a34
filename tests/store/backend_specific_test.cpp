// What only one backend has: SQLite PRAGMAs, paths and :memory:; PostgreSQL reconnection.
// Also URL parsing, which needs no server.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "store/database.hpp"
#include "store/migrations/migrator.hpp"
#include "store/sqlite/sqlite_database.hpp"
#include "store_test_support.hpp"

namespace parley::store::testing {
namespace {

using namespace std::chrono_literals;

// --- SQLite --------------------------------------------------------------------------------------

class SqliteTest : public StoreTest {
 protected:
  /// This test's database, its WAL copied by the checkpoint thread past `wal_pages`, with an
  /// empty table `bulk (data BLOB)`. Null (and the test failed) when that cannot be done.
  std::unique_ptr<Database> open_with_bulk_table(std::size_t pool_size, std::size_t wal_pages) {
    DatabaseOptions options;
    options.pool_size = pool_size;
    options.wal_checkpoint_pages = wal_pages;
    auto database = open(options);
    if (!database) return nullptr;
    auto lease = database->acquire();
    EXPECT_TRUE(lease && (*lease)->execute("CREATE TABLE bulk (data BLOB)"));
    if (!lease) return nullptr;
    return database;
  }

  /// This test's database, a pool of two, with an empty table `log (writer TEXT)` for tests of
  /// the write lock's hand-overs. Null (and the test failed) when that cannot be done.
  std::unique_ptr<Database> open_with_log_table() {
    DatabaseOptions options;
    options.pool_size = 2;
    auto database = open(options);
    if (!database) return nullptr;
    auto lease = database->acquire();
    EXPECT_TRUE(lease && (*lease)->execute("CREATE TABLE log (writer TEXT)"));
    if (!lease) return nullptr;
    return database;
  }
};

TEST_P(SqliteTest, PragmasAreInEffectOnEveryPooledConnection) {
  std::vector<ConnectionLease> leases;
  for (std::size_t i = 0; i < db().pool_size(); ++i) {
    auto lease = db().acquire();
    PARLEY_ASSERT_OK(lease);
    leases.push_back(std::move(*lease));
  }
  for (auto& lease : leases) {
    auto pragma = [&](const std::string& name) -> Value {
      auto rows = lease->query("PRAGMA " + name);
      EXPECT_TRUE(rows) << rows.error().message;
      return rows && !rows->empty() ? (*rows)[0][0] : Value{};
    };
    EXPECT_EQ(pragma("journal_mode"), Value{std::string("wal")});
    EXPECT_EQ(pragma("foreign_keys"), Value{std::int64_t{1}});
    EXPECT_EQ(pragma("synchronous"), Value{std::int64_t{2}});  // FULL
    // busy_timeout reads 0: Parley's own busy handler (below) keeps the timeout instead.
  }
}

TEST_P(SqliteTest, BusyTimeoutIsConfigurableAndLockWaitEndsInBusy) {
  DatabaseOptions options;
  options.busy_timeout = 100ms;
  auto quick = open(options);
  ASSERT_TRUE(quick);
  auto holder = db().acquire();
  PARLEY_ASSERT_OK(holder);
  PARLEY_ASSERT_OK((*holder)->begin());  // BEGIN IMMEDIATE holds the write lock
  auto waiter = quick->acquire();
  PARLEY_ASSERT_OK(waiter);
  const auto start = std::chrono::steady_clock::now();
  PARLEY_EXPECT_ERRC((*waiter)->begin(), Errc::busy);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 100ms) << "it waited for the lock as long as configured";
  EXPECT_LT(waited, 3s);
  PARLEY_ASSERT_OK((*holder)->rollback());
  PARLEY_EXPECT_OK((*waiter)->begin());
}

// Writers of one process queue for the write lock and each gets it once the one before has
// committed: none fails, none is lost, whatever the order.
TEST_P(SqliteTest, WritersOfOneProcessTakeTurnsForTheWriteLock) {
  DatabaseOptions options;
  options.pool_size = 4;
  auto shared = open(options);
  ASSERT_TRUE(shared);
  {
    auto lease = shared->acquire();
    PARLEY_ASSERT_OK(lease);
    PARLEY_ASSERT_OK((*lease)->execute("CREATE TABLE turns (writer INTEGER, n INTEGER)"));
  }
  auto holder = shared->acquire();
  PARLEY_ASSERT_OK(holder);
  PARLEY_ASSERT_OK((*holder)->begin());
  PARLEY_ASSERT_OK((*holder)->execute("INSERT INTO turns VALUES (0, 0)"));
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int writer = 1; writer <= 3; ++writer) {
    writers.emplace_back([&, writer] {
      auto lease = shared->acquire();
      if (!lease) return void(++failures);
      for (int n = 0; n < 50; ++n) {
        // Half in transactions, half single statements: both wait for their turn.
        if (n % 2 == 0) {
          auto tx = Transaction::begin(**lease);
          if (!tx ||
              !(*lease)->execute("INSERT INTO turns VALUES ($1, $2)",
                                 {std::int64_t{writer}, std::int64_t{n}}) ||
              !tx->commit()) {
            ++failures;
          }
        } else if (!(*lease)->execute("INSERT INTO turns VALUES ($1, $2)",
                                      {std::int64_t{writer}, std::int64_t{n}})) {
          ++failures;
        }
      }
    });
  }
  std::this_thread::sleep_for(50ms);  // the writers are waiting now
  PARLEY_ASSERT_OK((*holder)->commit());
  for (auto& thread : writers) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = (*holder)->query("SELECT COUNT(*), COUNT(DISTINCT writer * 100 + n) FROM turns");
  PARLEY_ASSERT_OK(rows);
  EXPECT_EQ((*rows)[0][0], Value{std::int64_t{151}});
  EXPECT_EQ((*rows)[0][1], Value{std::int64_t{151}});
}

// A long writer learns that another one waits for the lock, commits early and lets it in: the
// one waiting commits before the long writer goes on.
TEST_P(SqliteTest, AWriterSeesAnotherWaitingAndLetsItInFirst) {
  auto shared = open_with_log_table();
  ASSERT_TRUE(shared);
  auto holder = shared->acquire();
  PARLEY_ASSERT_OK(holder);
  PARLEY_ASSERT_OK((*holder)->begin());
  EXPECT_FALSE((*holder)->writer_waiting()) << "nobody waits yet";
  std::atomic<bool> failed{false};
  std::thread waiter([&] {
    auto lease = shared->acquire();
    if (!lease || !(*lease)->execute("INSERT INTO log VALUES ('waiter')")) failed = true;
  });
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!(*holder)->writer_waiting() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_TRUE((*holder)->writer_waiting()) << "the waiting writer is seen";
  PARLEY_ASSERT_OK((*holder)->execute("INSERT INTO log VALUES ('holder')"));
  PARLEY_ASSERT_OK((*holder)->commit());
  const auto stepped_aside = std::chrono::steady_clock::now();
  (*holder)->let_waiting_writer_in(10s);
  EXPECT_LT(std::chrono::steady_clock::now() - stepped_aside, 5s)
      << "woken by the waiter's commit, not by the time limit";
  auto rows = (*holder)->query("SELECT writer FROM log ORDER BY rowid");
  PARLEY_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u) << "the waiter committed before the holder went on";
  EXPECT_EQ((*rows)[1][0], Value{std::string("waiter")});
  waiter.join();
  EXPECT_FALSE(failed.load());
  EXPECT_FALSE((*holder)->writer_waiting());
}

// A writer that stepped aside goes on after the next write, not after another connection's
// read: a read never held the lock, so it says nothing about whether the waiter got its turn.
TEST_P(SqliteTest, AReadIsNotTakenForTheWaitingWritersTurn) {
  auto shared = open_with_log_table();
  ASSERT_TRUE(shared);
  auto holder = shared->acquire();
  PARLEY_ASSERT_OK(holder);
  auto other = shared->acquire();  // opened (and its pragmas run) before the holder commits
  PARLEY_ASSERT_OK(other);
  PARLEY_ASSERT_OK((*holder)->begin());
  PARLEY_ASSERT_OK((*holder)->execute("INSERT INTO log VALUES ('holder')"));
  PARLEY_ASSERT_OK((*holder)->commit());
  std::atomic<bool> failed{false};
  std::thread reader_then_writer([&] {
    if (!(*other)->query("SELECT COUNT(*) FROM log")) failed = true;
    std::this_thread::sleep_for(300ms);  // the holder would have gone on by now if woken
    if (!(*other)->execute("INSERT INTO log VALUES ('other')")) failed = true;
  });
  (*holder)->let_waiting_writer_in(10s);
  auto rows = (*holder)->query("SELECT writer FROM log ORDER BY rowid");
  PARLEY_ASSERT_OK(rows);
  EXPECT_EQ(rows->size(), 2u) << "woken by the other connection's write, not by its read";
  reader_then_writer.join();
  EXPECT_FALSE(failed.load());
}

// Commits of ~16 KB: about six pages each in the WAL (four overflow pages, a leaf, the root).
void write_pages(Connection& connection, int commits) {
  for (int i = 0; i < commits; ++i) {
    PARLEY_ASSERT_OK(connection.execute("INSERT INTO bulk VALUES (zeroblob(16000))"));
  }
}

// Waits at most 20 s for `done`.
template <class Done>
bool eventually(Done done) {
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (!done() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  return done();
}

TEST_P(SqliteTest, CommitsLeaveTheWalToTheBackgroundCheckpoint) {
  // 24 pages: with SQLite's default, the commit past it copied the WAL.
  auto database = open_with_bulk_table(1, 24);
  ASSERT_TRUE(database);
  auto lease = database->acquire();
  PARLEY_ASSERT_OK(lease);
  const auto file = temp_dir_ / "test.db";
  const auto size_before = std::filesystem::file_size(file);
  write_pages(**lease, 12);  // ~72 pages: past the threshold, short of 4 times it
  // The thread copies after the last commit too: every row reaches the database file.
  EXPECT_TRUE(eventually([&] {
    return std::filesystem::file_size(file) >= size_before + 12 * 16000;
  })) << std::filesystem::file_size(file)
      << " bytes";
  const auto counts = *sqlite::wal_checkpoints(*database);
  EXPECT_GE(counts.background, 1u);
  EXPECT_EQ(counts.by_commits, 0u) << "no commit copied the WAL itself";
  auto rows = (*lease)->query("SELECT count(*) FROM bulk");
  PARLEY_ASSERT_OK(rows);
  EXPECT_EQ((*rows)[0][0], Value{std::int64_t{12}});
}

TEST_P(SqliteTest, TheWalStartsOverUnderBackToBackCommits) {
  auto database = open_with_bulk_table(1, 24);
  ASSERT_TRUE(database);
  auto lease = database->acquire();
  PARLEY_ASSERT_OK(lease);
  // ~1,200 pages with no pause: a writer never finds the WAL all copied by the thread, so past 4
  // times the threshold the commits copy the rest and start it over. Without that the WAL
  // would hold every page (its file is not shrunk when it starts over, so its size is its
  // longest run).
  write_pages(**lease, 200);
  EXPECT_LT(std::filesystem::file_size(temp_dir_ / "test.db-wal"), 600u * 4120u);
  EXPECT_GT(sqlite::wal_checkpoints(*database)->by_commits, 0u);
}

TEST_P(SqliteTest, CommitsCopyTheWalThemselvesWhenTheCheckpointCannotKeepUp) {
  auto database = open_with_bulk_table(2, 10);
  ASSERT_TRUE(database);
  auto writer = database->acquire();
  PARLEY_ASSERT_OK(writer);
  write_pages(**writer, 1);
  // A reader's snapshot keeps the WAL from starting over, so it grows past 4 times the
  // threshold whatever the thread does.
  auto reader = database->acquire();
  PARLEY_ASSERT_OK(reader);
  PARLEY_ASSERT_OK((*reader)->execute("BEGIN"));  // deferred: a read snapshot, no write lock
  PARLEY_ASSERT_OK((*reader)->query("SELECT count(*) FROM bulk"));
  write_pages(**writer, 40);  // ~200 pages
  EXPECT_GT(sqlite::wal_checkpoints(*database)->by_commits, 0u);
  PARLEY_ASSERT_OK((*reader)->execute("COMMIT"));
  auto rows = (*writer)->query("SELECT count(*) FROM bulk");
  PARLEY_ASSERT_OK(rows);
  EXPECT_EQ((*rows)[0][0], Value{std::int64_t{41}});
}

TEST_P(SqliteTest, StatementCacheServesRepeatedQueries) {
  DatabaseOptions options;
  options.statement_cache_size = 2;  // force evictions
  auto small = open(options);
  ASSERT_TRUE(small);
  auto lease = small->acquire();
  PARLEY_ASSERT_OK(lease);
  for (int round = 0; round < 3; ++round) {
    for (std::int64_t i = 0; i < 5; ++i) {
      auto rows = (*lease)->query("SELECT $1 + " + std::to_string(i), {i});
      PARLEY_ASSERT_OK(rows);
      EXPECT_EQ((*rows)[0][0], Value{2 * i});
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backend, SqliteTest, ::testing::Values(Backend::sqlite), backend_name);

TEST(SqliteUrlTest, MemoryDatabaseIsOneSharedConnection) {
  DatabaseOptions options;
  options.acquire_timeout = 50ms;
  auto db = open_database("sqlite:///:memory:", options);
  PARLEY_ASSERT_OK(db);
  EXPECT_EQ((*db)->pool_size(), 1u);
  {
    auto lease = (*db)->acquire();
    PARLEY_ASSERT_OK(lease);
    PARLEY_ASSERT_OK(
        (*lease)->execute_script("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);"));
    PARLEY_EXPECT_ERRC((*db)->acquire(), Errc::busy);
  }
  auto lease = (*db)->acquire();
  PARLEY_ASSERT_OK(lease);
  auto rows = (*lease)->query("SELECT x FROM t");
  PARLEY_ASSERT_OK(rows);
  EXPECT_EQ(rows->size(), 1u);
  lease->reset();
  auto migrated = migrate(**db);
  PARLEY_EXPECT_OK(migrated);
}

TEST(SqliteUrlTest, RelativePathIsRelativeToCwdAndParentsAreCreated) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "parley-store-cwd-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const auto dir = std::filesystem::path(pattern);
  const auto old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  {
    auto db = open_database("sqlite:///instance/nested/parley.db");
    std::filesystem::current_path(old_cwd);
    PARLEY_EXPECT_OK(db);
    if (db) PARLEY_EXPECT_OK((*db)->ping());
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "instance" / "nested" / "parley.db"));
  {
    auto absolute = open_database("sqlite:///" + (dir / "abs" / "x.db").string());
    PARLEY_EXPECT_OK(absolute);
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "abs" / "x.db"));
  std::filesystem::remove_all(dir);
}

TEST(DatabaseUrlTest, BadUrlsAreValidationErrors) {
  for (const char* url :
       {"", "parley.db", "mysql://localhost/db", "sqlite://parley.db", "sqlite:///",
        "sqlite:///dir/", "sqlite:///x.db?mode=ro", "http://example.com",
        "postgresql://host:notaport/db", "postgresql://u@h/db?bogus_option=1"}) {
    auto db = open_database(url);
    ASSERT_FALSE(db) << url;
    EXPECT_EQ(db.error().code, Errc::validation_failed) << url << ": " << db.error().message;
  }
  DatabaseOptions zero;
  zero.pool_size = 0;
  PARLEY_EXPECT_ERRC(open_database("sqlite:///:memory:", zero), Errc::validation_failed);
}

TEST(DatabaseUrlTest, ErrorsDoNotEchoPasswords) {
  auto db = open_database("postgresql://user:s3cret%zz@host/db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().message.find("s3cret"), std::string::npos) << db.error().message;
  auto other = open_database("s3cret://x");
  ASSERT_FALSE(other);
}

TEST(DatabaseUrlTest, UnreachablePostgresIsUnavailable) {
  DatabaseOptions options;
  options.connect_timeout = 2s;
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  auto db = open_database("postgresql://postgres@127.0.0.1:1/postgres", options);
  PARLEY_EXPECT_ERRC(db, Errc::unavailable);
  options.connect_eagerly = false;
  auto lazy = open_database("postgres://postgres@127.0.0.1:1/postgres", options);
  PARLEY_ASSERT_OK(lazy);
  PARLEY_EXPECT_ERRC((*lazy)->ping(), Errc::unavailable);
  PARLEY_EXPECT_ERRC((*lazy)->acquire(), Errc::unavailable);  // the slot was given back
}

// --- PostgreSQL ----------------------------------------------------------------------------------

class PostgresTest : public StoreTest {
 protected:
  std::int64_t backend_pid(Connection& c) {
    auto rows = c.query("SELECT pg_backend_pid()");
    EXPECT_TRUE(rows) << rows.error().message;
    return rows ? (*rows)[0].get<std::int64_t>(std::size_t{0}).value() : -1;
  }

  /// Terminates a backend through the admin connection and waits until it is gone.
  void terminate(std::int64_t pid) {
    auto admin = admin_->acquire();
    PARLEY_ASSERT_OK(admin);
    PARLEY_ASSERT_OK((*admin)->query("SELECT pg_terminate_backend($1::integer)", {pid}));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      auto rows =
          (*admin)->query("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1::integer", {pid});
      PARLEY_ASSERT_OK(rows);
      if ((*rows)[0].get<std::int64_t>(std::size_t{0}).value() == 0) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "backend " << pid << " lingers";
      std::this_thread::sleep_for(20ms);
    }
  }
};

TEST_P(PostgresTest, IdleBrokenConnectionIsReplacedOnAcquire) {
  DatabaseOptions options;
  options.pool_size = 1;
  auto single = open(options);
  ASSERT_TRUE(single);
  std::int64_t pid = 0;
  {
    auto lease = single->acquire();
    PARLEY_ASSERT_OK(lease);
    pid = backend_pid(**lease);
  }
  terminate(pid);
  auto lease = single->acquire();
  PARLEY_ASSERT_OK(lease);
  auto new_pid = backend_pid(**lease);
  EXPECT_GT(new_pid, 0);
  EXPECT_NE(new_pid, pid);
}

TEST_P(PostgresTest, ConnectionBrokenWhileLeasedFailsUnavailableThenRecovers) {
  DatabaseOptions options;
  options.pool_size = 1;
  auto single = open(options);
  ASSERT_TRUE(single);
  {
    auto lease = single->acquire();
    PARLEY_ASSERT_OK(lease);
    terminate(backend_pid(**lease));
    PARLEY_EXPECT_ERRC((*lease)->query("SELECT 1"), Errc::unavailable);
  }
  auto lease = single->acquire();
  PARLEY_ASSERT_OK(lease);
  PARLEY_EXPECT_OK((*lease)->query("SELECT 1"));
  lease->reset();
  PARLEY_EXPECT_OK(single->ping());
}

TEST_P(PostgresTest, DeadlockIsBusy) {
  PARLEY_ASSERT_OK(db().acquire().value()->execute_script(
      "CREATE TABLE locks (id INTEGER PRIMARY KEY, v INTEGER);"
      "INSERT INTO locks VALUES (1, 0), (2, 0);"));
  auto a = db().acquire();
  auto b = db().acquire();
  PARLEY_ASSERT_OK(a);
  PARLEY_ASSERT_OK(b);
  PARLEY_ASSERT_OK((*a)->begin());
  PARLEY_ASSERT_OK((*b)->begin());
  PARLEY_ASSERT_OK((*a)->execute("UPDATE locks SET v = 1 WHERE id = 1"));
  PARLEY_ASSERT_OK((*b)->execute("UPDATE locks SET v = 1 WHERE id = 2"));
  // Each side rolls back when it is the victim: its locks are held until then.
  Result<std::int64_t> from_a = std::int64_t{0};
  std::thread t([&] {
    from_a = (*a)->execute("UPDATE locks SET v = 2 WHERE id = 2");
    if (!from_a) (void)(*a)->rollback();
  });
  std::this_thread::sleep_for(100ms);
  auto from_b = (*b)->execute("UPDATE locks SET v = 2 WHERE id = 1");
  if (!from_b) (void)(*b)->rollback();
  t.join();
  ASSERT_NE(static_cast<bool>(from_a), static_cast<bool>(from_b)) << "one deadlock victim";
  const Error& victim = from_a ? from_b.error() : from_a.error();
  EXPECT_EQ(victim.code, Errc::busy) << victim.message;
  PARLEY_EXPECT_OK((from_a ? *a : *b)->commit());
}

TEST_P(PostgresTest, CommitOfAbortedTransactionIsAnError) {
  auto lease = db().acquire();
  PARLEY_ASSERT_OK(lease);
  PARLEY_ASSERT_OK((*lease)->begin());
  PARLEY_EXPECT_ERRC((*lease)->query("SELECT * FROM no_such_table"), Errc::internal);
  auto committed = (*lease)->commit();
  PARLEY_EXPECT_ERRC(committed, Errc::internal);
  EXPECT_NE(committed.error().message.find("rolled back"), std::string::npos);
  EXPECT_FALSE((*lease)->in_transaction());
}

INSTANTIATE_TEST_SUITE_P(Backend, PostgresTest, ::testing::Values(Backend::postgres), backend_name);

}  // namespace
}  // namespace parley::store::testing
