#include "api/chatroom_routes.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <system_error>

#include "api/replies.hpp"
#include "api/stored_images.hpp"
#include "chat/text_rules.hpp"
#include "core/random.hpp"
#include "media/image_probe.hpp"
#include "net/json_body.hpp"
#include "net/multipart.hpp"
#include "transcript/transcript_formats.hpp"

namespace parley::api {

namespace asio = boost::asio;
namespace http = net::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using net::RequestContext;
using net::Response;

namespace {

constexpr std::int64_t kMaxId = std::numeric_limits<std::int64_t>::max();
constexpr net::StringRule kSecret{.min_length = 1, .max_length = 1024, .trim = false};
// Trimming and the length rule are the service's (check_room_name); this only bounds the input.
constexpr net::StringRule kRoomName{.min_length = 0, .max_length = 1000, .trim = false};
constexpr net::StringRule kInviteCode{.min_length = 1, .max_length = 128};
// Room photos bigger than this are refused from their header, before any pixel is decoded.
constexpr std::uint32_t kMaxPhotoSide = 4096;
constexpr std::uint64_t kMaxPhotoPixels = 4096ULL * 4096ULL;
constexpr std::size_t kMaxSearchLength = 100;
constexpr std::int64_t kMaxSearchOffset = 100'000;

// A required positive integer id field ("chatroom_id", "user_id").
Result<std::int64_t> required_id(const json::object& body, std::string_view name) {
  auto value = net::optional_int(body, name, 1, kMaxId);
  if (!value) return value.error();
  if (!value->has_value()) {
    return fail(Errc::validation_failed, "field '" + std::string(name) + "' is required");
  }
  return **value;
}

// The {id} of the path. Anything but a positive integer names no room.
Result<std::int64_t> path_room_id(const RequestContext& ctx) {
  const std::string_view text = ctx.params.get("id");
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1) {
    return fail(Errc::not_found, "no such chat room");
  }
  return id;
}

// A number field (integer or not); nullopt when absent or null.
Result<std::optional<double>> optional_number(const json::object& body, std::string_view name) {
  const auto* value = body.if_contains(name);
  if (value == nullptr || value->is_null()) return std::optional<double>{};
  if (value->is_double()) return std::optional<double>(value->get_double());
  if (value->is_int64()) return std::optional<double>(static_cast<double>(value->get_int64()));
  if (value->is_uint64()) return std::optional<double>(static_cast<double>(value->get_uint64()));
  return fail(Errc::validation_failed, "field '" + std::string(name) + "' must be a number");
}

// The optional "location" object of a new room; ranges are the service's to check.
Result<std::optional<chat::Location>> optional_location(const json::object& body) {
  const auto* value = body.if_contains("location");
  if (value == nullptr || value->is_null()) return std::optional<chat::Location>{};
  if (!value->is_object()) {
    return fail(Errc::validation_failed, "field 'location' must be an object");
  }
  const auto& object = value->get_object();
  auto latitude = optional_number(object, "latitude");
  if (!latitude) return latitude.error();
  auto longitude = optional_number(object, "longitude");
  if (!longitude) return longitude.error();
  if (!*latitude || !*longitude) {
    return fail(Errc::validation_failed, "field 'location' needs latitude and longitude");
  }
  auto radius = optional_number(object, "radius_km");
  if (!radius) return radius.error();
  auto venue = net::optional_string(object, "venue", {.min_length = 1, .max_length = 200});
  if (!venue) return venue.error();
  chat::Location location;
  location.latitude = **latitude;
  location.longitude = **longitude;
  location.radius_km = *radius;
  location.venue = std::move(*venue);
  return std::optional<chat::Location>(std::move(location));
}

// One parameter of an application/x-www-form-urlencoded query ('+' is a space), decoded;
// nullopt when absent. Errors: invalid_request for a bad %-escape or text that is not UTF-8.
Result<std::optional<std::string>> query_param(std::string_view query, std::string_view name) {
  const auto decode = [](std::string_view in) -> std::optional<std::string> {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        out += ' ';
      } else if (in[i] == '%') {
        unsigned value = 0;
        if (i + 2 >= in.size()) return std::nullopt;  // needs two hex digits
        const auto [end, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, value, 16);
        if (ec != std::errc() || end != in.data() + i + 3) return std::nullopt;
        out += static_cast<char>(value);
        i += 2;
      } else {
        out += in[i];
      }
    }
    return out;
  };
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    auto key = decode(pair.substr(0, eq));
    if (!key) return fail(Errc::invalid_request, "malformed query string");
    if (*key != name) continue;
    auto value = decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!value || !chat::is_valid_utf8(*value)) {
      return fail(Errc::invalid_request, "malformed query parameter '" + std::string(name) + "'");
    }
    return std::optional<std::string>(std::move(*value));
  }
  return std::optional<std::string>{};
}

