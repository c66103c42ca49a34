#include "auth/user_store.hpp"

namespace parley::auth {

namespace {

std::string select_where(std::string_view where) {
  return std::string("SELECT ") + kUserColumns + " FROM users WHERE " + std::string(where);
}

store::Value optional_text(const std::optional<std::string>& value) {
  return value ? store::Value(*value) : store::Value(store::null_value);
}

}  // namespace

Result<std::optional<User>> UserStore::find_one(std::string_view where, store::Value param) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(select_where(where), {std::move(param)});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<User>{};
  auto user = user_from_row((*rows)[0]);
  if (!user) return user.error();
  return std::optional<User>(std::move(*user));
}

Result<User> UserStore::find_by_id(std::int64_t id) {
  auto user = find_one("id = $1", id);
  if (!user) return user.error();
  if (!user->has_value()) return fail(Errc::not_found, "no such user");
  return std::move(**user);
}

Result<std::optional<User>> UserStore::find_by_email(const std::string& email_lower) {
  return find_one("email = $1", email_lower);
}

Result<std::optional<User>> UserStore::find_by_username(const std::string& username) {
  return find_one("username = $1", username);
}

Result<std::optional<User>> UserStore::find_by_provider(AuthProvider provider,
                                                        const std::string& subject) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(select_where("auth_provider = $1 AND provider_subject = $2"),
                              {std::string(to_string(provider)), subject});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<User>{};
  auto user = user_from_row((*rows)[0]);
  if (!user) return user.error();
  return std::optional<User>(std::move(*user));
}

Error UserStore::conflict_for(store::Connection& connection,
                              const std::optional<std::string>& email, const std::string& username,
                              std::int64_t except_id) {
  if (email) {
    auto rows =
        connection.query("SELECT id FROM users WHERE email = $1 AND id <> $2", {*email, except_id});
    if (rows && !rows->empty()) return fail(Errc::conflict, "email is already registered");
  }
  auto rows = connection.query("SELECT id FROM users WHERE username = $1 AND id <> $2",
                               {username, except_id});
  if (rows && !rows->empty()) return fail(Errc::conflict, "username is already taken");
  return fail(Errc::conflict, "account already exists");
}

Result<User> UserStore::create(const NewUser& user) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  const auto now = clock_.now_ms();
  auto rows = (*lease)->query(
      std::string("INSERT INTO users (email, username, password_hash, auth_provider, "
                  "provider_subject, is_guest, preferred_language, created_at, updated_at, "
                  "last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8) RETURNING ") +
          kUserColumns,
      {optional_text(user.email), user.username, optional_text(user.password_hash),
       std::string(to_string(user.provider)), optional_text(user.provider_subject),
       std::int64_t{user.provider == AuthProvider::guest ? 1 : 0}, user.preferred_language, now});
  if (!rows) {
    if (rows.error().code == Errc::conflict) {
      return conflict_for(**lease, user.email, user.username, 0);
    }
    return rows.error();
  }
  return user_from_row((*rows)[0]);
}

Result<User> UserStore::upgrade_guest(std::int64_t id, const std::string& email_lower,
                                      const std::string& username,
                                      const std::string& password_hash) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows =
      (*lease)->query(std::string("UPDATE users SET email = $1, username = $2, password_hash = $3, "
                                  "auth_provider = 'password', is_guest = 0, updated_at = $4 "
                                  "WHERE id = $5 AND is_guest = 1 RETURNING ") +
                          kUserColumns,
                      {email_lower, username, password_hash, clock_.now_ms(), id});
  if (!rows) {
    if (rows.error().code == Errc::conflict) {
      return conflict_for(**lease, email_lower, username, id);
    }
    return rows.error();
  }
  if (rows->empty()) return fail(Errc::not_found, "no such guest");
  return user_from_row((*rows)[0]);
}

Result<User> UserStore::set_username(std::int64_t id, const std::string& username) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      std::string("UPDATE users SET username = $1, updated_at = $2 WHERE id = $3 RETURNING ") +
          kUserColumns,
      {username, clock_.now_ms(), id});
  if (!rows) {
    if (rows.error().code == Errc::conflict)
      return fail(Errc::conflict, "username is already taken");
    return rows.error();
  }
  if (rows->empty()) return fail(Errc::not_found, "no such user");
  return user_from_row((*rows)[0]);
}

Result<void> UserStore::set_password_hash(std::int64_t id, const std::string& password_hash) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto changed =
      (*lease)->execute("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
                        {password_hash, clock_.now_ms(), id});
  if (!changed) return changed.error();
  if (*changed == 0) return fail(Errc::not_found, "no such user");
  return {};
}

