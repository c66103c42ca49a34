#include "events/event_errors.hpp"

namespace parley::events {

boost::json::object error_json(const Error& error) {
  boost::json::object out{{"code", to_code(error.code)}, {"message", error.message}};
  if (error.retry_after.count() > 0) out["retry_after_ms"] = error.retry_after.count();
  return out;
}

}  // namespace parley::events
