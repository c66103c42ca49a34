#include "speech/tts/elevenlabs_client.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <thread>

#include "core/random.hpp"

namespace parley::speech::tts {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxAudioBytes = 64 * 1024 * 1024;

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

/// Extracts the service's human-readable message from either envelope:
/// {"detail":{"status","message"}} or HTTPValidationError {"detail":[{"loc","msg","type"}]}.
struct Detail {
  std::string status;
  std::string message;
};

Detail parse_detail(std::string_view body) {
  Detail out;
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return out;
  const json::value* detail = doc.as_object().if_contains("detail");
  if (detail == nullptr) return out;
  if (detail->is_string()) {
    out.message = std::string(detail->as_string());
  } else if (detail->is_object()) {
    const auto& obj = detail->as_object();
    if (const auto* s = obj.if_contains("status"); s != nullptr && s->is_string()) {
      out.status = std::string(s->as_string());
    }
    if (const auto* m = obj.if_contains("message"); m != nullptr && m->is_string()) {
      out.message = std::string(m->as_string());
    }
  } else if (detail->is_array()) {
    for (const auto& item : detail->as_array()) {
      if (!item.is_object()) continue;
      std::string field;
      if (const auto* loc = item.as_object().if_contains("loc");
          loc != nullptr && loc->is_array()) {
        for (const auto& part : loc->as_array()) {
          if (part.is_string() && part.as_string() == "body") continue;
          if (!field.empty()) field += ".";
          field += part.is_string() ? std::string(part.as_string())
                                    : (part.is_int64() ? std::to_string(part.as_int64()) : "");
        }
      }
      std::string msg;
      if (const auto* m = item.as_object().if_contains("msg"); m != nullptr && m->is_string()) {
        msg = std::string(m->as_string());
      }
      if (msg.empty()) continue;
      if (!out.message.empty()) out.message += "; ";
      out.message += field.empty() ? msg : field + ": " + msg;
    }
  }
  // Keep what we pass on short: it ends up in user-visible errors.
  if (out.message.size() > 300) out.message.resize(300);
  return out;
}

bool retryable(int status) noexcept { return status == 429 || status >= 500; }

std::chrono::milliseconds retry_after_of(const outbound::HttpResponse& response) {
  const auto value = response.headers.find("retry-after");
  if (!value) return std::chrono::milliseconds{0};
  double seconds = 0;
  const std::string text(*value);
  char* end = nullptr;
  seconds = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !(seconds > 0)) return std::chrono::milliseconds{0};
  return std::chrono::milliseconds{static_cast<std::int64_t>(std::min(seconds, 86400.0) * 1000)};
}

/// Filenames go inside a quoted header parameter: keep them to a safe subset.
std::string safe_filename(std::string_view name) {
  std::string out;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back((u < 0x20 || u == 0x7f || c == '"' || c == '\\' || c == '/') ? '_' : c);
  }
  if (out.empty()) out = "reference";
  return out;
}

bool has_crlf(std::string_view s) noexcept {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

}  // namespace

Error elevenlabs_error(const outbound::HttpResponse& response) {
  const Detail detail = parse_detail(response.body);
  const int status = response.status;
  if (status == 401) {
    if (detail.status == "quota_exceeded") {
      return Error{Errc::unavailable, "ElevenLabs quota exceeded" +
                                          (detail.message.empty() ? "" : ": " + detail.message)};
    }
    return Error{Errc::unavailable, "ElevenLabs rejected the API key"};
  }
  if (status == 429) {
    return Error{Errc::rate_limited, "ElevenLabs is rate limiting requests, try again later",
                 retry_after_of(response)};
  }
  if (status >= 500) {
    return Error{Errc::unavailable,
                 "ElevenLabs is unavailable (HTTP " + std::to_string(status) + ")"};
  }
  if (detail.status == "voice_not_found" || status == 404) {
    return Error{Errc::unsupported, "ElevenLabs does not know this voice"};
  }
  if (status == 400 || status == 422) {
    return Error{Errc::validation_failed,
                 "ElevenLabs refused the request: " +
                     (detail.message.empty() ? std::string("invalid request") : detail.message)};
  }
  if (status == 403) {
    return Error{Errc::unavailable, "ElevenLabs refused the request for this account" +
                                        (detail.message.empty() ? "" : ": " + detail.message)};
  }
  return Error{Errc::unavailable,
               "unexpected reply from ElevenLabs (HTTP " + std::to_string(status) + ")"};
}

ElevenLabsClient::ElevenLabsClient(outbound::HttpClient& http, ElevenLabsOptions options)
    : http_(http), options_(std::move(options)) {
  options_.base_url = trim_slash(options_.base_url);
  options_.max_retries = std::clamp(options_.max_retries, 0, 10);
}

