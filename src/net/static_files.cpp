#include "net/static_files.hpp"

#include <sys/stat.h>

#include <boost/url/parse.hpp>
#include <string>

namespace parley::net {

namespace fs = std::filesystem;

namespace {

// The web client is one script and one stylesheet from this folder; it talks to this origin only
// (REST, Socket.IO over polling and WebSocket) and plays audio it fetched as blobs. Nothing
// inline, nothing from elsewhere, no framing.
constexpr const char* kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

}  // namespace

StaticFiles::StaticFiles(fs::path root) {
  std::error_code ec;
  auto canonical = fs::canonical(root, ec);
  root_ = ec ? fs::absolute(root) : canonical;
}

std::string_view StaticFiles::content_type_for(const fs::path& path) {
  const auto ext = path.extension().string();
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".webp") return "image/webp";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".webmanifest") return "application/manifest+json";
  return "application/octet-stream";
}

Result<fs::path> StaticFiles::resolve(std::string_view target) const {
  const auto not_found = [] { return fail(Errc::not_found, "no such file"); };
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return not_found();
  fs::path relative;
  for (auto segment : url->segments()) {  // each segment percent-decoded
    if (segment.empty()) continue;
    if (segment == "." || segment == ".." || segment.front() == '.' ||
        segment.find_first_of(std::string_view("/\\\0:", 4)) != std::string::npos) {
      return not_found();
    }
    relative /= segment;
  }
  fs::path candidate = root_ / relative;
  std::error_code ec;
  if (fs::is_directory(candidate, ec)) candidate /= "index.html";
  auto real = fs::canonical(candidate, ec);
  if (ec) return not_found();
  // A symlink inside the folder must not lead outside it.
  auto [root_end, ignored] = std::mismatch(root_.begin(), root_.end(), real.begin(), real.end());
  if (root_end != root_.end() || !fs::is_regular_file(real, ec)) return not_found();
  return real;
}

Result<std::variant<FileResponse, Response>> StaticFiles::serve(const Request& request) const {
  auto path = resolve(request.target());
  if (!path) return path.error();

  struct stat info {};
  if (::stat(path->c_str(), &info) != 0) return fail(Errc::not_found, "no such file");
  const std::string etag = "\"" + std::to_string(info.st_size) + "-" +
                           std::to_string(info.st_mtim.tv_sec) + "-" +
                           std::to_string(info.st_mtim.tv_nsec / 1000) + "\"";
  const auto content_type = content_type_for(*path);
  const bool is_html = content_type.starts_with("text/html");
  const char* cache = is_html ? "no-cache" : "public, max-age=300";

  if (request[http::field::if_none_match] == etag) {
    Response res{http::status::not_modified, request.version()};
    res.set(http::field::etag, etag);
    res.set(http::field::cache_control, cache);
    return res;
  }

  boost::beast::error_code ec;
  http::file_body::value_type body;
  body.open(path->c_str(), boost::beast::file_mode::scan, ec);
  if (ec) return fail(Errc::not_found, "no such file");
  const auto size = body.size();
  FileResponse res{std::piecewise_construct, std::make_tuple(std::move(body)),
                   std::make_tuple(http::status::ok, request.version())};
  res.set(http::field::content_type, content_type);
  res.set(http::field::etag, etag);
  res.set(http::field::cache_control, cache);
  if (is_html) res.set("Content-Security-Policy", kPagePolicy);
  res.content_length(size);
  return res;
}

}  // namespace parley::net
