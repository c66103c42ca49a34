#pragma once
// Small helpers for API tests: JSON requests with or without a bearer token.

#include <boost/json.hpp>
#include <string>

#include "support/http_client.hpp"

namespace parley::testing {

inline Reply post_json(std::uint16_t port, const std::string& path, const boost::json::value& body,
                       const std::string& token = {}) {
  Headers headers{{"Content-Type", "application/json"}};
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  return request(port, http::verb::post, path, boost::json::serialize(body), headers);
}

inline Reply get_with(std::uint16_t port, const std::string& path, const std::string& token = {}) {
  Headers headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  return request(port, http::verb::get, path, "", headers);
}

inline std::string error_code_of(const Reply& reply) {
  try {
    return std::string(json_of(reply).at("error").at("code").as_string());
  } catch (...) {
    return "(no error shape: " + reply.body() + ")";
  }
}

struct Account {
  std::int64_t id = 0;
  std::string access_token;
  std::string refresh_token;
};

inline Account account_of(const Reply& reply) {
  auto body = json_of(reply).as_object();
  return {body.at("user").at("id").as_int64(), std::string(body.at("access_token").as_string()),
          std::string(body.at("refresh_token").as_string())};
}

}  // namespace parley::testing
