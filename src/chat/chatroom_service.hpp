#pragma once
// The chat-room service: rooms, membership and its roles, invitations, bans, and the stored
// message history that both the REST API and the real-time layer use. It knows nothing of HTTP
// or sockets.
//
// Blocking: every method BLOCKS on the database (and create/join on bcrypt): call them on the
// worker pool, never on a network thread.
// Thread-safety: every method is thread-safe (each call leases its own connection; the password
// throttle is internally locked). Changes that need a consistent view of a room (roles, bans,
// invitations, the message sequence) run in one transaction that first locks the room's row, so
// concurrent actions on one room are serialized.
// Errors (all methods): Errc::not_found for an unknown room; Errc::forbidden when the caller is
// not a member, is banned, or lacks the role; Errc::validation_failed for bad input, or for an
// action on oneself that makes no sense; Errc::conflict for a state conflict; plus the storage
// errors of store::Connection (busy, unavailable, timeout, internal).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/password_hasher.hpp"
#include "chat/chatroom.hpp"
#include "chat/chatroom_observer.hpp"
#include "core/clock.hpp"
#include "core/failure_counter.hpp"
#include "core/quotas.hpp"
#include "store/database.hpp"

namespace parley::chat {

struct ChatroomSettings {
  /// Wrong room passwords per user and room within failure_window; the next try is refused
  /// (429) until the window slides. Per user *and* room: one user cannot lock others out.
  std::size_t max_password_failures = 10;
  std::chrono::minutes failure_window{15};
  /// Invitations without an explicit lifetime expire after this long.
  std::chrono::seconds default_invite_lifetime{std::chrono::hours(24 * 7)};
  std::chrono::seconds max_invite_lifetime{std::chrono::hours(24 * 30)};
};

/// Field limits, shared with the HTTP layer.
inline constexpr std::size_t kMaxRoomNameLength = 100;      ///< code points, after trimming
inline constexpr std::size_t kMaxRoomPasswordBytes = 1024;  ///< bcrypt input is pre-hashed
inline constexpr std::size_t kMaxMessageBytes = 4096;
inline constexpr std::size_t kDefaultPageSize = 50;
inline constexpr std::size_t kMaxPageSize = 100;
inline constexpr std::size_t kMaxRecoveryBatch = 500;
inline constexpr std::int64_t kMaxInviteUses = 10'000;
/// Corrections one message takes; beyond it, the message's language is settled (conflict).
inline constexpr std::size_t kMaxCorrectionsPerMessage = 10;

struct CreateChatroomInput {
  std::string name;
  bool is_private = false;
  /// Only for private rooms: whoever knows it may join.
  std::optional<std::string> password;
  std::optional<Location> location;
};

/// What a join attempt carries for a private room.
struct JoinCredentials {
  std::optional<std::string> password;
  std::optional<std::string> invite_code;
};

struct Joined {
  Chatroom room;
  Role role = Role::member;
  bool newly_joined = false;  ///< false when the user already was a member (idempotent join)
};

struct Left {
  bool room_deleted = false;  ///< the owner was the last member: the room is gone
  std::optional<std::string> photo_to_remove;
};

struct RoomDetails {
  Chatroom room;
  std::optional<Membership> viewer;  ///< the caller's membership (nullopt: not a member)
  std::vector<Member> members;       ///< current members, oldest first
  std::vector<Member> banned;        ///< only filled for the owner and admins
};

struct RoomSearch {
  std::vector<Chatroom> rooms;
  bool has_more = false;
};

struct InviteOptions {
  std::optional<std::chrono::seconds> lifetime;  ///< default: settings.default_invite_lifetime
  std::optional<std::int64_t> max_uses;          ///< nullopt: unlimited
};

struct PhotoChange {
  Chatroom room;
  std::optional<std::string> previous;  ///< the replaced file name, to remove from disk
};

class ChatroomService {
 public:
  /// `database`, `hasher` and `clock` must outlive the service.
  ChatroomService(store::Database& database, const auth::PasswordHasher& hasher,
                  const core::Clock& clock, ChatroomSettings settings = {});
  ChatroomService(const ChatroomService&) = delete;
  ChatroomService& operator=(const ChatroomService&) = delete;

  /// Sets who is told about committed changes (nullptr: nobody). The observer must outlive the
  /// service or be replaced first. Thread-safe; calls already running may still use the
  /// previous observer.
  void set_observer(ChatroomObserver* observer) noexcept;

  /// Sets whose plan limits room sizes (nullptr: unlimited). Must outlive the service; set it
  /// at start-up, before the first call.
  void set_quotas(core::Quotas* quotas) noexcept { quotas_ = quotas; }

