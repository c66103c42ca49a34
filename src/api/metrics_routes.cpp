#include "api/metrics_routes.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <optional>

#include "api/admin_access.hpp"
#include "api/replies.hpp"
#include "core/digest.hpp"
#include "metrics/sampler.hpp"
#include "metrics/usage_stats.hpp"

namespace parley::api {

namespace asio = boost::asio;
namespace http = net::http;
namespace json = boost::json;

namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::size_t kMaxSeriesRows = 10'000;
constexpr std::size_t kMaxSeriesName = 200;

bool valid_series_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxSeriesName) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

asio::awaitable<net::Response> scrape(const MetricsRoutesDeps& deps, net::RequestContext& ctx) {
  const unsigned version = ctx.request.version();
  if (!deps.metrics_token.empty()) {
    if (!bearer_matches(ctx.request[http::field::authorization], deps.metrics_token)) {
      deps.log.warning("metrics_scrape_refused", {{"request_id", ctx.request_id},
                                                  {"remote", ctx.remote_address.to_string()},
                                                  {"reason", "token"}});
      auto res = net::error_response(http::status::unauthorized, "unauthorized",
                                     "a valid metrics token is required", version);
      res.set(http::field::www_authenticate, "Bearer");
      co_return res;
    }
  } else if (!is_local_scrape(ctx)) {
    deps.log.warning("metrics_scrape_refused", {{"request_id", ctx.request_id},
                                                {"remote", ctx.remote_address.to_string()},
                                                {"reason", "not_loopback"}});
    co_return net::error_response(http::status::forbidden, "forbidden",
                                  "metrics are served to local clients only", version);
  }
  // Callbacks may read the database (queue depth): render on a worker.
  auto job = [&registry = deps.registry]() -> Result<std::string> { return registry.render(); };
  auto text = co_await deps.workers.run(std::move(job));
  if (!text) co_return fail_with(text.error(), ctx, &deps.log);
  net::Response res{http::status::ok, version};
  res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(*text);
  res.prepare_payload();
  co_return res;
}

asio::awaitable<net::Response> admin_metrics(const MetricsRoutesDeps& deps,
                                             net::RequestContext& ctx) {
  auto admin = co_await require_admin(deps.accounts, deps.admin_emails, ctx);
  if (!admin) co_return fail_with(admin.error(), ctx, &deps.log);
  auto query = parse_admin_metrics_query(ctx.query);
  if (!query) co_return fail_with(query.error(), ctx);
  const auto now = deps.clock.now_ms();
  const auto since = query->since >= 0 ? query->since : now - kDayMs;

  struct Read {
    metrics::UsageStats usage;
    std::vector<metrics::StoredPoint> points;
  };
  auto job = [&database = deps.database, now, since, series = query->series]() -> Result<Read> {
    Read out;
    auto usage = metrics::read_usage_stats(database, now);
    if (!usage) return usage.error();
    out.usage = *usage;
    if (!series.empty()) {
      auto points = metrics::read_series(database, series, since, kMaxSeriesRows + 1);
      if (!points) return points.error();
      out.points = std::move(*points);
    }
    return out;
  };
  auto read = co_await deps.workers.run(std::move(job));
  if (!read) co_return fail_with(read.error(), ctx, &deps.log);

  const LiveUsage live = deps.live ? deps.live() : LiveUsage{};
  const auto& usage = read->usage;
  json::object body{
      {"generated_at", now},
      {"active_users",
       {{"last_24h", usage.active_users_24h},
        {"last_7d", usage.active_users_7d},
        {"connections_now", live.connections}}},
      {"messages", {{"total", usage.messages_total}, {"last_24h", usage.messages_24h}}},
      {"speech",
       {{"minutes_total", usage.speech_seconds_total / 60.0},
        {"minutes_last_7d", usage.speech_seconds_7d / 60.0},
        {"minutes_since_start", live.speech_seconds / 60.0}}},
      {"translation",
       {{"characters_total", usage.translated_characters_total},
        {"characters_last_7d", usage.translated_characters_7d},
        {"characters_since_start", live.translated_characters}}},
  };
  if (!query->series.empty()) {
    const bool truncated = read->points.size() > kMaxSeriesRows;
    if (truncated) read->points.resize(kMaxSeriesRows);
    json::array points;
    points.reserve(read->points.size());
    for (const auto& point : read->points) {
      json::value labels = json::object{};
      boost::system::error_code ec;
      auto parsed = json::parse(point.labels, ec);
      if (!ec && parsed.is_object()) labels = std::move(parsed);
      points.push_back(json::object{
          {"labels", labels}, {"value", point.value}, {"recorded_at", point.recorded_at}});
    }
    body["series"] = json::object{{"name", query->series},
                                  {"since", since},
                                  {"points", std::move(points)},
                                  {"truncated", truncated}};
  }
  deps.log.info("admin_metrics_read",
                {{"request_id", ctx.request_id}, {"user_id", admin->user_id}});
  co_return ok_json(ctx, body);
}

}  // namespace

