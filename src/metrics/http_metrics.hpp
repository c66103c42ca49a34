#pragma once
// HTTP server metrics, fed by HttpServer as its net::RequestObserver:
//   parley_http_requests_total{route,method,status}   route = the router's pattern, or "unmatched"
//   parley_http_request_duration_seconds{route}       latency histogram
//   parley_http_requests_in_flight
// Label values come only from the route table, a fixed list of methods and the status code, so
// the number of series stays bounded whatever clients send.

#include <array>
#include <atomic>
#include <memory>
#include <vector>

#include "metrics/registry.hpp"
#include "net/http_server.hpp"
#include "net/router.hpp"

namespace parley::metrics {

class HttpMetrics final : public net::RequestObserver {
 public:
  /// Call once every route is registered: each route's series are prepared here, so a request
  /// costs a few atomic operations and no lookup. `router` must outlive this object.
  HttpMetrics(Registry& registry, const net::Router& router);
  ~HttpMetrics() override;

  void request_started() noexcept override;
  void request_ended(const net::Router::Route* route, net::http::verb method, unsigned status,
                     std::chrono::steady_clock::duration elapsed) noexcept override;

  /// "GET", "POST", ... for the usual verbs, "OTHER" for the rest.
  static std::string_view method_label(net::http::verb method) noexcept;

  struct Slot;

 private:
  Counter& requests(Slot& slot, std::string_view method, unsigned status) noexcept;

  const net::Router& router_;
  Family<Counter>& requests_;
  Family<Histogram>& duration_;
  Gauge& in_flight_;
  std::vector<std::unique_ptr<Slot>> routes_;     // one per router route, same order
  std::vector<std::unique_ptr<Slot>> unmatched_;  // one per method label
};

}  // namespace parley::metrics
