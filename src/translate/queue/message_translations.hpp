#pragma once
// The translations stored with messages (table message_translations, migration 0004), one per
// message and language: what history and reconnects show next to the original text.
// TranslationQueue::complete() writes them for message jobs; put() is for other paths (a cache
// hit, a synchronous translation).
//
// Thread-safety: thread-safe; every call BLOCKS on the database.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "store/database.hpp"
#include "translate/translator.hpp"

namespace parley::translate {

struct MessageTranslation {
  std::int64_t message_id = 0;
  Translation translation;  ///< target = the language it is stored under
  std::int64_t created_at = 0;
};

class MessageTranslations {
 public:
  /// `database` and `clock` must outlive this object.
  MessageTranslations(store::Database& database, const core::Clock& clock)
      : database_(database), clock_(clock) {}

  /// Stores the translation of `message_id` into `translation.target`. The first one stored for
  /// a (message, language) is kept: returns false (and changes nothing) when one exists, or when
  /// the translation is from a language the message is no longer in (it was corrected).
  /// Errors: validation_failed (no such message, empty text, engine or target), storage errors.
  Result<bool> put(std::int64_t message_id, const Translation& translation);

  /// The translation of one message into `language`, or nullopt.
  Result<std::optional<MessageTranslation>> find(std::int64_t message_id,
                                                 std::string_view language);

  /// Every stored translation of these messages (any language), ordered by message id then
  /// language. For a history page: one query for the page. At most 1000 ids per call.
  Result<std::vector<MessageTranslation>> find(std::span<const std::int64_t> message_ids);

  /// As find(ids), only the given language.
  Result<std::vector<MessageTranslation>> find(std::span<const std::int64_t> message_ids,
                                               std::string_view language);

  /// As find(ids, language), but only translations whose live delivery is over: a translation a
  /// finished job stored but has not yet delivered (TranslationQueue::mark_delivered) is left
  /// out, because its delivery will bring it. Catch-up answers use this, so that a listener gets
  /// each translation once: from the catch-up or from the delivery, never both.
  Result<std::vector<MessageTranslation>> find_settled(std::span<const std::int64_t> message_ids,
                                                       std::string_view language);

 private:
  Result<std::vector<MessageTranslation>> find_where(std::span<const std::int64_t> message_ids,
                                                     std::string_view language, bool settled_only);

  store::Database& database_;
  const core::Clock& clock_;
};

}  // namespace parley::translate
