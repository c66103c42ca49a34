#include "api/glossary_routes.hpp"

#include <charconv>
#include <system_error>

#include "api/replies.hpp"
#include "net/json_body.hpp"

namespace parley::api {

namespace asio = boost::asio;
namespace http = net::http;
namespace json = boost::json;
using net::RequestContext;
using net::Response;

namespace {

// A positive integer path parameter; anything else names nothing (`what`).
Result<std::int64_t> path_id(const RequestContext& ctx, std::string_view name,
                             std::string_view what) {
  const std::string_view text = ctx.params.get(name);
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1) {
    return fail(Errc::not_found, "no such " + std::string(what));
  }
  return id;
}

// {"es": "notas de versión", ...}: strings only.
Result<std::map<std::string, std::string>> translations_field(const json::object& body) {
  std::map<std::string, std::string> out;
  const auto* value = body.if_contains("translations");
  if (value == nullptr || value->is_null()) return out;
  if (!value->is_object()) {
    return fail(Errc::validation_failed,
                "field 'translations' must be an object of language -> translation");
  }
  for (const auto& [language, text] : value->as_object()) {
    if (!text.is_string()) {
      return fail(Errc::validation_failed, "each translation must be a string");
    }
    out.emplace(std::string(language), std::string(text.as_string()));
  }
  return out;
}

// Runs `job` (BLOCKING) on the workers and answers its result, shaped by `reply`. Callers name
// their lambdas before the co_await (g++ 12 destroys a capturing lambda temporary inside a
// co_await expression twice; docs/architecture.md, "Coroutine rules").
template <class Job, class Reply>
asio::awaitable<Response> answer(const GlossaryRoutesDeps& deps, RequestContext& ctx, Job job,
                                 Reply reply, http::status status = http::status::ok) {
  auto result = co_await deps.workers.run(std::move(job));
  if (!result) co_return fail_with(result.error(), ctx, &deps.log);
  co_return ok_json(ctx, reply(*result), status);
}

json::object glossary_reply(const glossary::RoomGlossary& g) {
  return json::object{{"glossary", to_json(g)}};
}

asio::awaitable<Response> do_get(const GlossaryRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room = path_id(ctx, "id", "chat room");
  if (!room) co_return fail_with(room.error(), ctx);
  auto job = [&store = deps.glossaries, room = *room, user = principal->user_id] {
    return store.glossary(room, user);
  };
  co_return co_await answer(deps, ctx, std::move(job), glossary_reply);
}

asio::awaitable<Response> do_put_term(const GlossaryRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room = path_id(ctx, "id", "chat room");
  if (!room) co_return fail_with(room.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  glossary::TermInput input;
  auto term = net::required_string(*body, "term", {.min_length = 1, .max_length = 100});
  if (!term) co_return fail_with(term.error(), ctx);
  input.term = std::move(*term);
  auto translations = translations_field(*body);
  if (!translations) co_return fail_with(translations.error(), ctx);
  input.translations = std::move(*translations);
  auto pronunciation =
      net::optional_string(*body, "pronunciation", {.min_length = 1, .max_length = 200});
  if (!pronunciation) co_return fail_with(pronunciation.error(), ctx);
  input.pronunciation = std::move(*pronunciation);
  auto job = [&store = deps.glossaries, room = *room, user = principal->user_id,
              input = std::move(input)]() mutable {
    return store.set_term(room, user, std::move(input));
  };
  co_return co_await answer(deps, ctx, std::move(job), glossary_reply);
}

asio::awaitable<Response> do_delete_term(const GlossaryRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room = path_id(ctx, "id", "chat room");
  if (!room) co_return fail_with(room.error(), ctx);
  auto term = path_id(ctx, "term_id", "term in this room's glossary");
  if (!term) co_return fail_with(term.error(), ctx);
  auto job = [&store = deps.glossaries, room = *room, user = principal->user_id, term = *term] {
    return store.remove_term(room, user, term);
  };
  co_return co_await answer(deps, ctx, std::move(job), glossary_reply);
}

asio::awaitable<Response> do_history(const GlossaryRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room = path_id(ctx, "id", "chat room");
  if (!room) co_return fail_with(room.error(), ctx);
  auto job = [&store = deps.glossaries, room = *room, user = principal->user_id] {
    return store.history(room, user, 200, std::nullopt);
  };
  auto reply = [](const std::vector<glossary::GlossaryChange>& changes) {
    json::array out;
    for (const auto& change : changes) out.push_back(to_json(change));
    return json::object{{"changes", std::move(out)}};
  };
  co_return co_await answer(deps, ctx, std::move(job), reply);
}

asio::awaitable<Response> do_propose(const GlossaryRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room = path_id(ctx, "id", "chat room");
  if (!room) co_return fail_with(room.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  glossary::ProposalInput input;
  auto term = net::required_string(*body, "term", {.min_length = 1, .max_length = 100});
  if (!term) co_return fail_with(term.error(), ctx);
  auto language = net::required_string(*body, "language", {.min_length = 1, .max_length = 35});
  if (!language) co_return fail_with(language.error(), ctx);
  auto translation =
      net::required_string(*body, "translation", {.min_length = 1, .max_length = 200});
  if (!translation) co_return fail_with(translation.error(), ctx);
  auto note = net::optional_string(*body, "note", {.min_length = 1, .max_length = 500});
  if (!note) co_return fail_with(note.error(), ctx);
  auto message = net::optional_int(*body, "message_id", 1, INT64_MAX);
  if (!message) co_return fail_with(message.error(), ctx);
  input.term = std::move(*term);
  input.language = std::move(*language);
  input.translation = std::move(*translation);
  input.note = std::move(*note);
  input.message_id = *message;
  auto job = [&store = deps.glossaries, room = *room, user = principal->user_id,
              input = std::move(input)]() mutable {
    return store.propose(room, user, std::move(input));
  };
  auto reply = [](const glossary::Proposal& p) { return json::object{{"proposal", to_json(p)}}; };
  co_return co_await answer(deps, ctx, std::move(job), reply, http::status::created);
}

asio::awaitable<Response> do_proposals(const GlossaryRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room = path_id(ctx, "id", "chat room");
  if (!room) co_return fail_with(room.error(), ctx);
  auto job = [&store = deps.glossaries, room = *room, user = principal->user_id] {
    return store.proposals(room, user, std::nullopt);
  };
  auto reply = [](const std::vector<glossary::Proposal>& proposals) {
    json::array out;
    for (const auto& p : proposals) out.push_back(to_json(p));
    return json::object{{"proposals", std::move(out)}};
  };
  co_return co_await answer(deps, ctx, std::move(job), reply);
}

template <bool Accept>
asio::awaitable<Response> do_decide(const GlossaryRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto room = path_id(ctx, "id", "chat room");
  if (!room) co_return fail_with(room.error(), ctx);
  auto proposal = path_id(ctx, "proposal_id", "proposal in this chat room");
  if (!proposal) co_return fail_with(proposal.error(), ctx);
  auto job = [&store = deps.glossaries, room = *room, user = principal->user_id,
              proposal = *proposal] { return store.decide(room, user, proposal, Accept); };
  auto reply = [](const glossary::Proposal& p) { return json::object{{"proposal", to_json(p)}}; };
  co_return co_await answer(deps, ctx, std::move(job), reply);
}

}  // namespace

void add_glossary_routes(net::Router& router, const GlossaryRoutesDeps& deps) {
  const auto* d = &deps;
  const auto route = [&router, d](http::verb method, std::string path, auto handler) {
    router.add(method, std::move(path),
               [d, handler](RequestContext& ctx) { return handler(*d, ctx); });
  };
  route(http::verb::get, "/api/chatrooms/{id}/glossary", do_get);
  route(http::verb::put, "/api/chatrooms/{id}/glossary/terms", do_put_term);
  route(http::verb::delete_, "/api/chatrooms/{id}/glossary/terms/{term_id}", do_delete_term);
  route(http::verb::get, "/api/chatrooms/{id}/glossary/history", do_history);
  route(http::verb::post, "/api/chatrooms/{id}/glossary/proposals", do_propose);
  route(http::verb::get, "/api/chatrooms/{id}/glossary/proposals", do_proposals);
  route(http::verb::post, "/api/chatrooms/{id}/glossary/proposals/{proposal_id}/accept",
        do_decide<true>);
  route(http::verb::post, "/api/chatrooms/{id}/glossary/proposals/{proposal_id}/reject",
        do_decide<false>);
}

}  // namespace parley::api
