#pragma once
// PostgreSQL backend factory. Internal: use store::open_database() with a postgresql:// URL.

#include <memory>
#include <string>

#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::store::postgres {

/// `conninfo` is a libpq connection URI (postgresql://...) or key=value string.
Result<std::unique_ptr<Database>> open(const std::string& conninfo, const DatabaseOptions& options);

}  // namespace parley::store::postgres