Result<std::int64_t> query_int(std::string_view query, std::string_view name, std::int64_t fallback,
                               std::int64_t min, std::int64_t max) {
  auto text = query_param(query, name);
  if (!text) return text.error();
  if (!text->has_value() || (*text)->empty()) return fallback;
  std::int64_t value = 0;
  const auto& s = **text;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < min || value > max) {
    return fail(Errc::validation_failed, "query parameter '" + std::string(name) +
                                             "' must be an integer from " + std::to_string(min) +
                                             " to " + std::to_string(max));
  }
  return value;
}

void remove_photo(const fs::path& folder, const std::optional<std::string>& name) {
  remove_stored_file(folder, name);
}

json::object room_reply(const chat::Chatroom& room, const ChatroomRoutesDeps& deps) {
  return {{"chatroom", chat::to_json(room, deps.public_base_url)}};
}

// --- rooms and membership --------------------------------------------------------------------

asio::awaitable<Response> do_create(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto name = net::required_string(*body, "name", kRoomName);
  if (!name) co_return fail_with(name.error(), ctx);
  auto is_private = net::optional_bool(*body, "is_private");
  if (!is_private) co_return fail_with(is_private.error(), ctx);
  auto password = net::optional_string(*body, "password", kSecret);
  if (!password) co_return fail_with(password.error(), ctx);
  auto location = optional_location(*body);
  if (!location) co_return fail_with(location.error(), ctx);
  chat::CreateChatroomInput input;
  input.name = std::move(*name);
  input.is_private = is_private->value_or(false);
  input.password = std::move(*password);
  input.location = std::move(*location);
  auto job = [&rooms = deps.chatrooms, user = principal->user_id, input = std::move(input)]() {
    return rooms.create(user, input);
  };
  auto room = co_await deps.workers.run(std::move(job));
  if (!room) co_return fail_with(room.error(), ctx, &deps.log);
  deps.log.info(
      "chatroom_created",
      {{"request_id", ctx.request_id}, {"chatroom_id", room->id}, {"user_id", principal->user_id}});
  co_return ok_json(ctx, room_reply(*room, deps), http::status::created);
}

asio::awaitable<Response> do_join(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto room_id = required_id(*body, "chatroom_id");
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto password = net::optional_string(*body, "password", kSecret);
  if (!password) co_return fail_with(password.error(), ctx);
  auto invite = net::optional_string(*body, "invite_code", kInviteCode);
  if (!invite) co_return fail_with(invite.error(), ctx);
  chat::JoinCredentials credentials{std::move(*password), std::move(*invite)};
  auto job = [&rooms = deps.chatrooms, room_id = *room_id, user = principal->user_id,
              credentials = std::move(credentials)]() {
    return rooms.join(room_id, user, credentials);
  };
  auto joined = co_await deps.workers.run(std::move(job));
  if (!joined) co_return fail_with(joined.error(), ctx, &deps.log);
  auto reply = room_reply(joined->room, deps);
  reply["role"] = chat::to_string(joined->role);
  co_return ok_json(ctx, std::move(reply));
}

asio::awaitable<Response> do_leave(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto room_id = required_id(*body, "chatroom_id");
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto job = [&rooms = deps.chatrooms, room_id = *room_id, user = principal->user_id,
              folder = deps.photo_folder]() -> Result<chat::Left> {
    auto left = rooms.leave(room_id, user);
    if (left) remove_photo(folder, left->photo_to_remove);
    return left;
  };
  auto left = co_await deps.workers.run(std::move(job));
  if (!left) co_return fail_with(left.error(), ctx, &deps.log);
  co_return ok_json(ctx, {{"status", "left"}, {"room_deleted", left->room_deleted}});
}

