// TranslationCache against real databases (SQLite and PostgreSQL): memory and database levels,
// two caches sharing one database (two processes), keys that never collide, upserts, LRU
// eviction, no memory level, texts too long to cache, validation, retention (last_used_at and
// purge_unused), statistics, and concurrent puts and finds.

#include "translate/cache/translation_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../queue/queue_test_support.hpp"
#include "core/digest.hpp"

namespace parley::translate {
namespace {

using namespace std::chrono_literals;
using test::TestClock;

constexpr std::int64_t kStart = 1'700'000'000'000;

Translation translated(std::string text, std::string source = "en", std::string target = "es",
                       std::string engine = "apertium", std::vector<std::string> via = {}) {
  Translation t;
  t.text = std::move(text);
  t.source = std::move(source);
  t.target = std::move(target);
  t.engine = std::move(engine);
  t.via = std::move(via);
  return t;
}

TranslationCacheOptions memory(std::size_t entries) {
  TranslationCacheOptions options;
  options.memory_entries = entries;
  return options;
}

void expect_same(const Translation& actual, const Translation& expected) {
  EXPECT_EQ(actual.text, expected.text);
  EXPECT_EQ(actual.source, expected.source);
  EXPECT_EQ(actual.target, expected.target);
  EXPECT_EQ(actual.engine, expected.engine);
  EXPECT_EQ(actual.via, expected.via);
}

class TranslationCacheTest : public test::DatabaseTest {
 protected:
  std::int64_t row_count() {
    auto lease = db_->acquire();
    EXPECT_TRUE(lease);
    auto rows = (*lease)->query("SELECT COUNT(*) AS n FROM translation_cache");
    EXPECT_TRUE(rows) << rows.error().message;
    return *(*rows)[0].get<std::int64_t>("n");
  }

  /// The stored row's column, by the text's digest and the pair.
  template <class T>
  std::optional<T> column(std::string_view name, std::string_view text, std::string source,
                          std::string target) {
    auto lease = db_->acquire();
    EXPECT_TRUE(lease);
    auto rows = (*lease)->query(
        "SELECT " + std::string(name) +
            " AS value FROM translation_cache WHERE text_sha256 = $1 AND source_language = $2 "
            "AND target_language = $3",
        {core::to_hex(core::sha256(text)), std::move(source), std::move(target)});
    EXPECT_TRUE(rows) << rows.error().message;
    if (!rows || rows->empty()) return std::nullopt;
    return *(*rows)[0].get<T>("value");
  }

  /// find() that must succeed.
  static std::optional<Translation> lookup(TranslationCache& cache, std::string_view text,
                                           std::string_view source = "en",
                                           std::string_view target = "es") {
    auto found = cache.find(text, source, target);
    EXPECT_TRUE(found) << found.error().message;
    return found ? *found : std::nullopt;
  }

