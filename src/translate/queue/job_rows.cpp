#include "translate/queue/job_rows.hpp"

#include <optional>
#include <utility>

namespace parley::translate::detail {

namespace {

// Collects the first failing conversion, so that readers stay linear.
class RowReader {
 public:
  explicit RowReader(const store::Row& row) : row_(row) {}
  template <class T>
  T get(std::string_view column) {
    auto value = row_.get<T>(column);
    if (!value) {
      if (!error_) error_ = value.error();
      return T{};
    }
    return std::move(*value);
  }
  [[nodiscard]] const std::optional<Error>& error() const { return error_; }

 private:
  const store::Row& row_;
  std::optional<Error> error_;
};

void read_job(RowReader& r, Job& job) {
  job.id = r.get<std::int64_t>("id");
  job.message_id = r.get<std::optional<std::int64_t>>("message_id");
  job.room_id = r.get<std::optional<std::int64_t>>("room_id");
  job.text = r.get<std::string>("text");
  job.source = r.get<std::optional<std::string>>("source_language");
  job.target = r.get<std::string>("target_language");
  job.engine = r.get<std::optional<std::string>>("engine");
  job.attempts = r.get<int>("attempts");
  job.max_attempts = r.get<int>("max_attempts");
  job.created_at = r.get<std::int64_t>("created_at");
  job.lease_expires_at = r.get<std::optional<std::int64_t>>("lease_expires_at").value_or(0);
  job.request_id = r.get<std::optional<std::string>>("request_id");
}

std::optional<JobState> state_from(std::string_view name) {
  if (name == "queued") return JobState::queued;
  if (name == "running") return JobState::running;
  if (name == "done") return JobState::done;
  if (name == "dead") return JobState::dead;
  return std::nullopt;
}

}  // namespace

std::string join_via(const std::vector<std::string>& via) {
  std::string out;
  for (const auto& language : via) {
    if (!out.empty()) out += ',';
    out += language;
  }
  return out;
}

std::vector<std::string> split_via(std::string_view stored) {
  std::vector<std::string> out;
  while (!stored.empty()) {
    const auto comma = stored.find(',');
    auto part = stored.substr(0, comma);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    stored.remove_prefix(comma + 1);
  }
  return out;
}

Result<Job> job_from_row(const store::Row& row) {
  RowReader r(row);
  Job job;
  read_job(r, job);
  if (r.error()) return *r.error();
  return job;
}

Result<JobRecord> record_from_row(const store::Row& row) {
  RowReader r(row);
  JobRecord record;
  read_job(r, record.job);
  const auto state = state_from(r.get<std::string>("state"));
  record.run_after = r.get<std::int64_t>("run_after");
  record.lease_owner = r.get<std::optional<std::string>>("lease_owner");
  record.last_error = r.get<std::optional<std::string>>("last_error");
  record.last_error_code = r.get<std::optional<std::string>>("last_error_code");
  auto text = r.get<std::optional<std::string>>("result_text");
  auto source = r.get<std::optional<std::string>>("result_source");
  auto engine = r.get<std::optional<std::string>>("result_engine");
  auto via = r.get<std::optional<std::string>>("result_via");
  record.updated_at = r.get<std::int64_t>("updated_at");
  record.completed_at = r.get<std::optional<std::int64_t>>("completed_at");
  record.delivered_at = r.get<std::optional<std::int64_t>>("delivered_at");
  if (r.error()) return *r.error();
  if (!state) return fail(Errc::internal, "a translation job has an unknown state");
  record.state = *state;
  if (record.state == JobState::done && text) {
    Translation result;
    result.text = std::move(*text);
    result.source = source.value_or("");
    result.target = record.job.target;
    result.engine = engine.value_or("");
    result.via = split_via(via.value_or(""));
    record.result = std::move(result);
  }
  return record;
}

}  // namespace parley::translate::detail