asio::awaitable<Response> do_messages(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto room_id = required_id(*body, "chatroom_id");
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto before = net::optional_int(*body, "before", 1, kMaxId);
  if (!before) co_return fail_with(before.error(), ctx);
  auto limit = net::optional_int(*body, "limit", 1, kMaxId);
  if (!limit) co_return fail_with(limit.error(), ctx);
  // Larger limits are capped rather than refused: clients ask for "as many as you give".
  const auto page_size = static_cast<std::size_t>(std::min<std::int64_t>(
      limit->value_or(chat::kDefaultPageSize), static_cast<std::int64_t>(chat::kMaxPageSize)));
  auto language = net::optional_string(*body, "language", {.min_length = 2, .max_length = 35});
  if (!language) co_return fail_with(language.error(), ctx);
  struct Page {
    chat::MessagePage page;
    std::string language;
    std::map<std::int64_t, translate::Translation> translations;
  };
  auto job = [&deps, room_id = *room_id, user = principal->user_id, before = *before, page_size,
              asked = *language]() -> Result<Page> {
    auto page = deps.chatrooms.messages(room_id, user, before, page_size);
    if (!page) return page.error();
    Page out{std::move(*page), {}, {}};
    if (deps.translations == nullptr || out.page.messages.empty()) return out;
    // The reader's language: asked for, else the one they listen to the room in.
    std::string reader = asked ? *asked : std::string();
    if (reader.empty()) {
      auto listening = deps.chatrooms.listening_language(room_id, user);
      if (!listening) return listening.error();
      reader = *listening;
    }
    out.language = translate::listener_language(reader);
    std::vector<std::int64_t> ids;
    for (const auto& message : out.page.messages) ids.push_back(message.id);
    auto stored = deps.translations->find(ids, out.language);
    if (!stored) return stored.error();
    for (auto& item : *stored)
      out.translations.emplace(item.message_id, std::move(item.translation));
    return out;
  };
  auto page = co_await deps.workers.run(std::move(job));
  if (!page) co_return fail_with(page.error(), ctx, &deps.log);
  json::array messages;
  messages.reserve(page->page.messages.size());
  for (const auto& message : page->page.messages) {
    auto shaped = chat::to_json(message, deps.public_base_url);
    if (auto it = page->translations.find(message.id); it != page->translations.end()) {
      shaped["translation"] = translate::to_json(it->second);
    }
    messages.push_back(std::move(shaped));
  }
  json::object reply{{"messages", std::move(messages)}};
  reply["next_before"] =
      page->page.next_before ? json::value(*page->page.next_before) : json::value(nullptr);
  if (!page->language.empty()) reply["language"] = page->language;
  co_return ok_json(ctx, std::move(reply));
}

asio::awaitable<Response> do_search(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto q = query_param(ctx.query, "q");
  if (!q) co_return fail_with(q.error(), ctx);
  const std::string needle = q->value_or("");
  if (chat::code_points(needle) > kMaxSearchLength) {
    co_return fail_with(fail(Errc::validation_failed, "query parameter 'q' is too long"), ctx);
  }
  auto limit = query_int(ctx.query, "limit", 20, 1, static_cast<std::int64_t>(chat::kMaxPageSize));
  if (!limit) co_return fail_with(limit.error(), ctx);
  auto offset = query_int(ctx.query, "offset", 0, 0, kMaxSearchOffset);
  if (!offset) co_return fail_with(offset.error(), ctx);
  auto job = [&rooms = deps.chatrooms, needle, limit = *limit, offset = *offset]() {
    return rooms.search_public(needle, static_cast<std::size_t>(limit),
                               static_cast<std::size_t>(offset));
  };
  auto found = co_await deps.workers.run(std::move(job));
  if (!found) co_return fail_with(found.error(), ctx, &deps.log);
  json::array rooms;
  for (const auto& room : found->rooms) rooms.push_back(chat::to_json(room, deps.public_base_url));
  json::object reply{{"chatrooms", std::move(rooms)}, {"limit", *limit}, {"offset", *offset}};
  reply["next_offset"] = found->has_more
                             ? json::value(*offset + static_cast<std::int64_t>(found->rooms.size()))
                             : json::value(nullptr);
  co_return ok_json(ctx, std::move(reply));
}

