#pragma once
// Chat rooms over HTTP (the REST half of real-time chat): create, join, leave, history, public
// search, rooms near a place, search in a room's history, its transcript, and management by the
// owner and admins (invitations, kick, ban, roles, rename, photo, location, deletion). Handlers
// parse and validate, call chat::ChatroomService on the worker pool, and shape the reply; the rules
// live in chat/.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "api/account_routes.hpp"
#include "chat/chatroom_service.hpp"
#include "core/log.hpp"
#include "core/worker_pool.hpp"
#include "corrections/language_corrections.hpp"
#include "discovery/history_search.hpp"
#include "discovery/nearby_rooms.hpp"
#include "net/router.hpp"
#include "transcript/room_transcript.hpp"
#include "translate/messages/message_translator.hpp"

namespace parley::api {

struct ChatroomRoutesDeps {
  const AccountRoutesDeps& accounts;  ///< for authenticate()
  chat::ChatroomService& chatrooms;
  core::WorkerPool& workers;
  core::Logger& log;
  std::string public_base_url;         ///< BACKEND_URL, for absolute photo and avatar URLs
  std::filesystem::path photo_folder;  ///< UPLOAD_DIR/chatroom_photo
  std::size_t max_photo_bytes = 5 * 1024 * 1024;
  /// History pages carry each message's translation into the reader's language when set.
  translate::MessageTranslations* translations = nullptr;
  /// GET /api/chatrooms/nearby and GET /api/chatrooms/{id}/search (both required).
  discovery::NearbyRooms* nearby = nullptr;
  discovery::HistorySearch* history_search = nullptr;
  /// GET /api/chatrooms/{id}/transcript (set with the translations; unset: 503).
  transcript::RoomTranscripts* transcripts = nullptr;
  /// POST /api/chatrooms/{id}/messages/{message_id}/language (unset: 503).
  corrections::LanguageCorrections* corrections = nullptr;
  /// The room's live service on this process, shown as `live` in GET /api/chatrooms/{id}
  /// (service level, caption lag per listening language); unset: omitted.
  std::function<boost::json::object(std::int64_t room_id)> live = nullptr;
};

/// Registers every chat-room route. `deps` must outlive the router (the composition root owns
/// both).
void add_chatroom_routes(net::Router& router, const ChatroomRoutesDeps& deps);

}  // namespace parley::api
