#include "discovery/nearby_rooms.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "discovery/geo.hpp"
#include "discovery/query_plan.hpp"

namespace parley::discovery {
namespace {

struct Candidate {
  std::int64_t id = 0;
  double distance_km = 0;
};

// Candidates inside the box, public rooms only. The box test is the index's; the distance test
// is exact and done by the caller.
std::string candidate_sql(store::Dialect dialect) {
  if (dialect == store::Dialect::sqlite) {
    return "SELECT c.id, c.latitude, c.longitude FROM chatroom_geo g "
           "JOIN chatrooms c ON c.id = g.id "
           "WHERE g.max_x >= $1 AND g.min_x <= $2 AND g.max_y >= $3 AND g.min_y <= $4 "
           "AND g.max_z >= $5 AND g.min_z <= $6 AND c.is_private = 0";
  }
  // The expression is the index's (migration 0009), so that the planner can use it.
  return "SELECT c.id, c.latitude, c.longitude FROM chatrooms c "
         "WHERE c.latitude IS NOT NULL AND c.is_private = 0 AND cube(ARRAY["
         "cos(radians(c.latitude)) * cos(radians(c.longitude)), "
         "cos(radians(c.latitude)) * sin(radians(c.longitude)), "
         "sin(radians(c.latitude))]) <@ cube(ARRAY[$1::float8, $3::float8, $5::float8], "
         "ARRAY[$2::float8, $4::float8, $6::float8])";
}

std::vector<store::Value> box_params(const NearbyQuery& query) {
  const auto box = search_box(query.latitude, query.longitude, query.radius_km);
  return {box.low.x, box.high.x, box.low.y, box.high.y, box.low.z, box.high.z};
}

Result<void> check(const NearbyQuery& query) {
  const auto finite = [](double v) { return std::isfinite(v); };
  if (!finite(query.latitude) || query.latitude < -90 || query.latitude > 90) {
    return fail(Errc::validation_failed, "lat must be from -90 to 90");
  }
  if (!finite(query.longitude) || query.longitude < -180 || query.longitude > 180) {
    return fail(Errc::validation_failed, "lon must be from -180 to 180");
  }
  if (!finite(query.radius_km) || query.radius_km <= 0 || query.radius_km > kMaxRadiusKm) {
    return fail(Errc::validation_failed, "radius_km must be above 0 and at most 1000");
  }
  if (query.limit < 1 || query.limit > kMaxNearbyPage) {
    return fail(Errc::validation_failed, "limit must be from 1 to 50");
  }
  return {};
}

// A cursor is "<distance in km, exactly>:<room id>"; %.17g round-trips a double.
std::string make_cursor(const Candidate& c) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g:%lld", c.distance_km, static_cast<long long>(c.id));
  return buffer;
}

Result<Candidate> parse_cursor(const std::string& text) {
  const auto bad = [] {
    return fail(Errc::validation_failed, "cursor is not one this server made");
  };
  const auto colon = text.find(':');
  if (colon == std::string::npos || text.size() > 64) return bad();
  Candidate c;
  char* end = nullptr;
  const std::string distance = text.substr(0, colon);
  c.distance_km = std::strtod(distance.c_str(), &end);
  if (distance.empty() || end != distance.c_str() + distance.size() ||
      !std::isfinite(c.distance_km)) {
    return bad();
  }
  const auto id_text = std::string_view(text).substr(colon + 1);
  auto [ptr, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), c.id);
  if (ec != std::errc{} || ptr != id_text.data() + id_text.size() || c.id <= 0) return bad();
  return c;
}

}  // namespace

Result<NearbyPage> NearbyRooms::find(const NearbyQuery& query) {
  if (auto ok = check(query); !ok) return ok.error();
  std::optional<Candidate> after;
  if (query.cursor) {
    auto parsed = parse_cursor(*query.cursor);
    if (!parsed) return parsed.error();
    after = *parsed;
  }
  std::vector<Candidate> within;
  {
    auto lease = database_.acquire();
    if (!lease) return lease.error();
    auto rows = (*lease)->query(candidate_sql((*lease)->dialect()), box_params(query));
    if (!rows) return rows.error();
    within.reserve(rows->size());
    for (const auto& row : *rows) {
      auto id = row.get<std::int64_t>(std::size_t{0});
      auto latitude = row.get<double>(std::size_t{1});
      auto longitude = row.get<double>(std::size_t{2});
      if (!id || !latitude || !longitude)
        return fail(Errc::internal, "a located room is unreadable");
      const double distance =
          great_circle_km(query.latitude, query.longitude, *latitude, *longitude);
      if (distance <= query.radius_km) within.push_back({*id, distance});
    }
  }
  const auto before = [](const Candidate& a, const Candidate& b) {
    return std::tie(a.distance_km, a.id) < std::tie(b.distance_km, b.id);
  };
  std::sort(within.begin(), within.end(), before);
  auto first = within.begin();
  if (after) first = std::upper_bound(within.begin(), within.end(), *after, before);
  const auto available = static_cast<std::size_t>(within.end() - first);
  const auto count = std::min(available, query.limit);

  std::vector<std::int64_t> ids;
  ids.reserve(count);
  for (auto it = first; it != first + static_cast<std::ptrdiff_t>(count); ++it)
    ids.push_back(it->id);
  auto rooms = rooms_.find_many(ids);
  if (!rooms) return rooms.error();

  NearbyPage page;
  for (auto it = first; it != first + static_cast<std::ptrdiff_t>(count); ++it) {
    auto room = std::find_if(rooms->begin(), rooms->end(),
                             [&](const chat::Chatroom& r) { return r.id == it->id; });
    if (room != rooms->end()) page.rooms.push_back({std::move(*room), it->distance_km});
  }
  if (available > count)
    page.next_cursor = make_cursor(*(first + static_cast<std::ptrdiff_t>(count) - 1));
  return page;
}

Result<std::string> NearbyRooms::plan(const NearbyQuery& query) {
  return query_plan(database_, candidate_sql(database_.dialect()), box_params(query));
}

}  // namespace parley::discovery
