#include "discovery/query_plan.hpp"

namespace parley::discovery {

Result<std::string> query_plan(store::Database& database, const std::string& sql,
                               std::span<const store::Value> params) {
  auto lease = database.acquire();
  if (!lease) return lease.error();
  const bool sqlite = (*lease)->dialect() == store::Dialect::sqlite;
  auto rows = (*lease)->query((sqlite ? "EXPLAIN QUERY PLAN " : "EXPLAIN ") + sql, params);
  if (!rows) return rows.error();
  std::string out;
  for (const auto& row : *rows) {
    // SQLite: (id, parent, notused, detail); PostgreSQL: one "QUERY PLAN" column.
    auto line = row.get<std::string>(sqlite ? std::size_t{3} : std::size_t{0});
    if (line) out += *line + "\n";
  }
  return out;
}

}  // namespace parley::discovery