  // --- rooms and membership ------------------------------------------------------------------

  /// Creates a room whose creator becomes its owner. Runs bcrypt for a password.
  /// Errors: validation_failed (name empty or longer than kMaxRoomNameLength after trimming,
  /// control characters, a password on a public room, location out of range).
  Result<Chatroom> create(std::int64_t creator_id, const CreateChatroomInput& input);

  /// Joins a room: a public one freely; a private one with its password (bcrypt, throttled per
  /// user and room) or a valid invitation (not revoked, not expired, not used up; redeemed in
  /// the joining transaction). Already a member: succeeds without change (no invitation use).
  /// Errors: not_found; forbidden (banned, wrong password, bad invitation, no credentials);
  /// rate_limited (too many wrong passwords, with retry_after); quota_exceeded (the room has as
  /// many members as its owner's plan allows).
  Result<Joined> join(std::int64_t room_id, std::int64_t user_id, const JoinCredentials& input);

  /// Leaves a room. The owner must transfer ownership first, unless they are the last member:
  /// then the room is deleted. Errors: not_found (room, or not a member); conflict (owner with
  /// other members). Notifies member_removed("left") or room_deleted.
  Result<Left> leave(std::int64_t room_id, std::int64_t user_id);

  /// The room. Errors: not_found.
  Result<Chatroom> find(std::int64_t room_id);

  /// The room with its members, for `viewer_id`. Anyone may see a public room; only members a
  /// private one. Errors: not_found; forbidden (banned, or private and not a member).
  Result<RoomDetails> details(std::int64_t room_id, std::int64_t viewer_id);

  /// Public rooms whose name contains `query` (case-insensitive; `%`, `_` and `\` match
  /// literally; empty matches all), newest first. `limit` is capped at kMaxPageSize.
  Result<RoomSearch> search_public(std::string_view query, std::size_t limit, std::size_t offset);

  /// The user's membership row, including a ban (banned = true). Errors: not_found when there is
  /// none (or no such room).
  Result<Membership> membership(std::int64_t room_id, std::int64_t user_id);

  /// True when the user is a member (not banned) of the room; false on any error. For the
  /// real-time layer's channel subscription. Never throws.
  bool can_join_channel(std::int64_t room_id, std::int64_t user_id) noexcept;

  /// Current (not banned) members, oldest first. Errors: not_found.
  Result<std::vector<Member>> members(std::int64_t room_id);

  // --- listening languages ----------------------------------------------------------------------

  /// The language a member reads and hears the room in: their choice for this room, else their
  /// preferred language. Errors: forbidden (not a member, banned).
  Result<std::string> listening_language(std::int64_t room_id, std::int64_t user_id);

  /// Sets (a tag such as "es" or "pt-BR") or clears (nullopt: back to the preferred language)
  /// the member's language for this room. Returns the language now in effect.
  /// Errors: forbidden (not a member, banned); validation_failed (not a language tag).
  Result<std::string> set_listening_language(std::int64_t room_id, std::int64_t user_id,
                                             const std::optional<std::string>& language);

  /// How the member listens to the room (captions when never chosen).
  /// Errors: forbidden (not a member, banned).
  Result<ListeningChoice> listening_choice(std::int64_t room_id, std::int64_t user_id);
  /// Sets it. Errors: forbidden (not a member, banned); validation_failed (format not one of
  /// ogg, mp3, wav).
  Result<ListeningChoice> set_listening_choice(std::int64_t room_id, std::int64_t user_id,
                                               const ListeningChoice& choice);

  /// The languages the user declared they speak (auth::User::spoken_languages; empty: none).
  /// Errors: storage errors (an unknown user gives an empty list).
  Result<std::vector<std::string>> spoken_languages(std::int64_t user_id);

  /// Every language the room's current members listen in, each once (as stored: callers
  /// normalise tags). Errors: storage errors (an unknown room gives an empty list). Read once
  /// per change of the room's members version (migration 15), which the database moves.
  Result<std::vector<std::string>> listening_languages(std::int64_t room_id);
  /// The same when the caller knows the room's members version (PostedMessage): no read of
  /// the version, and no read at all when the languages were last read at that version.
  Result<std::vector<std::string>> listening_languages(std::int64_t room_id,
                                                       std::int64_t members_version);

  // --- messages -------------------------------------------------------------------------------

