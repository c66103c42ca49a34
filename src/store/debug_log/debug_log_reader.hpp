#pragma once
// Reading the debug_log table (the admin endpoint GET /api/admin/logs): filters and keyset
// pagination by id, newest first.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/log.hpp"
#include "store/database.hpp"

namespace parley::store {

/// A stored row.
struct DebugLogRow {
  std::int64_t id = 0;
  std::string level;
  std::optional<std::string> source;
  std::string message;
  std::optional<std::string> context;  ///< JSON text, as written
  std::optional<std::string> request_id;
  std::int64_t created_at = 0;
};

struct DebugLogQuery {
  std::optional<core::LogLevel> min_level{};  ///< this level and above
  std::optional<std::int64_t> since{};        ///< created_at >= since (unix ms)
  std::optional<std::int64_t> until{};        ///< created_at < until (unix ms)
  std::optional<std::string> request_id{};    ///< exact match
  std::optional<std::string> source{};        ///< exact match (the event name)
  std::optional<std::int64_t> before_id{};    ///< id < before_id: the next page
  std::size_t limit = 100;
};

/// BLOCKING. Rows matching every filter, newest (highest id) first, at most query.limit.
/// Errors: storage errors.
Result<std::vector<DebugLogRow>> read_debug_log(Database& database, const DebugLogQuery& query);

}  // namespace parley::store
