#pragma once
// "Rooms near me": public rooms within a radius of a point, nearest first, paged. The database's
// spatial index (SQLite R*Tree, PostgreSQL cube GiST; migration 0009) finds the candidates in a
// box around the point on the unit sphere; exact great-circle distances decide and order them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chat/chatroom.hpp"
#include "chat/chatroom_service.hpp"
#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::discovery {

/// Largest radius a query may ask for: "near" stays local, and a query's cost stays bounded by
/// the rooms of one region rather than of the world.
inline constexpr double kMaxRadiusKm = 1000;
inline constexpr std::size_t kMaxNearbyPage = 50;

struct NearbyQuery {
  double latitude = 0;
  double longitude = 0;
  double radius_km = 10;
  std::size_t limit = 20;
  /// From the previous page's `next_cursor`: rooms strictly after it in (distance, id) order.
  std::optional<std::string> cursor;
};

struct NearbyRoom {
  chat::Chatroom room;
  double distance_km = 0;
};

struct NearbyPage {
  std::vector<NearbyRoom> rooms;
  std::optional<std::string> next_cursor;  ///< set when more rooms are within the radius
};

class NearbyRooms {
 public:
  NearbyRooms(store::Database& database, chat::ChatroomService& rooms)
      : database_(database), rooms_(rooms) {}

  /// Errors: validation_failed (coordinates out of range, radius not in (0, kMaxRadiusKm],
  /// limit not in 1..kMaxNearbyPage, a malformed cursor); storage errors.
  Result<NearbyPage> find(const NearbyQuery& query);

  /// The database's plan for the candidate query (EXPLAIN [QUERY PLAN]), one line per row: tests
  /// check that it uses the spatial index.
  Result<std::string> plan(const NearbyQuery& query);

 private:
  store::Database& database_;
  chat::ChatroomService& rooms_;
};

}  // namespace parley::discovery