  /// Stores a message and gives it the room's next sequence number (allocated in the same
  /// transaction, so sequences have no gaps). Idempotent on (room, sender, client_id): a retry
  /// returns the message stored the first time, unchanged.
  /// Errors: not_found (room); forbidden (not a member, banned); validation_failed (text empty,
  /// longer than kMaxMessageBytes, not UTF-8, control characters other than \n and \t; bad
  /// language tag or client_id). `spoken`: when a speech message's utterance was spoken.
  Result<StoredMessage> post_message(std::int64_t room_id, std::int64_t sender_id,
                                     std::string_view text, MessageKind kind,
                                     const std::optional<std::string>& language,
                                     const std::optional<std::string>& client_id,
                                     const std::optional<std::string>& audio_path = std::nullopt,
                                     const std::optional<SpokenTiming>& spoken = std::nullopt);

  /// A message stored by post_messages.
  struct PostedMessage {
    StoredMessage message;
    /// The room's members version in the transaction that stored the message, for
    /// listening_languages(room, version); nullopt for a retry answered with its first copy.
    std::optional<std::int64_t> members_version;
  };

  /// post_message for several messages in one transaction (a group commit: one write of the
  /// pages they share and one sync instead of one per message). Each message succeeds or fails
  /// on its own, as post_message would; the answers are in the order of `messages`, and
  /// messages are stored (given their sequence numbers) in that order.
  std::vector<Result<PostedMessage>> post_messages(std::span<const NewMessage> messages);

  /// The room a stored recording belongs to, for a viewer allowed to hear it.
  /// Errors: not_found when no message has that recording or the viewer is not a current
  /// member of its room (the same answer, so private rooms' media cannot be probed).
  Result<std::int64_t> room_of_audio(std::string_view audio_file, std::int64_t viewer_id);

  /// Tells the observer about a message stored through post_message by a caller outside the
  /// real-time layer (an HTTP upload), so that the room receives it live.
  void announce_message(const StoredMessage& message) { observer().message_posted(message); }

  /// A page of history for a member, newest first: messages with seq < `before` (all when
  /// nullopt), at most `limit` (clamped to 1..kMaxPageSize).
  /// Errors: not_found (room); forbidden (not a member, banned).
  Result<MessagePage> messages(std::int64_t room_id, std::int64_t viewer_id,
                               std::optional<std::int64_t> before, std::size_t limit);

  /// One message, for a viewer who is a current member of its room. Errors: not_found when there
  /// is no such message or the viewer may not read it (the same answer: ids cannot be probed).
  Result<StoredMessage> message(std::int64_t message_id, std::int64_t viewer_id);
  /// One message, without an access check (for deliveries inside the server).
  /// Errors: not_found.
  Result<StoredMessage> find_message(std::int64_t message_id);

  /// Work done inside a correction's transaction (forgetting the message's translations).
  using InTransaction = std::function<Result<void>(store::Connection&)>;

  /// A member says the message is in `language` (and, for speech heard again in that language,
  /// that it says `text`): stores the correction in the message's history (message_corrections)
  /// and the message's new language and text, and runs `also` in the same transaction (its
  /// failure undoes everything). Any current member may correct any message of the room but a
  /// system one. Errors: not_found (no message, or the actor may not read it);
  /// validation_failed (bad tag or text, a system message); conflict (nothing would change, or
  /// kMaxCorrectionsPerMessage reached).
  Result<StoredMessage> correct_language(std::int64_t message_id, std::int64_t actor_id,
                                         std::string_view language,
                                         const std::optional<std::string>& text = std::nullopt,
                                         const InTransaction& also = {});
  /// The checks of correct_language without the change (to refuse before costly work).
  /// Returns the message as it is now.
  Result<StoredMessage> check_correction(std::int64_t message_id, std::int64_t actor_id,
                                         std::string_view language);

  /// A room's messages that began (StoredMessage::started_at) in [from_ms, to_ms), in the order
  /// they began (then by sequence), at most `limit` (no cap: the caller bounds it; ask for one
  /// more to learn whether the range holds more). No membership check: the caller's.
  Result<std::vector<StoredMessage>> messages_between(std::int64_t room_id, std::int64_t from_ms,
                                                      std::int64_t to_ms, std::size_t limit);

  /// Messages with seq > `after_seq`, oldest first, at most `limit` (clamped to
  /// 1..kMaxRecoveryBatch): reconnect recovery. No membership check (the caller made it).
  /// Errors: storage errors only (an unknown room gives an empty list).
  Result<std::vector<StoredMessage>> messages_after(std::int64_t room_id, std::int64_t after_seq,
                                                    std::size_t limit);

  // --- management (owner and admins; some owner only) ---------------------------------------

