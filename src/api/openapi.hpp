#pragma once
// The OpenAPI 3 document (src/api/openapi/openapi.json, embedded at build time) and its route.

#include <string_view>

#include "net/router.hpp"

namespace parley::api {

/// The document's text, as embedded.
std::string_view openapi_document();

/// Registers GET /api/openapi.json.
void add_openapi_route(net::Router& router);

}  // namespace parley::api