  TestClock clock_{kStart};
};

TEST_P(TranslationCacheTest, MissThenPutThenMemoryHit) {
  TranslationCache cache(*db_, clock_);
  EXPECT_FALSE(lookup(cache, "Good morning"));
  EXPECT_FALSE(cache.find_in_memory("Good morning", "en", "es"));

  const auto hola = translated("Buenos días");
  ASSERT_TRUE(cache.put("Good morning", hola));
  auto in_memory = cache.find_in_memory("Good morning", "en", "es");
  ASSERT_TRUE(in_memory);
  expect_same(*in_memory, hola);
  auto found = lookup(cache, "Good morning");
  ASSERT_TRUE(found);
  expect_same(*found, hola);

  const auto stats = cache.stats();
  EXPECT_EQ(stats.memory_hits, 2U);
  EXPECT_EQ(stats.database_hits, 0U);
  EXPECT_EQ(stats.misses, 1U);  // find_in_memory() misses are not counted
  EXPECT_EQ(stats.memory_entries, 1U);
}

TEST_P(TranslationCacheTest, StoresTheDigestNotTheText) {
  TranslationCache cache(*db_, clock_);
  ASSERT_TRUE(cache.put("Good night", translated("Bona nit", "en", "ca", "apertium", {"es"})));
  ASSERT_TRUE(cache.put("Thank you", translated("Merci", "en", "fr", "openai", {"es", "it"})));
  EXPECT_EQ(row_count(), 2);
  EXPECT_EQ(column<std::string>("translation", "Good night", "en", "ca"), "Bona nit");
  EXPECT_EQ(column<std::string>("via", "Good night", "en", "ca"), "es");
  EXPECT_EQ(column<std::string>("via", "Thank you", "en", "fr"), "es,it");
  EXPECT_EQ(column<std::string>("engine", "Thank you", "en", "fr"), "openai");
  EXPECT_EQ(column<std::int64_t>("created_at", "Thank you", "en", "fr"), kStart);
  EXPECT_EQ(column<std::int64_t>("last_used_at", "Thank you", "en", "fr"), kStart);

  auto lease = db_->acquire();
  ASSERT_TRUE(lease);
  auto plain = (*lease)->query(
      "SELECT COUNT(*) AS n FROM translation_cache WHERE text_sha256 = 'Good night' "
      "OR translation LIKE '%Good%' OR length(text_sha256) <> 64");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(*(*plain)[0].get<std::int64_t>("n"), 0);

  // Pivot languages come back as they went in.
  TranslationCache other(*db_, clock_);
  auto found = lookup(other, "Thank you", "en", "fr");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->via, (std::vector<std::string>{"es", "it"}));
}

TEST_P(TranslationCacheTest, SecondCacheOnTheSameDatabaseFindsIt) {
  TranslationCache first(*db_, clock_);
  auto other_db = open();  // another pool: another process
  ASSERT_TRUE(other_db);
  TranslationCache second(*other_db, clock_);

  const auto hola = translated("Hola", "en", "es", "apertium", {"fr"});
  ASSERT_TRUE(first.put("Hello", hola));
  EXPECT_FALSE(second.find_in_memory("Hello", "en", "es"));

  auto from_database = lookup(second, "Hello");
  ASSERT_TRUE(from_database);
  expect_same(*from_database, hola);
  EXPECT_EQ(second.stats().database_hits, 1U);
  EXPECT_EQ(second.stats().memory_entries, 1U);

  auto from_memory = second.find_in_memory("Hello", "en", "es");
  ASSERT_TRUE(from_memory);
  expect_same(*from_memory, hola);
  auto again = lookup(second, "Hello");
  ASSERT_TRUE(again);
  expect_same(*again, hola);

  const auto stats = second.stats();
  EXPECT_EQ(stats.memory_hits, 2U);
  EXPECT_EQ(stats.database_hits, 1U);
  EXPECT_EQ(stats.misses, 0U);
}

TEST_P(TranslationCacheTest, DistinctPairsAndTextsDoNotCollide) {
  TranslationCache cache(*db_, clock_);
  ASSERT_TRUE(cache.put("Hello", translated("Hola", "en", "es")));
  ASSERT_TRUE(cache.put("Hello", translated("Hola (ca)", "en", "ca")));
  ASSERT_TRUE(cache.put("Hello", translated("Hallo", "nl", "de")));
  ASSERT_TRUE(cache.put("Hello!", translated("¡Hola!", "en", "es")));
  EXPECT_EQ(row_count(), 4);

  auto check = [](TranslationCache& c, std::string_view text, std::string_view source,
                  std::string_view target, std::optional<std::string> expected) {
    auto found = lookup(c, text, source, target);
    ASSERT_EQ(found.has_value(), expected.has_value()) << text << " " << source << "→" << target;
    if (expected) {
      EXPECT_EQ(found->text, *expected);
      EXPECT_EQ(found->source, source);
      EXPECT_EQ(found->target, target);
    }
  };
  // Memory level, then the database level (a cache without memory).
  TranslationCache database_only(*db_, clock_, memory(0));
  for (auto* c : {&cache, &database_only}) {
    check(*c, "Hello", "en", "es", "Hola");
    check(*c, "Hello", "en", "ca", "Hola (ca)");
    check(*c, "Hello", "nl", "de", "Hallo");
    check(*c, "Hello!", "en", "es", "¡Hola!");
    check(*c, "Hello", "es", "en", std::nullopt);  // reversed pair
    check(*c, "Hello", "en", "de", std::nullopt);
    check(*c, "hello", "en", "es", std::nullopt);   // case matters
    check(*c, "Hello ", "en", "es", std::nullopt);  // so does white space
  }
}

TEST_P(TranslationCacheTest, PutReplacesAnExistingTranslation) {
  TranslationCache cache(*db_, clock_);
  ASSERT_TRUE(cache.put("Hello", translated("Hola", "en", "es", "apertium", {"fr"})));
  clock_.advance(5min);
  const auto better = translated("¡Hola!", "en", "es", "openai");
  ASSERT_TRUE(cache.put("Hello", better));

  EXPECT_EQ(row_count(), 1);
  EXPECT_EQ(column<std::int64_t>("created_at", "Hello", "en", "es"), kStart);
  EXPECT_EQ(column<std::int64_t>("last_used_at", "Hello", "en", "es"), kStart + 300'000);
  auto in_memory = cache.find_in_memory("Hello", "en", "es");
  ASSERT_TRUE(in_memory);
  expect_same(*in_memory, better);
  TranslationCache other(*db_, clock_);
  auto from_database = lookup(other, "Hello");
  ASSERT_TRUE(from_database);
  expect_same(*from_database, better);
  EXPECT_EQ(cache.stats().memory_entries, 1U);
}

TEST_P(TranslationCacheTest, EvictsTheLeastRecentlyUsedEntry) {
  TranslationCache cache(*db_, clock_, memory(2));
  ASSERT_TRUE(cache.put("one", translated("uno")));
  ASSERT_TRUE(cache.put("two", translated("dos")));
  ASSERT_TRUE(cache.find_in_memory("one", "en", "es"));  // "two" is now the oldest
  ASSERT_TRUE(cache.put("three", translated("tres")));

  EXPECT_EQ(cache.stats().memory_entries, 2U);
  EXPECT_TRUE(cache.find_in_memory("one", "en", "es"));
  EXPECT_TRUE(cache.find_in_memory("three", "en", "es"));  // order now: three, one
  EXPECT_FALSE(cache.find_in_memory("two", "en", "es"));

  // Evicted from memory, still in the database; finding it brings it back and evicts "one".
  auto two = lookup(cache, "two");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->text, "dos");
  EXPECT_EQ(cache.stats().database_hits, 1U);
  EXPECT_EQ(cache.stats().memory_entries, 2U);
  EXPECT_TRUE(cache.find_in_memory("two", "en", "es"));
  EXPECT_TRUE(cache.find_in_memory("three", "en", "es"));
  EXPECT_FALSE(cache.find_in_memory("one", "en", "es"));
  EXPECT_EQ(row_count(), 3);
}

TEST_P(TranslationCacheTest, WorksWithoutAMemoryLevel) {
  TranslationCache cache(*db_, clock_, memory(0));
  ASSERT_TRUE(cache.put("Hello", translated("Hola")));
  EXPECT_FALSE(cache.find_in_memory("Hello", "en", "es"));
  for (int i = 0; i < 2; ++i) {
    auto found = lookup(cache, "Hello");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->text, "Hola");
  }
  EXPECT_FALSE(lookup(cache, "Goodbye"));
  const auto stats = cache.stats();
  EXPECT_EQ(stats.memory_hits, 0U);
  EXPECT_EQ(stats.database_hits, 2U);
  EXPECT_EQ(stats.misses, 1U);
  EXPECT_EQ(stats.memory_entries, 0U);
}

