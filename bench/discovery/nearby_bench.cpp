// Nearby-query latency at 100k located rooms, on SQLite (a WAL file) and PostgreSQL, side by
// side in one run, next to a full scan of the same rooms (what the query costs without the
// spatial index). Rooms: 70% around 200 "cities" (a few km across), 30% anywhere; 1 in 7
// private. Queries: at a random city or anywhere, radius 2, 10, 50 and 250 km.
//
//   parley-discovery-bench [--rooms N] [--queries N] [--postgres URL]
// Prints one line per database, radius and method: p50, p95 and mean latency in ms, and the
// mean number of rooms found.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "auth/password_hasher.hpp"
#include "chat/chatroom_service.hpp"
#include "core/clock.hpp"
#include "discovery/geo.hpp"
#include "discovery/nearby_rooms.hpp"
#include "store/database.hpp"
#include "store/migrations/migrator.hpp"

namespace {

using namespace parley;
using Clock = std::chrono::steady_clock;

struct Point {
  double latitude, longitude;
};

struct Figures {
  double p50, p95, mean, found;
};

Figures summarize(std::vector<double> ms, double found) {
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  return {ms[ms.size() / 2], ms[ms.size() * 95 / 100], sum / ms.size(), found};
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "parley-discovery-bench: %s\n", what.c_str());
  std::exit(1);
}

void fill(store::Database& db, std::size_t rooms, const std::vector<Point>& cities) {
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> unit(0, 1);
  auto lease = db.acquire();
  if (!lease) die(lease.error().message);
  auto tx = store::Transaction::begin(**lease);
  if (!tx) die(tx.error().message);
  for (std::size_t i = 0; i < rooms; ++i) {
    Point p;
    if (unit(random) < 0.7) {
      const auto& city =
          cities[static_cast<std::size_t>(unit(random) * cities.size()) % cities.size()];
      p = {std::clamp(city.latitude + (unit(random) - 0.5) * 0.1, -90.0, 90.0),
           std::clamp(city.longitude + (unit(random) - 0.5) * 0.1, -180.0, 180.0)};
    } else {
      p = {std::asin(2 * unit(random) - 1) * 180 / std::numbers::pi, unit(random) * 360 - 180};
    }
    auto ok = (*lease)->execute(
        "INSERT INTO chatrooms (name, is_private, latitude, longitude, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, 0, 0)",
        {std::string("room ") + std::to_string(i), std::int64_t{i % 7 == 0 ? 1 : 0}, p.latitude,
         p.longitude});
    if (!ok) die(ok.error().message);
  }
  if (auto done = tx->commit(); !done) die(done.error().message);
  if (db.dialect() == store::Dialect::postgres) {
    if (auto ok = (*lease)->execute("ANALYZE chatrooms"); !ok) die(ok.error().message);
  }
}

// What the query would cost without the index: every located public room read and measured.
std::size_t full_scan(store::Database& db, const Point& at, double radius_km) {
  auto lease = db.acquire();
  auto rows = (*lease)->query(
      "SELECT id, latitude, longitude FROM chatrooms WHERE latitude IS NOT NULL AND is_private = "
      "0");
  if (!rows) die(rows.error().message);
  std::size_t found = 0;
  for (const auto& row : *rows) {
    if (discovery::great_circle_km(at.latitude, at.longitude, *row.get<double>(std::size_t{1}),
                                   *row.get<double>(std::size_t{2})) <= radius_km) {
      ++found;
    }
  }
  return found;
}

void run(const std::string& label, const std::string& url, std::size_t rooms, std::size_t queries) {
  store::DatabaseOptions options;
  options.pool_size = 2;
  auto db = store::open_database(url, options);
  if (!db) die(db.error().message);
  if (auto migrated = store::migrate(**db); !migrated) die(migrated.error().message);
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<Point> cities;
  for (int i = 0; i < 200; ++i)
    cities.push_back(
        {std::asin(1.6 * unit(random) - 0.8) * 180 / std::numbers::pi, unit(random) * 360 - 180});
  const auto filled_at = Clock::now();
  fill(**db, rooms, cities);
  std::printf("%-10s %zu rooms inserted in %.1f s\n", label.c_str(), rooms,
              std::chrono::duration<double>(Clock::now() - filled_at).count());

  core::SystemClock clock;
  auth::PasswordHasherOptions hashing;
  hashing.cost = 4;  // no room here has a password; the service just needs a hasher
  auto hasher = auth::PasswordHasher::insecure_for_tests(hashing);
  chat::ChatroomService service(**db, hasher, clock);
  discovery::NearbyRooms nearby(**db, service);
  for (double radius : {2.0, 10.0, 50.0, 250.0}) {
    std::vector<double> indexed, scanned;
    double found = 0, scan_found = 0;
    for (std::size_t q = 0; q < queries; ++q) {
      const Point at =
          unit(random) < 0.7
              ? cities[static_cast<std::size_t>(unit(random) * cities.size()) % cities.size()]
              : Point{std::asin(2 * unit(random) - 1) * 180 / std::numbers::pi,
                      unit(random) * 360 - 180};
      auto started = Clock::now();
      auto page = nearby.find({at.latitude, at.longitude, radius, 50, std::nullopt});
      indexed.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
      if (!page) die(page.error().message);
      found += static_cast<double>(page->rooms.size());
      if (q % 10 == 0) {  // the scan is slow: a tenth of the queries
        started = Clock::now();
        scan_found += static_cast<double>(full_scan(**db, at, radius));
        scanned.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - started).count());
      }
    }
    const auto a = summarize(indexed, found / queries);
    const auto b = summarize(scanned, scan_found / scanned.size());
    std::printf(
        "%-10s radius %6.0f km  index: p50 %7.3f ms  p95 %7.3f ms  mean %7.3f ms  rooms/page %6.1f"
        "   full scan: p50 %8.2f ms  (rooms within %.1f)\n",
        label.c_str(), radius, a.p50, a.p95, a.mean, a.found, b.p50, b.found);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t rooms = 100000, queries = 400;
  std::string postgres;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rooms")
      rooms = std::strtoul(argv[i + 1], nullptr, 10);
    else if (flag == "--queries")
      queries = std::strtoul(argv[i + 1], nullptr, 10);
    else if (flag == "--postgres")
      postgres = argv[i + 1];
    else
      die("unknown flag " + flag);
  }
  const auto folder = std::filesystem::temp_directory_path() /
                      ("parley-discovery-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);
  run("sqlite", "sqlite:///" + (folder / "bench.db").string(), rooms, queries);
  std::filesystem::remove_all(folder);
  if (!postgres.empty()) run("postgresql", postgres, rooms, queries);
  return 0;
}
