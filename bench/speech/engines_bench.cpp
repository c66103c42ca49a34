// parley-speech-bench: what each speech engine costs per second of audio, measured through
// Parley's own classes (src/speech), not through the libraries directly:
//
//   stt      PocketsphinxRecognizer (fast and default settings): CPU and wall time per second of
//            audio (real-time factor), fed in 100 ms pieces like a live stream (partials
//            included), the cost of finish() (end of utterance -> final text), decoder creation,
//            word error rate; then the same with 2 utterances recognized at once on 2 threads.
//   decode   decode_sandboxed (a parley-audio-decoder child per file) and DecoderProcess fed in
//            250 ms chunks (a live stream): wall and child CPU per second of audio, spawn cost.
//   vad      UtteranceSegmenter (WebRTC VAD, mode 2) fed in 250 ms pieces: CPU per second.
//   tts      EspeakSynthesizer: x real time for raw PCM, and with ogg/opus encoding; the time to
//            the first audio of a sentence (synthesize() returns whole sentences).
//   openai   OpenAiRecognizer against the local fake (tests/fakes/openai.mjs): client-side
//            overhead only (WAV building, multipart, libcurl, JSON), never Whisper's speed.
//
// Output: one JSON line per measurement on stdout; a human summary on stderr.
//
//   parley-speech-bench --utt a.wav="reference text" [--utt ...] --webm speech.webm
//       --decoder build/release/parley-audio-decoder [--repeat 3] [--openai-url URL]
//       [--only stt,decode,vad,tts,openai] [--modes fast,default]

#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "outbound/curl_http_client.hpp"
#include "speech/audio/decoder_process.hpp"
#include "speech/audio/vad.hpp"
#include "speech/stt/openai_recognizer.hpp"
#include "speech/stt/pocketsphinx_recognizer.hpp"
#include "speech/tts/espeak_synthesizer.hpp"

namespace json = boost::json;
using namespace parley;
namespace stt = parley::speech::stt;
namespace audio = parley::speech::audio;
namespace tts = parley::speech::tts;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double process_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU of reaped children (the decoder processes).
double children_cpu() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  auto tv = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint32_t le32(const std::string& b, std::size_t at) {
  std::uint32_t v = 0;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

// A 16 kHz mono s16le WAV (any chunk layout) or a headerless .raw at 16 kHz.
std::vector<std::int16_t> read_pcm16k(const std::string& path) {
  const std::string bytes = read_file(path);
  std::size_t at = 0;
  std::size_t size = bytes.size();
  if (bytes.size() > 12 && bytes.compare(0, 4, "RIFF") == 0) {
    std::size_t pos = 12;
    bool found = false;
    while (pos + 8 <= bytes.size()) {
      const std::string id = bytes.substr(pos, 4);
      const std::uint32_t len = le32(bytes, pos + 4);
      if (id == "fmt ") {
        std::uint16_t channels = 0;
        std::memcpy(&channels, bytes.data() + pos + 10, 2);
        const std::uint32_t rate = le32(bytes, pos + 12);
        if (channels != 1 || rate != 16000) throw std::runtime_error(path + ": not 16 kHz mono");
      }
      if (id == "data") {
        at = pos + 8;
        size = std::min<std::size_t>(len, bytes.size() - at);
        found = true;
        break;
      }
      pos += 8 + len + (len & 1);
    }
    if (!found) throw std::runtime_error(path + ": no data chunk");
  }
  std::vector<std::int16_t> samples(size / 2);
  std::memcpy(samples.data(), bytes.data() + at, samples.size() * 2);
  return samples;
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '\'') {
      word += static_cast<char>(std::tolower(u));
    } else if (!word.empty()) {
      out.push_back(word);
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

// Word-level Levenshtein distance.
std::size_t word_errors(const std::string& reference, const std::string& hypothesis) {
  const auto r = words_of(reference);
  const auto h = words_of(hypothesis);
  std::vector<std::size_t> row(h.size() + 1);
  for (std::size_t j = 0; j <= h.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= r.size(); ++i) {
    std::vector<std::size_t> next(h.size() + 1);
    next[0] = i;
    for (std::size_t j = 1; j <= h.size(); ++j) {
      next[j] =
          std::min({row[j] + 1, next[j - 1] + 1, row[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1)});
    }
    row = std::move(next);
  }
  return row[h.size()];
}

struct Utterance {
  std::string path;
  std::string reference;
  std::vector<std::int16_t> pcm;
  double seconds() const { return static_cast<double>(pcm.size()) / 16000.0; }
};

struct Options {
  std::vector<Utterance> utterances;
  std::vector<std::string> webm;
  std::string decoder;
  std::string openai_url;
  std::set<std::string> only{"stt", "decode", "vad", "tts", "openai"};
  std::vector<std::string> modes{"fast", "default"};
  int repeat = 3;
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, sep);) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

void emit(json::object line) { std::cout << json::serialize(line) << '\n' << std::flush; }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(index, v.size() - 1)];
}

