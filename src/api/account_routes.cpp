#include "api/account_routes.hpp"

#include <fstream>
#include <system_error>

#include "api/replies.hpp"
#include "api/stored_images.hpp"
#include "core/random.hpp"
#include "media/image_probe.hpp"
#include "net/json_body.hpp"
#include "net/multipart.hpp"

namespace parley::api {

namespace asio = boost::asio;
namespace http = net::http;
namespace fs = std::filesystem;
using net::RequestContext;
using net::Response;

namespace {

constexpr net::StringRule kSecret{.min_length = 1, .max_length = 1024, .trim = false};
constexpr net::StringRule kShort{.min_length = 1, .max_length = 254};
// Avatars bigger than this are refused from their header, before any pixel is decoded.
constexpr std::uint32_t kMaxAvatarSide = 4096;
constexpr std::uint64_t kMaxAvatarPixels = 4096ULL * 4096ULL;

Response user_response(const auth::User& user, const AccountRoutesDeps& deps, unsigned version) {
  return net::json_response(http::status::ok,
                            {{"user", auth::to_json(user, true, deps.public_base_url)}}, version);
}

// The key for per-address limits. An IPv6 user normally holds a whole /64, so limits apply to
// the /64: otherwise one host could rotate through 2^64 addresses.
std::string client_address(const RequestContext& ctx) {
  const auto& address = ctx.remote_address;
  if (!address.is_v6() || address.to_v6().is_v4_mapped()) return address.to_string();
  auto bytes = address.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

// The bearer token from "Authorization: Bearer <token>"; tokens are never read from URLs.
std::optional<std::string_view> bearer_token(const net::Request& request) {
  std::string_view header = request[http::field::authorization];
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() <= kScheme.size()) return std::nullopt;
  if (!boost::beast::iequals(header.substr(0, kScheme.size()), kScheme)) return std::nullopt;
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  if (header.empty()) return std::nullopt;
  return header;
}

void remove_avatar(const fs::path& folder, const std::optional<std::string>& name) {
  remove_stored_file(folder, name);
}

// --- handlers -------------------------------------------------------------------------------

asio::awaitable<Response> do_register(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto email = net::required_string(*body, "email", kShort);
  if (!email) co_return fail_with(email.error(), ctx);
  auto username = net::required_string(*body, "username", {.min_length = 1, .max_length = 64});
  if (!username) co_return fail_with(username.error(), ctx);
  auto password = net::required_string(*body, "password", kSecret);
  if (!password) co_return fail_with(password.error(), ctx);
  auto language = net::optional_string(*body, "preferred_language", {.max_length = 35});
  if (!language) co_return fail_with(language.error(), ctx);

  std::optional<auth::Principal> guest;
  if (bearer_token(ctx.request)) {
    // A bearer on register means "upgrade this guest": a bad token is an error, not ignored.
    auto principal = co_await authenticate(deps, ctx);
    if (!principal) co_return fail_with(principal.error(), ctx);
    if (!principal->is_guest) {
      co_return fail_with(fail(Errc::conflict, "already signed in as a registered user"), ctx);
    }
    guest = *principal;
  }
  auth::RegisterInput input{std::move(*email), std::move(*username), std::move(*password),
                            std::move(*language)};
  auto job = [&accounts = deps.accounts, input = std::move(input), ip = client_address(ctx),
              guest]() { return accounts.register_user(input, ip, guest); };
  auto signed_in = co_await deps.workers.run(std::move(job));
  if (!signed_in) co_return fail_with(signed_in.error(), ctx, &deps.log);
  deps.log.info("account_registered", {{"request_id", ctx.request_id},
                                       {"user_id", signed_in->user.id},
                                       {"from_guest", guest.has_value()}});
  co_return token_response(http::status::created, *signed_in, deps.public_base_url,
                           ctx.request.version());
}

asio::awaitable<Response> do_login(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto email = net::optional_string(*body, "email", kShort);
  if (!email) co_return fail_with(email.error(), ctx);
  auto username = net::optional_string(*body, "username", kShort);
  if (!username) co_return fail_with(username.error(), ctx);
  auto password = net::required_string(*body, "password", kSecret);
  if (!password) co_return fail_with(password.error(), ctx);
  auth::LoginInput input{std::move(*email), std::move(*username), std::move(*password),
                         client_address(ctx)};
  auto job = [&accounts = deps.accounts, input = std::move(input)]() {
    return accounts.login(input);
  };
  auto signed_in = co_await deps.workers.run(std::move(job));
  if (!signed_in) {
    // Failed sign-ins are logged (never with the password) so that attacks can be seen.
    deps.log.warning("login_failed", {{"request_id", ctx.request_id},
                                      {"reason", to_code(signed_in.error().code)},
                                      {"remote", client_address(ctx)}});
    co_return fail_with(signed_in.error(), ctx, &deps.log);
  }
  co_return token_response(http::status::ok, *signed_in, deps.public_base_url,
                           ctx.request.version());
}

asio::awaitable<Response> do_guest(const AccountRoutesDeps& deps, RequestContext& ctx) {
  std::optional<std::string> language;
  if (!ctx.request.body().empty()) {
    auto body = net::parse_json_object(ctx.request);
    if (!body) co_return fail_with(body.error(), ctx);
    auto value = net::optional_string(*body, "preferred_language", {.max_length = 35});
    if (!value) co_return fail_with(value.error(), ctx);
    language = std::move(*value);
  }
  auto job = [&accounts = deps.accounts, language, ip = client_address(ctx)]() {
    return accounts.create_guest(language, ip);
  };
  auto signed_in = co_await deps.workers.run(std::move(job));
  if (!signed_in) co_return fail_with(signed_in.error(), ctx, &deps.log);
  co_return token_response(http::status::created, *signed_in, deps.public_base_url,
                           ctx.request.version());
}

asio::awaitable<Response> do_refresh(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto token = net::required_string(*body, "refresh_token", kSecret);
  if (!token) co_return fail_with(token.error(), ctx);
  auto job = [&accounts = deps.accounts, token = std::move(*token)]() {
    return accounts.refresh(token);
  };
  auto signed_in = co_await deps.workers.run(std::move(job));
  if (!signed_in) co_return fail_with(signed_in.error(), ctx, &deps.log);
  co_return token_response(http::status::ok, *signed_in, deps.public_base_url,
                           ctx.request.version());
}

asio::awaitable<Response> do_logout(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto job = [&accounts = deps.accounts, principal = *principal]() {
    return accounts.logout(principal);
  };
  auto done = co_await deps.workers.run(std::move(job));
  if (!done) co_return fail_with(done.error(), ctx, &deps.log);
  co_return net::json_response(http::status::ok, {{"status", "logged_out"}}, ctx.request.version());
}

asio::awaitable<Response> do_me(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto job = [&accounts = deps.accounts, principal = *principal]() {
    return accounts.profile(principal);
  };
  auto user = co_await deps.workers.run(std::move(job));
  if (!user) co_return fail_with(user.error(), ctx, &deps.log);
  co_return user_response(*user, deps, ctx.request.version());
}

asio::awaitable<Response> do_update_username(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto username = net::required_string(*body, "username", {.min_length = 1, .max_length = 64});
  if (!username) co_return fail_with(username.error(), ctx);
  auto job = [&accounts = deps.accounts, principal = *principal,
              username = std::move(*username)]() { return accounts.rename(principal, username); };
  auto user = co_await deps.workers.run(std::move(job));
  if (!user) co_return fail_with(user.error(), ctx, &deps.log);
  co_return user_response(*user, deps, ctx.request.version());
}

asio::awaitable<Response> do_update_language(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto language =
      net::required_string(*body, "preferred_language", {.min_length = 1, .max_length = 35});
  if (!language) co_return fail_with(language.error(), ctx);
  auto job = [&accounts = deps.accounts, principal = *principal,
              language = std::move(*language)]() {
    return accounts.set_preferred_language(principal, language);
  };
  auto user = co_await deps.workers.run(std::move(job));
  if (!user) co_return fail_with(user.error(), ctx, &deps.log);
  if (deps.on_language_changed) deps.on_language_changed(principal->user_id);
  co_return user_response(*user, deps, ctx.request.version());
}

asio::awaitable<Response> do_update_spoken_languages(const AccountRoutesDeps& deps,
                                                     RequestContext& ctx) {
  auto principal = co_await authenticate(deps, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  const auto* field = body->if_contains("spoken_languages");
  const auto invalid = [&ctx] {
    return fail_with(Error{Errc::validation_failed,
                           "field 'spoken_languages' must be an array of language tags, such as "
                           "[\"en\", \"es\"] ([] declares none)"},
                     ctx);
  };
  if (field == nullptr || !field->is_array()) co_return invalid();
  std::vector<std::string> languages;
  for (const auto& item : field->get_array()) {
    if (!item.is_string() || item.get_string().size() > 35) co_return invalid();
    languages.emplace_back(item.get_string());
  }
  auto job = [&accounts = deps.accounts, principal = *principal,
              languages = std::move(languages)]() {
    return accounts.set_spoken_languages(principal, languages);
  };
  auto user = co_await deps.workers.run(std::move(job));
  if (!user) co_return fail_with(user.error(), ctx, &deps.log);
  if (deps.on_language_changed) deps.on_language_changed(principal->user_id);
  co_return user_response(*user, deps, ctx.request.version());
}

asio::awaitable<Response> do_change_password(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto current = net::required_string(*body, "current_password", kSecret);
  if (!current) co_return fail_with(current.error(), ctx);
  auto replacement = net::required_string(*body, "new_password", kSecret);
  if (!replacement) co_return fail_with(replacement.error(), ctx);
  auto job = [&accounts = deps.accounts, principal = *principal, current = std::move(*current),
              replacement = std::move(*replacement)]() {
    return accounts.change_password(principal, current, replacement);
  };
  auto signed_in = co_await deps.workers.run(std::move(job));
  if (!signed_in) co_return fail_with(signed_in.error(), ctx, &deps.log);
  deps.log.info("password_changed",
                {{"request_id", ctx.request_id}, {"user_id", principal->user_id}});
  if (deps.on_sessions_ended) deps.on_sessions_ended(principal->user_id, "password changed");
  co_return token_response(http::status::ok, *signed_in, deps.public_base_url,
                           ctx.request.version());
}

asio::awaitable<Response> do_delete_account(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  std::optional<std::string> password;
  if (!ctx.request.body().empty()) {
    auto body = net::parse_json_object(ctx.request);
    if (!body) co_return fail_with(body.error(), ctx);
    auto value = net::optional_string(*body, "password", kSecret);
    if (!value) co_return fail_with(value.error(), ctx);
    password = std::move(*value);
  }
  auto job = [&accounts = deps.accounts, &prepare = deps.prepare_account_removal,
              principal = *principal, password = std::move(password),
              folder = deps.avatar_folder]() -> Result<bool> {
    std::function<void()> remove_kept_files;
    if (prepare) remove_kept_files = prepare(principal.user_id);
    auto avatar = accounts.delete_account(principal, password);
    if (!avatar) return avatar.error();
    remove_avatar(folder, *avatar);
    if (remove_kept_files) remove_kept_files();
    return true;
  };
  auto done = co_await deps.workers.run(std::move(job));
  if (!done) co_return fail_with(done.error(), ctx, &deps.log);
  deps.log.info("account_deleted",
                {{"request_id", ctx.request_id}, {"user_id", principal->user_id}});
  if (deps.on_sessions_ended) deps.on_sessions_ended(principal->user_id, "account deleted");
  co_return net::json_response(http::status::ok, {{"status", "deleted"}}, ctx.request.version());
}

asio::awaitable<Response> do_upload_avatar(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto job = [&deps, &request = ctx.request, principal = *principal]() -> Result<auth::User> {
    auto parts = net::parse_multipart(request[http::field::content_type], request.body(),
                                      {.max_parts = 4, .max_total_bytes = deps.max_avatar_bytes});
    if (!parts) return parts.error();
    const net::FormPart* file = net::find_part(*parts, "avatar");
    if (file == nullptr) file = net::find_part(*parts, "file");
    if (file == nullptr) return fail(Errc::validation_failed, "form field 'avatar' is required");
    // The type comes from the bytes, never from the name or the declared Content-Type.
    auto image = media::probe_image(file->data);
    if (!image) return image.error();
    if (auto ok = media::check_dimensions(*image, kMaxAvatarSide, kMaxAvatarSide, kMaxAvatarPixels);
        !ok) {
      return ok.error();
    }
    const std::string name = core::random_hex(16) + std::string(image->extension);
    if (auto written = write_file_atomically(deps.avatar_folder, name, file->data); !written) {
      return written.error();
    }
    auto previous = deps.accounts.set_avatar(principal, name);
    if (!previous) {
      remove_avatar(deps.avatar_folder, name);
      return previous.error();
    }
    remove_avatar(deps.avatar_folder, *previous);
    return deps.accounts.profile(principal);
  };
  auto user = co_await deps.workers.run(std::move(job));
  if (!user) co_return fail_with(user.error(), ctx, &deps.log);
  co_return user_response(*user, deps, ctx.request.version());
}

// Avatars are public (they appear next to messages).
asio::awaitable<Response> do_get_avatar(const AccountRoutesDeps& deps, RequestContext& ctx) {
  return serve_stored_image(deps.avatar_folder, std::string(ctx.params.get("file")), deps.workers,
                            ctx);
}

asio::awaitable<Response> do_user_chatrooms(const AccountRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  const std::string id_text(ctx.params.get("user_id"));
  if (id_text != std::to_string(principal->user_id)) {
    co_return fail_with(fail(Errc::forbidden, "you can list only your own chat rooms"), ctx,
                        &deps.log);
  }
  auto job = [&database = deps.database, user_id = principal->user_id,
              base = deps.public_base_url]() -> Result<boost::json::array> {
    auto lease = database.acquire();
    if (!lease) return lease.error();
    auto rows = (*lease)->query(
        "SELECT c.id, c.name, c.is_private, c.creator_id, c.created_at, c.photo_path, m.role, "
        "(SELECT COUNT(*) FROM memberships x WHERE x.chatroom_id = c.id AND x.banned = 0) "
        "AS member_count FROM memberships m JOIN chatrooms c ON c.id = m.chatroom_id "
        "WHERE m.user_id = $1 AND m.banned = 0 ORDER BY c.id",
        {user_id});
    if (!rows) return rows.error();
    boost::json::array rooms;
    for (const auto& row : *rows) {
      boost::json::object room{
          {"id", row.get<std::int64_t>("id").value()},
          {"name", row.get<std::string>("name").value()},
          {"is_private", row.get<bool>("is_private").value()},
          {"member_count", row.get<std::int64_t>("member_count").value()},
          {"created_at", auth::iso8601(row.get<std::int64_t>("created_at").value())},
          {"role", row.get<std::string>("role").value()},
      };
      if (auto creator = row.try_get<std::int64_t>("creator_id")) {
        room["creator_id"] = *creator;
      } else {
        room["creator_id"] = nullptr;
      }
      if (auto photo = row.try_get<std::string>("photo_path")) {
        room["photo_url"] = base + "/uploads/chatroom_photo/" + *photo;
      } else {
        room["photo_url"] = nullptr;
      }
      rooms.push_back(std::move(room));
    }
    return rooms;
  };
  auto rooms = co_await deps.workers.run(std::move(job));
  if (!rooms) co_return fail_with(rooms.error(), ctx, &deps.log);
  co_return net::json_response(http::status::ok, {{"chatrooms", std::move(*rooms)}},
                               ctx.request.version());
}

}  // namespace

asio::awaitable<Result<auth::Principal>> authenticate(const AccountRoutesDeps& deps,
                                                      const RequestContext& ctx) {
  auto token = bearer_token(ctx.request);
  if (!token) co_return fail(Errc::unauthorized, "sign in first: missing bearer token");
  auto known = deps.accounts.authenticate_cached(*token);
  if (known && *known) co_return std::move(*known);
  auto job = [&accounts = deps.accounts, token = std::string(*token)]() {
    return accounts.authenticate(token);
  };
  Result<auth::Principal> principal = fail(Errc::internal, "unreachable");
  if (known) {
    principal = std::move(*known);  // an invalid token: no database needed to say so
  } else {
    principal = co_await deps.workers.run(std::move(job));
  }
  if (!principal && principal.error().code == Errc::unauthorized) {
    deps.log.info("authentication_failed",
                  {{"request_id", ctx.request_id}, {"remote", ctx.remote_address.to_string()}});
  }
  co_return principal;
}

Response token_response(http::status status, const auth::SignedIn& signed_in,
                        const std::string& public_base_url, unsigned version) {
  auto res = net::json_response(status,
                                {{"access_token", signed_in.access_token},
                                 {"refresh_token", signed_in.refresh_token},
                                 {"token_type", "Bearer"},
                                 {"expires_in", signed_in.expires_in},
                                 {"user", auth::to_json(signed_in.user, true, public_base_url)}},
                                version);
  res.set(http::field::cache_control, "no-store");
  return res;
}

void add_account_routes(net::Router& router, const AccountRoutesDeps& deps) {
  // Handlers receive `deps` by reference: it is owned by the composition root and outlives the
  // server. Each lambda only forwards to a named coroutine (no captures used after suspension).
  const AccountRoutesDeps* d = &deps;
  const auto route = [&router, d](http::verb method, std::string path, auto handler,
                                  net::RouteOptions options = {}) {
    router.add(
        method, std::move(path), [d, handler](RequestContext& ctx) { return handler(*d, ctx); },
        options);
  };
  route(http::verb::post, "/api/register", do_register);
  route(http::verb::post, "/api/login", do_login);
  route(http::verb::post, "/api/logout", do_logout);
  route(http::verb::post, "/api/token/refresh", do_refresh);
  route(http::verb::post, "/api/guest", do_guest);
  route(http::verb::get, "/api/me", do_me);
  route(http::verb::post, "/api/update-username", do_update_username);
  route(http::verb::post, "/api/update-preferred-language", do_update_language);
  route(http::verb::post, "/api/update-spoken-languages", do_update_spoken_languages);
  route(http::verb::post, "/api/change-password", do_change_password);
  route(http::verb::post, "/api/delete-account", do_delete_account);
  route(http::verb::post, "/api/upload-avatar", do_upload_avatar,
        {.max_body_bytes = deps.max_avatar_bytes + 64 * 1024, .requires_bearer = true});
  route(http::verb::get, "/uploads/avatars/{file}", do_get_avatar);
  route(http::verb::get, "/api/user-chatrooms/{user_id}", do_user_chatrooms);
}

}  // namespace parley::api
