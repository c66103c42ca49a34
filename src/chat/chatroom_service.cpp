#include "chat/chatroom_service.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "auth/user.hpp"
#include "chat/text_rules.hpp"
#include "core/random.hpp"

namespace parley::chat {

namespace {

using store::Connection;
using store::Row;
using store::Value;

// Every room read goes through these columns; member_count counts members that are not banned.
constexpr const char* kRoomColumns =
    "c.id, c.name, c.is_private, c.password_hash, c.creator_id, c.photo_path, c.latitude, "
    "c.longitude, c.radius_km, c.venue, c.last_message_seq, c.created_at, c.updated_at, "
    "(SELECT COUNT(*) FROM memberships x WHERE x.chatroom_id = c.id AND x.banned = 0) "
    "AS member_count";

constexpr const char* kMessageColumns =
    "m.id, m.chatroom_id, m.room_seq, m.sender_id, u.username, u.avatar_path, m.kind, m.text, "
    "m.original_language, m.client_id, m.audio_path, m.created_at, m.spoken_started_at, "
    "m.spoken_ended_at, m.corrected_at, m.corrected_by, m.initial_language, m.initial_text, "
    "(SELECT cu.username FROM users cu WHERE cu.id = m.corrected_by) AS corrected_by_name";

// How long before it is stored a spoken message may say it began (its speech, then recognition).
constexpr std::int64_t kMaxSpokenLead = 60 * 60 * 1000;
// Rooms whose listening languages are kept between messages (ChatroomService::listening_).
constexpr std::size_t kMaxListeningEntries = 100000;

constexpr const char* kMemberColumns =
    "m.user_id, u.username, u.avatar_path, m.role, m.banned, m.joined_at";

constexpr const char* kInviteColumns =
    "code, chatroom_id, created_by, expires_at, max_uses, uses, created_at";

// Collects the first failing conversion of a row so that readers stay linear.
class RowReader {
 public:
  explicit RowReader(const Row& row) : row_(row) {}
  template <class T>
  T get(std::string_view column) {
    auto value = row_.get<T>(column);
    if (!value) {
      if (!error_) error_ = value.error();
      return T{};
    }
    return std::move(*value);
  }
  [[nodiscard]] const std::optional<Error>& error() const { return error_; }

