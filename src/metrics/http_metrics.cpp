#include "metrics/http_metrics.hpp"

#include <string>

namespace parley::metrics {

namespace http = net::http;

namespace {

// Status codes are cached per route in a small table: code c maps to ((c / 100) - 1) * 32 +
// c % 100 when c % 100 < 32, which holds every status this server sends; others take the
// family's lock each time.
constexpr std::size_t kStatusSlots = 5 * 32;

std::optional<std::size_t> status_slot(unsigned status) {
  if (status < 100 || status > 599 || status % 100 >= 32) return std::nullopt;
  return (status / 100 - 1) * 32 + status % 100;
}

constexpr std::array<std::string_view, 8> kMethods = {"GET",    "HEAD",    "POST",  "PUT",
                                                      "DELETE", "OPTIONS", "PATCH", "OTHER"};

std::size_t method_index(std::string_view label) {
  for (std::size_t i = 0; i < kMethods.size(); ++i) {
    if (kMethods[i] == label) return i;
  }
  return kMethods.size() - 1;
}

}  // namespace

struct HttpMetrics::Slot {
  std::string route;
  std::string method;  // the method whose counters the table caches
  Histogram* duration = nullptr;
  std::array<std::atomic<Counter*>, kStatusSlots> by_status{};
};

HttpMetrics::HttpMetrics(Registry& registry, const net::Router& router)
    : router_(router),
      requests_(registry.counter_family("parley_http_requests_total",
                                        "HTTP requests by route pattern, method and status.",
                                        {"route", "method", "status"})),
      duration_(registry.histogram_family(
          "parley_http_request_duration_seconds",
          "Time from a request's header to its response written, by route pattern.", {"route"},
          latency_buckets())),
      in_flight_(registry.gauge("parley_http_requests_in_flight",
                                "HTTP requests being read, handled or answered.")) {
  for (const auto& route : router.routes()) {
    auto slot = std::make_unique<Slot>();
    slot->route = route.pattern;
    slot->method = std::string(method_label(route.method));
    slot->duration = &duration_.with({route.pattern});
    routes_.push_back(std::move(slot));
  }
  auto& unmatched_duration = duration_.with({"unmatched"});
  for (auto method : kMethods) {
    auto slot = std::make_unique<Slot>();
    slot->route = "unmatched";
    slot->method = std::string(method);
    slot->duration = &unmatched_duration;
    unmatched_.push_back(std::move(slot));
  }
}

HttpMetrics::~HttpMetrics() = default;

std::string_view HttpMetrics::method_label(http::verb method) noexcept {
  switch (method) {
    case http::verb::get:
      return "GET";
    case http::verb::head:
      return "HEAD";
    case http::verb::post:
      return "POST";
    case http::verb::put:
      return "PUT";
    case http::verb::delete_:
      return "DELETE";
    case http::verb::options:
      return "OPTIONS";
    case http::verb::patch:
      return "PATCH";
    default:
      return "OTHER";
  }
}

void HttpMetrics::request_started() noexcept { in_flight_.add(1); }

Counter& HttpMetrics::requests(Slot& slot, std::string_view method, unsigned status) noexcept {
  const auto index = status_slot(status);
  const bool cacheable = index.has_value() && method == slot.method;
  if (cacheable) {
    if (auto* cached = slot.by_status[*index].load(std::memory_order_acquire)) return *cached;
  }
  // First request with this status (or an uncached combination): the family's lock. The
  // family returns the same child to every thread, so racing stores store the same pointer.
  auto& counter = requests_.with({slot.route, method, std::to_string(status)});
  if (cacheable) slot.by_status[*index].store(&counter, std::memory_order_release);
  return counter;
}

void HttpMetrics::request_ended(const net::Router::Route* route, http::verb method, unsigned status,
                                std::chrono::steady_clock::duration elapsed) noexcept {
  in_flight_.sub(1);
  const auto label = method_label(method);
  Slot* slot = nullptr;
  const auto& table = router_.routes();
  if (route != nullptr && !table.empty() && route >= table.data() &&
      route < table.data() + table.size()) {
    const auto index = static_cast<std::size_t>(route - table.data());
    if (index < routes_.size()) slot = routes_[index].get();
  }
  if (slot == nullptr && route != nullptr) {
    // A route registered after this object was made: counted through the families' locks.
    try {
      requests_.with({route->pattern, std::string(label), std::to_string(status)}).inc();
      duration_.with({route->pattern}).observe(std::chrono::duration<double>(elapsed).count());
    } catch (...) {
    }
    return;
  }
  if (slot == nullptr) slot = unmatched_[method_index(label)].get();
  try {
    requests(*slot, label, status).inc();
  } catch (...) {
    // Allocation failure in the slow path: the request goes uncounted rather than the
    // connection failing.
  }
  slot->duration->observe(std::chrono::duration<double>(elapsed).count());
}

}  // namespace parley::metrics