// A decimal query parameter (lat, lon, radius_km); `fallback` when absent.
Result<double> query_number(std::string_view query, std::string_view name,
                            std::optional<double> fallback) {
  auto text = query_param(query, name);
  if (!text) return text.error();
  if (!*text) {
    if (fallback) return *fallback;
    return fail(Errc::validation_failed, "query parameter '" + std::string(name) + "' is required");
  }
  const std::string& value = **text;
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(number)) {
    return fail(Errc::validation_failed,
                "query parameter '" + std::string(name) + "' must be a number");
  }
  return number;
}

asio::awaitable<Response> do_nearby(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  discovery::NearbyQuery query;
  auto latitude = query_number(ctx.query, "lat", std::nullopt);
  if (!latitude) co_return fail_with(latitude.error(), ctx);
  auto longitude = query_number(ctx.query, "lon", std::nullopt);
  if (!longitude) co_return fail_with(longitude.error(), ctx);
  auto radius = query_number(ctx.query, "radius_km", 10.0);
  if (!radius) co_return fail_with(radius.error(), ctx);
  auto limit =
      query_int(ctx.query, "limit", 20, 1, static_cast<std::int64_t>(discovery::kMaxNearbyPage));
  if (!limit) co_return fail_with(limit.error(), ctx);
  auto cursor = query_param(ctx.query, "cursor");
  if (!cursor) co_return fail_with(cursor.error(), ctx);
  query.latitude = *latitude;
  query.longitude = *longitude;
  query.radius_km = *radius;
  query.limit = static_cast<std::size_t>(*limit);
  query.cursor = *cursor;
  auto job = [nearby = deps.nearby, query = std::move(query)]() { return nearby->find(query); };
  auto page = co_await deps.workers.run(std::move(job));
  if (!page) co_return fail_with(page.error(), ctx, &deps.log);
  json::array rooms;
  for (const auto& found : page->rooms) {
    auto room = chat::to_json(found.room, deps.public_base_url);
    room["distance_km"] = std::round(found.distance_km * 1000) / 1000;  // metres are enough
    rooms.push_back(std::move(room));
  }
  json::object reply{{"chatrooms", std::move(rooms)}};
  reply["next_cursor"] = page->next_cursor ? json::value(*page->next_cursor) : json::value(nullptr);
  co_return ok_json(ctx, std::move(reply));
}

asio::awaitable<Response> do_history_search(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto q = query_param(ctx.query, "q");
  if (!q) co_return fail_with(q.error(), ctx);
  if (!*q)
    co_return fail_with(fail(Errc::validation_failed, "query parameter 'q' is required"), ctx);
  if (chat::code_points(**q) > discovery::kMaxSearchChars) {
    co_return fail_with(fail(Errc::validation_failed, "query parameter 'q' is too long"), ctx);
  }
  auto limit =
      query_int(ctx.query, "limit", 20, 1, static_cast<std::int64_t>(discovery::kMaxSearchPage));
  if (!limit) co_return fail_with(limit.error(), ctx);
  auto offset = query_int(ctx.query, "offset", 0, 0, kMaxSearchOffset);
  if (!offset) co_return fail_with(offset.error(), ctx);
  discovery::SearchQuery query{*room_id, principal->user_id, std::move(**q),
                               static_cast<std::size_t>(*limit), static_cast<std::size_t>(*offset)};
  auto job = [search = deps.history_search, query = std::move(query)]() {
    return search->search(query);
  };
  auto page = co_await deps.workers.run(std::move(job));
  if (!page) co_return fail_with(page.error(), ctx, &deps.log);
  json::array results;
  for (const auto& hit : page->hits) {
    json::array languages;
    for (const auto& language : hit.in_languages) languages.push_back(json::value(language));
    results.push_back(json::object{{"message", chat::to_json(hit.message, deps.public_base_url)},
                                   {"matched", json::object{{"original", hit.in_original},
                                                            {"languages", std::move(languages)}}},
                                   {"score", hit.score}});
  }
  json::object reply{{"results", std::move(results)}, {"limit", *limit}, {"offset", *offset}};
  reply["next_offset"] = page->next_offset
                             ? json::value(static_cast<std::int64_t>(*page->next_offset))
                             : json::value(nullptr);
  co_return ok_json(ctx, std::move(reply));
}

