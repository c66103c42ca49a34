#include "speech/tts/cli.hpp"

#include <fstream>
#include <memory>
#include <optional>
#include <ostream>

#include "outbound/curl_http_client.hpp"
#include "speech/tts/elevenlabs_synthesizer.hpp"
#include "speech/tts/espeak_synthesizer.hpp"

namespace parley::speech::tts {

const char* const kTtsUsage =
    "usage: parley tts \"text\" --lang <language> -o <file.ogg|.mp3|.wav> [--voice <voice>] "
    "[--format ogg|mp3|wav] [--engine espeak-ng|elevenlabs]";

namespace {

struct TtsArgs {
  std::string text;
  std::string language = "en";
  std::string output;
  std::optional<std::string> voice;
  AudioFormat format = AudioFormat::ogg_opus;
  std::string engine;  // empty = default
  bool help = false;
};

/// Parses the arguments; on failure returns the reason (printed before the usage line).
std::optional<std::string> parse(std::span<const std::string> args, TtsArgs& parsed) {
  std::optional<std::string> format_name;
  bool have_text = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&](std::string& target) -> bool {
      if (i + 1 >= args.size()) return false;
      target = args[++i];
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      parsed.help = true;
      return std::nullopt;
    } else if (arg == "--lang" || arg == "-l") {
      if (!value(parsed.language) || parsed.language.empty()) return "--lang needs a language";
    } else if (arg == "-o" || arg == "--output") {
      if (!value(parsed.output) || parsed.output.empty()) return "-o needs a file name";
    } else if (arg == "--voice") {
      std::string v;
      if (!value(v) || v.empty()) return "--voice needs a voice";
      parsed.voice = v;
    } else if (arg == "--format") {
      std::string f;
      if (!value(f)) return "--format needs ogg, mp3 or wav";
      format_name = f;
    } else if (arg == "--engine") {
      if (!value(parsed.engine)) return "--engine needs espeak-ng or elevenlabs";
      if (parsed.engine == "espeak") parsed.engine = "espeak-ng";
      if (parsed.engine != "espeak-ng" && parsed.engine != "elevenlabs") {
        return "unknown engine \"" + parsed.engine + "\"";
      }
    } else if (!arg.empty() && arg[0] == '-' && arg != "-") {
      return "unknown option " + arg;
    } else if (have_text) {
      return "only one text may be given (quote it)";
    } else {
      parsed.text = arg;
      have_text = true;
    }
  }
  if (!have_text) return "no text given";
  if (parsed.output.empty()) return "no output file given (-o)";
  if (!format_name) {
    const auto dot = parsed.output.rfind('.');
    if (dot == std::string::npos)
      return "cannot tell the format from \"" + parsed.output + "\": use --format";
    format_name = parsed.output.substr(dot + 1);
  }
  auto format = parse_audio_format(*format_name);
  if (!format) return "unknown format \"" + *format_name + "\" (use ogg, mp3 or wav)";
  parsed.format = *format;
  return std::nullopt;
}

int usage_error(std::ostream& err, const std::string& reason) {
  err << "parley tts: " << reason << "\n" << kTtsUsage << "\n";
  return 2;
}

int speak(const TtsArgs& args, SpeechSynthesizer& engine, std::ostream& out, std::ostream& err) {
  if (!engine.supports(args.language)) {
    err << "parley tts: " << engine.name() << " cannot speak the language \"" << args.language
        << "\"\n";
    return 1;
  }
  SynthesisRequest request{args.text, args.language, args.voice, std::nullopt};
  auto speech = engine.synthesize(request, args.format);
  if (!speech) {
    err << "parley tts: " << speech.error().message << "\n";
    return 1;
  }
  std::ofstream file(args.output, std::ios::binary | std::ios::trunc);
  file.write(speech->audio.data(), static_cast<std::streamsize>(speech->audio.size()));
  file.close();
  if (!file) {
    err << "parley tts: cannot write " << args.output << "\n";
    return 1;
  }
  out << "wrote " << args.output << " (" << mime_type(speech->format) << ", "
      << static_cast<double>(speech->duration.count()) / 1000.0 << " s, " << engine.name() << ")\n";
  return 0;
}

}  // namespace

int run_tts_command(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                    const TtsEngines& engines) {
  TtsArgs parsed;
  if (auto problem = parse(args, parsed)) return usage_error(err, *problem);
  if (parsed.help) {
    out << kTtsUsage << "\n";
    return 0;
  }
  SpeechSynthesizer* engine = nullptr;
  if (parsed.engine == "espeak-ng") {
    engine = engines.embedded;
  } else if (parsed.engine == "elevenlabs") {
    engine = engines.cloud;
  } else {
    engine = engines.cloud != nullptr ? engines.cloud : engines.embedded;
  }
  if (engine == nullptr) {
    err << "parley tts: the "
        << (parsed.engine.empty() ? std::string("text-to-speech") : parsed.engine)
        << " engine is not available"
        << (parsed.engine == "elevenlabs" ? " (set ELEVENLABS_API_KEY)" : "") << "\n";
    return 1;
  }
  return speak(parsed, *engine, out, err);
}

int run_tts_command(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                    const ElevenLabsOptions& elevenlabs) {
  TtsArgs parsed;
  if (auto problem = parse(args, parsed)) return usage_error(err, *problem);
  if (parsed.help) {
    out << kTtsUsage << "\n";
    return 0;
  }
  const bool want_cloud =
      parsed.engine == "elevenlabs" || (parsed.engine.empty() && !elevenlabs.api_key.empty());

  std::unique_ptr<outbound::CurlHttpClient> http;
  std::unique_ptr<ElevenLabsClient> client;
  std::unique_ptr<ElevenLabsSynthesizer> cloud;
  std::unique_ptr<EspeakSynthesizer> embedded;
  TtsEngines engines;
  if (want_cloud && !elevenlabs.api_key.empty()) {
    try {
      http = std::make_unique<outbound::CurlHttpClient>();
    } catch (const std::exception&) {
      err << "parley tts: cannot start the HTTP client\n";
      return 1;
    }
    client = std::make_unique<ElevenLabsClient>(*http, elevenlabs);
    cloud = std::make_unique<ElevenLabsSynthesizer>(*client);
    engines.cloud = cloud.get();
  }
  if (!want_cloud) {
    auto created = EspeakSynthesizer::create();
    if (!created) {
      err << "parley tts: " << created.error().message << "\n";
      return 1;
    }
    embedded = std::move(*created);
    engines.embedded = embedded.get();
  }
  return run_tts_command(args, out, err, engines);
}

}  // namespace parley::speech::tts
