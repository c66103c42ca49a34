#include "translate/cache/translation_cache.hpp"

#include <cstring>
#include <functional>
#include <utility>

#include "translate/queue/job_rows.hpp"

namespace parley::translate {

namespace {

// The key columns are $1 (text_sha256), $2 (source_language) and $3 (target_language).
constexpr std::string_view kKeyWhere =
    "text_sha256 = $1 AND source_language = $2 AND target_language = $3";

}  // namespace

std::size_t TranslationCache::KeyHash::operator()(const Key& key) const noexcept {
  // The digest is uniformly distributed: its first bytes are a hash already. Equality compares
  // the whole key, so a bucket collision can never return another text's translation.
  std::size_t hash = 0;
  std::memcpy(&hash, key.digest.data(), sizeof hash);
  const auto mix = [&hash](std::size_t value) {
    hash ^= value + 0x9e3779b97f4a7c15ULL + (hash << 6U) + (hash >> 2U);
  };
  mix(std::hash<std::string>{}(key.source));
  mix(std::hash<std::string>{}(key.target));
  return hash;
}

TranslationCache::TranslationCache(store::Database& database, const core::Clock& clock,
                                   TranslationCacheOptions options)
    : database_(database), clock_(clock), options_(options) {}

bool TranslationCache::cacheable(std::string_view text, std::string_view source,
                                 std::string_view target) const {
  return !text.empty() && text.size() <= options_.max_text_bytes && !source.empty() &&
         !target.empty() && source != target;
}

TranslationCache::Key TranslationCache::make_key(std::string_view text, std::string_view source,
                                                 std::string_view target) {
  return Key{core::sha256(text), std::string(source), std::string(target)};
}

Translation TranslationCache::to_translation(const Key& key, const Cached& cached) {
  Translation out;
  out.text = cached.text;
  out.source = key.source;
  out.target = key.target;
  out.engine = cached.engine;
  out.via = cached.via;
  return out;
}

TranslationCache::Cached* TranslationCache::lookup_locked(const Key& key) {
  auto found = entries_.find(key);
  if (found == entries_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, found->second.position);
  return &found->second;
}

void TranslationCache::remember_locked(const Key& key, const Translation& translation,
                                       std::int64_t touched_at, bool replace) {
  if (options_.memory_entries == 0) return;
  if (auto* cached = lookup_locked(key)) {
    // find() does not replace: a put() that finished while it read the database is newer.
    if (!replace) return;
    cached->text = translation.text;
    cached->engine = translation.engine;
    cached->via = translation.via;
    cached->touched_at = touched_at;
    return;
  }
  Cached cached;
  cached.text = translation.text;
  cached.engine = translation.engine;
  cached.via = translation.via;
  cached.touched_at = touched_at;
  // The lookup above found nothing, under the same lock: this inserts.
  const auto inserted = entries_.emplace(key, std::move(cached)).first;
  // unordered_map never moves its nodes: the key's address is stable until it is erased.
  lru_.push_front(&inserted->first);
  inserted->second.position = lru_.begin();
  while (entries_.size() > options_.memory_entries) {
    const Key* oldest = lru_.back();
    lru_.pop_back();
    entries_.erase(entries_.find(*oldest));
  }
}

void TranslationCache::touch(store::Connection& connection, const std::string& hex, const Key& key,
                             std::int64_t now) {
  // "last_used_at < $4": never moves the time back (another process's clock may be ahead).
  (void)connection.execute("UPDATE translation_cache SET last_used_at = $4 WHERE " +
                               std::string(kKeyWhere) + " AND last_used_at < $4",
                           {hex, key.source, key.target, now});
}

std::optional<Translation> TranslationCache::find_in_memory(std::string_view text,
                                                            std::string_view source,
                                                            std::string_view target) {
  if (options_.memory_entries == 0 || !cacheable(text, source, target)) return std::nullopt;
  const Key key = make_key(text, source, target);  // hashed before taking the lock
  std::optional<Translation> out;
  {
    std::lock_guard lock(mutex_);
    if (const auto* cached = lookup_locked(key)) out = to_translation(key, *cached);
  }
  if (out) memory_hits_.fetch_add(1, std::memory_order_relaxed);
  return out;
}

Result<std::optional<Translation>> TranslationCache::find(std::string_view text,
                                                          std::string_view source,
                                                          std::string_view target) {
  if (!cacheable(text, source, target)) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::optional<Translation>();
  }
  const Key key = make_key(text, source, target);
  const std::int64_t now = clock_.now_ms();

