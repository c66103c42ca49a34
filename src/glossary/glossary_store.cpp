#include "glossary/glossary_store.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>

#include "auth/user.hpp"
#include "chat/text_rules.hpp"
#include "translate/langid/language_detector.hpp"

namespace parley::glossary {

namespace json = boost::json;
using store::Value;

namespace {

// Checks a short piece of user text: trimmed, non-empty, UTF-8, no controls, at most `max` bytes.
Result<std::string> clean(std::string_view text, std::string_view field, std::size_t max) {
  const auto trimmed = chat::trim(text);
  if (trimmed.empty()) return fail(Errc::validation_failed, std::string(field) + " is empty");
  if (trimmed.size() > max) {
    return fail(Errc::validation_failed,
                std::string(field) + " is longer than " + std::to_string(max) + " bytes");
  }
  if (!chat::is_valid_utf8(trimmed) || chat::has_control_characters(trimmed)) {
    return fail(Errc::validation_failed,
                std::string(field) + " must be UTF-8 text without control characters");
  }
  return std::string(trimmed);
}

Result<std::string> language(std::string_view tag) {
  auto normalized = translate::normalize_language_tag(tag);
  if (normalized.empty()) {
    return fail(Errc::validation_failed, "'" + std::string(tag.substr(0, 20)) +
                                             "' is not a language tag (e.g. \"es\", \"pt-BR\")");
  }
  return normalized;
}

Result<TermInput> validate(TermInput input) {
  auto term = clean(input.term, "term", kMaxTermBytes);
  if (!term) return term.error();
  if (translate::glossary_key(*term).find_first_not_of(' ') == std::string::npos) {
    return fail(Errc::validation_failed, "term is empty");
  }
  TermInput out;
  out.term = std::move(*term);
  if (input.translations.empty() && !input.pronunciation) {
    return fail(Errc::validation_failed,
                "a term needs a translation into at least one language, or a pronunciation");
  }
  if (input.translations.size() > kMaxLanguagesPerTerm) {
    return fail(Errc::validation_failed,
                "a term has at most " + std::to_string(kMaxLanguagesPerTerm) + " languages");
  }
  for (const auto& [tag, text] : input.translations) {
    auto lang = language(tag);
    if (!lang) return lang.error();
    auto fixed = clean(text, "translation", kMaxTranslationBytes);
    if (!fixed) return fixed.error();
    if (!out.translations.emplace(*lang, std::move(*fixed)).second) {
      return fail(Errc::validation_failed, "two translations into '" + *lang + "'");
    }
  }
  if (input.pronunciation) {
    auto said = clean(*input.pronunciation, "pronunciation", kMaxTranslationBytes);
    if (!said) return said.error();
    out.pronunciation = std::move(*said);
  }
  return out;
}

json::object translations_json(const translate::GlossaryTerm& term) {
  json::object out;
  for (const auto& [lang, text] : term.translations) out[lang] = text;
  return out;
}

Result<translate::GlossaryTerm> term_from_row(const store::Row& row) {
  auto id = row.get<std::int64_t>("id");
  auto term = row.get<std::string>("term");
  auto pronunciation = row.get<std::optional<std::string>>("pronunciation");
  auto translations = row.get<std::string>("translations");
  if (!id || !term || !pronunciation || !translations) {
    return fail(Errc::internal, "a glossary term cannot be read");
  }
  translate::GlossaryTerm out{*id, std::move(*term), std::move(*pronunciation), {}};
  boost::system::error_code ec;
  auto parsed = json::parse(*translations, ec);
  if (ec || !parsed.is_object()) return fail(Errc::internal, "a glossary term cannot be read");
  for (const auto& [lang, text] : parsed.as_object()) {
    if (text.is_string()) out.translations.emplace_back(lang, std::string(text.as_string()));
  }
  std::sort(out.translations.begin(), out.translations.end());
  return out;
}

Result<std::optional<translate::GlossaryTerm>> find_term(store::Connection& connection,
                                                         std::int64_t room_id,
                                                         std::string_view key) {
  auto rows = connection.query(
      "SELECT id, term, pronunciation, translations FROM glossary_terms "
      "WHERE chatroom_id = $1 AND term_key = $2",
      {room_id, std::string(key)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<translate::GlossaryTerm>();
  auto term = term_from_row((*rows)[0]);
  if (!term) return term.error();
  return std::optional(std::move(*term));
}

// Locks the room's glossary for a change and returns its version.
Result<std::int64_t> lock_version(store::Connection& connection, std::int64_t room_id) {
  const bool postgres = connection.dialect() == store::Dialect::postgres;
  auto rows = connection.query(std::string("SELECT glossary_version FROM chatrooms WHERE id = $1") +
                                   (postgres ? " FOR UPDATE" : ""),
                               {room_id});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such chat room");
  return (*rows)[0].get<std::int64_t>("glossary_version");
}

Result<std::int64_t> log_change(store::Connection& connection, std::int64_t room_id,
                                std::int64_t version, std::string_view action,
                                std::string_view term, const json::value& before,
                                const json::value& after, std::optional<std::int64_t> proposal_id,
                                std::int64_t actor_id, std::int64_t now) {
  const auto text = [](const json::value& v) {
    return v.is_null() ? Value(store::null_value) : Value(json::serialize(v));
  };
  auto logged = connection.execute(
      "INSERT INTO glossary_changes (chatroom_id, version, action, term, before_json, after_json, "
      "proposal_id, changed_by, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      {room_id, version, std::string(action), std::string(term), text(before), text(after),
       store::nullable(proposal_id), actor_id, now});
  if (!logged) return logged.error();
  auto bumped = connection.execute("UPDATE chatrooms SET glossary_version = $1 WHERE id = $2",
                                   {version, room_id});
  if (!bumped) return bumped.error();
  return version;
}

Result<Proposal> proposal_from_row(const store::Row& row) {
  Proposal p;
  auto id = row.get<std::int64_t>("id");
  auto room = row.get<std::int64_t>("chatroom_id");
  auto message = row.get<std::optional<std::int64_t>>("message_id");
  auto term = row.get<std::string>("term");
  auto lang = row.get<std::string>("language");
  auto translation = row.get<std::string>("translation");
  auto note = row.get<std::optional<std::string>>("note");
  auto by = row.get<std::optional<std::int64_t>>("proposed_by");
  auto status = row.get<std::string>("status");
  auto decided_by = row.get<std::optional<std::int64_t>>("decided_by");
  auto decided_at = row.get<std::optional<std::int64_t>>("decided_at");
  auto version = row.get<std::optional<std::int64_t>>("version");
  auto created = row.get<std::int64_t>("created_at");
  if (!id || !room || !message || !term || !lang || !translation || !note || !by || !status ||
      !decided_by || !decided_at || !version || !created) {
    return fail(Errc::internal, "a glossary proposal cannot be read");
  }
  p.id = *id;
  p.room_id = *room;
  p.message_id = *message;
  p.term = std::move(*term);
  p.language = std::move(*lang);
  p.translation = std::move(*translation);
  p.note = std::move(*note);
  p.proposed_by = *by;
  p.status = std::move(*status);
  p.decided_by = *decided_by;
  p.decided_at = *decided_at;
  p.version = *version;
  p.created_at = *created;
  return p;
}

constexpr const char* kProposalColumns =
    "id, chatroom_id, message_id, term, language, translation, note, proposed_by, status, "
    "decided_by, decided_at, version, created_at";

json::value optional_id(const std::optional<std::int64_t>& id) {
  return id ? json::value(*id) : json::value(nullptr);
}

}  // namespace

json::object to_json(const translate::GlossaryTerm& term) {
  return json::object{
      {"id", term.id},
      {"term", term.term},
      {"translations", translations_json(term)},
      {"pronunciation", term.pronunciation ? json::value(*term.pronunciation) : nullptr}};
}

json::object to_json(const RoomGlossary& glossary) {
  json::array terms;
  for (const auto& term : glossary.terms) terms.push_back(to_json(term));
  return json::object{
      {"room", glossary.room_id}, {"version", glossary.version}, {"terms", std::move(terms)}};
}

json::object to_json(const GlossaryChange& change) {
  return json::object{{"version", change.version},
                      {"action", change.action},
                      {"term", change.term},
                      {"before", change.before},
                      {"after", change.after},
                      {"proposal_id", optional_id(change.proposal_id)},
                      {"changed_by", optional_id(change.changed_by)},
                      {"changed_at", auth::iso8601(change.changed_at)}};
}

json::object to_json(const Proposal& p) {
  return json::object{
      {"id", p.id},
      {"room", p.room_id},
      {"message_id", optional_id(p.message_id)},
      {"term", p.term},
      {"language", p.language},
      {"translation", p.translation},
      {"note", p.note ? json::value(*p.note) : nullptr},
      {"proposed_by", optional_id(p.proposed_by)},
      {"status", p.status},
      {"decided_by", optional_id(p.decided_by)},
      {"decided_at", p.decided_at ? json::value(auth::iso8601(*p.decided_at)) : nullptr},
      {"version", optional_id(p.version)},
      {"created_at", auth::iso8601(p.created_at)}};
}

Result<chat::Membership> GlossaryStore::require_member(std::int64_t room_id, std::int64_t user_id) {
  auto member = chatrooms_.membership(room_id, user_id);
  if (!member) return member.error();
  if (member->banned) return fail(Errc::forbidden, "you are banned from this chat room");
  return member;
}

Result<void> GlossaryStore::require_manager(std::int64_t room_id, std::int64_t user_id) {
  auto member = require_member(room_id, user_id);
  if (!member) return member.error();
  if (member->role == chat::Role::member) {
    return fail(Errc::forbidden, "only the room's owner and admins change its glossary");
  }
  return {};
}

Result<RoomGlossary> GlossaryStore::load(store::Connection& connection, std::int64_t room_id) {
  auto version =
      connection.query("SELECT glossary_version FROM chatrooms WHERE id = $1", {room_id});
  if (!version) return version.error();
  if (version->empty()) return fail(Errc::not_found, "no such chat room");
  RoomGlossary out;
  out.room_id = room_id;
  auto v = (*version)[0].get<std::int64_t>("glossary_version");
  if (!v) return v.error();
  out.version = *v;
  auto rows = connection.query(
      "SELECT id, term, pronunciation, translations FROM glossary_terms WHERE chatroom_id = $1 "
      "ORDER BY term_key",
      {room_id});
  if (!rows) return rows.error();
  for (const auto& row : *rows) {
    auto term = term_from_row(row);
    if (!term) return term.error();
    out.terms.push_back(std::move(*term));
  }
  remember(out);
  return out;
}

void GlossaryStore::remember(const RoomGlossary& glossary) {
  std::lock_guard lock(mutex_);
  auto& known = known_[glossary.room_id];
  if (known && known->version > glossary.version) return;  // a newer one was read meanwhile
  if (glossary.terms.empty()) {
    known_.erase(glossary.room_id);
    return;
  }
  known = std::make_shared<const RoomGlossary>(glossary);
}

Result<void> GlossaryStore::load_all() {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rooms = (*lease)->query("SELECT DISTINCT chatroom_id FROM glossary_terms");
  if (!rooms) return rooms.error();
  for (const auto& row : *rooms) {
    auto room = row.get<std::int64_t>("chatroom_id");
    if (!room) return room.error();
    if (auto loaded = load(**lease, *room); !loaded) return loaded.error();
  }
  return {};
}

Result<RoomGlossary> GlossaryStore::glossary(std::int64_t room_id, std::int64_t viewer_id) {
  if (auto member = require_member(room_id, viewer_id); !member) return member.error();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  return load(**lease, room_id);
}

Result<std::int64_t> GlossaryStore::write_term(store::Connection& connection, std::int64_t room_id,
                                               std::int64_t actor_id, const TermInput& input,
                                               std::string_view action,
                                               std::optional<std::int64_t> proposal_id) {
  auto version = lock_version(connection, room_id);
  if (!version) return version.error();
  const std::string key = translate::glossary_key(input.term);
  auto existing = find_term(connection, room_id, key);
  if (!existing) return existing.error();
  if (!*existing) {
    auto count = connection.query("SELECT COUNT(*) AS n FROM glossary_terms WHERE chatroom_id = $1",
                                  {room_id});
    if (!count) return count.error();
    auto n = (*count)[0].get<std::int64_t>("n");
    if (!n) return n.error();
    if (static_cast<std::size_t>(*n) >= kMaxTerms) {
      return fail(Errc::validation_failed,
                  "a room's glossary holds at most " + std::to_string(kMaxTerms) + " terms");
    }
  }
  translate::GlossaryTerm after;
  after.term = input.term;
  after.pronunciation = input.pronunciation;
  for (const auto& [lang, text] : input.translations) after.translations.emplace_back(lang, text);
  const auto now = clock_.now_ms();
  const std::string translations = json::serialize(translations_json(after));
  if (*existing) {
    after.id = (*existing)->id;
    auto updated = connection.execute(
        "UPDATE glossary_terms SET term = $1, pronunciation = $2, translations = $3, "
        "updated_by = $4, updated_at = $5 WHERE id = $6",
        {after.term, store::nullable(after.pronunciation), translations, actor_id, now, after.id});
    if (!updated) return updated.error();
  } else {
    auto inserted = connection.query(
        "INSERT INTO glossary_terms (chatroom_id, term, term_key, pronunciation, translations, "
        "updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        {room_id, after.term, key, store::nullable(after.pronunciation), translations, actor_id,
         now});
    if (!inserted) return inserted.error();
    auto id = (*inserted)[0].get<std::int64_t>("id");
    if (!id) return id.error();
    after.id = *id;
  }
  const json::value before = *existing ? json::value(to_json(**existing)) : json::value(nullptr);
  return log_change(connection, room_id, *version + 1, action, after.term, before, to_json(after),
                    proposal_id, actor_id, now);
}

Result<RoomGlossary> GlossaryStore::set_term(std::int64_t room_id, std::int64_t actor_id,
                                             TermInput input) {
  auto valid = validate(std::move(input));
  if (!valid) return valid.error();
  if (auto allowed = require_manager(room_id, actor_id); !allowed) return allowed.error();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto written = write_term(**lease, room_id, actor_id, *valid, "set", std::nullopt);
      !written) {
    return written.error();
  }
  if (auto done = tx->commit(); !done) return done.error();
  return load(**lease, room_id);
}