bool is_local_scrape(const net::RequestContext& ctx) {
  const auto& address = ctx.remote_address;
  bool loopback = address.is_loopback();
  if (!loopback && address.is_v6() && address.to_v6().is_v4_mapped()) {
    loopback =
        boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).is_loopback();
  }
  if (!loopback) return false;
  // A local reverse proxy makes every client look local: it says so in these headers.
  for (const auto* header : {"Forwarded", "X-Forwarded-For", "X-Real-IP"}) {
    if (ctx.request.count(header) != 0) return false;
  }
  return true;
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  if (token.empty() || authorization.size() <= 7 ||
      !boost::beast::iequals(authorization.substr(0, 7), "Bearer ")) {
    return false;
  }
  // Digests of equal length: the comparison reveals neither the token's bytes nor its length.
  return core::constant_time_equal(core::as_chars(core::sha256(authorization.substr(7))),
                                   core::as_chars(core::sha256(token)));
}

Result<AdminMetricsQuery> parse_admin_metrics_query(std::string_view query) {
  // application/x-www-form-urlencoded: '+' is a space, %XX a byte.
  const auto decode = [](std::string_view in) -> std::optional<std::string> {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        out += ' ';
      } else if (in[i] == '%') {
        unsigned value = 0;
        if (i + 2 >= in.size()) return std::nullopt;
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
  AdminMetricsQuery out;
  bool seen_series = false;
  bool seen_since = false;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = decode(pair.substr(0, eq));
    auto value = decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) return fail(Errc::invalid_request, "malformed query string");
    if (*key == "series") {
      if (seen_series) return fail(Errc::invalid_request, "'series' is given more than once");
      seen_series = true;
      if (!valid_series_name(*value)) {
        return fail(Errc::invalid_request, "'series' must be a metric name");
      }
      out.series = std::move(*value);
    } else if (*key == "since") {
      if (seen_since) return fail(Errc::invalid_request, "'since' is given more than once");
      seen_since = true;
      std::int64_t ms = 0;
      const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), ms);
      if (ec != std::errc() || end != value->data() + value->size() || ms < 0 ||
          ms > (std::int64_t{1} << 52)) {
        return fail(Errc::invalid_request, "'since' must be a time in unix milliseconds");
      }
      out.since = ms;
    } else {
      // Only metric-name characters are echoed: the key came from the client.
      return fail(Errc::invalid_request, valid_series_name(*key)
                                             ? "unknown query parameter '" + *key + "'"
                                             : std::string("unknown query parameter"));
    }
  }
  return out;
}

void add_metrics_routes(net::Router& router, const MetricsRoutesDeps& deps) {
  router.add(http::verb::get, "/metrics",
             [&deps](net::RequestContext& ctx) { return scrape(deps, ctx); });
  router.add(http::verb::get, "/api/admin/metrics",
             [&deps](net::RequestContext& ctx) { return admin_metrics(deps, ctx); });
}

}  // namespace parley::api