 private:
  const Row& row_;
  std::optional<Error> error_;
};

Result<Chatroom> room_from_row(const Row& row) {
  RowReader r(row);
  Chatroom room;
  room.id = r.get<std::int64_t>("id");
  room.name = r.get<std::string>("name");
  room.is_private = r.get<bool>("is_private");
  room.has_password = r.get<std::optional<std::string>>("password_hash").has_value();
  room.creator_id = r.get<std::optional<std::int64_t>>("creator_id");
  room.photo_path = r.get<std::optional<std::string>>("photo_path");
  const auto latitude = r.get<std::optional<double>>("latitude");
  const auto longitude = r.get<std::optional<double>>("longitude");
  if (latitude && longitude) {
    Location location;
    location.latitude = *latitude;
    location.longitude = *longitude;
    location.radius_km = r.get<std::optional<double>>("radius_km");
    location.venue = r.get<std::optional<std::string>>("venue");
    room.location = std::move(location);
  }
  room.last_message_seq = r.get<std::int64_t>("last_message_seq");
  room.created_at = r.get<std::int64_t>("created_at");
  room.updated_at = r.get<std::int64_t>("updated_at");
  room.member_count = r.get<std::int64_t>("member_count");
  if (r.error()) return *r.error();
  return room;
}

// The role, ban and join time that a membership row and a member row share.
template <class Row_>
Result<Row_> with_membership_fields(RowReader& r, Row_ m) {
  const auto role = parse_role(r.get<std::string>("role"));
  m.banned = r.get<bool>("banned");
  m.joined_at = r.get<std::int64_t>("joined_at");
  if (r.error()) return *r.error();
  if (!role) return role.error();
  m.role = *role;
  return m;
}

Result<Membership> membership_from_row(const Row& row) {
  RowReader r(row);
  Membership m;
  m.room_id = r.get<std::int64_t>("chatroom_id");
  m.user_id = r.get<std::int64_t>("user_id");
  return with_membership_fields(r, std::move(m));
}

Result<Member> member_from_row(const Row& row) {
  RowReader r(row);
  Member m;
  m.user_id = r.get<std::int64_t>("user_id");
  m.username = r.get<std::string>("username");
  m.avatar_path = r.get<std::optional<std::string>>("avatar_path");
  return with_membership_fields(r, std::move(m));
}

Result<StoredMessage> message_from_row(const Row& row) {
  RowReader r(row);
  StoredMessage m;
  m.id = r.get<std::int64_t>("id");
  m.room_id = r.get<std::int64_t>("chatroom_id");
  m.seq = r.get<std::int64_t>("room_seq");
  const auto sender_id = r.get<std::optional<std::int64_t>>("sender_id");
  if (sender_id) {
    Sender sender;
    sender.id = *sender_id;
    sender.username = r.get<std::optional<std::string>>("username").value_or("");
    sender.avatar_path = r.get<std::optional<std::string>>("avatar_path");
    m.sender = std::move(sender);
  }
  const auto kind = parse_message_kind(r.get<std::string>("kind"));
  m.text = r.get<std::string>("text");
  m.language = r.get<std::optional<std::string>>("original_language");
  m.client_id = r.get<std::optional<std::string>>("client_id");
  m.audio_path = r.get<std::optional<std::string>>("audio_path");
  m.created_at = r.get<std::int64_t>("created_at");
  m.spoken_started_at = r.get<std::optional<std::int64_t>>("spoken_started_at");
  m.spoken_ended_at = r.get<std::optional<std::int64_t>>("spoken_ended_at");
  if (const auto corrected_at = r.get<std::optional<std::int64_t>>("corrected_at")) {
    CorrectionSummary c;
    c.at = *corrected_at;
    c.by_id = r.get<std::optional<std::int64_t>>("corrected_by");
    if (c.by_id) {
      c.by_username = r.get<std::optional<std::string>>("corrected_by_name").value_or("");
      if (c.by_username.empty()) c.by_id.reset();  // the user is gone
    }
    c.initial_language = r.get<std::optional<std::string>>("initial_language");
    c.initial_text = r.get<std::optional<std::string>>("initial_text");
    m.corrected = std::move(c);
  }
  if (r.error()) return *r.error();
  if (!kind) return fail(Errc::internal, "stored message has an unknown kind");
  m.kind = *kind;
  return m;
}

Result<Invite> invite_from_row(const Row& row) {
  RowReader r(row);
  Invite invite;
  invite.code = r.get<std::string>("code");
  invite.room_id = r.get<std::int64_t>("chatroom_id");
  invite.created_by = r.get<std::optional<std::int64_t>>("created_by");
  invite.expires_at = r.get<std::optional<std::int64_t>>("expires_at");
  invite.max_uses = r.get<std::optional<std::int64_t>>("max_uses");
  invite.uses = r.get<std::int64_t>("uses");
  invite.created_at = r.get<std::int64_t>("created_at");
  if (r.error()) return *r.error();
  return invite;
}

template <class T, class F>
Result<std::vector<T>> convert_all(const store::Rows& rows, F convert) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    auto item = convert(row);
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  return out;
}

Result<std::optional<Chatroom>> load_room(Connection& connection, std::int64_t room_id) {
  auto rows = connection.query(
      std::string("SELECT ") + kRoomColumns + " FROM chatrooms c WHERE c.id = $1", {room_id});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Chatroom>{};
  auto room = room_from_row((*rows)[0]);
  if (!room) return room.error();
  return std::optional<Chatroom>(std::move(*room));
}

Result<Chatroom> require_room(Connection& connection, std::int64_t room_id) {
  auto room = load_room(connection, room_id);
  if (!room) return room.error();
  if (!room->has_value()) return fail(Errc::not_found, "no such chat room");
  return std::move(**room);
}

// Inside a transaction: locks the room's row so that concurrent changes to one room (roles,
// bans, sequence numbers) are serialized. SQLite's BEGIN IMMEDIATE already holds the database's
// write lock; PostgreSQL needs the row lock. Errors: not_found when the room does not exist.
Result<void> lock_room(Connection& connection, std::int64_t room_id) {
  const bool postgres = connection.dialect() == store::Dialect::postgres;
  auto rows = connection.query(
      std::string("SELECT id FROM chatrooms WHERE id = $1") + (postgres ? " FOR UPDATE" : ""),
      {room_id});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such chat room");
  return {};
}

Result<std::optional<Membership>> load_membership(Connection& connection, std::int64_t room_id,
                                                  std::int64_t user_id) {
  auto rows = connection.query(
      "SELECT chatroom_id, user_id, role, banned, joined_at FROM memberships "
      "WHERE chatroom_id = $1 AND user_id = $2",
      {room_id, user_id});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<Membership>{};
  auto m = membership_from_row((*rows)[0]);
  if (!m) return m.error();
  return std::optional<Membership>(*m);
}

// The caller's membership, which must be current (not banned).
Result<Membership> require_member(Connection& connection, std::int64_t room_id,
                                  std::int64_t user_id) {
  auto m = load_membership(connection, room_id, user_id);
  if (!m) return m.error();
  if (!m->has_value()) return fail(Errc::forbidden, "you are not a member of this chat room");
  if ((*m)->banned) return fail(Errc::forbidden, "you are banned from this chat room");
  return **m;
}

enum class Needs { manager, owner };

Result<Membership> require_role(Connection& connection, std::int64_t room_id, std::int64_t user_id,
                                Needs needs) {
  auto m = require_member(connection, room_id, user_id);
  if (!m) return m.error();
  if (needs == Needs::owner && m->role != Role::owner) {
    return fail(Errc::forbidden, "only the room's owner can do this");
  }
  if (m->role == Role::member) {
    return fail(Errc::forbidden, "only the room's owner and admins can do this");
  }
  return *m;
}

// A target that must be a current member (for kick, promote, demote, transfer).
Result<Membership> require_target_member(Connection& connection, std::int64_t room_id,
                                         std::int64_t target_id) {
  auto m = load_membership(connection, room_id, target_id);
  if (!m) return m.error();
  if (!m->has_value() || (*m)->banned) {
    return fail(Errc::not_found, "that user is not a member of this chat room");
  }
  return **m;
}

Result<void> refuse_self(std::int64_t actor_id, std::int64_t target_id, std::string_view what) {
  if (actor_id == target_id) return fail(Errc::validation_failed, std::string(what));
  return {};
}

Result<std::optional<StoredMessage>> load_message(Connection& connection, std::string_view where,
                                                  std::initializer_list<Value> params) {
  auto rows = connection.query(std::string("SELECT ") + kMessageColumns +
                                   " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "
                                   "WHERE " +
                                   std::string(where),
                               params);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<StoredMessage>{};
  auto message = message_from_row((*rows)[0]);
  if (!message) return message.error();
  return std::optional<StoredMessage>(std::move(*message));
}

Result<void> check_location(const Location& location) {
  const auto finite = [](double v) { return std::isfinite(v); };
  if (!finite(location.latitude) || location.latitude < -90 || location.latitude > 90) {
    return fail(Errc::validation_failed, "latitude must be from -90 to 90");
  }
  if (!finite(location.longitude) || location.longitude < -180 || location.longitude > 180) {
    return fail(Errc::validation_failed, "longitude must be from -180 to 180");
  }
  if (location.radius_km &&
      (!finite(*location.radius_km) || *location.radius_km <= 0 || *location.radius_km > 20000)) {
    return fail(Errc::validation_failed, "radius_km must be above 0 and at most 20000");
  }
  if (location.venue) {
    if (!is_valid_utf8(*location.venue) || has_control_characters(*location.venue) ||
        code_points(*location.venue) > 200) {
      return fail(Errc::validation_failed, "venue must be at most 200 characters of plain text");
    }
  }
  return {};
}

// BCP 47-ish: letters, digits and '-', 1..35 characters ("en", "pt-BR", "zh-Hant-TW").
bool valid_language(std::string_view tag) {
  if (tag.empty() || tag.size() > 35) return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

Result<void> check_message_text(std::string_view text) {
  if (trim(text).empty()) return fail(Errc::validation_failed, "text must not be empty");
  if (text.size() > kMaxMessageBytes) {
    return fail(Errc::validation_failed,
                "text must be at most " + std::to_string(kMaxMessageBytes) + " bytes long");
  }
  if (!is_valid_utf8(text)) return fail(Errc::validation_failed, "text must be valid UTF-8");
  if (has_control_characters(text, "\n\t")) {
    return fail(Errc::validation_failed, "text must not contain control characters");
  }
  return {};
}

// Client ids are chosen by clients (often UUIDs): printable ASCII, 1..64 characters.
bool valid_client_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

}  // namespace

ChatroomService::ChatroomService(store::Database& database, const auth::PasswordHasher& hasher,
                                 const core::Clock& clock, ChatroomSettings settings)
    : database_(database),
      hasher_(hasher),
      clock_(clock),
      settings_(settings),
      password_failures_(clock, settings.max_password_failures, settings.failure_window) {}

void ChatroomService::set_observer(ChatroomObserver* observer) noexcept {
  observer_.store(observer != nullptr ? observer : &noop_);
}

Result<std::string> ChatroomService::check_room_name(std::string_view name) {
  const auto trimmed = trim(name);
  if (!is_valid_utf8(trimmed) || has_control_characters(trimmed)) {
    return fail(Errc::validation_failed, "name must be plain text without control characters");
  }
  const auto length = code_points(trimmed);
  if (length == 0) return fail(Errc::validation_failed, "name must not be empty");
  if (length > kMaxRoomNameLength) {
    return fail(Errc::validation_failed,
                "name must be at most " + std::to_string(kMaxRoomNameLength) + " characters long");
  }
  return std::string(trimmed);
}

// --- rooms and membership --------------------------------------------------------------------

Result<Chatroom> ChatroomService::create(std::int64_t creator_id,
                                         const CreateChatroomInput& input) {
  auto name = check_room_name(input.name);
  if (!name) return name.error();
  std::optional<std::string> password_hash;
  if (input.password) {
    if (!input.is_private) {
      return fail(Errc::validation_failed, "only a private room can have a password");
    }
    if (input.password->empty() || input.password->size() > kMaxRoomPasswordBytes) {
      return fail(Errc::validation_failed, "password must be 1 to 1024 bytes long");
    }
    // bcrypt before the transaction: the write lock is never held for its quarter second.
    password_hash = hasher_.hash(*input.password);
  }
  if (input.location) {
    if (auto ok = check_location(*input.location); !ok) return ok.error();
  }

  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  const auto now = clock_.now_ms();
  const auto& location = input.location;
  auto rows = (*lease)->query(
      "INSERT INTO chatrooms (name, creator_id, is_private, password_hash, latitude, longitude, "
      "radius_km, venue, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) "
      "RETURNING id",
      {*name, creator_id, std::int64_t{input.is_private ? 1 : 0}, store::nullable(password_hash),
       location ? Value(location->latitude) : Value(store::null_value),
       location ? Value(location->longitude) : Value(store::null_value),
       location ? store::nullable(location->radius_km) : Value(store::null_value),
       location ? store::nullable(location->venue) : Value(store::null_value), now});
  if (!rows) {
    // The only foreign key here is the creator: their account is gone.
    if (rows.error().code == Errc::validation_failed) return fail(Errc::not_found, "no such user");
    return rows.error();
  }
  auto room_id = (*rows)[0].get<std::int64_t>("id");
  if (!room_id) return room_id.error();
  auto member = (*lease)->execute(
      "INSERT INTO memberships (chatroom_id, user_id, role, banned, joined_at) "
      "VALUES ($1, $2, 'owner', 0, $3)",
      {*room_id, creator_id, now});
  if (!member) {
    if (member.error().code == Errc::validation_failed) {
      return fail(Errc::not_found, "no such user");  // the creator's account is gone
    }
    return member.error();
  }
  if (auto done = tx->commit(); !done) return done.error();
  return require_room(**lease, *room_id);
}

Result<Joined> ChatroomService::join(std::int64_t room_id, std::int64_t user_id,
                                     const JoinCredentials& input) {
  bool redeem_invite = false;
  // The owner's plan sets the room's size; read before the transaction (the quota lookup uses
  // its own connection, and none is held meanwhile).
  std::optional<std::int64_t> member_limit;
  if (quotas_ != nullptr) {
    std::optional<std::int64_t> owner;
    {
      auto lease = database_.acquire();
      if (!lease) return lease.error();
      auto rows = (*lease)->query(
          "SELECT user_id FROM memberships WHERE chatroom_id = $1 AND role = 'owner'", {room_id});
      if (!rows) return rows.error();
      if (!rows->empty()) owner = (*rows)[0].try_get<std::int64_t>("user_id");
    }
    if (owner) {
      auto limit = quotas_->room_member_limit(*owner);
      if (!limit) return limit.error();
      member_limit = *limit;
    }
  }
  {
    auto lease = database_.acquire();
    if (!lease) return lease.error();
    auto room = require_room(**lease, room_id);
    if (!room) return room.error();
    auto existing = load_membership(**lease, room_id, user_id);
    if (!existing) return existing.error();
    if (existing->has_value()) {
      if ((*existing)->banned) return fail(Errc::forbidden, "you are banned from this chat room");
      return Joined{std::move(*room), (*existing)->role, false};
    }
    if (room->is_private) {
      if (input.invite_code) {
        redeem_invite = true;  // checked and redeemed atomically in the transaction below
      } else if (input.password && room->has_password) {
        auto hash = (*lease)->query("SELECT password_hash FROM chatrooms WHERE id = $1", {room_id});
        if (!hash) return hash.error();
        if (hash->empty()) return fail(Errc::not_found, "no such chat room");
        const auto stored = (*hash)[0].try_get<std::string>("password_hash").value_or("");
        lease->reset();  // no connection is held during bcrypt
        // The failure is reserved before bcrypt runs, so parallel guesses share no free slot.
        const std::string key = std::to_string(user_id) + ":" + std::to_string(room_id);
        if (auto d = password_failures_.reserve(key); !d.allowed) {
          return Error(Errc::rate_limited, "too many wrong passwords for this room; try later",
                       d.retry_after);
        }
        if (!hasher_.verify(*input.password, stored).ok) {
          return fail(Errc::forbidden, "wrong password for this chat room");
        }
        password_failures_.release(key);
      } else if (input.password) {
        return fail(Errc::forbidden, "this chat room is joined by invitation only");
      } else {
        return fail(Errc::forbidden,
                    "this chat room is private: a password or an invitation is needed");
      }
    }
  }

  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  // Checked again under the lock: a ban or a join may have happened since the first look.
  auto existing = load_membership(**lease, room_id, user_id);
  if (!existing) return existing.error();
  if (existing->has_value()) {
    if ((*existing)->banned) return fail(Errc::forbidden, "you are banned from this chat room");
    auto room = require_room(**lease, room_id);
    if (!room) return room.error();
    return Joined{std::move(*room), (*existing)->role, false};
  }
  if (member_limit) {
    auto count = (*lease)->query(
        "SELECT COUNT(*) AS n FROM memberships WHERE chatroom_id = $1 AND banned = 0", {room_id});
    if (!count) return count.error();
    auto members = (*count)[0].get<std::int64_t>("n");
    if (!members) return members.error();
    if (*members >= *member_limit) {
      return fail(Errc::quota_exceeded, "this chat room is full: its owner's plan allows " +
                                            std::to_string(*member_limit) + " members");
    }
  }
  const auto now = clock_.now_ms();
  if (redeem_invite) {
    // One statement checks and counts the use, so concurrent joins cannot exceed max_uses.
    auto redeemed = (*lease)->execute(
        "UPDATE chatroom_invites SET uses = uses + 1 WHERE code = $1 AND chatroom_id = $2 AND "
        "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3) AND "
        "(max_uses IS NULL OR uses < max_uses)",
        {*input.invite_code, room_id, now});
    if (!redeemed) return redeemed.error();
    if (*redeemed == 0) {
      return fail(Errc::forbidden, "the invitation is unknown, expired, revoked or used up");
    }
  }
  auto inserted = (*lease)->execute(
      "INSERT INTO memberships (chatroom_id, user_id, role, banned, joined_at) "
      "VALUES ($1, $2, 'member', 0, $3)",
      {room_id, user_id, now});
  if (!inserted) {
    if (inserted.error().code == Errc::validation_failed) {
      return fail(Errc::not_found, "no such user");
    }
    return inserted.error();
  }
  if (auto done = tx->commit(); !done) return done.error();
  auto room = require_room(**lease, room_id);
  if (!room) return room.error();
  return Joined{std::move(*room), Role::member, true};
}

Result<Left> ChatroomService::leave(std::int64_t room_id, std::int64_t user_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  auto m = load_membership(**lease, room_id, user_id);
  if (!m) return m.error();
  if (!m->has_value() || (*m)->banned) {
    return fail(Errc::not_found, "you are not a member of this chat room");
  }
  Left left;
  if ((*m)->role == Role::owner) {
    auto others = (*lease)->query(
        "SELECT COUNT(*) AS n FROM memberships WHERE chatroom_id = $1 AND user_id <> $2 AND "
        "banned = 0",
        {room_id, user_id});
    if (!others) return others.error();
    if ((*others)[0].try_get<std::int64_t>("n").value_or(0) > 0) {
      return fail(Errc::conflict, "transfer ownership to another member before leaving");
    }
    auto deleted =
        (*lease)->query("DELETE FROM chatrooms WHERE id = $1 RETURNING photo_path", {room_id});
    if (!deleted) return deleted.error();
    left.room_deleted = true;
    if (!deleted->empty()) left.photo_to_remove = (*deleted)[0].try_get<std::string>("photo_path");
  } else {
    auto removed = (*lease)->execute(
        "DELETE FROM memberships WHERE chatroom_id = $1 AND user_id = $2", {room_id, user_id});
    if (!removed) return removed.error();
  }
  if (auto done = tx->commit(); !done) return done.error();
  if (left.room_deleted) {
    observer().room_deleted(room_id);
  } else {
    observer().member_removed(room_id, user_id, "left");
  }
  return left;
}

Result<Chatroom> ChatroomService::find(std::int64_t room_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  return require_room(**lease, room_id);
}

Result<RoomDetails> ChatroomService::details(std::int64_t room_id, std::int64_t viewer_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto room = require_room(**lease, room_id);
  if (!room) return room.error();
  auto viewer = load_membership(**lease, room_id, viewer_id);
  if (!viewer) return viewer.error();
  if (viewer->has_value() && (*viewer)->banned) {
    return fail(Errc::forbidden, "you are banned from this chat room");
  }
  if (room->is_private && !viewer->has_value()) {
    return fail(Errc::forbidden, "this chat room is private: only its members can see it");
  }
  auto rows = (*lease)->query(std::string("SELECT ") + kMemberColumns +
                                  " FROM memberships m JOIN users u ON u.id = m.user_id "
                                  "WHERE m.chatroom_id = $1 ORDER BY m.joined_at, m.user_id",
                              {room_id});
  if (!rows) return rows.error();
  auto all = convert_all<Member>(*rows, member_from_row);
  if (!all) return all.error();
  RoomDetails out;
  out.room = std::move(*room);
  out.viewer = *viewer;
  const bool manager = viewer->has_value() && (*viewer)->role != Role::member;
  for (auto& member : *all) {
    if (!member.banned) {
      out.members.push_back(std::move(member));
    } else if (manager) {
      out.banned.push_back(std::move(member));
    }
  }
  return out;
}

Result<RoomSearch> ChatroomService::search_public(std::string_view query, std::size_t limit,
                                                  std::size_t offset) {
  limit = std::clamp<std::size_t>(limit, 1, kMaxPageSize);
  const auto needle = trim(query);
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  // Both sides are lower-cased by the database, so the comparison is case-insensitive in the
  // dialect's own sense (SQLite folds ASCII only). The pattern is bound, never spliced, and its
  // wildcards are escaped: the user's text matches literally.
  std::string sql = std::string("SELECT ") + kRoomColumns + " FROM chatrooms c WHERE " +
                    "c.is_private = 0 AND LOWER(c.name) LIKE LOWER($1) ESCAPE '\\' " +
                    "ORDER BY c.id DESC LIMIT $2 OFFSET $3";
  auto rows =
      (*lease)->query(sql, {"%" + escape_like(needle) + "%", static_cast<std::int64_t>(limit + 1),
                            static_cast<std::int64_t>(offset)});
  if (!rows) return rows.error();
  auto rooms = convert_all<Chatroom>(*rows, room_from_row);
  if (!rooms) return rooms.error();
  RoomSearch out;
  out.has_more = rooms->size() > limit;
  if (out.has_more) rooms->resize(limit);
  out.rooms = std::move(*rooms);
  return out;
}

Result<Membership> ChatroomService::membership(std::int64_t room_id, std::int64_t user_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto m = load_membership(**lease, room_id, user_id);
  if (!m) return m.error();
  if (!m->has_value()) return fail(Errc::not_found, "not a member of this chat room");
  return **m;
}

bool ChatroomService::can_join_channel(std::int64_t room_id, std::int64_t user_id) noexcept {
  try {
    auto m = membership(room_id, user_id);
    return m && !m->banned;
  } catch (...) {
    return false;  // a failure to check is a refusal
  }
}

Result<std::vector<Member>> ChatroomService::members(std::int64_t room_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  if (auto room = require_room(**lease, room_id); !room) return room.error();
  auto rows = (*lease)->query(std::string("SELECT ") + kMemberColumns +
                                  " FROM memberships m JOIN users u ON u.id = m.user_id "
                                  "WHERE m.chatroom_id = $1 AND m.banned = 0 "
                                  "ORDER BY m.joined_at, m.user_id",
                              {room_id});
  if (!rows) return rows.error();
  return convert_all<Member>(*rows, member_from_row);
}

// --- listening languages -----------------------------------------------------------------------

Result<std::string> ChatroomService::listening_language(std::int64_t room_id,
                                                        std::int64_t user_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT COALESCE(m.language, u.preferred_language) AS language FROM memberships m "
      "JOIN users u ON u.id = m.user_id "
      "WHERE m.chatroom_id = $1 AND m.user_id = $2 AND m.banned = 0",
      {room_id, user_id});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::forbidden, "you are not a member of this chat room");
  return (*rows)[0].get<std::string>("language");
}

