#pragma once
// The translation cache (table translation_cache, migration 0005): the same text in the same
// language pair is translated once, by any Parley process sharing the database. Chat repeats
// itself ("ok", "thanks", "good morning"), and an engine call costs a pipeline round trip or a
// paid HTTP request; a lookup costs a hash and, at worst, one indexed query.
//
// Two levels:
// - memory: a bounded LRU map per process (TranslationCacheOptions::memory_entries), read by
//   find_in_memory() without any I/O, so a network thread can answer a hit at once and only
//   misses go to a worker;
// - database: the rows every process shares. find() reads them on a memory miss and keeps the
//   hit in memory; put() writes both.
//
// Keys are the SHA-256 of the whole text (hex in the database, the 32 bytes in memory), the
// source and the target language, compared in full: two texts never share an entry unless
// their digests are equal. The text itself is never stored (see the migration).
//
// Texts longer than max_text_bytes are not cached: long texts rarely repeat, and every lookup
// would hash them. put() accepts them and stores nothing; find() answers nullopt.
//
// Memory is per process: a put() in another process (an upsert replacing a translation) is seen
// here only once this process's entry is evicted. Within one process, concurrent put()s of the
// same key may leave memory and database holding different (each valid) translations until
// the entry is evicted.
//
// Retention: last_used_at is set by put() and refreshed by find() at most once a minute per
// entry (kTouchInterval), whether the hit came from memory or from the database; a failed
// refresh does not fail the lookup. find_in_memory() does no I/O and so refreshes nothing: an
// entry served only from memory for longer than the retention period is purged from the
// database by purge_unused() (this process keeps it in memory; others translate it again and
// put() it back).
//
// Thread-safety: all methods are thread-safe. find_in_memory() and stats() never block on I/O
// (one mutex, held for a hash-map lookup). find(), put() and purge_unused() BLOCK on the
// database: run them on workers, never on network threads.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "store/database.hpp"
#include "translate/translator.hpp"

namespace parley::translate {

struct TranslationCacheOptions {
  /// Entries kept in this process's memory (least recently used evicted first); 0: no memory
  /// level, every find() asks the database.
  std::size_t memory_entries = 10'000;
  /// Longest text (bytes of UTF-8) cached; longer texts are neither stored nor looked up.
  std::size_t max_text_bytes = 2048;
};

struct CacheStats {
  std::uint64_t memory_hits = 0;    ///< find_in_memory() and find() answered from memory
  std::uint64_t database_hits = 0;  ///< find() answered from the database
  std::uint64_t misses = 0;  ///< find() found nothing (find_in_memory() misses are not counted)
  std::size_t memory_entries = 0;  ///< entries in memory now
};

class TranslationCache {
 public:
  /// How often at most find() refreshes an entry's last_used_at in the database.
  static constexpr std::chrono::milliseconds kTouchInterval{60'000};

  /// `database` and `clock` must outlive this object.
  TranslationCache(store::Database& database, const core::Clock& clock,
                   TranslationCacheOptions options = {});

  /// The cached translation of `text` from `source` to `target`, from memory only; promotes the
  /// entry. Never blocks on I/O. nullopt for a miss, and for texts that are not cached (empty,
  /// too long, no memory level).
  std::optional<Translation> find_in_memory(std::string_view text, std::string_view source,
                                            std::string_view target);

  /// Memory first, then the database (BLOCKS); a database hit is kept in memory. nullopt for a
  /// miss, and for texts or pairs that put() would not store. Errors: storage errors.
  Result<std::optional<Translation>> find(std::string_view text, std::string_view source,
                                          std::string_view target);

  /// Stores `translation` of `text` under (text, translation.source, translation.target), in
  /// the database (replacing an existing translation: text, engine and via) and in memory.
  /// BLOCKS. A text longer than max_text_bytes is accepted and not stored. Errors:
  /// validation_failed (empty text, translation text, source, target or engine; source equal to
  /// target), storage errors.
  Result<void> put(std::string_view text, const Translation& translation);

  /// Deletes the database entries last used before `before_ms` (Unix ms); returns how many.
  /// Memory is left as it is. BLOCKS. Errors: storage errors.
  Result<std::int64_t> purge_unused(std::int64_t before_ms);

  CacheStats stats() const;

 private:
  struct Key {
    core::Sha256Digest digest;
    std::string source;
    std::string target;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };
  struct Cached {
    std::string text;
    std::string engine;
    std::vector<std::string> via;
    std::int64_t touched_at = 0;  ///< last_used_at as last written or read by this process
    std::list<const Key*>::iterator position;  ///< in lru_
  };
  using Map = std::unordered_map<Key, Cached, KeyHash>;

  bool cacheable(std::string_view text, std::string_view source, std::string_view target) const;
  static Key make_key(std::string_view text, std::string_view source, std::string_view target);
  static Translation to_translation(const Key& key, const Cached& cached);

  /// Under mutex_: the entry, promoted, or nullptr.
  Cached* lookup_locked(const Key& key);
  /// Under mutex_: inserts or (when `replace`) overwrites, then evicts beyond memory_entries.
  void remember_locked(const Key& key, const Translation& translation, std::int64_t touched_at,
                       bool replace);
  /// Sets the row's last_used_at to `now` unless it is already later. Best effort: a failure
  /// only delays retention, so it is not reported.
  static void touch(store::Connection& connection, const std::string& hex, const Key& key,
                    std::int64_t now);

  store::Database& database_;
  const core::Clock& clock_;
  const TranslationCacheOptions options_;

  mutable std::mutex mutex_;
  Map entries_;                // guarded by mutex_
  std::list<const Key*> lru_;  // guarded by mutex_; most recently used first; keys of entries_

  std::atomic<std::uint64_t> memory_hits_{0};
  std::atomic<std::uint64_t> database_hits_{0};
  std::atomic<std::uint64_t> misses_{0};
};

}  // namespace parley::translate