  if (options_.memory_entries > 0) {
    std::optional<Translation> hit;
    bool refresh = false;
    {
      std::lock_guard lock(mutex_);
      if (auto* cached = lookup_locked(key)) {
        hit = to_translation(key, *cached);
        // Claimed under the lock: of several threads finding the entry, one refreshes it.
        refresh = now - cached->touched_at >= kTouchInterval.count();
        if (refresh) cached->touched_at = now;
      }
    }
    if (hit) {
      memory_hits_.fetch_add(1, std::memory_order_relaxed);
      if (refresh) {
        if (auto lease = database_.acquire()) touch(**lease, core::to_hex(key.digest), key, now);
      }
      return hit;
    }
  }

  const std::string hex = core::to_hex(key.digest);
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT translation, engine, via, last_used_at FROM translation_cache WHERE " +
          std::string(kKeyWhere),
      {hex, key.source, key.target});
  if (!rows) return rows.error();
  if (rows->empty()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::optional<Translation>();
  }
  const auto& row = (*rows)[0];
  auto translated = row.get<std::string>("translation");
  auto engine = row.get<std::string>("engine");
  auto via = row.get<std::string>("via");
  auto last_used = row.get<std::int64_t>("last_used_at");
  if (!translated || !engine || !via || !last_used) {
    return fail(Errc::internal, "a cached translation cannot be read");
  }
  Translation out;
  out.text = std::move(*translated);
  out.source = key.source;
  out.target = key.target;
  out.engine = std::move(*engine);
  out.via = detail::split_via(*via);

  std::int64_t touched_at = *last_used;
  if (now - touched_at >= kTouchInterval.count()) {
    touch(**lease, hex, key, now);
    touched_at = now;
  }
  lease->reset();
  {
    std::lock_guard lock(mutex_);
    remember_locked(key, out, touched_at, /*replace=*/false);
  }
  database_hits_.fetch_add(1, std::memory_order_relaxed);
  return std::optional<Translation>(std::move(out));
}

Result<void> TranslationCache::put(std::string_view text, const Translation& translation) {
  if (text.empty()) return fail(Errc::validation_failed, "there is no text to cache");
  if (translation.text.empty() || translation.engine.empty()) {
    return fail(Errc::validation_failed, "a cached translation needs a text and an engine");
  }
  if (translation.source.empty() || translation.target.empty()) {
    return fail(Errc::validation_failed, "a cached translation needs both languages");
  }
  if (translation.source == translation.target) {
    return fail(Errc::validation_failed, "a translation's languages must differ");
  }
  if (text.size() > options_.max_text_bytes) return {};  // not cached (see the header)

  const Key key = make_key(text, translation.source, translation.target);
  const std::int64_t now = clock_.now_ms();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto stored = (*lease)->execute(
      "INSERT INTO translation_cache (text_sha256, source_language, target_language, "
      "translation, engine, via, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
      "$7) ON CONFLICT (text_sha256, source_language, target_language) DO UPDATE SET "
      "translation = excluded.translation, engine = excluded.engine, via = excluded.via, "
      "last_used_at = excluded.last_used_at",
      {core::to_hex(key.digest), key.source, key.target, translation.text, translation.engine,
       detail::join_via(translation.via), now});
  if (!stored) return stored.error();
  lease->reset();
  {
    std::lock_guard lock(mutex_);
    remember_locked(key, translation, now, /*replace=*/true);
  }
  return {};
}

Result<std::int64_t> TranslationCache::purge_unused(std::int64_t before_ms) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  return (*lease)->execute("DELETE FROM translation_cache WHERE last_used_at < $1", {before_ms});
}

CacheStats TranslationCache::stats() const {
  CacheStats out;
  out.memory_hits = memory_hits_.load(std::memory_order_relaxed);
  out.database_hits = database_hits_.load(std::memory_order_relaxed);
  out.misses = misses_.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  out.memory_entries = entries_.size();
  return out;
}

}  // namespace parley::translate