Result<ListeningChoice> ChatroomService::listening_choice(std::int64_t room_id,
                                                          std::int64_t user_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT listening_mode, listening_format FROM memberships "
      "WHERE chatroom_id = $1 AND user_id = $2 AND banned = 0",
      {room_id, user_id});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::forbidden, "you are not a member of this chat room");
  ListeningChoice choice;
  if (auto mode = (*rows)[0].get<std::optional<std::string>>("listening_mode"); mode && *mode) {
    auto parsed = parse_listening_mode(**mode);
    if (!parsed) return fail(Errc::internal, "a membership has an unknown listening mode");
    choice.mode = *parsed;
    choice.chosen = true;
  }
  if (auto format = (*rows)[0].get<std::optional<std::string>>("listening_format");
      format && *format) {
    choice.format = **format;
  }
  return choice;
}

Result<ListeningChoice> ChatroomService::set_listening_choice(std::int64_t room_id,
                                                              std::int64_t user_id,
                                                              const ListeningChoice& choice) {
  if (choice.format != "ogg" && choice.format != "mp3" && choice.format != "wav") {
    return fail(Errc::validation_failed, "format must be ogg, mp3 or wav");
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto changed = (*lease)->execute(
      "UPDATE memberships SET listening_mode = $3, listening_format = $4 "
      "WHERE chatroom_id = $1 AND user_id = $2 AND banned = 0",
      {room_id, user_id, std::string(to_string(choice.mode)), choice.format});
  if (!changed) return changed.error();
  if (*changed == 0) return fail(Errc::forbidden, "you are not a member of this chat room");
  ListeningChoice stored = choice;
  stored.chosen = true;
  return stored;
}

Result<std::vector<std::string>> ChatroomService::spoken_languages(std::int64_t user_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query("SELECT spoken_languages FROM users WHERE id = $1", {user_id});
  if (!rows) return rows.error();
  if (rows->empty()) return std::vector<std::string>{};
  auto stored = (*rows)[0].get<std::string>("spoken_languages");
  if (!stored) return stored.error();
  return auth::split_spoken_languages(*stored);
}

Result<std::string> ChatroomService::set_listening_language(
    std::int64_t room_id, std::int64_t user_id, const std::optional<std::string>& language) {
  if (language && !valid_language(*language)) {
    return fail(Errc::validation_failed, "language must be a language tag such as en or pt-BR");
  }
  {
    auto lease = database_.acquire();
    if (!lease) return lease.error();
    auto changed = (*lease)->execute(
        "UPDATE memberships SET language = $3 WHERE chatroom_id = $1 AND user_id = $2 "
        "AND banned = 0",
        {room_id, user_id, store::nullable(language)});
    if (!changed) return changed.error();
    if (*changed == 0) return fail(Errc::forbidden, "you are not a member of this chat room");
  }
  return listening_language(room_id, user_id);
}

Result<std::vector<std::string>> ChatroomService::listening_languages(std::int64_t room_id) {
  std::int64_t version = 0;
  {
    auto lease = database_.acquire();
    if (!lease) return lease.error();
    auto rows = (*lease)->query(
        "SELECT COALESCE((SELECT version FROM room_members_versions WHERE chatroom_id = $1), 0) "
        "AS members_version",
        {room_id});
    if (!rows) return rows.error();
    auto read = (*rows)[0].get<std::int64_t>("members_version");
    if (!read) return read.error();
    version = *read;
  }
  return listening_languages(room_id, version);
}

Result<std::vector<std::string>> ChatroomService::listening_languages(
    std::int64_t room_id, std::int64_t members_version) {
  // The version was read first, the languages now: a change between the two reads leaves an
  // entry older than its version says, which the next call reads again, never the reverse.
  {
    std::lock_guard lock(listening_mutex_);
    if (auto known = listening_.find(room_id);
        known != listening_.end() && known->second.members_version == members_version) {
      return known->second.languages;
    }
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      "SELECT DISTINCT COALESCE(m.language, u.preferred_language) AS language FROM memberships m "
      "JOIN users u ON u.id = m.user_id WHERE m.chatroom_id = $1 AND m.banned = 0 "
      "ORDER BY language",
      {room_id});
  if (!rows) return rows.error();
  std::vector<std::string> languages;
  for (const auto& row : *rows) {
    auto language = row.get<std::string>("language");
    if (!language) return language.error();
    languages.push_back(std::move(*language));
  }
  std::lock_guard lock(listening_mutex_);
  // Bounded by the rooms with messages since the last clear; a few bytes per room.
  if (listening_.size() >= kMaxListeningEntries) listening_.clear();
  // A caller with a version older than the entry's (read in a transaction before the change)
  // keeps the newer entry.
  auto [entry, added] =
      listening_.try_emplace(room_id, ListeningLanguages{members_version, languages});
  if (!added && entry->second.members_version < members_version) {
    entry->second = ListeningLanguages{members_version, languages};
  }
  return languages;
}

// --- messages --------------------------------------------------------------------------------

Result<StoredMessage> ChatroomService::post_message(std::int64_t room_id, std::int64_t sender_id,
                                                    std::string_view text, MessageKind kind,
                                                    const std::optional<std::string>& language,
                                                    const std::optional<std::string>& client_id,
                                                    const std::optional<std::string>& audio_path,
                                                    const std::optional<SpokenTiming>& spoken) {
  const NewMessage message{room_id,  sender_id, std::string(text), kind,
                           language, client_id, audio_path,        spoken};
  auto posted = post_messages(std::span<const NewMessage>(&message, 1));
  if (!posted.front()) return posted.front().error();
  return std::move(posted.front()->message);
}

namespace {

Result<void> check_new_message(const NewMessage& message) {
  if (auto ok = check_message_text(message.text); !ok) return ok.error();
  if (message.language && !valid_language(*message.language)) {
    return fail(Errc::validation_failed, "language must be a language tag such as en or pt-BR");
  }
  if (message.client_id && !valid_client_id(*message.client_id)) {
    return fail(Errc::validation_failed, "client_id must be 1 to 64 printable ASCII characters");
  }
  return {};
}

// The message a retry (same room, sender and client_id) stored the first time, if any.
Result<std::optional<StoredMessage>> earlier_send(Connection& connection,
                                                  const NewMessage& message) {
  return load_message(connection, "m.chatroom_id = $1 AND m.sender_id = $2 AND m.client_id = $3",
                      {message.room_id, message.sender_id, *message.client_id});
}

// Returns the stored row in load_message's shape (the sender's name and picture read by their
// key; no correction yet), so that no SELECT on every message's path reads it back.
constexpr const char* kInsertMessage =
    "INSERT INTO messages (chatroom_id, room_seq, sender_id, kind, text, original_language, "
    "client_id, audio_path, created_at, spoken_started_at, spoken_ended_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "RETURNING id, chatroom_id, room_seq, sender_id, "
    "(SELECT u.username FROM users u WHERE u.id = messages.sender_id) AS username, "
    "(SELECT u.avatar_path FROM users u WHERE u.id = messages.sender_id) AS avatar_path, "
    "kind, text, original_language, client_id, audio_path, created_at, spoken_started_at, "
    "spoken_ended_at, corrected_at, corrected_by, initial_language, initial_text";

// Inserts one message in the open transaction and gives it as stored. A retry (same room,
// sender and client_id as a stored message) fails on the unique index as a conflict: the
// caller undoes the sequence allocation and answers with the first copy. Catching retries
// there, not with a lookup before every insert, keeps a statement off every message's path.
Result<ChatroomService::PostedMessage> insert_message(Connection& connection,
                                                      const NewMessage& message, std::int64_t now) {
  // Allocating the sequence number first also locks the room's row (PostgreSQL), so the
  // membership check and the unique index below see every transaction that committed before
  // ours. The members version comes with it: delivering the message reads the room's
  // listening languages by it, and a read of its own after the commit would be one more
  // transaction on every message's way to its room.
  auto seq_rows = connection.query(
      "UPDATE chatrooms SET last_message_seq = last_message_seq + 1 WHERE id = $1 "
      "RETURNING last_message_seq, COALESCE((SELECT v.version FROM room_members_versions v "
      "WHERE v.chatroom_id = chatrooms.id), 0) AS members_version",
      {message.room_id});
  if (!seq_rows) return seq_rows.error();
  if (seq_rows->empty()) return fail(Errc::not_found, "no such chat room");
  auto seq = (*seq_rows)[0].get<std::int64_t>("last_message_seq");
  if (!seq) return seq.error();
  auto members_version = (*seq_rows)[0].get<std::int64_t>("members_version");
  if (!members_version) return members_version.error();
  if (auto m = require_member(connection, message.room_id, message.sender_id); !m) {
    return m.error();
  }
  std::optional<std::int64_t> spoken_started_at;
  std::optional<std::int64_t> spoken_ended_at;
  if (message.spoken) {
    // Never in the future, never more than kMaxSpokenLead before it is stored, never ending
    // before it began.
    spoken_started_at =
        now - std::clamp<std::int64_t>(message.spoken->started_ms_ago, 0, kMaxSpokenLead);
    spoken_ended_at =
        std::max(*spoken_started_at,
                 now - std::clamp<std::int64_t>(message.spoken->ended_ms_ago, 0, kMaxSpokenLead));
  }
  auto inserted = connection.query(
      kInsertMessage,
      {message.room_id, *seq, message.sender_id, std::string(to_string(message.kind)), message.text,
       store::nullable(message.language), store::nullable(message.client_id),
       store::nullable(message.audio_path), now, store::nullable(spoken_started_at),
       store::nullable(spoken_ended_at)});
  if (!inserted) return inserted.error();
  if (inserted->empty()) return fail(Errc::internal, "the insert returned no row");
  auto stored = message_from_row((*inserted)[0]);
  if (!stored) return stored.error();
  return ChatroomService::PostedMessage{std::move(*stored), *members_version};
}

}  // namespace

std::vector<Result<ChatroomService::PostedMessage>> ChatroomService::post_messages(
    std::span<const NewMessage> messages) {
  // Every answer starts as this and is replaced exactly once.
  std::vector<Result<PostedMessage>> out(messages.size(),
                                         fail(Errc::internal, "the message was not stored"));
  std::vector<std::size_t> open;  // checked, not answered yet
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (auto ok = check_new_message(messages[i]); !ok) {
      out[i] = ok.error();
    } else {
      open.push_back(i);
    }
  }
  if (open.empty()) return out;
  std::vector<std::pair<std::size_t, PostedMessage>> inserted;  // answered after the commit
  // Retries answered inside the transaction: their first copy may be this batch's, which a
  // failure of the batch undoes.
  std::vector<std::size_t> retried;
  const auto fail_rest = [&](const Error& error) {
    for (auto i : open) out[i] = error;
    for (const auto& [i, stored] : inserted) out[i] = error;
    for (auto i : retried) out[i] = error;
    return std::move(out);
  };

  auto lease = database_.acquire();
  if (!lease) return fail_rest(lease.error());
  Connection& connection = **lease;
  auto tx = store::Transaction::begin(connection);
  if (!tx) return fail_rest(tx.error());
  // Alone, a message's failure ends the transaction; in a batch, a savepoint per message undoes
  // only that message (PostgreSQL aborts the whole transaction on an error without one).
  const bool alone = open.size() == 1;
  if (!alone && connection.dialect() == store::Dialect::postgres) {
    // Each message locks its room's row until the commit: taken in id order first, so that two
    // processes' batches never wait for each other's rooms in opposite orders (a deadlock).
    std::vector<std::int64_t> rooms;
    for (auto i : open) rooms.push_back(messages[i].room_id);
    std::sort(rooms.begin(), rooms.end());
    rooms.erase(std::unique(rooms.begin(), rooms.end()), rooms.end());
    std::string sql = "SELECT id FROM chatrooms WHERE id IN (";
    std::vector<Value> ids;
    for (std::size_t k = 0; k < rooms.size(); ++k) {
      sql += (k == 0 ? "$" : ", $") + std::to_string(k + 1);
      ids.emplace_back(rooms[k]);
    }
    sql += ") ORDER BY id FOR UPDATE";
    if (auto locked = connection.query(sql, ids); !locked) return fail_rest(locked.error());
  }
  const auto pending = std::move(open);
  open.clear();
  for (std::size_t at = 0; at < pending.size(); ++at) {
    const std::size_t i = pending[at];
    const NewMessage& message = messages[i];
    if (!alone) {
      if (auto saved = connection.execute("SAVEPOINT post_message"); !saved) {
        open.assign(pending.begin() + static_cast<std::ptrdiff_t>(at), pending.end());
        return fail_rest(saved.error());
      }
    }
    auto insertion = insert_message(connection, message, clock_.now_ms());
    if (insertion) {
      inserted.emplace_back(i, std::move(*insertion));
    } else {
      // Undo the sequence allocation (and whatever failed), then answer this message.
      Result<void> undone;
      if (alone) {
        undone = tx->rollback();
      } else if (auto rolled = connection.execute("ROLLBACK TO SAVEPOINT post_message"); !rolled) {
        undone = rolled.error();
      }
      if (!undone) {
        open.assign(pending.begin() + static_cast<std::ptrdiff_t>(at), pending.end());
        return fail_rest(undone.error());
      }
      if (!alone) retried.push_back(i);
      if (insertion.error().code == Errc::conflict && message.client_id) {
        // A retry (or a concurrent copy of it that won the unique index): answer with the
        // message stored first.
        auto earlier = earlier_send(connection, message);
        if (!earlier) {
          out[i] = earlier.error();
          // PostgreSQL aborts the whole transaction on the lookup's error (a statement timeout,
          // say): back to the savepoint once more, so that only this message fails.
          if (!alone) {
            if (auto rolled = connection.execute("ROLLBACK TO SAVEPOINT post_message"); !rolled) {
              open.assign(pending.begin() + static_cast<std::ptrdiff_t>(at) + 1, pending.end());
              return fail_rest(rolled.error());
            }
          }
        } else if (earlier->has_value()) {
          out[i] = PostedMessage{std::move(**earlier), std::nullopt};
        } else {
          out[i] = insertion.error();
        }
      } else {
        out[i] = insertion.error();
      }
    }
    if (!alone) {
      if (auto released = connection.execute("RELEASE SAVEPOINT post_message"); !released) {
        open.assign(pending.begin() + static_cast<std::ptrdiff_t>(at) + 1, pending.end());
        return fail_rest(released.error());
      }
    }
  }
  if (inserted.empty()) return out;
  if (auto done = tx->commit(); !done) return fail_rest(done.error());
  for (auto& [i, stored] : inserted) out[i] = std::move(stored);
  return out;
}

