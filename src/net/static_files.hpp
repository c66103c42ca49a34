#pragma once
// Serves files below one folder (the web client). Every path is checked segment by segment after
// percent-decoding and then resolved against the real folder, so "..", encoded slashes,
// backslashes, NUL bytes, hidden files and symlinks that lead outside are all refused.

#include <boost/beast/http/file_body.hpp>
#include <filesystem>
#include <string_view>
#include <variant>

#include "net/http.hpp"

namespace parley::net {

using FileResponse = http::response<http::file_body>;

class StaticFiles {
 public:
  /// `root` need not exist; then every lookup is a 404.
  explicit StaticFiles(std::filesystem::path root);

  /// For GET/HEAD of `target` (the raw request target). Returns the file, a 304 when
  /// If-None-Match matches, or an error (not_found for anything unsafe or missing: no hint of
  /// what exists outside the folder).
  Result<std::variant<FileResponse, Response>> serve(const Request& request) const;

  /// The safe file path for a raw request target, or not_found. Exposed for tests.
  Result<std::filesystem::path> resolve(std::string_view target) const;

  static std::string_view content_type_for(const std::filesystem::path& path);

 private:
  std::filesystem::path root_;  // canonical when it exists
};

}  // namespace parley::net
