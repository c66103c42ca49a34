#pragma once
// A room's glossary (issue 11), stored with the room: terms with a fixed translation per
// language and an optional pronunciation (a respelling speech synthesis says instead).
//
// Members read it; owners and admins change it (set a term, remove one); every change bumps the
// room's version and is kept with the term before and after (history). Members propose a fix for
// a term of a message ("this word should be translated as..."); an owner or admin accepts it (a
// change merged into the term) or rejects it.
//
// Errors: not_found (no such room, term, proposal or message in the room; or not a member),
// forbidden (banned, or not an owner or admin for changes and decisions), validation_failed
// (bad input), conflict (a proposal already decided), storage errors.
// Thread-safe; every member but may_apply() is BLOCKING (database).

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chat/chatroom_service.hpp"
#include "core/clock.hpp"
#include "store/database.hpp"
#include "translate/glossary/glossary_text.hpp"

namespace parley::glossary {

inline constexpr std::size_t kMaxTerms = 500;
inline constexpr std::size_t kMaxTermBytes = 100;
inline constexpr std::size_t kMaxTranslationBytes = 200;
inline constexpr std::size_t kMaxLanguagesPerTerm = 50;

struct RoomGlossary {
  std::int64_t room_id = 0;
  std::int64_t version = 0;
  std::vector<translate::GlossaryTerm> terms;  ///< by term, case-insensitively
};

struct TermInput {
  std::string term;
  std::map<std::string, std::string> translations;  ///< language -> fixed translation
  std::optional<std::string> pronunciation;
};

struct GlossaryChange {
  std::int64_t version = 0;
  std::string action;  ///< "set", "remove", "accept"
  std::string term;
  boost::json::value before;  ///< the term as it was (null: new)
  boost::json::value after;   ///< the term as it is (null: removed)
  std::optional<std::int64_t> proposal_id;
  std::optional<std::int64_t> changed_by;
  std::int64_t changed_at = 0;
};

struct ProposalInput {
  std::optional<std::int64_t> message_id;
  std::string term;
  std::string language;
  std::string translation;
  std::optional<std::string> note;
};

struct Proposal {
  std::int64_t id = 0;
  std::int64_t room_id = 0;
  std::optional<std::int64_t> message_id;
  std::string term;
  std::string language;
  std::string translation;
  std::optional<std::string> note;
  std::optional<std::int64_t> proposed_by;
  std::string status;  ///< "open", "accepted", "rejected"
  std::optional<std::int64_t> decided_by;
  std::optional<std::int64_t> decided_at;
  std::optional<std::int64_t> version;  ///< the version an acceptance made
  std::int64_t created_at = 0;
};

boost::json::object to_json(const translate::GlossaryTerm& term);
boost::json::object to_json(const RoomGlossary& glossary);
boost::json::object to_json(const GlossaryChange& change);
boost::json::object to_json(const Proposal& proposal);

class GlossaryStore final : public translate::GlossarySource {
 public:
  GlossaryStore(store::Database& database, chat::ChatroomService& chatrooms,
                const core::Clock& clock)
      : database_(database), chatrooms_(chatrooms), clock_(clock) {}

  /// Reads every room's glossary into memory (for may_apply), at start-up.
  Result<void> load_all();

  Result<RoomGlossary> glossary(std::int64_t room_id, std::int64_t viewer_id);
  /// Adds the term or replaces it (same term ignoring ASCII case and spacing).
  Result<RoomGlossary> set_term(std::int64_t room_id, std::int64_t actor_id, TermInput input);
  Result<RoomGlossary> remove_term(std::int64_t room_id, std::int64_t actor_id,
                                   std::int64_t term_id);
  /// Newest first; `before_version` pages back.
  Result<std::vector<GlossaryChange>> history(std::int64_t room_id, std::int64_t viewer_id,
                                              std::size_t limit,
                                              std::optional<std::int64_t> before_version);

  /// A member's proposal. With a message: the term must occur in its text.
  Result<Proposal> propose(std::int64_t room_id, std::int64_t actor_id, ProposalInput input);
  /// Owners and admins see every proposal, members their own; newest first.
  Result<std::vector<Proposal>> proposals(std::int64_t room_id, std::int64_t viewer_id,
                                          std::optional<std::string> status);
  /// Accepts (the translation is merged into the term, a new version) or rejects.
  Result<Proposal> decide(std::int64_t room_id, std::int64_t actor_id, std::int64_t proposal_id,
                          bool accept);

  // translate::GlossarySource
  Result<std::vector<translate::GlossaryTerm>> terms(std::int64_t room_id) override;
  bool may_apply(std::int64_t room_id, std::string_view text) const override;

 private:
  Result<RoomGlossary> load(store::Connection& connection, std::int64_t room_id);
  void remember(const RoomGlossary& glossary);
  Result<chat::Membership> require_member(std::int64_t room_id, std::int64_t user_id);
  Result<void> require_manager(std::int64_t room_id, std::int64_t user_id);
  /// In the caller's transaction: upserts the term, logs the change, bumps the version.
  Result<std::int64_t> write_term(store::Connection& connection, std::int64_t room_id,
                                  std::int64_t actor_id, const TermInput& input,
                                  std::string_view action, std::optional<std::int64_t> proposal_id);

  store::Database& database_;
  chat::ChatroomService& chatrooms_;
  const core::Clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::int64_t, std::shared_ptr<const RoomGlossary>> known_;
};

}  // namespace parley::glossary