// ---------------------------------------------------------------------------------------------

struct SttRun {
  double audio_s = 0, cpu_s = 0, wall_s = 0;
  std::vector<double> finish_ms;
  std::size_t errors = 0, words = 0;
  std::size_t partials = 0;
};

// One utterance through a RecognitionStream, fed 100 ms at a time as a live stream is.
void recognize(stt::PocketsphinxRecognizer& recognizer, const Utterance& u, SttRun& run,
               std::string* text_out) {
  const double cpu0 = thread_cpu();
  const auto t0 = Clock::now();
  auto stream = recognizer.start("en-US");
  if (!stream) throw std::runtime_error("pocketsphinx start: " + stream.error().message);
  constexpr std::size_t piece = 1600;
  for (std::size_t at = 0; at < u.pcm.size(); at += piece) {
    const std::size_t n = std::min(piece, u.pcm.size() - at);
    auto partial = (*stream)->accept(std::span<const std::int16_t>(u.pcm.data() + at, n));
    if (!partial) throw std::runtime_error("pocketsphinx accept: " + partial.error().message);
    if (*partial) ++run.partials;
  }
  const auto f0 = Clock::now();
  auto transcript = (*stream)->finish();
  if (!transcript) throw std::runtime_error("pocketsphinx finish: " + transcript.error().message);
  run.finish_ms.push_back(seconds_since(f0) * 1000);
  run.wall_s += seconds_since(t0);
  run.cpu_s += thread_cpu() - cpu0;
  run.audio_s += u.seconds();
  run.errors += word_errors(u.reference, transcript->text);
  run.words += words_of(u.reference).size();
  if (text_out) *text_out = transcript->text;
}

