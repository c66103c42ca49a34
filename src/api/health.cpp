#include "api/health.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace parley::api {

namespace asio = boost::asio;
namespace http = net::http;
using namespace std::chrono_literals;

namespace {

// A readiness probe must answer quickly even when the database hangs.
constexpr auto kReadinessDeadline = 2s;

asio::awaitable<net::Response> readiness(HealthDeps deps, unsigned version) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, kReadinessDeadline);
  auto ping = deps.workers.run([&database = deps.database]() -> Result<bool> {
    auto ok = database.ping();
    if (!ok) return ok.error();
    return true;
  });
  auto outcome = co_await (std::move(ping) || timer.async_wait(net::use_nothrow));
  boost::json::object checks;
  bool ready = false;
  if (outcome.index() == 0) {
    const auto& result = std::get<0>(outcome);
    ready = result.has_value();
    checks["database"] = ready ? "ok" : std::string(to_code(result.error().code));
  } else {
    checks["database"] = "timeout";
  }
  if (deps.cluster != nullptr) {
    const bool connected = deps.cluster->healthy();
    checks["redis"] = connected ? "ok" : "unavailable";
    ready = ready && connected;
  }
  co_return net::json_response(ready ? http::status::ok : http::status::service_unavailable,
                               {{"status", ready ? "ready" : "not_ready"}, {"checks", checks}},
                               version);
}

}  // namespace

void add_health_routes(net::Router& router, HealthDeps deps) {
  router.add(
      http::verb::get, "/healthz", [](net::RequestContext& ctx) -> asio::awaitable<net::Response> {
        co_return net::json_response(http::status::ok, {{"status", "ok"}}, ctx.request.version());
      });
  router.add(http::verb::get, "/readyz",
             [deps](net::RequestContext& ctx) { return readiness(deps, ctx.request.version()); });
}

}  // namespace parley::api