Result<RoomGlossary> GlossaryStore::remove_term(std::int64_t room_id, std::int64_t actor_id,
                                                std::int64_t term_id) {
  if (auto allowed = require_manager(room_id, actor_id); !allowed) return allowed.error();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  auto version = lock_version(**lease, room_id);
  if (!version) return version.error();
  auto rows = (*lease)->query(
      "SELECT id, term, pronunciation, translations FROM glossary_terms "
      "WHERE id = $1 AND chatroom_id = $2",
      {term_id, room_id});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such term in this room's glossary");
  auto term = term_from_row((*rows)[0]);
  if (!term) return term.error();
  auto removed = (*lease)->execute("DELETE FROM glossary_terms WHERE id = $1", {term_id});
  if (!removed) return removed.error();
  if (auto logged = log_change(**lease, room_id, *version + 1, "remove", term->term, to_json(*term),
                               nullptr, std::nullopt, actor_id, clock_.now_ms());
      !logged) {
    return logged.error();
  }
  if (auto done = tx->commit(); !done) return done.error();
  return load(**lease, room_id);
}

Result<std::vector<GlossaryChange>> GlossaryStore::history(
    std::int64_t room_id, std::int64_t viewer_id, std::size_t limit,
    std::optional<std::int64_t> before_version) {
  if (auto member = require_member(room_id, viewer_id); !member) return member.error();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT version, action, term, before_json, after_json, proposal_id, changed_by, "
      "changed_at FROM glossary_changes WHERE chatroom_id = $1 AND version < $2 "
      "ORDER BY version DESC LIMIT $3",
      {room_id, before_version.value_or(INT64_MAX),
       static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, 200))});
  if (!rows) return rows.error();
  std::vector<GlossaryChange> out;
  for (const auto& row : *rows) {
    GlossaryChange change;
    auto version = row.get<std::int64_t>("version");
    auto action = row.get<std::string>("action");
    auto term = row.get<std::string>("term");
    auto before = row.get<std::optional<std::string>>("before_json");
    auto after = row.get<std::optional<std::string>>("after_json");
    auto proposal = row.get<std::optional<std::int64_t>>("proposal_id");
    auto by = row.get<std::optional<std::int64_t>>("changed_by");
    auto at = row.get<std::int64_t>("changed_at");
    if (!version || !action || !term || !before || !after || !proposal || !by || !at) {
      return fail(Errc::internal, "a glossary change cannot be read");
    }
    boost::system::error_code ec;
    change.version = *version;
    change.action = std::move(*action);
    change.term = std::move(*term);
    change.before = *before ? json::parse(**before, ec) : json::value(nullptr);
    change.after = *after ? json::parse(**after, ec) : json::value(nullptr);
    change.proposal_id = *proposal;
    change.changed_by = *by;
    change.changed_at = *at;
    out.push_back(std::move(change));
  }
  return out;
}

