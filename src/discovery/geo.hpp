#pragma once
// Points on the Earth for "rooms near me": great-circle distances, and the unit vector of a
// point, which both databases index. In three dimensions a search area is an ordinary box, so
// neither the antimeridian nor the poles need a special case.

namespace parley::discovery {

/// Mean Earth radius (IUGG), the sphere every distance in Parley is measured on.
inline constexpr double kEarthRadiusKm = 6371.0088;

/// Half of the Earth's circumference: no two points are farther apart.
inline constexpr double kMaxDistanceKm = 20015.1;

struct UnitVector {
  double x = 0;
  double y = 0;
  double z = 0;
};

/// The point on the unit sphere: x towards (0°, 0°), y towards (0°, 90°E), z towards the North
/// Pole. The databases compute the same expression for stored rooms.
UnitVector unit_vector(double latitude, double longitude) noexcept;

/// Great-circle distance in km (haversine, numerically stable for short and antipodal spans).
double great_circle_km(double latitude1, double longitude1, double latitude2,
                       double longitude2) noexcept;

/// An axis-aligned box around a point that holds every point within `radius_km` of it (the
/// chord of that arc on each side, padded for rounding: the R*Tree stores 32-bit floats).
struct SearchBox {
  UnitVector low;
  UnitVector high;
};
SearchBox search_box(double latitude, double longitude, double radius_km) noexcept;

}  // namespace parley::discovery
