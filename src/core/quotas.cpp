#include "core/quotas.hpp"

namespace parley::core {

std::string_view to_string(Metered metered) noexcept {
  switch (metered) {
    case Metered::speech_seconds:
      return "speech_seconds";
    case Metered::translated_chars:
      return "translated_chars";
  }
  return "unknown";
}

std::string_view to_string(Entitlement entitlement) noexcept {
  switch (entitlement) {
    case Entitlement::cloud_engines:
      return "cloud_engines";
    case Entitlement::voice_cloning:
      return "voice_cloning";
  }
  return "unknown";
}

}  // namespace parley::core
