#include "net/http.hpp"

#include <boost/json/serialize.hpp>

namespace parley::net {

http::status status_for(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_request:
      return http::status::bad_request;
    case Errc::validation_failed:
      return http::status::unprocessable_entity;
    case Errc::unauthorized:
      return http::status::unauthorized;
    case Errc::forbidden:
      return http::status::forbidden;
    case Errc::not_found:
      return http::status::not_found;
    case Errc::conflict:
      return http::status::conflict;
    case Errc::payload_too_large:
      return http::status::payload_too_large;
    case Errc::unsupported_media_type:
      return http::status::unsupported_media_type;
    case Errc::rate_limited:
      return http::status::too_many_requests;
    case Errc::busy:
      return http::status::service_unavailable;
    case Errc::unavailable:
      return http::status::service_unavailable;
    case Errc::timeout:
      return http::status::gateway_timeout;
    case Errc::internal:
      return http::status::internal_server_error;
    case Errc::quota_exceeded:
      return http::status::payment_required;
    case Errc::unsupported:
      return http::status::unprocessable_entity;
  }
  return http::status::internal_server_error;
}

Response json_response(http::status status, const boost::json::value& body, unsigned version) {
  Response res{status, version};
  res.set(http::field::content_type, "application/json");
  res.body() = boost::json::serialize(body);
  res.prepare_payload();
  return res;
}

Response error_response(http::status status, std::string_view code, std::string_view message,
                        unsigned version) {
  boost::json::object error{{"code", code}, {"message", message}};
  return json_response(status, boost::json::object{{"error", std::move(error)}}, version);
}

Response error_response(const Error& error, std::string_view request_id, unsigned version) {
  const auto status = status_for(error.code);
  if (error.code == Errc::internal) {
    const std::string message =
        "internal error; quote request id " + std::string(request_id) + " when reporting it";
    return error_response(status, to_code(error.code), message, version);
  }
  auto res = error_response(status, to_code(error.code), error.message, version);
  if (error.retry_after.count() > 0) {
    // Whole seconds, rounded up: a client that waits exactly this long will be let in.
    const auto seconds = (error.retry_after.count() + 999) / 1000;
    res.set(http::field::retry_after, std::to_string(seconds));
  } else if (error.code == Errc::busy || error.code == Errc::unavailable ||
             error.code == Errc::rate_limited) {
    res.set(http::field::retry_after, "1");
  }
  return res;
}

}  // namespace parley::net
