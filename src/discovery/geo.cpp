#include "discovery/geo.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace parley::discovery {
namespace {

constexpr double kRadiansPerDegree = std::numbers::pi / 180.0;

// A 32-bit float has 24 bits of mantissa: coordinates of magnitude <= 1 are off by < 6e-8. The
// pad is well above that and well below any distance that matters (1e-6 of the radius: 6 m).
constexpr double kPad = 1e-6;

}  // namespace

UnitVector unit_vector(double latitude, double longitude) noexcept {
  const double lat = latitude * kRadiansPerDegree;
  const double lon = longitude * kRadiansPerDegree;
  return {std::cos(lat) * std::cos(lon), std::cos(lat) * std::sin(lon), std::sin(lat)};
}

double great_circle_km(double latitude1, double longitude1, double latitude2,
                       double longitude2) noexcept {
  const double lat1 = latitude1 * kRadiansPerDegree;
  const double lat2 = latitude2 * kRadiansPerDegree;
  const double half_dlat = (lat2 - lat1) / 2;
  const double half_dlon = (longitude2 - longitude1) * kRadiansPerDegree / 2;
  const double a = std::sin(half_dlat) * std::sin(half_dlat) +
                   std::cos(lat1) * std::cos(lat2) * std::sin(half_dlon) * std::sin(half_dlon);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(a)));
}

SearchBox search_box(double latitude, double longitude, double radius_km) noexcept {
  const auto center = unit_vector(latitude, longitude);
  // Two points an arc of angle t apart are a chord of 2 sin(t / 2) apart; past half the globe
  // every point qualifies, and the chord is at most the diameter.
  const double angle = std::min(radius_km / kEarthRadiusKm, std::numbers::pi);
  const double chord = 2 * std::sin(angle / 2) + kPad;
  return {{center.x - chord, center.y - chord, center.z - chord},
          {center.x + chord, center.y + chord, center.z + chord}};
}

}  // namespace parley::discovery