void bench_stt(const Options& o) {
  for (const auto& mode : o.modes) {
    stt::PocketsphinxOptions options;
    options.fast = mode == "fast";
    options.max_decoders = 4;
    stt::PocketsphinxRecognizer recognizer(options);
    // Decoder creation (the first start() of a stream that finds no idle decoder).
    const double cpu0 = thread_cpu();
    const auto t0 = Clock::now();
    {
      auto warm = recognizer.start("en-US");
      if (!warm) throw std::runtime_error("pocketsphinx: " + warm.error().message);
      (void)(*warm)->finish();
    }
    const double create_ms = seconds_since(t0) * 1000;
    const double create_cpu_ms = (thread_cpu() - cpu0) * 1000;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);

    // One thread: the real-time factor of one stream on an otherwise idle core.
    SttRun one;
    for (int r = 0; r < o.repeat; ++r) {
      for (const auto& u : o.utterances) {
        std::string text;
        recognize(recognizer, u, one, r == 0 ? &text : nullptr);
        if (r == 0) {
          std::cerr << "  [" << mode << "] " << u.path.substr(u.path.rfind('/') + 1) << ": \""
                    << text << "\"\n";
        }
      }
    }
    emit({{"bench", "stt"},
          {"engine", "pocketsphinx"},
          {"mode", mode},
          {"threads", 1},
          {"audio_s", one.audio_s},
          {"rtf_cpu", one.cpu_s / one.audio_s},
          {"rtf_wall", one.wall_s / one.audio_s},
          {"finish_ms_p50", percentile(one.finish_ms, 0.5)},
          {"finish_ms_p95", percentile(one.finish_ms, 0.95)},
          {"finish_ms_max", percentile(one.finish_ms, 1.0)},
          {"partials", one.partials},
          {"wer", one.words ? static_cast<double>(one.errors) / static_cast<double>(one.words) : 0},
          {"decoder_create_ms", create_ms},
          {"decoder_create_cpu_ms", create_cpu_ms},
          {"max_rss_mb", static_cast<double>(ru.ru_maxrss) / 1024.0}});
    std::fprintf(stderr,
                 "stt pocketsphinx %-7s 1 thread : RTF cpu %.3f wall %.3f | finish() p50 %.1f "
                 "p95 %.1f ms | WER %.1f%% | decoder creation %.0f ms\n",
                 mode.c_str(), one.cpu_s / one.audio_s, one.wall_s / one.audio_s,
                 percentile(one.finish_ms, 0.5), percentile(one.finish_ms, 0.95),
                 100.0 * static_cast<double>(one.errors) /
                     static_cast<double>(std::max<std::size_t>(1, one.words)),
                 create_ms);

    // Two utterances at once on two threads (both cores busy): per-stream RTF and throughput.
    {
      auto warm2a = recognizer.start("en-US");  // make sure 2 decoders exist before timing
      auto warm2b = recognizer.start("en-US");
      if (warm2a) (void)(*warm2a)->finish();
      if (warm2b) (void)(*warm2b)->finish();
    }
    std::vector<SttRun> runs(2);
    const auto w0 = Clock::now();
    const double pcpu0 = process_cpu();
    {
      std::vector<std::jthread> threads;
      for (std::size_t t = 0; t < runs.size(); ++t) {
        threads.emplace_back([&, t] {
          for (int r = 0; r < o.repeat; ++r) {
            for (std::size_t i = 0; i < o.utterances.size(); ++i) {
              // The two threads walk the list in opposite orders so they don't stay in lock step.
              const auto& u = o.utterances[t == 0 ? i : o.utterances.size() - 1 - i];
              recognize(recognizer, u, runs[t], nullptr);
            }
          }
        });
      }
    }
    const double wall = seconds_since(w0);
    const double pcpu = process_cpu() - pcpu0;
    double audio = 0, wall_sum = 0;
    std::vector<double> finish;
    for (const auto& run : runs) {
      audio += run.audio_s;
      wall_sum += run.wall_s;
      finish.insert(finish.end(), run.finish_ms.begin(), run.finish_ms.end());
    }
    emit({{"bench", "stt"},
          {"engine", "pocketsphinx"},
          {"mode", mode},
          {"threads", 2},
          {"audio_s", audio},
          {"rtf_cpu", pcpu / audio},
          {"rtf_wall_per_stream", wall_sum / audio},
          {"realtime_streams_2_cores", audio / wall},
          {"finish_ms_p50", percentile(finish, 0.5)},
          {"finish_ms_p95", percentile(finish, 0.95)}});
    std::fprintf(stderr,
                 "stt pocketsphinx %-7s 2 threads: RTF cpu %.3f, wall per stream %.3f | audio "
                 "recognized per wall second: %.1f s (streams 2 cores keep up with) | finish() "
                 "p50 %.1f p95 %.1f ms\n",
                 mode.c_str(), pcpu / audio, wall_sum / audio, audio / wall,
                 percentile(finish, 0.5), percentile(finish, 0.95));
  }
}

// ---------------------------------------------------------------------------------------------

