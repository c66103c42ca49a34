#include "outbound/openai_api.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <random>

namespace parley::outbound {
namespace {

using namespace std::chrono_literals;

std::optional<double> parse_number(std::string_view text) {
  text = text.substr(0, text.find_last_not_of(" \t") + 1);
  text.remove_prefix(std::min(text.find_first_not_of(" \t"), text.size()));
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value) || value < 0) {
    return std::nullopt;
  }
  return value;
}

// In [backoff/2, backoff]: "equal jitter", which keeps a floor under the wait.
std::chrono::milliseconds jittered(std::chrono::milliseconds backoff) {
  thread_local std::mt19937_64 random(std::random_device{}());
  const auto half = backoff.count() / 2;
  std::uniform_int_distribution<std::int64_t> extra(0, backoff.count() - half);
  return std::chrono::milliseconds(half + extra(random));
}

std::chrono::milliseconds first_backoff(const RetryPolicy& policy) {
  return std::max(policy.initial_backoff, std::chrono::milliseconds(1));
}

}  // namespace

std::string scrub(std::string_view text, std::string_view secret) {
  std::string message(text);
  if (!secret.empty()) {
    for (auto at = message.find(secret); at != std::string::npos; at = message.find(secret)) {
      message.replace(at, secret.size(), "***");
    }
  }
  if (message.size() > 300) message = message.substr(0, 300) + "...";
  return message;
}

OpenAiError openai_error(const HttpResponse& response, std::string_view api_key) {
  boost::system::error_code ec;
  const auto json = boost::json::parse(response.body, ec);
  OpenAiError out;
  if (ec || !json.is_object()) return out;
  const auto* error = json.as_object().if_contains("error");
  if (error == nullptr || !error->is_object()) return out;
  const auto field = [&](std::string_view name) {
    const auto* v = error->as_object().if_contains(name);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  out.message = scrub(field("message"), api_key);
  out.code = field("code");
  out.type = field("type");
  return out;
}

std::optional<std::chrono::milliseconds> retry_after(const HttpHeaders& headers) {
  if (const auto ms = headers.find("retry-after-ms")) {
    if (const auto v = parse_number(*ms); v && *v < 1e9) {
      return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(*v)));
    }
  }
  if (const auto s = headers.find("retry-after")) {
    if (const auto v = parse_number(*s); v && *v < 1e6) {
      return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(*v * 1000)));
    }
  }
  return std::nullopt;
}

Result<HttpResponse> send_with_retries(HttpClient& http, const HttpRequest& request,
                                       const RetryPolicy& policy, const SleepFunction& sleep) {
  std::chrono::milliseconds backoff = first_backoff(policy);
  for (int attempt = 0;; ++attempt) {
    if (policy.before_attempt) {
      if (auto admitted = policy.before_attempt(); !admitted) return admitted.error();
    }
    auto response = http.send(request);
    std::optional<std::chrono::milliseconds> wait;
    if (!response) {
      const Errc code = response.error().code;
      if (code != Errc::timeout && code != Errc::unavailable) return response;
    } else {
      if (!policy.retryable || !policy.retryable(*response)) return response;
      wait = retry_after(response->headers);
    }
    if (attempt >= policy.max_retries) return response;
    const auto capped = std::min(backoff, policy.max_backoff);
    // The service's Retry-After is honoured as given; our own backoff gets jitter.
    sleep(wait ? std::min(*wait, policy.max_backoff) : policy.jitter ? jittered(capped) : capped);
    if (backoff < policy.max_backoff) backoff *= 2;
  }
}

std::chrono::milliseconds next_wait(const HttpResponse& last, const RetryPolicy& policy) {
  if (const auto wait = retry_after(last.headers)) return std::min(*wait, policy.max_backoff);
  std::chrono::milliseconds backoff = first_backoff(policy);
  for (int i = 0; i < policy.max_retries && backoff < policy.max_backoff; ++i) backoff *= 2;
  return std::min(backoff, policy.max_backoff);
}

}  // namespace parley::outbound
