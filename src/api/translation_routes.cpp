#include "api/translation_routes.hpp"

#include "api/replies.hpp"
#include "net/json_body.hpp"

namespace parley::api {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace http = net::http;
using net::RequestContext;
using net::Response;

constexpr net::StringRule kText{.min_length = 1,
                                .max_length = translate::kMaxTranslationBytes,
                                .trim = true,
                                .allow_newlines = true};
constexpr net::StringRule kLanguage{.min_length = 2, .max_length = 35};

// A language field as the engines take it: an ISO 639-1 code after normalising the tag.
Result<std::optional<std::string>> language_field(const json::object& body, std::string_view name) {
  auto value = net::optional_string(body, name, kLanguage);
  if (!value) return value.error();
  if (!*value) return std::optional<std::string>();
  auto code = translate::normalize_language_tag(**value);
  if (code.empty()) {
    return fail(Errc::validation_failed,
                "field '" + std::string(name) + "' must be a language code such as en or pt-BR");
  }
  return std::optional<std::string>(std::move(code));
}

asio::awaitable<Response> do_languages(const TranslationRoutesDeps& deps, RequestContext& ctx) {
  json::array pairs;
  for (const auto& [source, target] : deps.engines.embedded_pairs()) {
    pairs.push_back(json::object{{"source", source}, {"target", target}});
  }
  json::array engines{
      json::object{{"name", "apertium"}, {"pairs", std::move(pairs)}, {"pivots", true}}};
  if (deps.engines.cloud() != nullptr) {
    engines.push_back(json::object{{"name", deps.engines.cloud()->name()}, {"pairs", "any"}});
  }
  co_return ok_json(ctx, {{"engines", std::move(engines)}, {"detection", "cld2"}});
}

asio::awaitable<Response> do_detect(const TranslationRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto text = net::required_string(*body, "text", kText);
  if (!text) co_return fail_with(text.error(), ctx);
  auto hint = language_field(*body, "hint");
  if (!hint) co_return fail_with(hint.error(), ctx);
  // CLD2 takes ~100 us per sentence: not worth a hop to the worker pool.
  const auto found = deps.engines.detector().detect(*text, hint->value_or(""));
  co_return ok_json(ctx, {{"language", found.language},
                          {"confidence", found.confidence},
                          {"reliable", found.reliable},
                          {"from_hint", found.from_hint}});
}

asio::awaitable<Response> do_translate(const TranslationRoutesDeps& deps, RequestContext& ctx) {
  auto principal = co_await authenticate(deps.accounts, ctx);
  if (!principal) co_return fail_with(principal.error(), ctx);
  auto body = net::parse_json_object(ctx.request);
  if (!body) co_return fail_with(body.error(), ctx);
  auto text = net::required_string(*body, "text", kText);
  if (!text) co_return fail_with(text.error(), ctx);
  auto source = language_field(*body, "source");
  if (!source) co_return fail_with(source.error(), ctx);
  auto target = language_field(*body, "target");
  if (!target) co_return fail_with(target.error(), ctx);
  if (!*target)
    co_return fail_with(fail(Errc::validation_failed, "field 'target' is required"), ctx);
  std::string from = source->value_or("");
  bool detected = false;
  if (from.empty()) {
    const auto found = deps.engines.detector().detect(*text);
    if (found.language == "und") {
      co_return fail_with(fail(Errc::validation_failed,
                               "the language of the text could not be detected; give 'source'"),
                          ctx);
    }
    from = found.language;
    detected = true;
  }
  if (from == **target) {
    co_return fail_with(fail(Errc::validation_failed, "the text is already in '" + from + "'"),
                        ctx);
  }
  auto engine = deps.engines.translator_for(from, **target);
  if (!engine) co_return fail_with(engine.error(), ctx);
  auto job = [&translator = deps.translator, text = *text, from, to = **target,
              payer = principal->user_id]() -> Result<translate::Translation> {
    return translator.translate_text(text, from, to, payer);
  };
  auto done = co_await deps.workers.run(std::move(job));
  if (!done) co_return fail_with(done.error(), ctx, &deps.log);
  json::array via;
  for (const auto& language : done->via) via.emplace_back(language);
  co_return ok_json(ctx, {{"text", done->text},
                          {"source", done->source.empty() ? from : done->source},
                          {"source_detected", detected},
                          {"target", done->target.empty() ? **target : done->target},
                          {"engine", done->engine.empty() ? (*engine)->name() : done->engine},
                          {"via", std::move(via)}});
}

}  // namespace

void add_translation_routes(net::Router& router, const TranslationRoutesDeps& deps) {
  const TranslationRoutesDeps* d = &deps;
  const auto route = [&router, d](http::verb method, std::string path, auto handler) {
    router.add(method, std::move(path),
               [d, handler](RequestContext& ctx) { return handler(*d, ctx); });
  };
  route(http::verb::get, "/api/languages", do_languages);
  route(http::verb::post, "/api/detect-language", do_detect);
  route(http::verb::post, "/api/translate", do_translate);
}

}  // namespace parley::api