Result<std::int64_t> ChatroomService::room_of_audio(std::string_view audio_file,
                                                    std::int64_t viewer_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query("SELECT chatroom_id FROM messages WHERE audio_path = $1 LIMIT 1",
                              {std::string(audio_file)});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such recording");
  auto room_id = (*rows)[0].get<std::int64_t>("chatroom_id");
  if (!room_id) return room_id.error();
  auto member = load_membership(**lease, *room_id, viewer_id);
  if (!member) return member.error();
  if (!member->has_value() || (*member)->banned) return fail(Errc::not_found, "no such recording");
  return *room_id;
}

Result<MessagePage> ChatroomService::messages(std::int64_t room_id, std::int64_t viewer_id,
                                              std::optional<std::int64_t> before,
                                              std::size_t limit) {
  limit = std::clamp<std::size_t>(limit, 1, kMaxPageSize);
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  if (auto room = require_room(**lease, room_id); !room) return room.error();
  if (auto m = require_member(**lease, room_id, viewer_id); !m) return m.error();
  // One row more than asked tells whether an older page exists.
  const std::string sql = std::string("SELECT ") + kMessageColumns +
                          " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "
                          "WHERE m.chatroom_id = $1 AND m.room_seq < $2 "
                          "ORDER BY m.room_seq DESC LIMIT $3";
  const std::int64_t cursor = before.value_or(std::numeric_limits<std::int64_t>::max());
  auto rows = (*lease)->query(sql, {room_id, cursor, static_cast<std::int64_t>(limit + 1)});
  if (!rows) return rows.error();
  auto messages = convert_all<StoredMessage>(*rows, message_from_row);
  if (!messages) return messages.error();
  MessagePage page;
  if (messages->size() > limit) {
    messages->resize(limit);
    page.next_before = messages->back().seq;
  }
  page.messages = std::move(*messages);
  return page;
}

