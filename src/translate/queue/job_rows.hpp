#pragma once
// Internal to the queue module: reading translation_jobs rows and the pivot-language column.

#include <string>
#include <string_view>
#include <vector>

#include "store/value.hpp"
#include "translate/queue/translation_queue.hpp"

namespace parley::translate::detail {

/// What claim() returns for a job.
inline constexpr std::string_view kJobColumns =
    "id, message_id, room_id, text, source_language, target_language, engine, attempts, "
    "max_attempts, created_at, lease_expires_at, request_id";

/// Everything, for find() and undelivered().
inline constexpr std::string_view kRecordColumns =
    "id, message_id, room_id, text, source_language, target_language, engine, attempts, "
    "max_attempts, created_at, lease_expires_at, request_id, state, run_after, lease_owner, "
    "last_error, last_error_code, result_text, result_source, result_engine, result_via, "
    "updated_at, completed_at, delivered_at";

/// Pivot languages as stored: comma-separated, "" for none.
std::string join_via(const std::vector<std::string>& via);
std::vector<std::string> split_via(std::string_view stored);

Result<Job> job_from_row(const store::Row& row);
Result<JobRecord> record_from_row(const store::Row& row);

}  // namespace parley::translate::detail