// A room's record, read in the reader's language or exported as captions. The file formats are
// downloads (attachment, never rendered in the page's origin); JSON is for reading in the app.
asio::awaitable<Response> do_correct_language(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  const std::string_view id_text = ctx.params.get("message_id");
  std::int64_t message_id = 0;
  if (const auto [end, ec] =
          std::from_chars(id_text.data(), id_text.data() + id_text.size(), message_id);
      ec != std::errc() || end != id_text.data() + id_text.size() || message_id < 1) {
    co_return fail_with(fail(Errc::not_found, "no such message"), ctx);
  }
  if (deps.corrections == nullptr) {
    co_return fail_with(fail(Errc::unavailable, "corrections are not available"), ctx);
  }
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto language = net::required_string(*body, "language", {.min_length = 1, .max_length = 35});
  if (!language) co_return fail_with(language.error(), ctx);
  corrections::CorrectionRequest request;
  request.message_id = message_id;
  request.actor_id = principal->user_id;
  request.language = std::move(*language);
  request.room_id = *room_id;
  request.request_id = ctx.request_id;
  auto job = [corrections = deps.corrections, request = std::move(request)]() {
    return corrections->correct(request);
  };
  auto corrected = co_await deps.workers.run(std::move(job));
  if (!corrected) co_return fail_with(corrected.error(), ctx, &deps.log);
  co_return ok_json(ctx, {{"message", chat::to_json(*corrected, deps.public_base_url)}});
}

asio::awaitable<Response> do_transcript(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  if (deps.transcripts == nullptr) {
    co_return fail_with(fail(Errc::unavailable, "transcripts are not available"), ctx);
  }
  transcript::TranscriptQuery query;
  query.room_id = *room_id;
  query.viewer_id = principal->user_id;
  auto format_name = query_param(ctx.query, "format");
  if (!format_name) co_return fail_with(format_name.error(), ctx);
  auto format = transcript::parse_transcript_format(format_name->value_or("json"));
  if (!format) co_return fail_with(format.error(), ctx);
  auto language = query_param(ctx.query, "lang");
  if (!language) co_return fail_with(language.error(), ctx);
  query.language = std::move(*language);
  // For the file name only: a tag read() refused never gets this far.
  const std::string file_language =
      query.language ? translate::listener_language(*query.language) : std::string();
  for (const auto& [name, field] : {std::pair{"from", &query.from_ms}, {"to", &query.to_ms}}) {
    auto text = query_param(ctx.query, name);
    if (!text) co_return fail_with(text.error(), ctx);
    if (!*text) continue;
    auto time = transcript::parse_time(**text);
    if (!time) {
      co_return fail_with(
          fail(Errc::validation_failed, std::string(name) + ": " + time.error().message), ctx);
    }
    *field = *time;
  }
  auto job = [transcripts = deps.transcripts, query = std::move(query), format = *format,
              base = deps.public_base_url]() -> Result<std::string> {
    auto read = transcripts->read(query);
    if (!read) return read.error();
    return transcript::render(*read, format, base);
  };
  auto body = co_await deps.workers.run(std::move(job));
  if (!body) co_return fail_with(body.error(), ctx, &deps.log);
  Response res{http::status::ok, ctx.request.version()};
  res.set(http::field::content_type, transcript::content_type(*format));
  res.set(http::field::cache_control, "private, no-store");
  if (*format != transcript::TranscriptFormat::json) {
    std::string file = "room-" + std::to_string(*room_id) + "-transcript";
    if (!file_language.empty()) file += "-" + file_language;
    file += ".";
    file += transcript::file_extension(*format);
    res.set(http::field::content_disposition, "attachment; filename=\"" + file + "\"");
    res.set("Content-Security-Policy", "sandbox");
  }
  res.body() = std::move(*body);
  res.prepare_payload();
  co_return res;
}

