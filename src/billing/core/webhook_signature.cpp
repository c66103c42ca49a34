#include "billing/core/webhook_signature.hpp"

#include <optional>
#include <vector>

#include "core/digest.hpp"

namespace parley::billing {

namespace {

constexpr std::string_view kExpectedScheme = "v1";

Error refused(std::string message) { return fail(Errc::invalid_request, std::move(message)); }

Error unparsable() { return refused("Unable to extract timestamp and signatures from header"); }

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Whole seconds as decimal digits, with the blanks both SDKs tolerate around them (python's
/// int() strips them, node's parseInt skips leading ones and stops at trailing ones).
std::optional<std::int64_t> parse_timestamp(std::string_view text) {
  text = trim_blanks(text);
  // 18 digits cannot overflow int64; Stripe's timestamps have 10.
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

struct ParsedHeader {
  std::int64_t timestamp = 0;
  std::vector<std::string_view> signatures;
};

/// Splits like the SDKs: items on ',', key and value on '=', the value ending at the next '='
/// (node's `item.split('=')[1]`, python's `item.split('=', 2)[1]`).
std::optional<ParsedHeader> parse_header(std::string_view header) {
  ParsedHeader parsed;
  bool have_timestamp = false;
  std::size_t start = 0;
  while (start <= header.size()) {
    const auto comma = header.find(',', start);
    const std::string_view item = header.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? header.size() + 1 : comma + 1;

    const auto eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) {
      const std::string_view rest = item.substr(eq + 1);
      value = rest.substr(0, rest.find('='));
    }
    if (key == "t") {
      if (have_timestamp || !value) return std::nullopt;  // Stripe never repeats t
      auto timestamp = parse_timestamp(*value);
      if (!timestamp) return std::nullopt;
      parsed.timestamp = *timestamp;
      have_timestamp = true;
    } else if (key == kExpectedScheme) {
      // A bare "v1" counts as a signature that never matches (node pushes undefined).
      parsed.signatures.push_back(value.value_or(std::string_view{}));
    }
  }
  if (!have_timestamp) return std::nullopt;
  return parsed;
}

}  // namespace

std::string stripe_signature_v1(std::string_view secret, std::int64_t timestamp,
                                std::string_view raw_body) {
  std::string signed_payload = std::to_string(timestamp);
  signed_payload.reserve(signed_payload.size() + 1 + raw_body.size());
  signed_payload.push_back('.');
  signed_payload.append(raw_body);
  return core::to_hex(core::hmac_sha256(secret, signed_payload));
}

Result<void> verify_stripe_signature(std::string_view header, std::string_view raw_body,
                                     std::span<const std::string> secrets, std::int64_t now_seconds,
                                     std::chrono::seconds tolerance) {
  bool any_secret = false;
  for (const auto& secret : secrets) any_secret = any_secret || !secret.empty();
  if (!any_secret) return fail(Errc::internal, "no Stripe webhook signing secret is configured");

  if (header.empty()) return refused("No stripe-signature header value was provided");
  if (header.size() > kMaxSignatureHeaderBytes) {
    return refused("Stripe-Signature header is too long");
  }
  const auto parsed = parse_header(header);
  if (!parsed) return unparsable();
  if (parsed->signatures.empty()) {
    return refused("No signatures found with expected scheme " + std::string(kExpectedScheme));
  }

  // Every secret against every signature, without stopping at a match: the time taken depends
  // only on the counts and lengths, never on which bytes matched.
  bool matched = false;
  for (const auto& secret : secrets) {
    if (secret.empty()) continue;  // an empty key would be a signature anyone can make
    const std::string expected = stripe_signature_v1(secret, parsed->timestamp, raw_body);
    for (const auto signature : parsed->signatures) {
      matched = core::constant_time_equal(expected, signature) || matched;
    }
  }
  if (!matched) return refused("No signatures found matching the expected signature for payload");

  // Only old signatures are refused (node: floor(now) - t > tolerance).
  if (tolerance.count() > 0 && now_seconds - parsed->timestamp > tolerance.count()) {
    return refused("Timestamp outside the tolerance zone");
  }
  return {};
}

}  // namespace parley::billing