void bench_decode(const Options& o) {
  if (o.decoder.empty()) throw std::runtime_error("--decoder is required for decode");
  audio::SandboxOptions sandbox;
  sandbox.decoder_path = o.decoder;
  for (const auto& path : o.webm) {
    const std::string bytes = read_file(path);
    // Whole file: one child per decode.
    std::vector<double> wall_ms, child_ms;
    double audio_s = 0;
    for (int r = 0; r < std::max(3, o.repeat * 2); ++r) {
      const double c0 = children_cpu();
      const auto t0 = Clock::now();
      auto pcm = audio::decode_sandboxed(sandbox, bytes, audio::InputFormat::webm);
      if (!pcm) throw std::runtime_error("decode_sandboxed: " + pcm.error().message);
      wall_ms.push_back(seconds_since(t0) * 1000);
      child_ms.push_back((children_cpu() - c0) * 1000);
      audio_s = static_cast<double>(pcm->samples.size()) / 16000.0;
    }
    // Spawn cost alone: start a child and finish it without input.
    std::vector<double> spawn_ms;
    for (int r = 0; r < 5; ++r) {
      const auto t0 = Clock::now();
      auto child = audio::DecoderProcess::start(sandbox, audio::InputFormat::webm);
      if (!child) throw std::runtime_error("DecoderProcess::start: " + child.error().message);
      spawn_ms.push_back(seconds_since(t0) * 1000);
      (void)child->finish();
    }
    // Live: the file cut into ~250 ms pieces by size (what a MediaRecorder timeslice gives),
    // fed back to back; feed() latency is what a stream waits per chunk.
    const std::size_t pieces = std::max<std::size_t>(1, static_cast<std::size_t>(audio_s * 4));
    const std::size_t piece = (bytes.size() + pieces - 1) / pieces;
    std::vector<double> feed_ms;
    double live_wall = 0, live_child = 0;
    for (int r = 0; r < std::max(3, o.repeat); ++r) {
      const double c0 = children_cpu();
      const auto t0 = Clock::now();
      auto child = audio::DecoderProcess::start(sandbox, audio::InputFormat::webm);
      if (!child) throw std::runtime_error("DecoderProcess::start: " + child.error().message);
      std::size_t samples = 0;
      for (std::size_t at = 0; at < bytes.size(); at += piece) {
        const auto f0 = Clock::now();
        auto pcm = child->feed(std::string_view(bytes).substr(at, piece));
        if (!pcm) throw std::runtime_error("feed: " + pcm.error().message);
        feed_ms.push_back(seconds_since(f0) * 1000);
        samples += pcm->size();
      }
      auto rest = child->finish();
      if (!rest) throw std::runtime_error("finish: " + rest.error().message);
      samples += rest->size();
      live_wall += seconds_since(t0);
      live_child += children_cpu() - c0;
      (void)samples;
    }
    const double live_runs = std::max(3, o.repeat);
    emit({{"bench", "decode"},
          {"file", path},
          {"audio_s", audio_s},
          {"bytes", bytes.size()},
          {"whole_wall_ms_per_audio_s", percentile(wall_ms, 0.5) / audio_s},
          {"whole_child_cpu_ms_per_audio_s", percentile(child_ms, 0.5) / audio_s},
          {"whole_wall_ms_p50", percentile(wall_ms, 0.5)},
          {"spawn_ms_p50", percentile(spawn_ms, 0.5)},
          {"live_wall_ms_per_audio_s", live_wall / live_runs * 1000 / audio_s},
          {"live_child_cpu_ms_per_audio_s", live_child / live_runs * 1000 / audio_s},
          {"live_feed_ms_p50", percentile(feed_ms, 0.5)},
          {"live_feed_ms_p95", percentile(feed_ms, 0.95)},
          {"live_chunks", pieces}});
    std::fprintf(stderr,
                 "decode webm/opus %.1f s: whole file %.1f ms wall (%.2f ms/s of audio, child CPU "
                 "%.2f ms/s), spawn %.1f ms | live 250 ms chunks: %.2f ms wall/s, child CPU %.2f "
                 "ms/s, feed() p50 %.2f p95 %.2f ms\n",
                 audio_s, percentile(wall_ms, 0.5), percentile(wall_ms, 0.5) / audio_s,
                 percentile(child_ms, 0.5) / audio_s, percentile(spawn_ms, 0.5),
                 live_wall / live_runs * 1000 / audio_s, live_child / live_runs * 1000 / audio_s,
                 percentile(feed_ms, 0.5), percentile(feed_ms, 0.95));
  }
}

// ---------------------------------------------------------------------------------------------

