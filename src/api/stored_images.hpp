#pragma once
// Uploaded images (avatars, chat-room photos) on disk: written atomically under server-made
// names, removed when replaced, served publicly with safe headers. Shared by the routes that
// own each kind.

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <optional>
#include <string>

#include "core/worker_pool.hpp"
#include "net/http.hpp"

namespace parley::api {

/// Writes `bytes` to `folder/name` through a temporary file and a rename, so a crash never
/// leaves a half-written file behind a name the database points at. BLOCKING.
Result<void> write_file_atomically(const std::filesystem::path& folder, const std::string& name,
                                   std::string_view bytes);

/// Removes `folder/name` if it is a plain file name (never a path). BLOCKING; ignores errors.
void remove_stored_file(const std::filesystem::path& folder,
                        const std::optional<std::string>& name);

/// GET of a stored image named `file` (32 hex digits + .png/.jpg/.webp, as we name them; any
/// other name is 404 without touching the disk), read on the worker pool, with its type,
/// long-lived caching and `Content-Security-Policy: sandbox`.
boost::asio::awaitable<net::Response> serve_stored_image(std::filesystem::path folder,
                                                         std::string file,
                                                         core::WorkerPool& workers,
                                                         const net::RequestContext& ctx);

}  // namespace parley::api
