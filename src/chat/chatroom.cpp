#include "chat/chatroom.hpp"

#include "auth/user.hpp"

namespace parley::chat {

std::string_view to_string(Role role) noexcept {
  switch (role) {
    case Role::owner:
      return "owner";
    case Role::admin:
      return "admin";
    case Role::member:
      return "member";
  }
  return "member";
}

Result<Role> parse_role(std::string_view text) {
  if (text == "owner") return Role::owner;
  if (text == "admin") return Role::admin;
  if (text == "member") return Role::member;
  return fail(Errc::internal, "unknown membership role '" + std::string(text) + "'");
}

std::string_view to_string(MessageKind kind) noexcept {
  switch (kind) {
    case MessageKind::text:
      return "text";
    case MessageKind::speech:
      return "speech";
    case MessageKind::audio:
      return "audio";
    case MessageKind::system:
      return "system";
  }
  return "text";
}

Result<MessageKind> parse_message_kind(std::string_view text) {
  if (text == "text") return MessageKind::text;
  if (text == "speech") return MessageKind::speech;
  if (text == "audio") return MessageKind::audio;
  if (text == "system") return MessageKind::system;
  return fail(Errc::validation_failed, "kind must be text, speech, audio or system");
}

namespace {

boost::json::value optional_json(const std::optional<std::string>& value) {
  if (!value) return nullptr;
  return boost::json::value(*value);
}

boost::json::value avatar_url(const std::optional<std::string>& avatar,
                              const std::string& public_base_url) {
  if (!avatar) return nullptr;
  return boost::json::value(public_base_url + "/uploads/avatars/" + *avatar);
}

}  // namespace

std::string_view to_string(ListeningMode mode) noexcept {
  switch (mode) {
    case ListeningMode::captions:
      return "captions";
    case ListeningMode::neutral:
      return "neutral";
    case ListeningMode::cloned:
      return "cloned";
    case ListeningMode::original:
      return "original";
  }
  return "captions";
}

Result<ListeningMode> parse_listening_mode(std::string_view text) {
  for (const auto mode : {ListeningMode::captions, ListeningMode::neutral, ListeningMode::cloned,
                          ListeningMode::original}) {
    if (text == to_string(mode)) return mode;
  }
  return fail(Errc::validation_failed,
              "mode must be one of captions, neutral, cloned (the speaker's voice) or original");
}

boost::json::object to_json(const Chatroom& room, const std::string& public_base_url) {
  boost::json::object out{
      {"id", room.id},
      {"name", room.name},
      {"is_private", room.is_private},
      {"member_count", room.member_count},
      {"created_at", auth::iso8601(room.created_at)},
  };
  out["creator_id"] =
      room.creator_id ? boost::json::value(*room.creator_id) : boost::json::value(nullptr);
  out["photo_url"] =
      room.photo_path
          ? boost::json::value(public_base_url + "/uploads/chatroom_photo/" + *room.photo_path)
          : boost::json::value(nullptr);
  if (room.location) {
    boost::json::object location{{"latitude", room.location->latitude},
                                 {"longitude", room.location->longitude}};
    if (room.location->radius_km) location["radius_km"] = *room.location->radius_km;
    if (room.location->venue) location["venue"] = *room.location->venue;
    out["location"] = std::move(location);
  }
  return out;
}

boost::json::object to_json(const StoredMessage& message, const std::string& public_base_url) {
  boost::json::object out{
      {"id", message.id},
      {"room", message.room_id},
      {"seq", message.seq},
      {"text", message.text},
      {"kind", to_string(message.kind)},
      {"created_at", auth::iso8601(message.created_at)},
  };
  out["language"] = optional_json(message.language);
  if (message.sender) {
    out["sender"] = boost::json::object{
        {"id", message.sender->id},
        {"username", message.sender->username},
        {"avatar_url", avatar_url(message.sender->avatar_path, public_base_url)}};
  } else {
    out["sender"] = nullptr;
  }
  if (message.client_id) out["client_id"] = *message.client_id;
  if (message.audio_path) out["audio_url"] = public_base_url + "/api/audio/" + *message.audio_path;
  if (message.spoken_started_at && message.spoken_ended_at) {
    out["spoken"] = boost::json::object{{"started_at", auth::iso8601(*message.spoken_started_at)},
                                        {"ended_at", auth::iso8601(*message.spoken_ended_at)}};
  }
  if (message.corrected) {
    const auto& c = *message.corrected;
    boost::json::object corrected{{"at", auth::iso8601(c.at)},
                                  {"initial_language", optional_json(c.initial_language)}};
    corrected["by"] =
        c.by_id
            ? boost::json::value(boost::json::object{{"id", *c.by_id}, {"username", c.by_username}})
            : boost::json::value(nullptr);
    if (c.initial_text) corrected["initial_text"] = *c.initial_text;
    out["corrected"] = std::move(corrected);
  }
  return out;
}

boost::json::object to_json(const Member& member, const std::string& public_base_url) {
  return {{"user_id", member.user_id},
          {"username", member.username},
          {"avatar_url", avatar_url(member.avatar_path, public_base_url)},
          {"role", to_string(member.role)},
          {"joined_at", auth::iso8601(member.joined_at)}};
}

boost::json::object to_json(const Invite& invite) {
  boost::json::object out{{"code", invite.code},
                          {"uses", invite.uses},
                          {"created_at", auth::iso8601(invite.created_at)}};
  out["expires_at"] = invite.expires_at ? boost::json::value(auth::iso8601(*invite.expires_at))
                                        : boost::json::value(nullptr);
  out["max_uses"] =
      invite.max_uses ? boost::json::value(*invite.max_uses) : boost::json::value(nullptr);
  return out;
}

}  // namespace parley::chat