Result<StoredMessage> ChatroomService::find_message(std::int64_t message_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto found = load_message(**lease, "m.id = $1", {message_id});
  if (!found) return found.error();
  if (!found->has_value()) return fail(Errc::not_found, "no such message");
  return std::move(**found);
}

Result<StoredMessage> ChatroomService::message(std::int64_t message_id, std::int64_t viewer_id) {
  auto found = find_message(message_id);
  if (!found) return found.error();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto member = load_membership(**lease, found->room_id, viewer_id);
  if (!member) return member.error();
  if (!member->has_value() || (*member)->banned) return fail(Errc::not_found, "no such message");
  return found;
}

namespace {

// The checks a correction must pass, on `connection` (inside the correction's transaction, or
// alone as a preview). Returns the message as it is now.
Result<StoredMessage> check_correction(Connection& connection, std::int64_t message_id,
                                       std::int64_t actor_id, std::string_view language,
                                       const std::optional<std::string>& text, bool lock) {
  if (!valid_language(language)) {
    return fail(Errc::validation_failed, "language must be a language tag such as en or pt-BR");
  }
  if (text) {
    if (auto ok = check_message_text(*text); !ok) return ok.error();
  }
  auto room = connection.query("SELECT chatroom_id FROM messages WHERE id = $1", {message_id});
  if (!room) return room.error();
  if (room->empty()) return fail(Errc::not_found, "no such message");
  auto room_id = (*room)[0].get<std::int64_t>("chatroom_id");
  if (!room_id) return room_id.error();
  // Serialized with the room's other changes (a ban in flight, another correction): the message
  // is read only once the room is locked, so two corrections never both start from one state.
  if (lock) {
    if (auto locked = lock_room(connection, *room_id); !locked) return locked.error();
  }
  auto found = load_message(connection, "m.id = $1", {message_id});
  if (!found) return found.error();
  if (!found->has_value()) return fail(Errc::not_found, "no such message");
  auto member = load_membership(connection, *room_id, actor_id);
  if (!member) return member.error();
  if (!member->has_value() || (*member)->banned) return fail(Errc::not_found, "no such message");
  const StoredMessage& message = **found;
  if (message.kind == MessageKind::system) {
    return fail(Errc::validation_failed, "a system message has no language to correct");
  }
  if (message.language && *message.language == language && (!text || *text == message.text)) {
    return fail(Errc::conflict, "the message is already in " + std::string(language));
  }
  auto count = connection.query(
      "SELECT COUNT(*) AS n FROM message_corrections WHERE message_id = $1", {message_id});
  if (!count) return count.error();
  auto corrections = (*count)[0].get<std::int64_t>("n");
  if (!corrections) return corrections.error();
  if (*corrections >= static_cast<std::int64_t>(kMaxCorrectionsPerMessage)) {
    return fail(Errc::conflict, "this message was corrected too many times already");
  }
  return std::move(**found);
}

}  // namespace