Result<outbound::HttpResponse> ElevenLabsClient::send_with_retries(outbound::HttpRequest request) {
  if (options_.api_key.empty()) return fail(Errc::unavailable, "ElevenLabs is not configured");
  if (has_crlf(options_.api_key)) return fail(Errc::unavailable, "ElevenLabs rejected the API key");
  request.headers.set("xi-api-key", options_.api_key);
  request.timeout = options_.timeout;
  request.max_response_bytes = kMaxAudioBytes;

  std::chrono::milliseconds backoff = options_.initial_backoff;
  for (int attempt = 0;; ++attempt) {
    auto response = http_.send(request);
    if (!response) {
      switch (response.error().code) {
        case Errc::timeout:
          return fail(Errc::timeout, "ElevenLabs did not answer in time");
        case Errc::payload_too_large:
          return fail(Errc::unavailable, "ElevenLabs sent a reply larger than allowed");
        default:
          return fail(Errc::unavailable, "cannot reach ElevenLabs");
      }
    }
    if (!retryable(response->status) || attempt >= options_.max_retries) return response;
    std::chrono::milliseconds wait = backoff;
    if (const auto asked = retry_after_of(*response); asked.count() > 0) wait = asked;
    wait = std::min(wait, options_.max_backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
    std::this_thread::sleep_for(wait);
  }
}

Result<std::string> ElevenLabsClient::text_to_speech(std::string_view voice_id,
                                                     std::string_view text,
                                                     std::string_view language,
                                                     std::string_view output_format) {
  if (voice_id.empty()) return fail(Errc::validation_failed, "no ElevenLabs voice selected");
  if (text.empty()) return fail(Errc::validation_failed, "text to speak is empty");

  json::object body;
  body["text"] = text;
  body["model_id"] = options_.model_id;
  if (!language.empty()) {
    // language_code is ISO 639-1: "pt-BR" → "pt".
    std::string code(language.substr(0, language.find_first_of("-_")));
    std::transform(code.begin(), code.end(), code.begin(), [](char c) {
      return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    body["language_code"] = code;
  }
  body["voice_settings"] = json::object{{"stability", options_.stability},
                                        {"similarity_boost", options_.similarity_boost},
                                        {"style", options_.style},
                                        {"use_speaker_boost", options_.use_speaker_boost}};

  outbound::HttpRequest request;
  request.method = "POST";
  request.url = options_.base_url + "/v1/text-to-speech/" + outbound::percent_encode(voice_id) +
                "?output_format=" + outbound::percent_encode(output_format);
  request.headers.set("content-type", "application/json");
  request.headers.set("accept", output_format.rfind("mp3", 0) == 0 ? "audio/mpeg" : "*/*");
  request.body = json::serialize(body);

  auto response = send_with_retries(std::move(request));
  if (!response) return response.error();
  if (response->status != 200) return elevenlabs_error(*response);
  if (response->body.empty()) return fail(Errc::unavailable, "ElevenLabs returned no audio");
  return std::move(response->body);
}

Result<std::string> ElevenLabsClient::add_voice(std::string_view name,
                                                const std::vector<ReferenceFile>& files,
                                                std::string_view description) {
  if (name.empty()) return fail(Errc::validation_failed, "a cloned voice needs a name");
  if (files.empty()) return fail(Errc::validation_failed, "voice cloning needs reference audio");

  const std::string boundary = "----parley" + core::random_hex(16);
  std::string body;
  auto text_part = [&](std::string_view field, std::string_view value) {
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"" + std::string(field) + "\"\r\n\r\n";
    body += value;
    body += "\r\n";
  };
  text_part("name", name);
  for (const auto& file : files) {
    const std::string type = file.content_type.empty() || has_crlf(file.content_type)
                                 ? "application/octet-stream"
                                 : file.content_type;
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"files\"; filename=\"" +
            safe_filename(file.filename) + "\"\r\n";
    body += "Content-Type: " + type + "\r\n\r\n";
    body += file.bytes;
    body += "\r\n";
  }
  if (!description.empty()) text_part("description", description);
  text_part("remove_background_noise", "false");
  body += "--" + boundary + "--\r\n";

  outbound::HttpRequest request;
  request.method = "POST";
  request.url = options_.base_url + "/v1/voices/add";
  request.headers.set("content-type", "multipart/form-data; boundary=" + boundary);
  request.headers.set("accept", "application/json");
  request.body = std::move(body);

  auto response = send_with_retries(std::move(request));
  if (!response) return response.error();
  if (response->status != 200) return elevenlabs_error(*response);
  boost::system::error_code ec;
  const json::value doc = json::parse(response->body, ec);
  if (!ec && doc.is_object()) {
    if (const auto* id = doc.as_object().if_contains("voice_id");
        id != nullptr && id->is_string() && !id->as_string().empty()) {
      return std::string(id->as_string());
    }
  }
  return fail(Errc::unavailable, "unexpected reply from ElevenLabs (no voice_id)");
}

Result<void> ElevenLabsClient::delete_voice(std::string_view voice_id) {
  if (voice_id.empty()) return fail(Errc::validation_failed, "no ElevenLabs voice given");
  outbound::HttpRequest request;
  request.method = "DELETE";
  request.url = options_.base_url + "/v1/voices/" + outbound::percent_encode(voice_id);
  request.headers.set("accept", "application/json");
  auto response = send_with_retries(std::move(request));
  if (!response) return response.error();
  if (response->status == 200) return {};
  if (response->status == 404 || parse_detail(response->body).status == "voice_not_found") {
    return fail(Errc::not_found, "ElevenLabs does not know this voice");
  }
  return elevenlabs_error(*response);
}

}  // namespace parley::speech::tts