asio::awaitable<Response> do_set_location(const ChatroomRoutesDeps& deps, RequestContext& ctx,
                                          bool remove) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  std::optional<chat::Location> location;
  if (!remove) {
    auto body = net::parse_json_object(ctx.request);
    if (!body) co_return fail_with(body.error(), ctx);
    // The body is the location object itself: {latitude, longitude, radius_km?, venue?}.
    auto parsed = optional_location(json::object{{"location", *body}});
    if (!parsed) co_return fail_with(parsed.error(), ctx);
    location = std::move(*parsed);
  }
  auto job = [&rooms = deps.chatrooms, room_id = *room_id, actor = principal->user_id,
              location = std::move(location)]() {
    return rooms.set_location(room_id, actor, location);
  };
  auto room = co_await deps.workers.run(std::move(job));
  if (!room) co_return fail_with(room.error(), ctx, &deps.log);
  co_return ok_json(ctx, room_reply(*room, deps));
}

asio::awaitable<Response> do_put_location(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  return do_set_location(deps, ctx, false);
}

asio::awaitable<Response> do_delete_location(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  return do_set_location(deps, ctx, true);
}

asio::awaitable<Response> do_details(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto job = [&rooms = deps.chatrooms, room_id = *room_id, user = principal->user_id]() {
    return rooms.details(room_id, user);
  };
  auto details = co_await deps.workers.run(std::move(job));
  if (!details) co_return fail_with(details.error(), ctx, &deps.log);
  auto reply = room_reply(details->room, deps);
  reply["role"] =
      details->viewer ? json::value(chat::to_string(details->viewer->role)) : json::value(nullptr);
  json::array members;
  for (const auto& m : details->members) members.push_back(to_json(m, deps.public_base_url));
  reply["members"] = std::move(members);
  if (details->viewer && details->viewer->role != chat::Role::member) {
    json::array banned;
    for (const auto& m : details->banned) banned.push_back(to_json(m, deps.public_base_url));
    reply["banned"] = std::move(banned);
  }
  if (deps.live) reply["live"] = deps.live(*room_id);
  co_return ok_json(ctx, std::move(reply));
}

// --- management ------------------------------------------------------------------------------

enum class MemberAction { kick, ban, unban, promote, demote, transfer };

asio::awaitable<Response> do_member_action(const ChatroomRoutesDeps& deps, RequestContext& ctx,
                                           MemberAction action) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto target = required_id(*body, "user_id");
  if (!target) co_return fail_with(target.error(), ctx);
  // The reply: what happened, and the target's role where it changed.
  struct Outcome {
    std::string status;
    std::optional<chat::Role> role;
  };
  auto job = [&rooms = deps.chatrooms, room_id = *room_id, actor = principal->user_id,
              target = *target, action]() -> Result<Outcome> {
    const auto done = [](Result<void> r, const char* status) -> Result<Outcome> {
      if (!r) return r.error();
      return Outcome{status, std::nullopt};
    };
    const auto role = [](Result<chat::Membership> r, const char* status) -> Result<Outcome> {
      if (!r) return r.error();
      return Outcome{status, r->role};
    };
    switch (action) {
      case MemberAction::kick:
        return done(rooms.kick(room_id, actor, target), "kicked");
      case MemberAction::ban:
        return done(rooms.ban(room_id, actor, target), "banned");
      case MemberAction::unban:
        return done(rooms.unban(room_id, actor, target), "unbanned");
      case MemberAction::promote:
        return role(rooms.promote(room_id, actor, target), "promoted");
      case MemberAction::demote:
        return role(rooms.demote(room_id, actor, target), "demoted");
      case MemberAction::transfer: {
        auto r = done(rooms.transfer_ownership(room_id, actor, target), "transferred");
        if (r) r->role = chat::Role::owner;
        return r;
      }
    }
    return fail(Errc::internal, "unknown member action");
  };
  auto outcome = co_await deps.workers.run(std::move(job));
  if (!outcome) co_return fail_with(outcome.error(), ctx, &deps.log);
  deps.log.info("chatroom_member_action", {{"request_id", ctx.request_id},
                                           {"chatroom_id", *room_id},
                                           {"actor_id", principal->user_id},
                                           {"user_id", *target},
                                           {"action", outcome->status}});
  json::object reply{{"status", outcome->status}, {"chatroom_id", *room_id}, {"user_id", *target}};
  if (outcome->role) reply["role"] = chat::to_string(*outcome->role);
  co_return ok_json(ctx, std::move(reply));
}

template <MemberAction action>
asio::awaitable<Response> member_action(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  return do_member_action(deps, ctx, action);
}

