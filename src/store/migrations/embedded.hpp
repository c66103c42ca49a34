#pragma once
// Interface of the build-generated embedded_migrations.cpp (see embed_migrations.cmake).

#include <span>
#include <string_view>

namespace parley::store::detail {

struct EmbeddedMigration {
  int version;
  std::string_view name;
  std::string_view sql;
};

std::span<const EmbeddedMigration> embedded_migration_sources() noexcept;

}  // namespace parley::store::detail
