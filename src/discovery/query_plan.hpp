#pragma once
// The database's plan for a query (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL), one line
// per row, with the query's own parameters: tests check that discovery queries use their index.

#include <span>
#include <string>

#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::discovery {

Result<std::string> query_plan(store::Database& database, const std::string& sql,
                               std::span<const store::Value> params);

}  // namespace parley::discovery
