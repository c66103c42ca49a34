#pragma once
// SQLite backend factory. Internal: use store::open_database() with a sqlite:/// URL.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "store/database.hpp"

namespace parley::store::sqlite {

/// `path` is a filesystem path or ":memory:". The parent folder must exist.
Result<std::unique_ptr<Database>> open(const std::string& path, const DatabaseOptions& options);

/// WAL checkpoints done since the database was opened (DatabaseOptions::wal_checkpoint_pages).
struct WalCheckpoints {
  std::uint64_t background = 0;  ///< by the database's checkpoint thread
  std::uint64_t by_commits = 0;  ///< by committing connections, the thread being behind
};

/// Null when `database` is not a SQLite database.
std::optional<WalCheckpoints> wal_checkpoints(const Database& database);

}  // namespace parley::store::sqlite