Result<StoredMessage> ChatroomService::check_correction(std::int64_t message_id,
                                                        std::int64_t actor_id,
                                                        std::string_view language) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  return chat::check_correction(**lease, message_id, actor_id, language, std::nullopt, false);
}

Result<StoredMessage> ChatroomService::correct_language(std::int64_t message_id,
                                                        std::int64_t actor_id,
                                                        std::string_view language,
                                                        const std::optional<std::string>& text,
                                                        const InTransaction& also) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  auto checked = chat::check_correction(**lease, message_id, actor_id, language, text, true);
  if (!checked) return checked.error();
  const StoredMessage& message = *checked;
  const std::int64_t now = clock_.now_ms();
  const std::string new_text = text.value_or(message.text);
  const bool text_changed = new_text != message.text;
  if (auto logged = (*lease)->execute(
          "INSERT INTO message_corrections (message_id, corrected_by, previous_language, language, "
          "previous_text, text, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          {message_id, actor_id, store::nullable(message.language), std::string(language),
           message.text, new_text, now});
      !logged) {
    return logged.error();
  }
  // initial_*: kept from before the first correction (a first correction finds them NULL).
  if (auto updated = (*lease)->execute(
          "UPDATE messages SET initial_language = CASE WHEN corrected_at IS NULL "
          "THEN original_language ELSE initial_language END, "
          "initial_text = CASE WHEN initial_text IS NULL AND $5 = 1 THEN text "
          "ELSE initial_text END, "
          "original_language = $2, text = $3, corrected_at = $4, corrected_by = $6 WHERE id = $1",
          {message_id, std::string(language), new_text, now, std::int64_t{text_changed ? 1 : 0},
           actor_id});
      !updated) {
    return updated.error();
  }
  if (also) {
    if (auto done = also(**lease); !done) return done.error();
  }
  auto corrected = load_message(**lease, "m.id = $1", {message_id});
  if (!corrected) return corrected.error();
  if (!corrected->has_value()) return fail(Errc::internal, "a corrected message is gone");
  if (auto done = tx->commit(); !done) return done.error();
  return std::move(**corrected);
}