asio::awaitable<Response> do_create_invite(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  chat::InviteOptions options;
  if (!ctx.request.body().empty()) {
    auto body = net::parse_json_object(ctx.request);
    if (!body) co_return fail_with(body.error(), ctx);
    // Ranges are the service's rule; these bounds only keep the arithmetic sane.
    auto lifetime = net::optional_int(*body, "expires_in_s", 1, 10LL * 365 * 24 * 3600);
    if (!lifetime) co_return fail_with(lifetime.error(), ctx);
    auto max_uses = net::optional_int(*body, "max_uses", 1, chat::kMaxInviteUses);
    if (!max_uses) co_return fail_with(max_uses.error(), ctx);
    if (*lifetime) options.lifetime = std::chrono::seconds(**lifetime);
    options.max_uses = *max_uses;
  }
  auto job = [&rooms = deps.chatrooms, room_id = *room_id, actor = principal->user_id, options]() {
    return rooms.create_invite(room_id, actor, options);
  };
  auto invite = co_await deps.workers.run(std::move(job));
  if (!invite) co_return fail_with(invite.error(), ctx, &deps.log);
  co_return ok_json(ctx, chat::to_json(*invite), http::status::created);
}

asio::awaitable<Response> do_list_invites(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto job = [&rooms = deps.chatrooms, room_id = *room_id, actor = principal->user_id]() {
    return rooms.invites(room_id, actor);
  };
  auto invites = co_await deps.workers.run(std::move(job));
  if (!invites) co_return fail_with(invites.error(), ctx, &deps.log);
  json::array items;
  for (const auto& invite : *invites) items.push_back(chat::to_json(invite));
  co_return ok_json(ctx, {{"invites", std::move(items)}});
}

asio::awaitable<Response> do_revoke_invite(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto job = [&rooms = deps.chatrooms, room_id = *room_id, actor = principal->user_id,
              code = std::string(ctx.params.get("code"))]() {
    return rooms.revoke_invite(room_id, actor, code);
  };
  auto revoked = co_await deps.workers.run(std::move(job));
  if (!revoked) co_return fail_with(revoked.error(), ctx, &deps.log);
  co_return ok_json(ctx, {{"status", "revoked"}});
}

asio::awaitable<Response> do_rename(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto name = net::required_string(*body, "name", kRoomName);
  if (!name) co_return fail_with(name.error(), ctx);
  auto job = [&rooms = deps.chatrooms, room_id = *room_id, actor = principal->user_id,
              name = std::move(*name)]() { return rooms.rename(room_id, actor, name); };
  auto room = co_await deps.workers.run(std::move(job));
  if (!room) co_return fail_with(room.error(), ctx, &deps.log);
  co_return ok_json(ctx, room_reply(*room, deps));
}

asio::awaitable<Response> do_delete(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto job = [&rooms = deps.chatrooms, room_id = *room_id, actor = principal->user_id,
              folder = deps.photo_folder]() -> Result<bool> {
    auto photo = rooms.remove(room_id, actor);
    if (!photo) return photo.error();
    remove_photo(folder, *photo);
    return true;
  };
  auto done = co_await deps.workers.run(std::move(job));
  if (!done) co_return fail_with(done.error(), ctx, &deps.log);
  deps.log.info(
      "chatroom_deleted",
      {{"request_id", ctx.request_id}, {"chatroom_id", *room_id}, {"user_id", principal->user_id}});
  co_return ok_json(ctx, {{"status", "deleted"}});
}

