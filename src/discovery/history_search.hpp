#pragma once
// Full-text search in one room's history, for its members: originals and stored translations
// (SQLite FTS5, PostgreSQL tsvector with GIN indexes; migration 0009), ranked, paged. The user's
// text is never query syntax: it is split into words that must all appear (in the original or
// in one translation), and each word is bound or quoted as a literal.
//
// On SQLite new messages wait to be indexed (migration 0014): indexing them in batches costs a
// tenth of indexing each in its own transaction. A search first indexes whatever waits, so it
// never misses a stored message; the server also indexes in the background (index_all_waiting).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chat/chatroom.hpp"
#include "chat/chatroom_service.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::discovery {

inline constexpr std::size_t kMaxSearchPage = 50;
inline constexpr std::size_t kMaxSearchChars = 200;
/// Messages indexed per transaction: a few milliseconds of the write lock at most.
inline constexpr std::size_t kIndexBatch = 256;
/// A writer that comes during a transaction of the indexer waits for at most this many messages
/// to be indexed (a few hundred microseconds): the transaction then commits and steps aside.
inline constexpr std::size_t kIndexChunk = 32;
/// How long the indexer, having stepped aside, leaves the write lock to the waiting writer.
inline constexpr std::chrono::milliseconds kStepAsideWait{5};

struct SearchQuery {
  std::int64_t room_id = 0;
  std::int64_t viewer_id = 0;
  std::string text;
  std::size_t limit = 20;
  std::size_t offset = 0;
};

struct SearchHit {
  chat::StoredMessage message;
  bool in_original = false;               ///< the original text matched
  std::vector<std::string> in_languages;  ///< translations (by language) that matched
  double score = 0;                       ///< higher is better (comparable within one search)
};

struct SearchPage {
  std::vector<SearchHit> hits;
  std::optional<std::size_t> next_offset;
};

class HistorySearch {
 public:
  HistorySearch(store::Database& database, chat::ChatroomService& rooms)
      : database_(database), rooms_(rooms) {}

  /// Errors: validation_failed (no word in the text, too long, bad limit); not_found (no such
  /// room, or the viewer is not a member: a private room's existence is not revealed); storage.
  Result<SearchPage> search(const SearchQuery& query);

  /// The plan of the search query (tests: the full-text index is used).
  Result<std::string> plan(const SearchQuery& query);

  /// Indexes the oldest stored messages that wait for the full-text index, at most
  /// `max_messages` in one transaction, fewer when another writer comes meanwhile (it commits
  /// after the current chunk of kIndexChunk); returns how many were indexed (0 when none waits,
  /// and always on PostgreSQL, whose indexes are kept by the database). Errors: storage, busy.
  Result<std::size_t> index_waiting(std::size_t max_messages = kIndexBatch);

  /// index_waiting, batch after batch, until nothing waits; after a batch that ended early it
  /// lets the waiting writer commit first. Returns how many were indexed.
  Result<std::size_t> index_all_waiting();

 private:
  struct IndexRound {
    std::size_t indexed = 0;
    bool stepped_aside = false;  ///< ended early for a waiting writer
  };
  Result<IndexRound> index_round(store::Connection& db, std::size_t max_messages);

  store::Database& database_;
  chat::ChatroomService& rooms_;
};

/// The words of a search text, at most 16, each with a letter or digit. For tests too.
std::vector<std::string> search_words(std::string_view text);

}  // namespace parley::discovery
