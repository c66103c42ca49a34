#include "discovery/history_search.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "discovery/query_plan.hpp"

namespace parley::discovery {
namespace {

constexpr std::size_t kMaxWords = 16;

// SQLite: every word a quoted FTS5 string (a quote inside is doubled), all required, and the
// room as a column filter on its own token, so that one room's entries are intersected rather
// than every match filtered.
std::string fts5_query(std::int64_t room_id, const std::vector<std::string>& words) {
  std::string out = "room:r" + std::to_string(room_id) + " AND body:(";
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += " AND ";
    out += '"';
    for (char c : words[i]) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  out += ")";
  return out;
}

// Grouped per message: the best entry's score, and which texts matched.
std::string search_sql(store::Dialect dialect) {
  if (dialect == store::Dialect::sqlite) {
    // bm25 is lower for better matches; negated so that higher is better on both databases.
    // MATERIALIZED: bm25() only works in the full-text query itself, not once SQLite flattens
    // it into the grouping.
    return "WITH hits AS MATERIALIZED (SELECT message_id, is_original, language, "
           "-bm25(message_search) AS score FROM message_search WHERE message_search MATCH $1) "
           "SELECT message_id, MAX(score) AS score, MAX(is_original) AS in_original, "
           "GROUP_CONCAT(CASE WHEN is_original = 0 THEN language END) AS languages FROM hits "
           "GROUP BY message_id ORDER BY score DESC, message_id DESC LIMIT $2 OFFSET $3";
  }
  // plainto_tsquery takes plain text: every word required, no operators from the user.
  return "SELECT id AS message_id, MAX(score) AS score, "
         "MAX(CASE WHEN is_original THEN 1 ELSE 0 END) AS in_original, "
         "STRING_AGG(CASE WHEN is_original THEN NULL ELSE language END, ',') AS languages FROM ("
         "SELECT m.id, ts_rank(to_tsvector('simple', m.text), q.query) AS score, "
         "TRUE AS is_original, m.original_language AS language "
         "FROM messages m, (SELECT plainto_tsquery('simple', $1) AS query) q "
         "WHERE m.chatroom_id = $4 AND to_tsvector('simple', m.text) @@ q.query "
         "UNION ALL "
         "SELECT t.message_id, ts_rank(to_tsvector('simple', t.text), q.query), FALSE, t.language "
         "FROM message_translations t JOIN messages m ON m.id = t.message_id, "
         "(SELECT plainto_tsquery('simple', $1) AS query) q "
         "WHERE m.chatroom_id = $4 AND to_tsvector('simple', t.text) @@ q.query) hits "
         "GROUP BY id ORDER BY score DESC, id DESC LIMIT $2 OFFSET $3";
}

std::vector<store::Value> search_params(store::Dialect dialect, const SearchQuery& query,
                                        const std::vector<std::string>& words) {
  const auto limit = static_cast<std::int64_t>(query.limit + 1);
  const auto offset = static_cast<std::int64_t>(query.offset);
  if (dialect == store::Dialect::sqlite) return {fts5_query(query.room_id, words), limit, offset};
  std::string joined;
  for (const auto& word : words) joined += (joined.empty() ? "" : " ") + word;
  return {joined, limit, offset, query.room_id};
}

Result<void> check(const SearchQuery& query, const std::vector<std::string>& words) {
  if (query.text.size() > kMaxSearchChars * 4) {
    return fail(Errc::validation_failed, "q is too long (at most 200 characters)");
  }
  if (words.empty()) return fail(Errc::validation_failed, "q must contain a word");
  if (query.limit < 1 || query.limit > kMaxSearchPage) {
    return fail(Errc::validation_failed, "limit must be from 1 to 50");
  }
  if (query.offset > 100000) return fail(Errc::validation_failed, "offset must be at most 100000");
  return {};
}

std::vector<std::string> split_languages(const std::optional<std::string>& joined) {
  std::vector<std::string> out;
  if (!joined) return out;
  std::stringstream in(*joined);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

namespace {

// The next code point of UTF-8 text at `i` (advancing it); U+FFFD for a malformed byte.
char32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  const int length = lead < 0x80           ? 1
                     : (lead >> 5) == 0x6  ? 2
                     : (lead >> 4) == 0xE  ? 3
                     : (lead >> 3) == 0x1E ? 4
                                           : 0;
  if (length == 0 || i + static_cast<std::size_t>(length) > text.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = length == 1 ? lead : lead & (0x7F >> length);
  for (int k = 1; k < length; ++k) cp = (cp << 6) | (byte(i + static_cast<std::size_t>(k)) & 0x3F);
  i += static_cast<std::size_t>(length);
  return cp;
}

// Whether a code point can be part of a word for both full-text engines (unicode61's letters and
// numbers, PostgreSQL's word characters): ASCII letters and digits, and everything from Latin-1
// letters up except punctuation, symbols, emoji and invisible marks. A word with none of these
// is dropped: on SQLite it would be an empty phrase that matches nothing.
bool is_word_character(char32_t cp) {
  if (cp < 0x80) return std::isalnum(static_cast<int>(cp)) != 0;
  if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7) return false;  // Latin-1 signs, × ÷
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;           // punctuation, symbols, arrows
  if (cp >= 0x3000 && cp <= 0x303F) return false;           // CJK punctuation
  if (cp >= 0xFE00 && cp <= 0xFE0F) return false;           // variation selectors
  if (cp >= 0xFF00 && cp <= 0xFF0F) return false;           // fullwidth punctuation
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return false;         // emoji and pictographs
  if (cp == 0xFFFD || cp == 0xFEFF) return false;
  return true;
}

}  // namespace

std::vector<std::string> search_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool has_content = false;
  const auto finish = [&] {
    if (has_content && words.size() < kMaxWords) words.push_back(word);
    word.clear();
    has_content = false;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const auto start = i;
    const char32_t cp = next_code_point(text, i);
    // Spaces and control characters (a NUL included) separate words.
    if (cp <= 0x20 || cp == 0x7F) {
      finish();
      continue;
    }
    word.append(text.substr(start, i - start));
    has_content = has_content || is_word_character(cp);
  }
  finish();
  return words;
}

Result<SearchPage> HistorySearch::search(const SearchQuery& query) {
  const auto words = search_words(query.text);
  if (auto ok = check(query, words); !ok) return ok.error();
  auto member = rooms_.membership(query.room_id, query.viewer_id);
  if (!member || member->banned) return fail(Errc::not_found, "no such chat room");
  if (auto indexed = index_all_waiting(); !indexed) return indexed.error();

  auto lease = database_.acquire();
  if (!lease) return lease.error();
  const auto dialect = (*lease)->dialect();
  auto rows = (*lease)->query(search_sql(dialect), search_params(dialect, query, words));
  if (!rows) return rows.error();
  lease->reset();

  SearchPage page;
  for (const auto& row : *rows) {
    if (page.hits.size() == query.limit) {
      page.next_offset = query.offset + query.limit;
      break;
    }
    auto id = row.get<std::int64_t>(std::size_t{0});
    auto score = row.get<double>(std::size_t{1});
    auto in_original = row.get<std::int64_t>(std::size_t{2});
    auto languages = row.get<std::optional<std::string>>(std::size_t{3});
    if (!id || !score || !in_original || !languages) {
      return fail(Errc::internal, "a search result is unreadable");
    }
    auto message = rooms_.find_message(*id);
    if (!message) {
      if (message.error().code == Errc::not_found) continue;  // gone meanwhile
      return message.error();
    }
    page.hits.push_back(
        {std::move(*message), *in_original != 0, split_languages(*languages), *score});
  }
  return page;
}

Result<std::size_t> HistorySearch::index_waiting(std::size_t max_messages) {
  if (database_.dialect() != store::Dialect::sqlite || max_messages == 0) return 0;
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto round = index_round(**lease, max_messages);
  if (!round) return round.error();
  return round->indexed;
}

Result<HistorySearch::IndexRound> HistorySearch::index_round(store::Connection& db,
                                                             std::size_t max_messages) {
  constexpr std::string_view kProgress =
      "SELECT p.indexed_through, (SELECT COALESCE(MAX(id), 0) FROM messages) AS newest "
      "FROM message_search_progress p";
  const auto read_progress = [&]() -> Result<std::pair<std::int64_t, std::int64_t>> {
    auto rows = db.query(kProgress);
    if (!rows) return rows.error();
    if (rows->empty()) return fail(Errc::internal, "message_search_progress has no row");
    auto through = (*rows)[0].get<std::int64_t>(std::size_t{0});
    auto newest = (*rows)[0].get<std::int64_t>(std::size_t{1});
    if (!through || !newest) return fail(Errc::internal, "message_search_progress is unreadable");
    return std::pair{*through, *newest};
  };
  // Read without the write lock first: when nothing waits (most calls), nothing is locked.
  auto seen = read_progress();
  if (!seen) return seen.error();
  if (seen->first >= seen->second) return IndexRound{};

  auto tx = store::Transaction::begin(db);
  if (!tx) return tx.error();
  auto progress = read_progress();  // again: another batch may have run meanwhile
  if (!progress) return progress.error();
  auto [through, newest] = *progress;
  IndexRound round;
  // In chunks, so that a writer that comes meanwhile (a chat message to store) waits for one
  // chunk, not for the whole round: the round then ends early and commits what it did.
  while (through < newest && round.indexed < max_messages) {
    if (round.indexed > 0 && db.writer_waiting()) {
      round.stepped_aside = true;
      break;
    }
    const auto chunk = std::min(kIndexChunk, max_messages - round.indexed);
    auto last_rows = db.query(
        "SELECT COALESCE(MAX(id), $1) FROM (SELECT id FROM messages WHERE id > $1 "
        "ORDER BY id LIMIT $2)",
        {through, static_cast<std::int64_t>(chunk)});
    if (!last_rows) return last_rows.error();
    auto last = (*last_rows)[0].get<std::int64_t>(std::size_t{0});
    if (!last) return last.error();
    auto indexed = db.execute(
        "INSERT INTO message_search (rowid, body, room, message_id, language, is_original) "
        "SELECT id * 64, text, 'r' || chatroom_id, id, original_language, 1 FROM messages "
        "WHERE id > $1 AND id <= $2",
        {through, *last});
    if (!indexed) return indexed.error();
    round.indexed += static_cast<std::size_t>(*indexed);
    through = *last;
    if (*indexed < static_cast<std::int64_t>(chunk)) break;  // nothing more waits
  }
  if (round.indexed == 0) return round;  // another round did it meanwhile
  if (auto moved = db.execute("UPDATE message_search_progress SET indexed_through = $1", {through});
      !moved) {
    return moved.error();
  }
  if (auto done = tx->commit(); !done) return done.error();
  return round;
}

Result<std::size_t> HistorySearch::index_all_waiting() {
  if (database_.dialect() != store::Dialect::sqlite) return 0;
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  std::size_t total = 0;
  for (;;) {
    auto round = index_round(**lease, kIndexBatch);
    if (!round) return round.error();
    total += round->indexed;
    if (round->stepped_aside) {
      (*lease)->let_waiting_writer_in(kStepAsideWait);
      continue;
    }
    if (round->indexed < kIndexBatch) return total;
  }
}

Result<std::string> HistorySearch::plan(const SearchQuery& query) {
  const auto words = search_words(query.text);
  if (auto ok = check(query, words); !ok) return ok.error();
  const auto dialect = database_.dialect();
  return query_plan(database_, search_sql(dialect), search_params(dialect, query, words));
}

}  // namespace parley::discovery