asio::awaitable<Response> do_upload_photo(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room_id = path_room_id(ctx);
  if (!room_id) co_return fail_with(room_id.error(), ctx);
  auto job = [&deps, &request = ctx.request, room_id = *room_id,
              actor = principal->user_id]() -> Result<chat::Chatroom> {
    // Permission first: nobody without the right gets a file written.
    if (auto allowed = deps.chatrooms.check_can_manage(room_id, actor); !allowed) {
      return allowed.error();
    }
    auto parts = net::parse_multipart(request[http::field::content_type], request.body(),
                                      {.max_parts = 4, .max_total_bytes = deps.max_photo_bytes});
    if (!parts) return parts.error();
    const net::FormPart* file = net::find_part(*parts, "photo");
    if (file == nullptr) return fail(Errc::validation_failed, "form field 'photo' is required");
    // The type comes from the bytes, never from the name or the declared Content-Type.
    auto image = media::probe_image(file->data);
    if (!image) return image.error();
    if (auto ok = media::check_dimensions(*image, kMaxPhotoSide, kMaxPhotoSide, kMaxPhotoPixels);
        !ok) {
      return ok.error();
    }
    const std::string name = core::random_hex(16) + std::string(image->extension);
    if (auto written = write_file_atomically(deps.photo_folder, name, file->data); !written) {
      return written.error();
    }
    auto change = deps.chatrooms.set_photo(room_id, actor, name);
    if (!change) {
      remove_photo(deps.photo_folder, name);
      return change.error();
    }
    remove_photo(deps.photo_folder, change->previous);
    return std::move(change->room);
  };
  auto room = co_await deps.workers.run(std::move(job));
  if (!room) co_return fail_with(room.error(), ctx, &deps.log);
  co_return ok_json(ctx, room_reply(*room, deps));
}

// Room photos are public like avatars (they show in room lists).
asio::awaitable<Response> do_get_photo(const ChatroomRoutesDeps& deps, RequestContext& ctx) {
  return serve_stored_image(deps.photo_folder, std::string(ctx.params.get("file")), deps.workers,
                            ctx);
}

}  // namespace

void add_chatroom_routes(net::Router& router, const ChatroomRoutesDeps& deps) {
  // Handlers receive `deps` by reference: it is owned by the composition root and outlives the
  // server. Each lambda only forwards to a named coroutine (no captures used after suspension).
  const ChatroomRoutesDeps* d = &deps;
  const auto route = [&router, d](http::verb method, std::string path, auto handler,
                                  net::RouteOptions options = {}) {
    router.add(
        method, std::move(path), [d, handler](RequestContext& ctx) { return handler(*d, ctx); },
        options);
  };
  using enum MemberAction;
  route(http::verb::post, "/api/create-chatroom", do_create);
  route(http::verb::post, "/api/join-chatroom", do_join);
  route(http::verb::post, "/api/leave-chatroom", do_leave);
  route(http::verb::post, "/api/get-chatroom-messages", do_messages);
  route(http::verb::get, "/api/chatrooms", do_search);
  route(http::verb::get, "/api/chatrooms/{id}", do_details);
  route(http::verb::delete_, "/api/chatrooms/{id}", do_delete);
  route(http::verb::post, "/api/chatrooms/{id}/invites", do_create_invite);
  route(http::verb::get, "/api/chatrooms/{id}/invites", do_list_invites);
  route(http::verb::delete_, "/api/chatrooms/{id}/invites/{code}", do_revoke_invite);
  route(http::verb::post, "/api/chatrooms/{id}/kick", member_action<kick>);
  route(http::verb::post, "/api/chatrooms/{id}/ban", member_action<ban>);
  route(http::verb::post, "/api/chatrooms/{id}/unban", member_action<unban>);
  route(http::verb::post, "/api/chatrooms/{id}/promote", member_action<promote>);
  route(http::verb::post, "/api/chatrooms/{id}/demote", member_action<demote>);
  route(http::verb::post, "/api/chatrooms/{id}/transfer-ownership", member_action<transfer>);
  route(http::verb::post, "/api/chatrooms/{id}/rename", do_rename);
  route(http::verb::get, "/api/chatrooms/nearby", do_nearby);
  route(http::verb::get, "/api/chatrooms/{id}/search", do_history_search);
  route(http::verb::get, "/api/chatrooms/{id}/transcript", do_transcript);
  route(http::verb::post, "/api/chatrooms/{id}/messages/{message_id}/language",
        do_correct_language);
  route(http::verb::post, "/api/chatrooms/{id}/location", do_put_location);
  route(http::verb::delete_, "/api/chatrooms/{id}/location", do_delete_location);
  route(http::verb::post, "/api/chatrooms/{id}/photo", do_upload_photo,
        {.max_body_bytes = deps.max_photo_bytes + 64 * 1024, .requires_bearer = true});
  route(http::verb::get, "/uploads/chatroom_photo/{file}", do_get_photo);
}

}  // namespace parley::api
