#include "translate/queue/message_translations.hpp"

#include <utility>

#include "translate/queue/job_rows.hpp"
#include "translate/queue/translation_queue.hpp"

namespace parley::translate {

namespace {

constexpr std::size_t kMaxIds = 1000;

constexpr std::string_view kColumns =
    "t.message_id, t.language, t.text, t.source_language, t.engine, t.via, t.created_at";

Result<MessageTranslation> from_row(const store::Row& row) {
  auto message_id = row.get<std::int64_t>("message_id");
  auto language = row.get<std::string>("language");
  auto text = row.get<std::string>("text");
  auto source = row.get<std::optional<std::string>>("source_language");
  auto engine = row.get<std::string>("engine");
  auto via = row.get<std::string>("via");
  auto created = row.get<std::int64_t>("created_at");
  if (!message_id || !language || !text || !source || !engine || !via || !created) {
    return fail(Errc::internal, "a stored translation cannot be read");
  }
  MessageTranslation out;
  out.message_id = *message_id;
  out.translation.text = std::move(*text);
  out.translation.source = source->value_or("");
  out.translation.target = std::move(*language);
  out.translation.engine = std::move(*engine);
  out.translation.via = detail::split_via(*via);
  out.created_at = *created;
  return out;
}

Result<std::vector<MessageTranslation>> read_all(const store::Rows& rows) {
  std::vector<MessageTranslation> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    auto item = from_row(row);
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  return out;
}

}  // namespace

Result<bool> MessageTranslations::put(std::int64_t message_id, const Translation& translation) {
  if (translation.text.empty() || translation.engine.empty() || translation.target.empty()) {
    return fail(Errc::validation_failed, "a stored translation needs a text, engine and language");
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  // A translation from the language the message had before a correction is not kept.
  if (!translation.source.empty()) {
    auto current = message_is_in(**lease, message_id, translation.source);
    if (!current) {
      if (current.error().code == Errc::not_found) {
        return fail(Errc::validation_failed,
                    "the message to store a translation for does not exist");
      }
      return current.error();
    }
    if (!*current) return false;
  }
  auto stored = (*lease)->execute(
      "INSERT INTO message_translations (message_id, language, text, source_language, engine, "
      "via, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
      "ON CONFLICT (message_id, language) DO NOTHING",
      {message_id, translation.target, translation.text,
       translation.source.empty() ? store::Value{store::null_value}
                                  : store::Value{translation.source},
       translation.engine, detail::join_via(translation.via), clock_.now_ms()});
  if (!stored) {
    if (stored.error().code == Errc::validation_failed) {
      return fail(Errc::validation_failed, "the message to store a translation for does not exist");
    }
    return stored.error();
  }
  if (auto done = tx->commit(); !done) return done.error();
  return *stored == 1;
}

Result<std::optional<MessageTranslation>> MessageTranslations::find(std::int64_t message_id,
                                                                    std::string_view language) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query("SELECT " + std::string(kColumns) +
                                  " FROM message_translations t WHERE t.message_id = $1 "
                                  "AND t.language = $2",
                              {message_id, std::string(language)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<MessageTranslation>();
  auto item = from_row((*rows)[0]);
  if (!item) return item.error();
  return std::optional<MessageTranslation>(std::move(*item));
}

Result<std::vector<MessageTranslation>> MessageTranslations::find(
    std::span<const std::int64_t> message_ids) {
  return find(message_ids, {});
}

Result<std::vector<MessageTranslation>> MessageTranslations::find(
    std::span<const std::int64_t> message_ids, std::string_view language) {
  return find_where(message_ids, language, false);
}

Result<std::vector<MessageTranslation>> MessageTranslations::find_settled(
    std::span<const std::int64_t> message_ids, std::string_view language) {
  return find_where(message_ids, language, true);
}

Result<std::vector<MessageTranslation>> MessageTranslations::find_where(
    std::span<const std::int64_t> message_ids, std::string_view language, bool settled_only) {
  if (message_ids.empty()) return std::vector<MessageTranslation>{};
  if (message_ids.size() > kMaxIds) {
    return fail(Errc::validation_failed, "too many messages in one translation lookup");
  }
  // Ids are bound ($1..$N), never spliced.
  std::vector<store::Value> params;
  std::string sql =
      "SELECT " + std::string(kColumns) + " FROM message_translations t WHERE t.message_id IN (";
  for (std::size_t i = 0; i < message_ids.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += "$" + std::to_string(i + 1);
    params.emplace_back(message_ids[i]);
  }
  sql += ")";
  if (!language.empty()) {
    params.emplace_back(std::string(language));
    sql += " AND t.language = $" + std::to_string(params.size());
  }
  if (settled_only) {
    sql +=
        " AND NOT EXISTS (SELECT 1 FROM translation_jobs j WHERE j.message_id = t.message_id "
        "AND j.target_language = t.language AND j.state = 'done' AND j.delivered_at IS NULL)";
  }
  sql += " ORDER BY t.message_id, t.language";
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(sql, params);
  if (!rows) return rows.error();
  return read_all(*rows);
}

}  // namespace parley::translate
