// libFuzzer target for parse_multipart (SECURITY habit 9: parsers of untrusted input are fuzzed).
// fuzz-sources: src/net/multipart.cpp src/core/error.cpp
//
// Input: the first line is the Content-Type header value and the rest is the body, so the
// fuzzer explores both; the whole input is also parsed as a body under a fixed header so
// inputs without a newline still reach the body parser.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <unordered_set>

#include "net/multipart.hpp"

namespace {

// Properties every successful parse must have; a violation aborts so libFuzzer reports it.
void check_invariants(std::string_view body,
                      const parley::Result<std::vector<parley::net::FormPart>>& parts,
                      const parley::net::MultipartLimits& limits) {
  if (!parts) {
    if (parts.error().message.empty()) std::abort();
    return;
  }
  if (parts->size() > limits.max_parts) std::abort();
  std::unordered_set<std::string_view> names;
  for (const auto& part : *parts) {
    if (part.data.data() < body.data() ||
        part.data.data() + part.data.size() > body.data() + body.size()) {
      std::abort();  // the zero-copy view must stay inside the body
    }
    if (part.name.empty() || !names.insert(part.name).second) std::abort();
    if (part.filename) {
      for (char c : *part.filename) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const parley::net::MultipartLimits limits{
      .max_parts = 8, .max_part_header_bytes = 512, .max_total_bytes = 1 << 20};

  const auto newline = input.find('\n');
  if (newline != std::string_view::npos) {
    const auto header = input.substr(0, newline);
    const auto body = input.substr(newline + 1);
    check_invariants(body, parley::net::parse_multipart(header, body, limits), limits);
  }
  check_invariants(input,
                   parley::net::parse_multipart("multipart/form-data; boundary=b", input, limits),
                   limits);
  return 0;
}
