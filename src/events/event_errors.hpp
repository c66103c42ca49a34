#pragma once
// The error object of every Socket.IO reply and error event: `{"code","message"}` (plus
// `retry_after_ms` when trying again later makes sense), as in the HTTP API's error bodies.

#include <boost/json/object.hpp>

#include "core/error.hpp"

namespace parley::events {

boost::json::object error_json(const Error& error);

}  // namespace parley::events