TEST_P(TranslationCacheTest, DoesNotCacheTextsLongerThanTheLimit) {
  TranslationCacheOptions options;
  options.max_text_bytes = 16;
  TranslationCache cache(*db_, clock_, options);
  const std::string longest(16, 'a');
  const std::string too_long(17, 'a');

  EXPECT_TRUE(cache.put(too_long, translated("demasiado")));  // accepted, not stored
  EXPECT_EQ(row_count(), 0);
  EXPECT_FALSE(cache.find_in_memory(too_long, "en", "es"));
  EXPECT_FALSE(lookup(cache, too_long));
  EXPECT_EQ(cache.stats().memory_entries, 0U);

  ASSERT_TRUE(cache.put(longest, translated("justo")));
  EXPECT_EQ(row_count(), 1);
  EXPECT_TRUE(cache.find_in_memory(longest, "en", "es"));

  // The default limit is 2048 bytes.
  TranslationCache defaults(*db_, clock_);
  ASSERT_TRUE(defaults.put(std::string(2048, 'b'), translated("largo")));
  ASSERT_TRUE(defaults.put(std::string(2049, 'b'), translated("demasiado largo")));
  EXPECT_EQ(row_count(), 2);
}

TEST_P(TranslationCacheTest, RejectsIncompleteTranslations) {
  TranslationCache cache(*db_, clock_);
  auto expect_invalid = [&](std::string_view text, const Translation& t) {
    auto put = cache.put(text, t);
    ASSERT_FALSE(put);
    EXPECT_EQ(put.error().code, Errc::validation_failed);
  };
  expect_invalid("", translated("Hola"));
  expect_invalid("Hello", translated(""));
  expect_invalid("Hello", translated("Hola", "", "es"));
  expect_invalid("Hello", translated("Hola", "en", ""));
  expect_invalid("Hello", translated("Hola", "en", "es", ""));
  expect_invalid("Hello", translated("Hello", "en", "en"));
  // Validation comes before the length check: a bad call is reported even for a long text.
  expect_invalid(std::string(5000, 'a'), translated("Hola", "en", "es", ""));
  EXPECT_EQ(row_count(), 0);
  EXPECT_EQ(cache.stats().memory_entries, 0U);

  // Lookups that put() would refuse are misses, not errors.
  EXPECT_FALSE(lookup(cache, "", "en", "es"));
  EXPECT_FALSE(lookup(cache, "Hello", "", "es"));
  EXPECT_FALSE(lookup(cache, "Hello", "en", "en"));
  EXPECT_FALSE(cache.find_in_memory("Hello", "en", ""));
}

