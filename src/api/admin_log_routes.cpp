#include "api/admin_log_routes.hpp"

#include <boost/json/parse.hpp>
#include <charconv>
#include <limits>
#include <map>

#include "api/admin_access.hpp"
#include "api/replies.hpp"
#include "chat/text_rules.hpp"

namespace parley::api {

namespace asio = boost::asio;
namespace json = boost::json;
using net::RequestContext;
using net::Response;

namespace {

constexpr std::size_t kMaxLimit = 1000;
constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxTextFilter = 200;

// %-decoding of one query component ('+' is a space); nullopt for a bad escape.
std::optional<std::string> decode_component(std::string_view in) {
  std::string out;
  out.reserve(in.size());
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
}

Error bad(std::string_view name, std::string_view rule) {
  return fail(Errc::invalid_request,
              "query parameter '" + std::string(name) + "' " + std::string(rule));
}

Result<std::int64_t> integer(std::string_view name, const std::string& text, std::int64_t min,
                             std::int64_t max) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min ||
      value > max) {
    return bad(name,
               "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

json::object row_json(const store::DebugLogRow& row) {
  json::value context = nullptr;
  if (row.context) {
    boost::system::error_code ec;
    auto parsed = json::parse(*row.context, ec);
    context = ec ? json::value(*row.context) : std::move(parsed);
  }
  return json::object{
      {"id", row.id},
      {"level", row.level},
      {"source", row.source ? json::value(*row.source) : json::value(nullptr)},
      {"message", row.message},
      {"context", std::move(context)},
      {"request_id", row.request_id ? json::value(*row.request_id) : json::value(nullptr)},
      {"created_at", row.created_at}};
}

asio::awaitable<Response> do_read_logs(const AdminLogRoutesDeps& deps, RequestContext& ctx) {
  auto admin = co_await require_admin(deps.accounts, deps.admin_emails, ctx);
  if (!admin) co_return fail_with(admin.error(), ctx, &deps.log);
  auto query = parse_log_query(ctx.query);
  if (!query) co_return fail_with(query.error(), ctx);
  const std::size_t limit = query->limit;
  auto job = [&database = deps.database, query = std::move(*query)]() {
    return store::read_debug_log(database, query);
  };
  auto rows = co_await deps.workers.run(std::move(job));
  if (!rows) co_return fail_with(rows.error(), ctx, &deps.log);
  json::array logs;
  logs.reserve(rows->size());
  for (const auto& row : *rows) logs.emplace_back(row_json(row));
  // A full page may have more behind it: the client asks again with before_id.
  json::value next = nullptr;
  if (rows->size() == limit && !rows->empty()) next = rows->back().id;
  deps.log.info(
      "admin_logs_read",
      {{"request_id", ctx.request_id}, {"user_id", admin->user_id}, {"rows", rows->size()}});
  co_return ok_json(ctx, {{"logs", std::move(logs)}, {"next_before_id", std::move(next)}});
}

}  // namespace

Result<store::DebugLogQuery> parse_log_query(std::string_view query) {
  std::map<std::string, std::string, std::less<>> values;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = decode_component(pair.substr(0, eq));
    auto value =
        decode_component(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value || !chat::is_valid_utf8(*key) || !chat::is_valid_utf8(*value)) {
      return fail(Errc::invalid_request, "malformed query string");
    }
    if (!values.emplace(std::move(*key), std::move(*value)).second) {
      return bad(pair.substr(0, eq), "is given more than once");
    }
  }
  store::DebugLogQuery out;
  out.limit = kDefaultLimit;
  for (const auto& [name, value] : values) {
    if (name == "level") {
      auto level = core::parse_log_level(value);
      if (!level) return bad(name, "must be one of debug, info, warning, error");
      out.min_level = *level;
    } else if (name == "since" || name == "until") {
      auto ms = integer(name, value, 0, std::int64_t{1} << 52);
      if (!ms) return ms.error();
      (name == "since" ? out.since : out.until) = *ms;
    } else if (name == "request_id" || name == "source") {
      if (value.empty() || value.size() > kMaxTextFilter) {
        return bad(name, "must be 1 to " + std::to_string(kMaxTextFilter) + " bytes");
      }
      (name == "source" ? out.source : out.request_id) = value;
    } else if (name == "limit") {
      auto limit = integer(name, value, 1, kMaxLimit);
      if (!limit) return limit.error();
      out.limit = static_cast<std::size_t>(*limit);
    } else if (name == "before_id") {
      auto id = integer(name, value, 1, std::numeric_limits<std::int64_t>::max());
      if (!id) return id.error();
      out.before_id = *id;
    } else {
      return fail(Errc::invalid_request,
                  "unknown query parameter '" + name.substr(0, 40) +
                      "' (known: level, since, until, request_id, source, limit, before_id)");
    }
  }
  if (out.since && out.until && *out.since >= *out.until) {
    return fail(Errc::invalid_request, "query parameter 'since' must be before 'until'");
  }
  return out;
}

void add_admin_log_routes(net::Router& router, const AdminLogRoutesDeps& deps) {
  // `deps` is owned by the composition root and outlives the server.
  router.add(net::http::verb::get, "/api/admin/logs",
             [&deps](RequestContext& ctx) { return do_read_logs(deps, ctx); },
             {.requires_bearer = true});
}

}  // namespace parley::api