  /// Errors: forbidden (not owner/admin); validation_failed (lifetime or max_uses out of range).
  Result<Invite> create_invite(std::int64_t room_id, std::int64_t actor_id,
                               const InviteOptions& options);
  /// Usable invitations (not revoked, expired or used up), newest first. Owner/admin.
  Result<std::vector<Invite>> invites(std::int64_t room_id, std::int64_t actor_id);
  /// Revokes an invitation (idempotent). Owner/admin. Errors: not_found (no such code here).
  Result<void> revoke_invite(std::int64_t room_id, std::int64_t actor_id, const std::string& code);

  /// Removes a member (they may rejoin). Owner/admin; admins cannot kick the owner or admins.
  /// Errors: validation_failed (oneself); not_found (not a member); forbidden.
  Result<void> kick(std::int64_t room_id, std::int64_t actor_id, std::int64_t target_id);
  /// Bans a user (member or not; idempotent): they leave and cannot rejoin or read. Owner/admin;
  /// admins cannot ban admins; nobody bans the owner. Errors: as kick(); not_found (no user).
  Result<void> ban(std::int64_t room_id, std::int64_t actor_id, std::int64_t target_id);
  /// Lifts a ban (the user is not a member again until they join). Owner/admin.
  /// Errors: not_found (not banned).
  Result<void> unban(std::int64_t room_id, std::int64_t actor_id, std::int64_t target_id);
  /// member -> admin (idempotent for an admin). Owner only. Errors: not_found (not a member).
  Result<Membership> promote(std::int64_t room_id, std::int64_t actor_id, std::int64_t target_id);
  /// admin -> member (idempotent for a member). Owner only.
  Result<Membership> demote(std::int64_t room_id, std::int64_t actor_id, std::int64_t target_id);
  /// Makes a member the owner; the old owner becomes an admin. Owner only.
  Result<void> transfer_ownership(std::int64_t room_id, std::int64_t actor_id,
                                  std::int64_t target_id);
  /// Owner/admin. Errors: validation_failed (name rules as create()).
  Result<Chatroom> rename(std::int64_t room_id, std::int64_t actor_id, const std::string& name);

  /// Sets (or with nullopt removes) where the room is; owner and admins. Validated as on create.
  /// The room's members get room_updated. Errors: validation_failed, not_found, forbidden.
  Result<Chatroom> set_location(std::int64_t room_id, std::int64_t actor_id,
                                const std::optional<Location>& location);

  /// The rooms with these ids, in the order given; ids that do not exist are skipped.
  Result<std::vector<Chatroom>> find_many(std::span<const std::int64_t> ids);
  /// Deletes the room with its messages, memberships and invitations. Owner only. Returns the
  /// photo file name to remove from disk.
  Result<std::optional<std::string>> remove(std::int64_t room_id, std::int64_t actor_id);
  /// Checks that the actor may manage the room (owner/admin) without changing anything: lets
  /// the HTTP layer refuse before it writes an uploaded file.
  Result<void> check_can_manage(std::int64_t room_id, std::int64_t actor_id);
  /// Points the room at a new photo file. Owner/admin. Returns the previous file to remove.
  Result<PhotoChange> set_photo(std::int64_t room_id, std::int64_t actor_id,
                                const std::string& file_name);

  /// Room name rules (trimmed, 1..kMaxRoomNameLength code points, UTF-8, no control
  /// characters). Returns the trimmed name. Errors: validation_failed.
  static Result<std::string> check_room_name(std::string_view name);

 private:
  /// promote/demote: the owner moves a member from role `from` to `to` (idempotent otherwise).
  Result<Membership> change_role(std::int64_t room_id, std::int64_t actor_id,
                                 std::int64_t target_id, Role from, Role to,
                                 std::string_view self_message);
  /// rename/set_location: an owner or admin sets `assignments` ("name = $1", with `values` for
  /// its placeholders) and updated_at on the room, in one transaction; members get room_updated.
  Result<Chatroom> update_as_manager(std::int64_t room_id, std::int64_t actor_id,
                                     std::string_view assignments,
                                     std::vector<store::Value> values);
  ChatroomObserver& observer() const noexcept { return *observer_.load(); }

  store::Database& database_;
  const auth::PasswordHasher& hasher_;
  const core::Clock& clock_;
  ChatroomSettings settings_;
  core::FailureCounter password_failures_;
  NoopChatroomObserver noop_;
  core::Quotas* quotas_ = nullptr;
  std::atomic<ChatroomObserver*> observer_{&noop_};

  /// listening_languages() as last read, by room, with the members_version it was read at.
  struct ListeningLanguages {
    std::int64_t members_version = 0;
    std::vector<std::string> languages;
  };
  std::mutex listening_mutex_;
  std::unordered_map<std::int64_t, ListeningLanguages> listening_;
};

}  // namespace parley::chat
