#pragma once
// Uploaded images (avatars, chat-room photos) on disk: written atomically under server-made
// names, removed when replaced, served publicly with safe headers. Shared by the routes that
// own each kind.

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <optional>
#include <string>

#include "core/stored_files.hpp"
#include "core/worker_pool.hpp"
#include "net/http.hpp"

namespace parley::api {

// Writing and removing stored files lives in core (recordings are stored outside the API too).
using core::remove_stored_file;
using core::write_file_atomically;

/// GET of a stored image named `file` (32 hex digits + .png/.jpg/.webp, as we name them; any
/// other name is 404 without touching the disk), read on the worker pool, with its type,
/// long-lived caching and `Content-Security-Policy: sandbox`.
boost::asio::awaitable<net::Response> serve_stored_image(std::filesystem::path folder,
                                                         std::string file,
                                                         core::WorkerPool& workers,
                                                         const net::RequestContext& ctx);

}  // namespace parley::api