Result<User> UserStore::set_preferred_language(std::int64_t id, const std::string& language) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      std::string("UPDATE users SET preferred_language = $1, updated_at = $2 WHERE id = $3 "
                  "RETURNING ") +
          kUserColumns,
      {language, clock_.now_ms(), id});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such user");
  return user_from_row((*rows)[0]);
}

Result<User> UserStore::set_spoken_languages(std::int64_t id,
                                             const std::vector<std::string>& languages) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(
      std::string("UPDATE users SET spoken_languages = $1, updated_at = $2 WHERE id = $3 "
                  "RETURNING ") +
          kUserColumns,
      {join_spoken_languages(languages), clock_.now_ms(), id});
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such user");
  return user_from_row((*rows)[0]);
}

Result<std::optional<std::string>> UserStore::set_avatar(std::int64_t id,
                                                         const std::string& file_name) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  // PostgreSQL: lock the row so two concurrent uploads each learn the file they replace
  // (SQLite's BEGIN IMMEDIATE already serializes writers).
  const bool postgres = (*lease)->dialect() == store::Dialect::postgres;
  auto old = (*lease)->query(
      std::string("SELECT avatar_path FROM users WHERE id = $1") + (postgres ? " FOR UPDATE" : ""),
      {id});
  if (!old) return old.error();
  if (old->empty()) return fail(Errc::not_found, "no such user");
  auto changed =
      (*lease)->execute("UPDATE users SET avatar_path = $1, updated_at = $2 WHERE id = $3",
                        {file_name, clock_.now_ms(), id});
  if (!changed) return changed.error();
  if (auto done = tx->commit(); !done) return done.error();
  return (*old)[0].try_get<std::string>("avatar_path");
}

Result<void> UserStore::touch_last_seen(std::int64_t id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto changed =
      (*lease)->execute("UPDATE users SET last_seen_at = $1 WHERE id = $2", {clock_.now_ms(), id});
  if (!changed) return changed.error();
  return {};
}

namespace {

// Deletes users (`deletion`, RETURNING what the caller reads) with their memberships. Each
// membership's trigger moves its room's members version (migration 15) in whatever order the
// cascade deletes them; on PostgreSQL two deletions sharing rooms could then each hold a room's
// version the other waits for (a deadlock: one of them failed as busy). So there the versions
// of the users' rooms (`rooms`: a query of their chatroom_id) move first, in room order, as
// every other change of several rooms' versions takes them; the cascade then finds them taken.
Result<store::Rows> delete_users(store::Connection& connection, std::string_view rooms,
                                 std::string_view deletion, std::span<const store::Value> params) {
  if (connection.dialect() != store::Dialect::postgres) return connection.query(deletion, params);
  auto tx = store::Transaction::begin(connection);
  if (!tx) return tx.error();
  auto moved = connection.execute(
      "INSERT INTO room_members_versions AS v (chatroom_id, version) SELECT DISTINCT "
      "chatroom_id, 1 FROM (" +
          std::string(rooms) +
          ") AS rooms ORDER BY chatroom_id "
          "ON CONFLICT (chatroom_id) DO UPDATE SET version = v.version + 1",
      params);
  if (!moved) return moved.error();
  auto rows = connection.query(deletion, params);
  if (!rows) return rows.error();
  if (auto done = tx->commit(); !done) return done.error();
  return rows;
}

}  // namespace

Result<std::optional<std::string>> UserStore::remove(std::int64_t id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  const store::Value params[] = {id};
  auto rows = delete_users(**lease, "SELECT chatroom_id FROM memberships WHERE user_id = $1",
                           "DELETE FROM users WHERE id = $1 RETURNING avatar_path", params);
  if (!rows) return rows.error();
  if (rows->empty()) return fail(Errc::not_found, "no such user");
  return (*rows)[0].try_get<std::string>("avatar_path");
}

Result<std::vector<std::string>> UserStore::remove_idle_guests(std::int64_t cutoff_ms) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  const store::Value params[] = {cutoff_ms};
  auto rows = delete_users(**lease,
                           "SELECT m.chatroom_id FROM memberships m JOIN users u ON u.id = "
                           "m.user_id WHERE u.is_guest = 1 AND u.last_seen_at < $1",
                           "DELETE FROM users WHERE is_guest = 1 AND last_seen_at < $1 "
                           "RETURNING avatar_path",
                           params);
  if (!rows) return rows.error();
  std::vector<std::string> avatars;
  for (const auto& row : *rows) {
    if (auto path = row.try_get<std::string>("avatar_path")) avatars.push_back(*path);
  }
  return avatars;
}

}  // namespace parley::auth