Result<std::vector<StoredMessage>> ChatroomService::messages_between(std::int64_t room_id,
                                                                     std::int64_t from_ms,
                                                                     std::int64_t to_ms,
                                                                     std::size_t limit) {
  if (from_ms >= to_ms || limit == 0) return std::vector<StoredMessage>{};
  // The expression is migration 0010's index's, word for word: the range is read in index order.
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      std::string("SELECT ") + kMessageColumns +
          " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "
          "WHERE m.chatroom_id = $1 AND COALESCE(m.spoken_started_at, m.created_at) >= $2 "
          "AND COALESCE(m.spoken_started_at, m.created_at) < $3 "
          "ORDER BY COALESCE(m.spoken_started_at, m.created_at), m.room_seq LIMIT $4",
      {room_id, from_ms, to_ms,
       static_cast<std::int64_t>(std::min<std::size_t>(
           limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())))});
  if (!rows) return rows.error();
  return convert_all<StoredMessage>(*rows, message_from_row);
}

Result<std::vector<StoredMessage>> ChatroomService::messages_after(std::int64_t room_id,
                                                                   std::int64_t after_seq,
                                                                   std::size_t limit) {
  limit = std::clamp<std::size_t>(limit, 1, kMaxRecoveryBatch);
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(std::string("SELECT ") + kMessageColumns +
                                  " FROM messages m LEFT JOIN users u ON u.id = m.sender_id "
                                  "WHERE m.chatroom_id = $1 AND m.room_seq > $2 "
                                  "ORDER BY m.room_seq LIMIT $3",
                              {room_id, after_seq, static_cast<std::int64_t>(limit)});
  if (!rows) return rows.error();
  return convert_all<StoredMessage>(*rows, message_from_row);
}

// --- management ------------------------------------------------------------------------------

Result<Invite> ChatroomService::create_invite(std::int64_t room_id, std::int64_t actor_id,
                                              const InviteOptions& options) {
  const auto lifetime = options.lifetime.value_or(settings_.default_invite_lifetime);
  if (lifetime < std::chrono::seconds(60) || lifetime > settings_.max_invite_lifetime) {
    return fail(Errc::validation_failed, "expires_in_s must be from 60 to " +
                                             std::to_string(settings_.max_invite_lifetime.count()));
  }
  if (options.max_uses && (*options.max_uses < 1 || *options.max_uses > kMaxInviteUses)) {
    return fail(Errc::validation_failed,
                "max_uses must be from 1 to " + std::to_string(kMaxInviteUses));
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  if (auto m = require_role(**lease, room_id, actor_id, Needs::manager); !m) return m.error();
  const auto now = clock_.now_ms();
  Invite invite;
  invite.code = core::random_token(12);  // 96 bits: not guessable, short enough to share
  invite.room_id = room_id;
  invite.created_by = actor_id;
  invite.expires_at = now + std::chrono::duration_cast<std::chrono::milliseconds>(lifetime).count();
  invite.max_uses = options.max_uses;
  invite.created_at = now;
  auto inserted = (*lease)->execute(
      "INSERT INTO chatroom_invites (chatroom_id, code, created_by, expires_at, max_uses, uses, "
      "created_at) VALUES ($1, $2, $3, $4, $5, 0, $6)",
      {room_id, invite.code, actor_id, *invite.expires_at, store::nullable(invite.max_uses), now});
  if (!inserted) return inserted.error();
  if (auto done = tx->commit(); !done) return done.error();
  return invite;
}

Result<std::vector<Invite>> ChatroomService::invites(std::int64_t room_id, std::int64_t actor_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  if (auto room = require_room(**lease, room_id); !room) return room.error();
  if (auto m = require_role(**lease, room_id, actor_id, Needs::manager); !m) return m.error();
  auto rows = (*lease)->query(
      std::string("SELECT ") + kInviteColumns +
          " FROM chatroom_invites WHERE chatroom_id = $1 AND revoked_at IS NULL AND "
          "(expires_at IS NULL OR expires_at > $2) AND (max_uses IS NULL OR uses < max_uses) "
          "ORDER BY created_at DESC, id DESC LIMIT 200",
      {room_id, clock_.now_ms()});
  if (!rows) return rows.error();
  return convert_all<Invite>(*rows, invite_from_row);
}

Result<void> ChatroomService::revoke_invite(std::int64_t room_id, std::int64_t actor_id,
                                            const std::string& code) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  if (auto m = require_role(**lease, room_id, actor_id, Needs::manager); !m) return m.error();
  auto found = (*lease)->query(
      "SELECT revoked_at FROM chatroom_invites WHERE chatroom_id = $1 AND code = $2",
      {room_id, code});
  if (!found) return found.error();
  if (found->empty()) return fail(Errc::not_found, "no such invitation for this chat room");
  auto revoked = (*lease)->execute(
      "UPDATE chatroom_invites SET revoked_at = $1 WHERE chatroom_id = $2 AND code = $3 AND "
      "revoked_at IS NULL",
      {clock_.now_ms(), room_id, code});
  if (!revoked) return revoked.error();
  return tx->commit();
}