void bench_vad(const Options& o) {
  std::vector<std::int16_t> all;
  for (const auto& u : o.utterances) {
    all.insert(all.end(), u.pcm.begin(), u.pcm.end());
    all.insert(all.end(), 16000, 0);  // a second of silence ends each utterance
  }
  const double audio_s = static_cast<double>(all.size()) / 16000.0;
  const int rounds = 20 * std::max(1, o.repeat);
  std::size_t utterances = 0;
  const double cpu0 = thread_cpu();
  for (int r = 0; r < rounds; ++r) {
    audio::UtteranceSegmenter segmenter;
    for (std::size_t at = 0; at < all.size(); at += 4000) {
      const std::size_t n = std::min<std::size_t>(4000, all.size() - at);
      for (const auto& e : segmenter.push(std::span<const std::int16_t>(all.data() + at, n))) {
        if (e.kind == audio::SegmentEvent::Kind::ended) ++utterances;
      }
    }
    (void)segmenter.flush();
  }
  const double cpu = thread_cpu() - cpu0;
  emit({{"bench", "vad"},
        {"audio_s", audio_s * rounds},
        {"cpu_ms_per_audio_s", cpu * 1000 / (audio_s * rounds)},
        {"utterances_per_round", static_cast<double>(utterances) / rounds},
        {"expected_per_round", o.utterances.size()}});
  std::fprintf(
      stderr,
      "vad segmenter (WebRTC mode 2): %.3f ms CPU per s of audio; %.1f utterances found of %zu\n",
      cpu * 1000 / (audio_s * rounds), static_cast<double>(utterances) / rounds,
      o.utterances.size());
}

// ---------------------------------------------------------------------------------------------

void bench_tts(const Options& o) {
  auto created = tts::EspeakSynthesizer::create();
  if (!created) throw std::runtime_error("espeak-ng: " + created.error().message);
  auto& espeak = **created;
  const std::vector<std::pair<std::string, std::string>> texts{
      {"en-US", "The weather is nice today, so we will meet in the park after lunch."},
      {"es", "El tiempo es agradable hoy, así que nos veremos en el parque después de comer."},
      {"fr", "Il fait beau aujourd'hui, nous nous retrouverons au parc après le déjeuner."},
      {"de", "Das Wetter ist heute schön, also treffen wir uns nach dem Mittagessen im Park."},
  };
  for (const auto& [language, text] : texts) {
    tts::SynthesisRequest request{text, language, std::nullopt, std::nullopt};
    (void)espeak.synthesize_pcm(request);  // voice loading
    std::vector<double> pcm_ms, ogg_ms, first_ms;
    double audio_s = 0;
    for (int r = 0; r < std::max(5, o.repeat * 3); ++r) {
      auto t0 = Clock::now();
      auto pcm = espeak.synthesize_pcm(request);
      if (!pcm) throw std::runtime_error("espeak: " + pcm.error().message);
      pcm_ms.push_back(seconds_since(t0) * 1000);
      audio_s = static_cast<double>(pcm->samples.size()) / tts::EspeakSynthesizer::kSampleRate;
      t0 = Clock::now();
      auto ogg = espeak.synthesize(request, tts::AudioFormat::ogg_opus);
      if (!ogg) throw std::runtime_error("espeak ogg: " + ogg.error().message);
      ogg_ms.push_back(seconds_since(t0) * 1000);
      // First audio of a short phrase (what a listener waits for before playback can start
      // when messages are split into phrases): the whole phrase is synthesized before return.
      tts::SynthesisRequest phrase{text.substr(0, text.find(',')), language, std::nullopt,
                                   std::nullopt};
      t0 = Clock::now();
      (void)espeak.synthesize_pcm(phrase);
      first_ms.push_back(seconds_since(t0) * 1000);
    }
    const double p = percentile(pcm_ms, 0.5), g = percentile(ogg_ms, 0.5);
    emit({{"bench", "tts"},
          {"engine", "espeak-ng"},
          {"language", language},
          {"audio_s", audio_s},
          {"pcm_ms_p50", p},
          {"x_realtime_pcm", audio_s * 1000 / p},
          {"ogg_opus_ms_p50", g},
          {"x_realtime_ogg_opus", audio_s * 1000 / g},
          {"first_phrase_ms_p50", percentile(first_ms, 0.5)}});
    std::fprintf(stderr,
                 "tts espeak-ng %-5s %.2f s of speech: PCM %.1f ms (%.0fx real time), ogg/opus "
                 "%.1f ms (%.0fx), first phrase %.1f ms\n",
                 language.c_str(), audio_s, p, audio_s * 1000 / p, g, audio_s * 1000 / g,
                 percentile(first_ms, 0.5));
  }
}

// ---------------------------------------------------------------------------------------------

