#pragma once
// SQLite backend factory. Internal: use store::open_database() with a sqlite:/// URL.

#include <memory>
#include <string>

#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::store::sqlite {

/// `path` is a filesystem path or ":memory:". The parent folder must exist.
Result<std::unique_ptr<Database>> open(const std::string& path, const DatabaseOptions& options);

}  // namespace parley::store::sqlite
