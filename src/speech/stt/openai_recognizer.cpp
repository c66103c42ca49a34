#include "speech/stt/openai_recognizer.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/random.hpp"
#include "outbound/openai_api.hpp"
#include "speech/audio/wav.hpp"

namespace parley::speech::stt {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kDefaultBaseUrl = "https://api.openai.com/v1";
// The API refuses files over 25 MB (and audio shorter than 0.1 s).
constexpr std::size_t kMaxUploadBytes = 25 * 1000 * 1000;
constexpr std::size_t kMultipartOverhead = 1024;
constexpr std::size_t kMinSamples = kSampleRate / 10;
constexpr std::string_view kNoCredit = "insufficient_quota";

struct Language {
  std::string_view code;  // ISO-639-1, what the API takes
  std::string_view name;  // what Whisper's verbose_json reports
};

// Whisper's languages that have an ISO-639-1 code (its tokenizer's list, less "haw" and "yue";
// Javanese is "jv" here, which Whisper spells "jw").
constexpr Language kLanguages[] = {
    {"af", "afrikaans"},  {"am", "amharic"},       {"ar", "arabic"},
    {"as", "assamese"},   {"az", "azerbaijani"},   {"ba", "bashkir"},
    {"be", "belarusian"}, {"bg", "bulgarian"},     {"bn", "bengali"},
    {"bo", "tibetan"},    {"br", "breton"},        {"bs", "bosnian"},
    {"ca", "catalan"},    {"cs", "czech"},         {"cy", "welsh"},
    {"da", "danish"},     {"de", "german"},        {"el", "greek"},
    {"en", "english"},    {"es", "spanish"},       {"et", "estonian"},
    {"eu", "basque"},     {"fa", "persian"},       {"fi", "finnish"},
    {"fo", "faroese"},    {"fr", "french"},        {"gl", "galician"},
    {"gu", "gujarati"},   {"ha", "hausa"},         {"he", "hebrew"},
    {"hi", "hindi"},      {"hr", "croatian"},      {"ht", "haitian creole"},
    {"hu", "hungarian"},  {"hy", "armenian"},      {"id", "indonesian"},
    {"is", "icelandic"},  {"it", "italian"},       {"ja", "japanese"},
    {"jv", "javanese"},   {"ka", "georgian"},      {"kk", "kazakh"},
    {"km", "khmer"},      {"kn", "kannada"},       {"ko", "korean"},
    {"la", "latin"},      {"lb", "luxembourgish"}, {"ln", "lingala"},
    {"lo", "lao"},        {"lt", "lithuanian"},    {"lv", "latvian"},
    {"mg", "malagasy"},   {"mi", "maori"},         {"mk", "macedonian"},
    {"ml", "malayalam"},  {"mn", "mongolian"},     {"mr", "marathi"},
    {"ms", "malay"},      {"mt", "maltese"},       {"my", "myanmar"},
    {"ne", "nepali"},     {"nl", "dutch"},         {"nn", "nynorsk"},
    {"no", "norwegian"},  {"oc", "occitan"},       {"pa", "punjabi"},
    {"pl", "polish"},     {"ps", "pashto"},        {"pt", "portuguese"},
    {"ro", "romanian"},   {"ru", "russian"},       {"sa", "sanskrit"},
    {"sd", "sindhi"},     {"si", "sinhala"},       {"sk", "slovak"},
    {"sl", "slovenian"},  {"sn", "shona"},         {"so", "somali"},
    {"sq", "albanian"},   {"sr", "serbian"},       {"su", "sundanese"},
    {"sv", "swedish"},    {"sw", "swahili"},       {"ta", "tamil"},
    {"te", "telugu"},     {"tg", "tajik"},         {"th", "thai"},
    {"tk", "turkmen"},    {"tl", "tagalog"},       {"tr", "turkish"},
    {"tt", "tatar"},      {"uk", "ukrainian"},     {"ur", "urdu"},
    {"uz", "uzbek"},      {"vi", "vietnamese"},    {"yi", "yiddish"},
    {"yo", "yoruba"},     {"zh", "chinese"},
};

bool known_code(std::string_view code) {
  return std::any_of(std::begin(kLanguages), std::end(kLanguages),
                     [&](const Language& l) { return l.code == code; });
}

// verbose_json names the language ("english"); some compatible servers give the code.
std::string language_from_service(std::string_view reported) {
  std::string lower;
  for (const char c : reported) {
    lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  for (const auto& l : kLanguages) {
    if (l.name == lower) return std::string(l.code);
  }
  if (const auto primary = primary_language(lower); known_code(primary)) return primary;
  if (lower == "jw") return "jv";
  return "und";
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

void append_field(std::string& body, std::string_view boundary, std::string_view name,
                  std::string_view value) {
  body.append("--").append(boundary).append("\r\n");
  body.append("Content-Disposition: form-data; name=\"").append(name).append("\"\r\n\r\n");
  body.append(value).append("\r\n");
}

}  // namespace

struct OpenAiRecognizer::Shared {
  outbound::HttpClient& http;
  OpenAiOptions options;
  SleepFunction sleep;
  std::string url;
  std::size_t max_samples;
};

namespace {

using Shared = OpenAiRecognizer::Shared;

class OpenAiStream final : public RecognitionStream {
 public:
  OpenAiStream(std::shared_ptr<const Shared> shared, std::string language, std::string prompt)
      : shared_(std::move(shared)), language_(std::move(language)), prompt_(std::move(prompt)) {}

  Result<std::optional<std::string>> accept(std::span<const std::int16_t> pcm16k) override {
    if (finished_) return fail(Errc::validation_failed, "the utterance is already finished");
    if (pcm16k.size() > shared_->max_samples - pcm_.size()) {
      return fail(Errc::payload_too_large, "the utterance is longer than " +
                                               std::to_string(shared_->max_samples / kSampleRate) +
                                               " seconds");
    }
    pcm_.insert(pcm_.end(), pcm16k.begin(), pcm16k.end());
    return std::optional<std::string>{};
  }

  Result<Transcript> finish() override {
    if (finished_) return fail(Errc::validation_failed, "the utterance is already finished");
    finished_ = true;
    audio::Pcm16 pcm{kSampleRate, std::move(pcm_)};
    pcm_.clear();
    const bool detect = language_ == "auto";
    // The service refuses audio under 0.1 s; there is nothing to recognize in it anyway.
    if (pcm.samples.size() < kMinSamples) return Transcript{"", detect ? "und" : language_};
    return transcribe(audio::encode_wav(pcm), detect);
  }

 private:
  outbound::HttpRequest make_request(const std::string& wav, bool detect) const {
    const OpenAiOptions& options = shared_->options;
    const std::string boundary = "parley-" + core::random_hex(16);
    std::string body;
    body.reserve(wav.size() + kMultipartOverhead);
    body.append("--").append(boundary).append("\r\n");
    body.append(
        "Content-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\n"
        "Content-Type: audio/wav\r\n\r\n");
    body.append(wav).append("\r\n");
    append_field(body, boundary, "model", options.model);
    if (!detect) append_field(body, boundary, "language", language_);
    if (!prompt_.empty()) append_field(body, boundary, "prompt", prompt_);
    append_field(body, boundary, "response_format", detect ? "verbose_json" : "json");
    body.append("--").append(boundary).append("--\r\n");

    outbound::HttpRequest request;
    request.method = "POST";
    request.url = shared_->url;
    request.headers.add("Authorization", "Bearer " + options.api_key);
    request.headers.add("Content-Type", "multipart/form-data; boundary=" + boundary);
    request.headers.add("Accept", "application/json");
    request.body = std::move(body);
    request.timeout = options.timeout;
    return request;
  }

  Result<Transcript> parse(std::string_view body, bool detect) const {
    boost::system::error_code ec;
    const auto json = boost::json::parse(body, ec);
    const boost::json::object* object = !ec && json.is_object() ? &json.as_object() : nullptr;
    const auto* text = object ? object->if_contains("text") : nullptr;
    if (text == nullptr || !text->is_string()) {
      return fail(Errc::unavailable, "the transcription service sent an unexpected reply");
    }
    Transcript transcript{trim(text->as_string()), language_};
    if (detect) {
      const auto* language = object->if_contains("language");
      transcript.language = language && language->is_string()
                                ? language_from_service(language->as_string())
                                : std::string("und");
    }
    return transcript;
  }

  Result<Transcript> transcribe(const std::string& wav, bool detect) const {
    const OpenAiOptions& options = shared_->options;
    outbound::RetryPolicy policy;
    policy.max_retries = options.max_retries;
    policy.initial_backoff = options.initial_backoff;
    policy.max_backoff = options.max_backoff;
    policy.jitter = false;
    policy.retryable = [&](const outbound::HttpResponse& r) {
      if (r.status == 429) return outbound::openai_error(r, options.api_key).code != kNoCredit;
      return r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504;
    };
    auto response = outbound::send_with_retries(shared_->http, make_request(wav, detect), policy,
                                                shared_->sleep);
    if (!response) {
      const Errc code = response.error().code;
      if (code == Errc::timeout) {
        return fail(Errc::timeout, "the transcription service did not answer in time");
      }
      if (code == Errc::unavailable) {
        return fail(Errc::unavailable, "the transcription service cannot be reached");
      }
      if (code == Errc::invalid_request) {
        return fail(Errc::unavailable, "the transcription service URL is misconfigured");
      }
      return fail(Errc::unavailable, "the transcription service sent an unexpected reply");
    }
    const int status = response->status;
    if (status >= 200 && status < 300) return parse(response->body, detect);
    const auto service = outbound::openai_error(*response, options.api_key);
    const std::string& message = service.message;
    if (status == 401) return fail(Errc::unavailable, "OpenAI rejected the API key");
    if (status == 400) {
      return fail(Errc::validation_failed,
                  message.empty() ? "the transcription service refused the audio" : message);
    }
    if (status == 413) {
      return fail(Errc::payload_too_large, "the utterance is too large to transcribe");
    }
    if (status == 429 && service.code == kNoCredit) {
      return fail(Errc::quota_exceeded, "the OpenAI account has no credit left");
    }
    if (status == 429) {
      return Error(
          Errc::rate_limited, "the transcription service is rate limiting Parley",
          std::max(outbound::next_wait(*response, policy), std::chrono::milliseconds(1000)));
    }
    if (status == 500 || status == 502 || status == 503 || status == 504) {
      return fail(Errc::unavailable,
                  "the transcription service failed (HTTP " + std::to_string(status) + ")");
    }
    return fail(Errc::unavailable, "the transcription service refused the request (HTTP " +
                                       std::to_string(status) +
                                       (message.empty() ? ")" : "): " + message));
  }

  std::shared_ptr<const Shared> shared_;
  std::string language_;  // primary subtag, or "auto"
  std::string prompt_;    // Whisper's prompt: the room glossary's terms, or empty
  std::vector<std::int16_t> pcm_;
  bool finished_ = false;
};

}  // namespace

OpenAiRecognizer::OpenAiRecognizer(outbound::HttpClient& http, OpenAiOptions options,
                                   SleepFunction sleep) {
  if (!sleep) sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  std::string base = options.base_url.empty() ? std::string(kDefaultBaseUrl) : options.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::size_t by_bytes = (kMaxUploadBytes - audio::kWavHeaderBytes - kMultipartOverhead) / 2;
  const auto by_time = static_cast<std::size_t>(options.max_utterance.count()) * kSampleRate;
  const std::size_t max_samples = std::min(by_bytes, by_time);
  shared_ = std::make_shared<const Shared>(Shared{http, std::move(options), std::move(sleep),
                                                  base + "/audio/transcriptions", max_samples});
}

OpenAiRecognizer::~OpenAiRecognizer() = default;

bool OpenAiRecognizer::supports(std::string_view language) const noexcept {
  try {
    return language == "auto" || known_code(primary_language(language));
  } catch (...) {  // allocation failure: not a reason to terminate
    return false;
  }
}

Result<std::unique_ptr<RecognitionStream>> OpenAiRecognizer::start(std::string_view language) {
  return start_biased(language, {});
}

Result<std::unique_ptr<RecognitionStream>> OpenAiRecognizer::start_biased(
    std::string_view language, std::span<const VocabularyTerm> vocabulary) {
  if (!supports(language)) {
    return fail(Errc::unsupported, "the OpenAI transcription engine does not support language '" +
                                       displayable_language(language) + "'");
  }
  if (shared_->options.api_key.empty()) {
    return fail(Errc::unavailable,
                "OpenAI speech recognition is not configured (OPENAI_API_KEY is empty)");
  }
  std::string code = language == "auto" ? std::string("auto") : primary_language(language);
  // Whisper reads at most 224 tokens of prompt; about 800 bytes of terms stay well inside that.
  constexpr std::size_t kMaxPromptBytes = 800;
  std::string prompt;
  for (const auto& [term, pronunciation] : vocabulary) {
    const std::size_t needed = term.size() + (prompt.empty() ? 10 : 2);
    if (term.empty() || prompt.size() + needed > kMaxPromptBytes) continue;
    prompt += prompt.empty() ? "Glossary: " : ", ";
    prompt += term;
  }
  if (!prompt.empty()) prompt += ".";
  return std::unique_ptr<RecognitionStream>(
      std::make_unique<OpenAiStream>(shared_, std::move(code), std::move(prompt)));
}

}  // namespace parley::speech::stt