Result<Proposal> GlossaryStore::propose(std::int64_t room_id, std::int64_t actor_id,
                                        ProposalInput input) {
  auto term = clean(input.term, "term", kMaxTermBytes);
  if (!term) return term.error();
  auto lang = language(input.language);
  if (!lang) return lang.error();
  auto translation = clean(input.translation, "translation", kMaxTranslationBytes);
  if (!translation) return translation.error();
  std::optional<std::string> note;
  if (input.note) {
    auto cleaned = clean(*input.note, "note", 500);
    if (!cleaned) return cleaned.error();
    note = std::move(*cleaned);
  }
  if (auto member = require_member(room_id, actor_id); !member) return member.error();
  if (input.message_id) {
    auto message = chatrooms_.find_message(*input.message_id);
    if (!message || message->room_id != room_id) {
      return fail(Errc::not_found, "no such message in this chat room");
    }
    if (!translate::contains_term(message->text, *term)) {
      return fail(Errc::validation_failed, "the message does not contain '" + *term + "'");
    }
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      std::string("INSERT INTO glossary_proposals (chatroom_id, message_id, term, language, "
                  "translation, note, proposed_by, status, created_at) VALUES ($1, $2, $3, $4, "
                  "$5, $6, $7, 'open', $8) RETURNING ") +
          kProposalColumns,
      {room_id, store::nullable(input.message_id), *term, *lang, *translation,
       store::nullable(note), actor_id, clock_.now_ms()});
  if (!rows) return rows.error();
  return proposal_from_row((*rows)[0]);
}

