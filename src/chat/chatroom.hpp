#pragma once
// Chat rooms as the services see them (rooms, memberships, invitations, stored messages) and
// their public JSON shapes. Plain values: no behaviour beyond conversion, thread-compatible.

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace parley::chat {

/// A member's role. A room has exactly one owner (while it has members).
enum class Role { owner, admin, member };

/// "owner", "admin" or "member" (the stored and the wire form).
std::string_view to_string(Role role) noexcept;
/// Parses the stored form. Errors: Errc::internal for anything else (a schema bug).
Result<Role> parse_role(std::string_view text);

/// Where a room is, for rooms tied to a place.
struct Location {
  double latitude = 0;   ///< degrees, -90..90
  double longitude = 0;  ///< degrees, -180..180
  std::optional<double> radius_km;
  std::optional<std::string> venue;
};

struct Chatroom {
  std::int64_t id = 0;
  std::string name;
  bool is_private = false;
  /// A private room that can be joined with a password (the hash never leaves the service).
  bool has_password = false;
  std::optional<std::int64_t> creator_id;  ///< null once the creator's account is deleted
  std::int64_t member_count = 0;           ///< members not banned
  std::optional<std::string> photo_path;   ///< file name under UPLOAD_DIR/chatroom_photo
  std::optional<Location> location;
  std::int64_t last_message_seq = 0;
  std::int64_t created_at = 0;  ///< unix ms
  std::int64_t updated_at = 0;  ///< unix ms
};

/// One user's relation to one room. A banned user keeps a row (banned = true) so that the ban
/// outlives their membership; they are not a member.
struct Membership {
  std::int64_t room_id = 0;
  std::int64_t user_id = 0;
  Role role = Role::member;
  bool banned = false;
  std::int64_t joined_at = 0;  ///< unix ms (for a ban: when it was recorded)
};

/// How a member listens to a room (besides reading it): captions only, a neutral synthesized
/// voice, the speaker's own (cloned or approximated) voice where the speaker consented to one,
/// or the original recording with captions.
enum class ListeningMode { captions, neutral, cloned, original };
std::string_view to_string(ListeningMode mode) noexcept;
/// Errors: Errc::validation_failed for an unknown mode.
Result<ListeningMode> parse_listening_mode(std::string_view text);

struct ListeningChoice {
  ListeningMode mode = ListeningMode::captions;
  std::string format = "ogg";  ///< the listener's audio format: "ogg", "mp3" or "wav"
  /// The member chose it (false: never chose, captions by default, and a connection's
  /// tts_preferences decide what it hears).
  bool chosen = false;
};

/// A member as listed with a room.
struct Member {
  std::int64_t user_id = 0;
  std::string username;
  std::optional<std::string> avatar_path;  ///< file name under UPLOAD_DIR/avatars
  Role role = Role::member;
  bool banned = false;
  std::int64_t joined_at = 0;
};

struct Invite {
  std::string code;
  std::int64_t room_id = 0;
  std::optional<std::int64_t> created_by;
  std::optional<std::int64_t> expires_at;  ///< unix ms; nullopt: never
  std::optional<std::int64_t> max_uses;    ///< nullopt: unlimited
  std::int64_t uses = 0;
  std::int64_t created_at = 0;
};

/// Who sent a message; absent for a deleted user.
struct Sender {
  std::int64_t id = 0;
  std::string username;
  std::optional<std::string> avatar_path;
};

/// The kinds the schema allows.
enum class MessageKind { text, speech, audio, system };
std::string_view to_string(MessageKind kind) noexcept;
/// Errors: Errc::validation_failed for an unknown kind.
Result<MessageKind> parse_message_kind(std::string_view text);

/// What history shows of a message's corrections: the last one, and what the message was
/// before the first.
struct CorrectionSummary {
  std::int64_t at = 0;  ///< unix ms of the last correction
  std::optional<std::int64_t> by_id;
  std::string by_username;  ///< "" when the user is gone
  std::optional<std::string> initial_language;
  /// Before the first correction; nullopt when no correction changed the text.
  std::optional<std::string> initial_text;
};

struct StoredMessage {
  std::int64_t id = 0;
  std::int64_t room_id = 0;
  std::int64_t seq = 0;  ///< room_seq: gap-free per room, the paging and recovery cursor
  std::optional<Sender> sender;
  MessageKind kind = MessageKind::text;
  std::string text;
  std::optional<std::string> language;
  std::optional<std::string> client_id;
  /// For speech and audio messages: the stored recording's file name under
  /// uploads/chatroom_audio/ (a server-generated name, never a client's).
  std::optional<std::string> audio_path;
  std::int64_t created_at = 0;  ///< unix ms
  /// Speech only: when the utterance was spoken (unix ms), as measured by the stream.
  std::optional<std::int64_t> spoken_started_at;
  std::optional<std::int64_t> spoken_ended_at;

  /// Set once a member corrected the message's language (wrong-language correction).
  std::optional<CorrectionSummary> corrected;

  /// When the message began: the start of its speech, or when it was sent.
  std::int64_t started_at() const { return spoken_started_at.value_or(created_at); }
};

/// When an utterance was spoken, relative to the moment its message is stored (the service's
/// clock is the one wall clock: a stream only knows how long ago its speech began and ended).
struct SpokenTiming {
  std::int64_t started_ms_ago = 0;
  std::int64_t ended_ms_ago = 0;
};

/// A message to store (ChatroomService::post_messages).
struct NewMessage {
  std::int64_t room_id = 0;
  std::int64_t sender_id = 0;
  std::string text;
  MessageKind kind = MessageKind::text;
  std::optional<std::string> language;
  std::optional<std::string> client_id;
  std::optional<std::string> audio_path;
  std::optional<SpokenTiming> spoken;
};

/// One page of a room's history, newest first.
struct MessagePage {
  std::vector<StoredMessage> messages;
  /// The `before` cursor for the next (older) page; nullopt when there is nothing older.
  std::optional<std::int64_t> next_before;
};

/// `{"id","name","is_private","creator_id","member_count","created_at","photo_url",
/// "location"?}`; photo_url is absolute under `public_base_url` (BACKEND_URL) or null.
boost::json::object to_json(const Chatroom& room, const std::string& public_base_url);

/// `{"id","room","sender":{"id","username","avatar_url"}|null,"text","language","created_at",
/// "kind","client_id"?,"seq","audio_url"?,"spoken"?,"corrected"?}`; corrected is
/// `{"at","by":{"id","username"}|null,"initial_language","initial_text"?}`; audio_url (speech and
/// audio messages) is
/// `<public_base_url>/api/audio/<file>`, served to room members only.
boost::json::object to_json(const StoredMessage& message, const std::string& public_base_url);

/// `{"user_id","username","avatar_url","role","joined_at"}`.
boost::json::object to_json(const Member& member, const std::string& public_base_url);

/// `{"code","expires_at","max_uses","uses","created_at"}` (times ISO 8601, nulls when unset).
boost::json::object to_json(const Invite& invite);

}  // namespace parley::chat
