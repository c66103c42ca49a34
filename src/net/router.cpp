#include "net/router.hpp"

#include <algorithm>
#include <stdexcept>

namespace parley::net {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    const auto end = path.find('/', pos);
    parts.push_back(
        path.substr(pos, end == std::string_view::npos ? path.size() - pos : end - pos));
    if (end == std::string_view::npos) break;
    pos = end;
  }
  return parts;
}

bool is_capture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::add(http::verb method, std::string pattern, Handler handler, RouteOptions options) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + pattern);
  }
  Route route{method, pattern, {}, std::move(handler), options};
  for (auto part : split_path(pattern)) {
    if (part.find_first_of("{}") != std::string_view::npos && !is_capture(part)) {
      throw std::invalid_argument("malformed capture in route pattern: " + pattern);
    }
    route.segments.emplace_back(part);
  }
  // Two patterns that differ only in capture names match the same paths: a duplicate.
  const auto same_shape = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
      return x == y || (is_capture(x) && is_capture(y));
    });
  };
  for (const auto& existing : routes_) {
    if (existing.method == method && same_shape(existing.segments, route.segments)) {
      throw std::invalid_argument("duplicate route: " + pattern);
    }
  }
  routes_.push_back(std::move(route));
}

bool Router::matches(const Route& route, const std::vector<std::string_view>& parts,
                     PathParams* params) {
  if (route.segments.size() != parts.size()) return false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& segment = route.segments[i];
    if (is_capture(segment)) continue;
    if (segment != parts[i]) return false;
  }
  if (params != nullptr) {
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const std::string_view segment = route.segments[i];
      if (is_capture(segment)) {
        params->add(segment.substr(1, segment.size() - 2), std::string(parts[i]));
      }
    }
  }
  return true;
}

Router::Lookup Router::find(http::verb method, std::string_view path) const {
  const auto parts = split_path(path);
  const http::verb wanted = method == http::verb::head ? http::verb::get : method;
  bool path_known = false;
  // Literal segments beat captures: "/api/chatrooms/nearby" before "/api/chatrooms/{id}".
  const Route* best = nullptr;
  std::size_t best_literals = 0;
  for (const auto& route : routes_) {
    if (!matches(route, parts, nullptr)) continue;
    path_known = true;
    if (route.method != wanted) continue;
    const auto literals =
        static_cast<std::size_t>(std::count_if(route.segments.begin(), route.segments.end(),
                                               [](const auto& s) { return !is_capture(s); }));
    if (best == nullptr || literals > best_literals) {
      best = &route;
      best_literals = literals;
    }
  }
  if (best != nullptr) {
    Match match{best, {}};
    matches(*best, parts, &match.params);
    return match;
  }
  if (path_known) return MethodNotAllowed{allowed_methods(path)};
  return NotFound{};
}

std::string Router::allowed_methods(std::string_view path) const {
  const auto parts = split_path(path);
  std::vector<std::string> names;
  for (const auto& route : routes_) {
    if (!matches(route, parts, nullptr)) continue;
    names.emplace_back(http::to_string(route.method));
    if (route.method == http::verb::get) names.emplace_back("HEAD");
  }
  if (names.empty()) return {};
  names.emplace_back("OPTIONS");
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace parley::net