Result<std::vector<Proposal>> GlossaryStore::proposals(std::int64_t room_id, std::int64_t viewer_id,
                                                       std::optional<std::string> status) {
  auto member = require_member(room_id, viewer_id);
  if (!member) return member.error();
  if (status && *status != "open" && *status != "accepted" && *status != "rejected") {
    return fail(Errc::validation_failed, "status must be open, accepted or rejected");
  }
  const bool everyone = member->role != chat::Role::member;
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      std::string("SELECT ") + kProposalColumns +
          " FROM glossary_proposals WHERE chatroom_id = $1 AND ($2 = 1 OR proposed_by = $3) "
          "AND ($4 = '' OR status = $4) ORDER BY id DESC LIMIT 200",
      {room_id, std::int64_t{everyone ? 1 : 0}, viewer_id, status.value_or("")});
  if (!rows) return rows.error();
  std::vector<Proposal> out;
  for (const auto& row : *rows) {
    auto p = proposal_from_row(row);
    if (!p) return p.error();
    out.push_back(std::move(*p));
  }
  return out;
}

Result<Proposal> GlossaryStore::decide(std::int64_t room_id, std::int64_t actor_id,
                                       std::int64_t proposal_id, bool accept) {
  if (auto allowed = require_manager(room_id, actor_id); !allowed) return allowed.error();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  // The glossary lock first (as every change takes it), then the proposal.
  if (auto locked = lock_version(**lease, room_id); !locked) return locked.error();
  auto rows = (*lease)->query(std::string("SELECT ") + kProposalColumns +
                                  " FROM glossary_proposals WHERE id = $1 AND chatroom_id = $2",
                              {proposal_id, room_id});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such proposal in this chat room");
  auto proposal = proposal_from_row((*rows)[0]);
  if (!proposal) return proposal.error();
  if (proposal->status != "open") {
    return fail(Errc::conflict, "this proposal was already " + proposal->status);
  }
  std::optional<std::int64_t> version;
  if (accept) {
    // Merged into the term as it is now: its other languages and pronunciation stay.
    TermInput input;
    input.term = proposal->term;
    auto existing = find_term(**lease, room_id, translate::glossary_key(proposal->term));
    if (!existing) return existing.error();
    if (*existing) {
      input.term = (*existing)->term;
      input.pronunciation = (*existing)->pronunciation;
      for (const auto& [lang, text] : (*existing)->translations) input.translations[lang] = text;
    }
    input.translations[proposal->language] = proposal->translation;
    // The merged term obeys the rules a term set directly does (a full glossary: conflict).
    auto merged = validate(std::move(input));
    if (!merged) return merged.error();
    auto written = write_term(**lease, room_id, actor_id, *merged, "accept", proposal->id);
    if (!written && written.error().code == Errc::validation_failed) {
      return fail(Errc::conflict, written.error().message);
    }
    if (!written) return written.error();
    version = *written;
  }
  const auto now = clock_.now_ms();
  auto updated = (*lease)->execute(
      "UPDATE glossary_proposals SET status = $1, decided_by = $2, decided_at = $3, version = $4 "
      "WHERE id = $5",
      {std::string(accept ? "accepted" : "rejected"), actor_id, now, store::nullable(version),
       proposal_id});
  if (!updated) return updated.error();
  if (auto done = tx->commit(); !done) return done.error();
  proposal->status = accept ? "accepted" : "rejected";
  proposal->decided_by = actor_id;
  proposal->decided_at = now;
  proposal->version = version;
  if (accept) (void)load(**lease, room_id);
  return proposal;
}

Result<std::vector<translate::GlossaryTerm>> GlossaryStore::terms(std::int64_t room_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto loaded = load(**lease, room_id);
  if (!loaded) return loaded.error();
  return std::move(loaded->terms);
}

bool GlossaryStore::may_apply(std::int64_t room_id, std::string_view text) const {
  std::shared_ptr<const RoomGlossary> known;
  {
    std::lock_guard lock(mutex_);
    auto it = known_.find(room_id);
    if (it == known_.end()) return false;
    known = it->second;
  }
  // Only terms with a fixed translation change a translation (a pronunciation alone does not).
  return std::any_of(
      known->terms.begin(), known->terms.end(), [&](const translate::GlossaryTerm& term) {
        return !term.translations.empty() && translate::contains_term(text, term.term);
      });
}

}  // namespace parley::glossary