void bench_openai(const Options& o) {
  if (o.openai_url.empty()) {
    std::fprintf(stderr, "openai: skipped (no --openai-url)\n");
    return;
  }
  outbound::CurlHttpClient http;
  stt::OpenAiOptions options;
  options.base_url = o.openai_url;
  options.api_key = "sk-test";
  options.max_retries = 0;
  stt::OpenAiRecognizer recognizer(http, options);
  std::vector<double> finish_ms, cpu_ms;
  double audio_s = 0;
  for (int r = 0; r < std::max(3, o.repeat) + 1; ++r) {
    for (const auto& u : o.utterances) {
      const double cpu0 = thread_cpu();
      auto stream = recognizer.start("en");
      if (!stream) throw std::runtime_error("openai start: " + stream.error().message);
      for (std::size_t at = 0; at < u.pcm.size(); at += 1600) {
        const std::size_t n = std::min<std::size_t>(1600, u.pcm.size() - at);
        (void)(*stream)->accept(std::span<const std::int16_t>(u.pcm.data() + at, n));
      }
      const auto t0 = Clock::now();
      auto text = (*stream)->finish();
      if (!text) throw std::runtime_error("openai finish: " + text.error().message);
      if (r == 0) continue;  // connection set-up and first-use costs
      finish_ms.push_back(seconds_since(t0) * 1000);
      cpu_ms.push_back((thread_cpu() - cpu0) * 1000);
      audio_s += u.seconds();
    }
  }
  double cpu_total = 0;
  for (double c : cpu_ms) cpu_total += c;
  emit({{"bench", "stt"},
        {"engine", "openai (local fake)"},
        {"audio_s", audio_s},
        {"client_cpu_ms_per_audio_s", cpu_total / audio_s},
        {"finish_ms_p50", percentile(finish_ms, 0.5)},
        {"finish_ms_p95", percentile(finish_ms, 0.95)}});
  std::fprintf(stderr,
               "stt openai against the local fake (client side only): %.2f ms CPU per s of audio, "
               "finish() (WAV upload + reply from a fake that answers at once) p50 %.1f p95 %.1f "
               "ms\n",
               cpu_total / audio_s, percentile(finish_ms, 0.5), percentile(finish_ms, 0.95));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--utt") {
        const std::string v = value();
        const auto eq = v.find('=');
        Utterance u;
        u.path = v.substr(0, eq);
        u.reference = eq == std::string::npos ? "" : v.substr(eq + 1);
        // What the segmenter hands the engine: 200 ms of pre-roll before the speech and the
        // 300 ms hangover after it (trimmed sentences have neither; silence here).
        const auto speech = read_pcm16k(u.path);
        u.pcm.assign(3200, 0);
        u.pcm.insert(u.pcm.end(), speech.begin(), speech.end());
        u.pcm.insert(u.pcm.end(), 4800, 0);
        o.utterances.push_back(std::move(u));
      } else if (arg == "--webm") {
        o.webm.push_back(value());
      } else if (arg == "--decoder") {
        o.decoder = value();
      } else if (arg == "--openai-url") {
        o.openai_url = value();
      } else if (arg == "--repeat") {
        o.repeat = std::max(1, std::stoi(value()));
      } else if (arg == "--only") {
        const auto list = split(value(), ',');
        o.only = {list.begin(), list.end()};
      } else if (arg == "--modes") {
        o.modes = split(value(), ',');
      } else if (arg == "--help" || arg == "-h") {
        std::cout << "parley-speech-bench --utt file.wav=\"reference\" ... --webm f.webm "
                     "--decoder path [--repeat N] [--openai-url URL] [--only stt,decode,vad,tts,"
                     "openai] [--modes fast,default]\n";
        return 0;
      } else {
        throw std::runtime_error("unknown argument " + arg);
      }
    }
    if (o.utterances.empty()) throw std::runtime_error("give at least one --utt");
    double total = 0;
    for (const auto& u : o.utterances) total += u.seconds();
    std::fprintf(stderr, "%zu utterances, %.1f s of audio, repeat %d\n", o.utterances.size(), total,
                 o.repeat);
    if (o.only.contains("stt")) bench_stt(o);
    if (o.only.contains("decode")) bench_decode(o);
    if (o.only.contains("vad")) bench_vad(o);
    if (o.only.contains("tts")) bench_tts(o);
    if (o.only.contains("openai")) bench_openai(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parley-speech-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
