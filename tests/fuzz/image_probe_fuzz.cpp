// libFuzzer target for probe_image and check_dimensions (SECURITY F43/F44).
// fuzz-sources: src/media/image_probe.cpp src/core/error.cpp

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "media/image_probe.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto info = parley::media::probe_image(bytes);
  if (!info) {
    if (info.error().code != parley::Errc::unsupported_media_type) std::abort();
    return 0;
  }
  // An accepted image always has a type and real dimensions.
  if (info->width == 0 || info->height == 0 || info->mime_type.empty() || info->extension.empty()) {
    std::abort();
  }
  const auto checked = parley::media::check_dimensions(*info, 8192, 8192, 40'000'000);
  if (!checked && checked.error().code != parley::Errc::validation_failed) std::abort();
  return 0;
}