Result<void> ChatroomService::kick(std::int64_t room_id, std::int64_t actor_id,
                                   std::int64_t target_id) {
  if (auto ok = refuse_self(actor_id, target_id, "you cannot kick yourself: leave instead"); !ok) {
    return ok.error();
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  auto actor = require_role(**lease, room_id, actor_id, Needs::manager);
  if (!actor) return actor.error();
  auto target = require_target_member(**lease, room_id, target_id);
  if (!target) return target.error();
  if (target->role == Role::owner) return fail(Errc::forbidden, "the owner cannot be kicked");
  if (target->role == Role::admin && actor->role != Role::owner) {
    return fail(Errc::forbidden, "only the owner can kick an admin");
  }
  auto removed = (*lease)->execute(
      "DELETE FROM memberships WHERE chatroom_id = $1 AND user_id = $2", {room_id, target_id});
  if (!removed) return removed.error();
  if (auto done = tx->commit(); !done) return done.error();
  observer().member_removed(room_id, target_id, "kicked");
  return {};
}

Result<void> ChatroomService::ban(std::int64_t room_id, std::int64_t actor_id,
                                  std::int64_t target_id) {
  if (auto ok = refuse_self(actor_id, target_id, "you cannot ban yourself"); !ok) {
    return ok.error();
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  auto actor = require_role(**lease, room_id, actor_id, Needs::manager);
  if (!actor) return actor.error();
  auto user = (*lease)->query("SELECT id FROM users WHERE id = $1", {target_id});
  if (!user) return user.error();
  if (user->empty()) return fail(Errc::not_found, "no such user");
  auto target = load_membership(**lease, room_id, target_id);
  if (!target) return target.error();
  if (target->has_value() && (*target)->banned) return tx->commit();  // already banned
  const bool was_member = target->has_value();
  if (was_member && (*target)->role == Role::owner) {
    return fail(Errc::forbidden, "the owner cannot be banned");
  }
  if (was_member && (*target)->role == Role::admin && actor->role != Role::owner) {
    return fail(Errc::forbidden, "only the owner can ban an admin");
  }
  // A ban keeps (or creates) the membership row marked banned: it is what refuses a rejoin.
  auto changed =
      was_member ? (*lease)->execute(
                       "UPDATE memberships SET banned = 1, role = 'member', joined_at = $3 "
                       "WHERE chatroom_id = $1 AND user_id = $2",
                       {room_id, target_id, clock_.now_ms()})
                 : (*lease)->execute(
                       "INSERT INTO memberships (chatroom_id, user_id, role, banned, joined_at) "
                       "VALUES ($1, $2, 'member', 1, $3)",
                       {room_id, target_id, clock_.now_ms()});
  if (!changed) return changed.error();
  if (auto done = tx->commit(); !done) return done.error();
  if (was_member) observer().member_removed(room_id, target_id, "banned");
  return {};
}

Result<void> ChatroomService::unban(std::int64_t room_id, std::int64_t actor_id,
                                    std::int64_t target_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  if (auto m = require_role(**lease, room_id, actor_id, Needs::manager); !m) return m.error();
  auto removed = (*lease)->execute(
      "DELETE FROM memberships WHERE chatroom_id = $1 AND user_id = $2 AND banned = 1",
      {room_id, target_id});
  if (!removed) return removed.error();
  if (*removed == 0) return fail(Errc::not_found, "that user is not banned from this chat room");
  return tx->commit();
}

Result<Membership> ChatroomService::change_role(std::int64_t room_id, std::int64_t actor_id,
                                                std::int64_t target_id, Role from, Role to,
                                                std::string_view self_message) {
  if (auto ok = refuse_self(actor_id, target_id, self_message); !ok) return ok.error();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  if (auto m = require_role(**lease, room_id, actor_id, Needs::owner); !m) return m.error();
  auto target = require_target_member(**lease, room_id, target_id);
  if (!target) return target.error();
  if (target->role == from) {
    auto changed = (*lease)->execute(
        "UPDATE memberships SET role = $3 WHERE chatroom_id = $1 AND user_id = $2",
        {room_id, target_id, std::string(to_string(to))});
    if (!changed) return changed.error();
    target->role = to;
  }
  if (auto done = tx->commit(); !done) return done.error();
  return *target;
}

Result<Membership> ChatroomService::promote(std::int64_t room_id, std::int64_t actor_id,
                                            std::int64_t target_id) {
  return change_role(room_id, actor_id, target_id, Role::member, Role::admin,
                     "you cannot promote yourself");
}

Result<Membership> ChatroomService::demote(std::int64_t room_id, std::int64_t actor_id,
                                           std::int64_t target_id) {
  return change_role(room_id, actor_id, target_id, Role::admin, Role::member,
                     "the owner cannot demote themselves: transfer ownership instead");
}

Result<void> ChatroomService::transfer_ownership(std::int64_t room_id, std::int64_t actor_id,
                                                 std::int64_t target_id) {
  if (auto ok = refuse_self(actor_id, target_id, "you already own this chat room"); !ok) {
    return ok.error();
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  if (auto m = require_role(**lease, room_id, actor_id, Needs::owner); !m) return m.error();
  if (auto target = require_target_member(**lease, room_id, target_id); !target) {
    return target.error();
  }
  for (const auto& [user, role] : {std::pair{target_id, "owner"}, std::pair{actor_id, "admin"}}) {
    auto changed = (*lease)->execute(
        "UPDATE memberships SET role = $1 WHERE chatroom_id = $2 AND user_id = $3",
        {std::string(role), room_id, user});
    if (!changed) return changed.error();
  }
  return tx->commit();
}

Result<Chatroom> ChatroomService::rename(std::int64_t room_id, std::int64_t actor_id,
                                         const std::string& name) {
  auto checked = check_room_name(name);
  if (!checked) return checked.error();
  return update_as_manager(room_id, actor_id, "name = $1", {*checked});
}

Result<Chatroom> ChatroomService::set_location(std::int64_t room_id, std::int64_t actor_id,
                                               const std::optional<Location>& location) {
  if (location) {
    if (auto ok = check_location(*location); !ok) return ok.error();
  }
  return update_as_manager(
      room_id, actor_id, "latitude = $1, longitude = $2, radius_km = $3, venue = $4",
      {location ? Value(location->latitude) : Value(store::null_value),
       location ? Value(location->longitude) : Value(store::null_value),
       location ? store::nullable(location->radius_km) : Value(store::null_value),
       location ? store::nullable(location->venue) : Value(store::null_value)});
}

Result<Chatroom> ChatroomService::update_as_manager(std::int64_t room_id, std::int64_t actor_id,
                                                    std::string_view assignments,
                                                    std::vector<Value> values) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  if (auto m = require_role(**lease, room_id, actor_id, Needs::manager); !m) return m.error();
  const auto next = values.size() + 1;
  values.emplace_back(clock_.now_ms());
  values.emplace_back(room_id);
  auto changed =
      (*lease)->execute("UPDATE chatrooms SET " + std::string(assignments) + ", updated_at = $" +
                            std::to_string(next) + " WHERE id = $" + std::to_string(next + 1),
                        values);
  if (!changed) return changed.error();
  if (auto done = tx->commit(); !done) return done.error();
  auto room = require_room(**lease, room_id);
  if (!room) return room.error();
  observer().room_updated(*room);
  return room;
}

Result<std::vector<Chatroom>> ChatroomService::find_many(std::span<const std::int64_t> ids) {
  std::vector<Chatroom> out;
  if (ids.empty()) return out;
  if (ids.size() > kMaxPageSize) return fail(Errc::internal, "find_many: too many ids");
  std::string placeholders;
  std::vector<Value> params;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    placeholders += (i == 0 ? "$" : ", $") + std::to_string(i + 1);
    params.emplace_back(ids[i]);
  }
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(std::string("SELECT ") + kRoomColumns +
                                  " FROM chatrooms c WHERE c.id IN (" + placeholders + ")",
                              params);
  if (!rows) return rows.error();
  auto rooms = convert_all<Chatroom>(*rows, room_from_row);
  if (!rooms) return rooms.error();
  for (auto id : ids) {
    auto found =
        std::find_if(rooms->begin(), rooms->end(), [id](const Chatroom& r) { return r.id == id; });
    if (found != rooms->end()) out.push_back(std::move(*found));
  }
  return out;
}

Result<std::optional<std::string>> ChatroomService::remove(std::int64_t room_id,
                                                           std::int64_t actor_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  if (auto m = require_role(**lease, room_id, actor_id, Needs::owner); !m) return m.error();
  auto deleted =
      (*lease)->query("DELETE FROM chatrooms WHERE id = $1 RETURNING photo_path", {room_id});
  if (!deleted) return deleted.error();
  if (auto done = tx->commit(); !done) return done.error();
  observer().room_deleted(room_id);
  if (deleted->empty()) return std::optional<std::string>{};
  return (*deleted)[0].try_get<std::string>("photo_path");
}

Result<void> ChatroomService::check_can_manage(std::int64_t room_id, std::int64_t actor_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  if (auto room = require_room(**lease, room_id); !room) return room.error();
  if (auto m = require_role(**lease, room_id, actor_id, Needs::manager); !m) return m.error();
  return {};
}

Result<PhotoChange> ChatroomService::set_photo(std::int64_t room_id, std::int64_t actor_id,
                                               const std::string& file_name) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  if (auto locked = lock_room(**lease, room_id); !locked) return locked.error();
  if (auto m = require_role(**lease, room_id, actor_id, Needs::manager); !m) return m.error();
  auto old = (*lease)->query("SELECT photo_path FROM chatrooms WHERE id = $1", {room_id});
  if (!old) return old.error();
  PhotoChange change;
  if (!old->empty()) change.previous = (*old)[0].try_get<std::string>("photo_path");
  auto changed =
      (*lease)->execute("UPDATE chatrooms SET photo_path = $1, updated_at = $2 WHERE id = $3",
                        {file_name, clock_.now_ms(), room_id});
  if (!changed) return changed.error();
  if (auto done = tx->commit(); !done) return done.error();
  auto room = require_room(**lease, room_id);
  if (!room) return room.error();
  change.room = std::move(*room);
  observer().room_updated(change.room);
  return change;
}

}  // namespace parley::chat