TEST_P(TranslationCacheTest, FindRefreshesLastUsedAtMostOnceAMinute) {
  TranslationCache cache(*db_, clock_);
  ASSERT_TRUE(cache.put("Hello", translated("Hola")));
  auto last_used = [&] { return column<std::int64_t>("last_used_at", "Hello", "en", "es"); };

  clock_.advance(30s);
  ASSERT_TRUE(lookup(cache, "Hello"));  // memory hit, refreshed less than a minute ago
  EXPECT_EQ(last_used(), kStart);
  clock_.advance(31s);
  ASSERT_TRUE(lookup(cache, "Hello"));  // memory hit, a minute later
  EXPECT_EQ(last_used(), kStart + 61'000);
  clock_.advance(10s);
  ASSERT_TRUE(lookup(cache, "Hello"));
  EXPECT_EQ(last_used(), kStart + 61'000);
  // find_in_memory() does no I/O: it refreshes nothing.
  clock_.advance(5min);
  ASSERT_TRUE(cache.find_in_memory("Hello", "en", "es"));
  EXPECT_EQ(last_used(), kStart + 61'000);

  // A database hit refreshes a row last used a minute ago or more.
  TranslationCache other(*db_, clock_);
  ASSERT_TRUE(lookup(other, "Hello"));
  const std::int64_t now = clock_.now_ms();
  EXPECT_EQ(last_used(), now);
  EXPECT_EQ(column<std::int64_t>("created_at", "Hello", "en", "es"), kStart);
  ASSERT_TRUE(lookup(other, "Hello"));  // now a memory hit, just refreshed
  EXPECT_EQ(last_used(), now);
}

TEST_P(TranslationCacheTest, PurgeUnusedDeletesEntriesNotUsedSince) {
  TranslationCache cache(*db_, clock_);
  ASSERT_TRUE(cache.put("old", translated("viejo")));
  ASSERT_TRUE(cache.put("used", translated("usado")));
  clock_.advance(10min);
  ASSERT_TRUE(cache.put("new", translated("nuevo")));
  ASSERT_TRUE(lookup(cache, "used"));  // a memory hit; its last refresh is 10 minutes old
  EXPECT_EQ(column<std::int64_t>("last_used_at", "used", "en", "es"), clock_.now_ms());

  auto purged = cache.purge_unused(kStart + 5 * 60'000);
  ASSERT_TRUE(purged) << purged.error().message;
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(row_count(), 2);

  TranslationCache other(*db_, clock_);
  EXPECT_FALSE(lookup(other, "old"));
  EXPECT_TRUE(lookup(other, "new"));
  EXPECT_TRUE(lookup(other, "used"));
  // Memory is left as it is.
  EXPECT_TRUE(cache.find_in_memory("old", "en", "es"));

  auto again = cache.purge_unused(kStart + 5 * 60'000);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0);
}

TEST_P(TranslationCacheTest, ConcurrentPutsAndFindsAreConsistent) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 150;
  constexpr int kTexts = 12;
  const std::vector<std::string> targets{"es", "ca", "fr"};
  auto expected = [](int text, const std::string& target) {
    return "text " + std::to_string(text) + " in " + target;
  };

  auto other_db = open();
  ASSERT_TRUE(other_db);
  // A small memory on one cache (constant eviction), none on the other.
  TranslationCache small(*db_, clock_, memory(8));
  TranslationCache database_only(*other_db, clock_, memory(0));

  std::mutex errors_mutex;
  std::vector<std::string> errors;
  std::atomic<std::uint64_t> finds{0};           // find() calls
  std::atomic<std::uint64_t> hits_in_memory{0};  // find_in_memory() hits
  auto report = [&](std::string error) {
    std::lock_guard lock(errors_mutex);
    errors.push_back(std::move(error));
  };
  auto work = [&](TranslationCache& cache, int seed) {
    for (int round = 0; round < kRounds; ++round) {
      const int text = (round * 7 + seed) % kTexts;
      const auto& target = targets[static_cast<std::size_t>(round + seed) % targets.size()];
      const std::string source_text = "source text " + std::to_string(text);
      if ((round + seed) % 3 == 0) {
        auto put = cache.put(source_text, translated(expected(text, target), "en", target,
                                                     round % 2 == 0 ? "apertium" : "openai"));
        if (!put) report("put: " + put.error().message);
        continue;
      }
      std::optional<Translation> found;
      if (round % 2 == 0) {
        found = cache.find_in_memory(source_text, "en", target);
        if (found) hits_in_memory.fetch_add(1);
      } else {
        auto result = cache.find(source_text, "en", target);
        finds.fetch_add(1);
        if (!result) {
          report("find: " + result.error().message);
          continue;
        }
        found = *result;
      }
      if (found && (found->text != expected(text, target) || found->target != target ||
                    found->source != "en")) {
        report("wrong translation for " + source_text + " → " + target + ": " + found->text);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back(work, std::ref(i % 2 == 0 ? small : database_only), i);
  }
  for (auto& thread : threads) thread.join();

  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, the first: " << errors.front();
  const auto small_stats = small.stats();
  const auto other_stats = database_only.stats();
  EXPECT_LE(small_stats.memory_entries, 8U);
  EXPECT_EQ(other_stats.memory_entries, 0U);
  EXPECT_EQ(other_stats.memory_hits, 0U);
  // Every find() is counted once, as a hit or a miss; find_in_memory() counts only its hits.
  EXPECT_EQ(small_stats.memory_hits + small_stats.database_hits + small_stats.misses +
                other_stats.database_hits + other_stats.misses,
            finds.load() + hits_in_memory.load());
  // Afterwards every pair that was put is found, with the one translation it can have.
  for (int text = 0; text < kTexts; ++text) {
    for (const auto& target : targets) {
      auto found = lookup(database_only, "source text " + std::to_string(text), "en", target);
      if (found) {
        EXPECT_EQ(found->text, expected(text, target));
      }
    }
  }
  EXPECT_GT(row_count(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, TranslationCacheTest,
                         ::testing::Values(testing::DatabaseKind::sqlite,
                                           testing::DatabaseKind::postgres),
                         test::backend_name);

}  // namespace
}  // namespace parley::translate
