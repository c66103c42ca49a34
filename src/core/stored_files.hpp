#pragma once
// Files the server stores under names it made (uploads, recordings): written atomically and
// removed by plain name only, so nothing a client sends ever becomes a path.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace parley::core {

/// Writes `bytes` to `folder/name` through a temporary file and a rename, so a crash never
/// leaves a half-written file behind a name the database points at. Creates `folder`.
/// BLOCKING. Errors: internal when the file cannot be written.
Result<void> write_file_atomically(const std::filesystem::path& folder, const std::string& name,
                                   std::string_view bytes);

/// Removes `folder/name` if it is a plain file name (never a path). BLOCKING; ignores errors.
void remove_stored_file(const std::filesystem::path& folder,
                        const std::optional<std::string>& name);

}  // namespace parley::core
