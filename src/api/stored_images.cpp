#include "api/stored_images.hpp"

#include <fstream>
#include <iterator>
#include <system_error>

namespace parley::api {

namespace fs = std::filesystem;
namespace http = net::http;

boost::asio::awaitable<net::Response> serve_stored_image(fs::path folder, std::string file,
                                                         core::WorkerPool& workers,
                                                         const net::RequestContext& ctx) {
  const auto dot = file.find('.');
  const std::string stem = file.substr(0, dot);
  const std::string extension = dot == std::string::npos ? "" : file.substr(dot);
  const bool valid_stem =
      stem.size() == 32 && stem.find_first_not_of("0123456789abcdef") == std::string::npos;
  std::string_view type;
  if (extension == ".png") type = "image/png";
  if (extension == ".jpg") type = "image/jpeg";
  if (extension == ".webp") type = "image/webp";
  if (!valid_stem || type.empty()) {
    co_return net::error_response(fail(Errc::not_found, "no such image"), ctx.request_id,
                                  ctx.request.version());
  }
  auto job = [path = folder / file]() -> Result<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(Errc::not_found, "no such image");
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto bytes = co_await workers.run(std::move(job));
  if (!bytes) {
    co_return net::error_response(bytes.error(), ctx.request_id, ctx.request.version());
  }
  net::Response res{http::status::ok, ctx.request.version()};
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "public, max-age=86400, immutable");
  res.set("Content-Security-Policy", "sandbox");
  res.body() = std::move(*bytes);
  res.prepare_payload();
  co_return res;
}

}  // namespace parley::api
