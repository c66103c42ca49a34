#include "store/debug_log/debug_log_reader.hpp"

#include <utility>

namespace parley::store {

Result<std::vector<DebugLogRow>> read_debug_log(Database& database, const DebugLogQuery& query) {
  std::string sql =
      "SELECT id, level, source, message, context, request_id, created_at FROM debug_log";
  std::vector<Value> params;
  std::string where;
  const auto add = [&](std::string condition_prefix, Value value) {
    params.push_back(std::move(value));
    where += where.empty() ? " WHERE " : " AND ";
    where += condition_prefix + "$" + std::to_string(params.size());
  };
  if (query.min_level) {
    std::string condition = "level IN (";
    bool first = true;
    for (auto level : {core::LogLevel::debug, core::LogLevel::info, core::LogLevel::warning,
                       core::LogLevel::error}) {
      if (level < *query.min_level) continue;
      params.emplace_back(std::string(core::to_string(level)));
      condition += first ? "$" : ", $";
      condition += std::to_string(params.size());
      first = false;
    }
    where += where.empty() ? " WHERE " : " AND ";
    where += condition + ")";
  }
  if (query.since) add("created_at >= ", *query.since);
  if (query.until) add("created_at < ", *query.until);
  if (query.request_id) add("request_id = ", *query.request_id);
  if (query.source) add("source = ", *query.source);
  if (query.before_id) add("id < ", *query.before_id);
  sql += where;
  params.emplace_back(static_cast<std::int64_t>(query.limit));
  sql += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());

  auto lease = database.acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->query(sql, params);
  if (!rows) return rows.error();
  std::vector<DebugLogRow> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    DebugLogRow item;
    auto id = row.get<std::int64_t>("id");
    auto level = row.get<std::string>("level");
    auto source = row.get<std::optional<std::string>>("source");
    auto message = row.get<std::string>("message");
    auto context = row.get<std::optional<std::string>>("context");
    auto request_id = row.get<std::optional<std::string>>("request_id");
    auto created_at = row.get<std::int64_t>("created_at");
    if (!id) return id.error();
    if (!level) return level.error();
    if (!source) return source.error();
    if (!message) return message.error();
    if (!context) return context.error();
    if (!request_id) return request_id.error();
    if (!created_at) return created_at.error();
    item.id = *id;
    item.level = std::move(*level);
    item.source = std::move(*source);
    item.message = std::move(*message);
    item.context = std::move(*context);
    item.request_id = std::move(*request_id);
    item.created_at = *created_at;
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace parley::store
