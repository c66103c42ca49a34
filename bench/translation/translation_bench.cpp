// parley-translation-bench: what translating short chat sentences costs, measured through
// Parley's own classes (src/translate, src/store), not through the libraries directly:
//
//   langid    LanguageDetector (CLD2): µs per sentence, and how many it got right.
//   apertium  ApertiumTranslator with the installed Debian pairs: first use of a route (its
//             pipelines start and load their dictionaries), then per-sentence latency
//             p50/p95/p99 and translations/s with 1 thread, 2 threads on one route and 2 threads
//             on two routes; CPU per translation in the pipeline processes, by stage.
//   openai    OpenAiTranslator + CurlHttpClient against the local fake (tests/fakes/openai.mjs)
//             answering at once (client + HTTP overhead only) and after a scripted delay (a
//             realistic service), 1/4/8 concurrent callers; then the client-side rate limit
//             (requests_per_minute over a short rate_window) as the fake saw it.
//   queue     TranslationQueue + QueueWorker on each database given (SQLite file in WAL mode,
//             PostgreSQL): enqueue only; draining a backlog; enqueue -> claim -> complete ->
//             on_done -> mark_delivered end to end with 1 and 2 worker threads and a no-op
//             translate function (queue overhead per job = wall time / jobs); one job at a time
//             (latency added by the queue); one claim with 0..10,000 jobs queued; and the same
//             pipeline with Apertium doing the work.
//
// Output: a compact table on stdout at the end; JSON lines (one per measurement) to --jsonl;
// progress on stderr.
//
//   parley-translation-bench [--sentences bench/translation/sentences.tsv] [--quick]
//       [--only langid,apertium,openai,queue] [--modes-dir /usr/share/apertium/modes]
//       [--openai-url http://127.0.0.1:PORT/v1 [--openai-pid PID] [--openai-latency-ms 300]]
//       [--db LABEL=URL ...] [--jsonl results.jsonl]
//   A database "postgres" is added when PARLEY_TEST_POSTGRES_URL is set (scripts/with-postgres.sh).

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "outbound/curl_http_client.hpp"
#include "store/database.hpp"
#include "store/migrations/migrator.hpp"
#include "translate/apertium/apertium_translator.hpp"
#include "translate/langid/language_detector.hpp"
#include "translate/openai/openai_translator.hpp"
#include "translate/queue/queue_worker.hpp"
#include "translate/queue/translation_queue.hpp"

namespace json = boost::json;
using namespace parley;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// --- measuring ---------------------------------------------------------------------------------

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double process_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(index, v.size() - 1)];
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

const double kTicks = static_cast<double>(sysconf(_SC_CLK_TCK));

// Fields of /proc/<pid>/stat after the command name: [0] state, [2] pgrp, [11] utime, [12] stime.
std::optional<std::pair<std::string, std::vector<std::string>>> proc_stat(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  const auto open = line.find('(');
  const auto close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  std::vector<std::string> fields;
  std::istringstream rest(line.substr(close + 1));
  for (std::string f; rest >> f;) fields.push_back(f);
  if (fields.size() < 13) return std::nullopt;
  return std::make_pair(line.substr(open + 1, close - open - 1), std::move(fields));
}

double pid_cpu(long pid) {
  if (pid <= 0) return 0;
  auto stat = proc_stat(std::to_string(pid));
  if (!stat) return 0;
  return (std::stod(stat->second[11]) + std::stod(stat->second[12])) / kTicks;
}

// CPU seconds used so far by every live process in these process groups, by command name
// (the stages of Apertium pipelines: lt-proc, cg-proc, apertium-transfer, ...).
std::map<std::string, double> group_cpu(const std::set<pid_t>& groups) {
  std::map<std::string, double> by_command;
  if (groups.empty()) return by_command;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return by_command;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto stat = proc_stat(name);
    if (!stat) continue;
    const pid_t group = static_cast<pid_t>(std::stol(stat->second[2]));
    if (!groups.contains(group)) continue;
    by_command[stat->first] += (std::stod(stat->second[11]) + std::stod(stat->second[12])) / kTicks;
  }
  closedir(dir);
  return by_command;
}

double total(const std::map<std::string, double>& m) {
  double sum = 0;
  for (const auto& [k, v] : m) sum += v;
  return sum;
}

// Whole-machine busy cores between two samples of /proc/stat.
struct MachineSample {
  double busy = 0, all = 0;
};
MachineSample machine_sample() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  std::vector<double> v;
  for (int i = 0; i < 8; ++i) {
    double x = 0;
    in >> x;
    v.push_back(x);
  }
  MachineSample s;
  for (double x : v) s.all += x;
  s.busy = s.all - v[3] - v[4];  // minus idle and iowait
  return s;
}
double busy_cores(const MachineSample& a, const MachineSample& b) {
  const double all = b.all - a.all;
  if (all <= 0) return 0;
  return (b.busy - a.busy) / all * static_cast<double>(std::thread::hardware_concurrency());
}

// --- output ------------------------------------------------------------------------------------

std::ofstream jsonl;

void emit(json::object line) {
  if (jsonl.is_open()) jsonl << json::serialize(line) << '\n' << std::flush;
}

struct Row {
  std::string bench, what, threads, n, rate, p50, p95, p99, note;
};
std::vector<Row> table;

__attribute__((format(printf, 1, 2))) std::string fmt(const char* format, ...) {
  char buffer[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return buffer;
}

// A latency in ms with sensible precision.
std::string ms(double value) {
  if (value < 0.1) return fmt("%.3f", value);
  if (value < 10) return fmt("%.2f", value);
  if (value < 100) return fmt("%.1f", value);
  return fmt("%.0f", value);
}

std::string rate(double per_second) {
  if (per_second < 100) return fmt("%.1f", per_second);
  return fmt("%.0f", per_second);
}

void print_table() {
  std::vector<std::size_t> width(9, 0);
  const Row header{"bench", "case", "thr", "n", "per s", "p50 ms", "p95 ms", "p99 ms", "notes"};
  auto cells = [](const Row& r) {
    return std::vector<std::string>{r.bench, r.what, r.threads, r.n,   r.rate,
                                    r.p50,   r.p95,  r.p99,     r.note};
  };
  for (const Row& r : table) {
    auto c = cells(r);
    for (std::size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i].size());
  }
  auto h = cells(header);
  for (std::size_t i = 0; i < h.size(); ++i) width[i] = std::max(width[i], h[i].size());
  auto print = [&](const Row& r) {
    auto c = cells(r);
    std::string line;
    for (std::size_t i = 0; i < c.size(); ++i) {
      const bool right = i >= 2 && i <= 7;
      const std::string pad(width[i] - c[i].size(), ' ');
      line += right ? pad + c[i] : c[i] + (i + 1 < c.size() ? pad : "");
      if (i + 1 < c.size()) line += "  ";
    }
    std::cout << line << '\n';
  };
  print(header);
  std::size_t total_width = 0;
  for (std::size_t w : width) total_width += w + 2;
  std::cout << std::string(total_width - 2, '-') << '\n';
  for (const Row& r : table) print(r);
  std::cout << std::flush;
}

// --- input -------------------------------------------------------------------------------------

struct Sentence {
  std::string language;
  std::string text;
};

std::vector<Sentence> read_sentences(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<Sentence> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    if (tab == std::string::npos) throw std::runtime_error(path + ": a line without a tab");
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  if (out.empty()) throw std::runtime_error(path + ": no sentences");
  return out;
}

std::vector<std::string> texts_in(const std::vector<Sentence>& all, const std::string& language) {
  std::vector<std::string> out;
  for (const auto& s : all) {
    if (s.language == language) out.push_back(s.text);
  }
  return out;
}

struct Options {
  std::string sentences = "bench/translation/sentences.tsv";
  std::string modes_dir = "/usr/share/apertium/modes";
  std::string openai_url;
  long openai_pid = 0;
  int openai_latency_ms = 300;
  std::vector<std::pair<std::string, std::string>> databases;  // label, URL
  std::set<std::string> only{"langid", "apertium", "openai", "queue"};
  bool quick = false;
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, sep);) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Results other sections compare with.
struct Shared {
  double apertium_en_es_p50_ms = 0;
  double apertium_en_es_rate_1 = 0;
  double apertium_en_es_rate_2 = 0;
  std::unique_ptr<translate::ApertiumTranslator> apertium;  // with en->es running, for the queue
};

// --- langid ------------------------------------------------------------------------------------

void bench_langid(const Options& o, const std::vector<Sentence>& sentences) {
  translate::LanguageDetector detector;
  std::map<std::string, std::pair<int, int>> right;  // language -> (right, total)
  std::vector<std::string> wrong;
  for (const auto& s : sentences) {
    const auto d = detector.detect(s.text);
    auto& [ok, all] = right[s.language];
    ++all;
    if (d.language == s.language) {
      ++ok;
    } else {
      wrong.push_back(s.text + " -> " + d.language);
    }
  }
  const int passes = o.quick ? 50 : 250;
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(passes) * sentences.size());
  const auto t0 = Clock::now();
  const double cpu0 = process_cpu();
  for (int p = 0; p < passes; ++p) {
    for (const auto& s : sentences) {
      const auto a = Clock::now();
      const auto d = detector.detect(s.text);
      const auto b = Clock::now();
      if (d.language.empty()) throw std::runtime_error("langid: empty language");
      us.push_back(ms_between(a, b) * 1000.0);
    }
  }
  const double wall = seconds_since(t0);
  const double cpu = process_cpu() - cpu0;
  const double n = static_cast<double>(us.size());
  std::string accuracy;
  json::object per_language;
  for (const auto& [language, counts] : right) {
    if (!accuracy.empty()) accuracy += ", ";
    accuracy += language + " " + std::to_string(counts.first) + "/" + std::to_string(counts.second);
    per_language[language] = json::array{counts.first, counts.second};
  }
  json::array misses;
  for (const auto& w : wrong) misses.push_back(json::string(w));
  emit({{"bench", "langid"},
        {"detections", us.size()},
        {"us_mean", wall / n * 1e6},
        {"us_p50", percentile(us, 0.5)},
        {"us_p95", percentile(us, 0.95)},
        {"us_p99", percentile(us, 0.99)},
        {"cpu_us_per_detection", cpu / n * 1e6},
        {"per_second", n / wall},
        {"right", per_language},
        {"wrong", misses}});
  std::fprintf(stderr,
               "langid: %.0f detections, %.1f us mean (CPU %.1f us), p50 %.1f p95 %.1f us; right: "
               "%s\n",
               n, wall / n * 1e6, cpu / n * 1e6, percentile(us, 0.5), percentile(us, 0.95),
               accuracy.c_str());
  table.push_back(
      {"langid", "CLD2 detect", "1", std::to_string(us.size()), rate(n / wall),
       fmt("%.3f", percentile(us, 0.5) / 1000), fmt("%.3f", percentile(us, 0.95) / 1000),
       fmt("%.3f", percentile(us, 0.99) / 1000),
       fmt("mean %.1f us, CPU %.1f us/sentence; right ", wall / n * 1e6, cpu / n * 1e6) +
           accuracy});
}

// --- apertium ----------------------------------------------------------------------------------

struct Route {
  std::string from, to;
  std::string label() const { return from + "->" + to; }
};

struct RunResult {
  std::vector<double> ms;
  std::size_t errors = 0;
  double wall = 0;
  std::string first_error;
};

// `threads` callers at once, each going `passes` times over `texts` (from its own offset).
RunResult run_concurrently(std::size_t threads, int passes, const std::vector<std::string>& texts,
                           const std::function<Result<translate::Translation>(
                               std::size_t thread, const std::string& text)>& translate_one,
                           std::optional<Clock::time_point> deadline = std::nullopt) {
  RunResult result;
  std::mutex mutex;
  std::vector<std::thread> workers;
  const auto t0 = Clock::now();
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<double> mine;
      std::size_t errors = 0;
      std::string first_error;
      const std::size_t count = static_cast<std::size_t>(passes) * texts.size();
      for (std::size_t i = 0; i < count; ++i) {
        if (deadline && Clock::now() > *deadline) break;
        const std::string& text = texts[(i + t * 7) % texts.size()];
        const auto a = Clock::now();
        auto translated = translate_one(t, text);
        const auto b = Clock::now();
        if (!translated || translated->text.empty()) {
          ++errors;
          if (first_error.empty()) {
            first_error = translated ? "empty translation" : translated.error().message;
          }
          continue;
        }
        mine.push_back(ms_between(a, b));
      }
      std::lock_guard lock(mutex);
      result.ms.insert(result.ms.end(), mine.begin(), mine.end());
      result.errors += errors;
      if (result.first_error.empty()) result.first_error = first_error;
    });
  }
  for (auto& w : workers) w.join();
  result.wall = seconds_since(t0);
  return result;
}

std::set<pid_t> route_groups(translate::ApertiumTranslator& apertium, const Route& r) {
  std::set<pid_t> groups;
  auto via = apertium.route(r.from, r.to);
  if (!via) return groups;
  std::string hop = r.from;
  std::vector<std::string> stops = *via;
  stops.push_back(r.to);
  for (const auto& next : stops) {
    if (auto g = apertium.pipeline_process_group_for_testing(hop, next)) groups.insert(*g);
    hop = next;
  }
  return groups;
}

std::string join_via(const std::vector<std::string>& via) {
  std::string out;
  for (const auto& v : via) out += (out.empty() ? "" : ",") + v;
  return out;
}

void bench_apertium(const Options& o, const std::vector<Sentence>& sentences, Shared& shared) {
  translate::ApertiumOptions options;
  options.modes_dir = o.modes_dir;
  auto apertium = std::make_unique<translate::ApertiumTranslator>(options);
  if (apertium->pairs().empty()) {
    std::fprintf(stderr, "apertium: skipped (no pairs in %s)\n", o.modes_dir.c_str());
    return;
  }
  const auto english = texts_in(sentences, "en");
  const auto spanish = texts_in(sentences, "es");
  std::vector<Route> routes;
  for (Route r : {Route{"en", "es"}, Route{"en", "ca"}, Route{"en", "it"}, Route{"es", "en"},
                  Route{"es", "ca"}}) {
    if (apertium->supports(r.from, r.to)) {
      routes.push_back(r);
    } else {
      std::fprintf(stderr, "apertium: %s not installed, skipped\n", r.label().c_str());
    }
  }
  auto texts_for = [&](const Route& r) -> const std::vector<std::string>& {
    return r.from == "es" ? spanish : english;
  };

  // First use: a fresh translator per try, so every pipeline of the route starts cold (the
  // dictionaries are in the page cache after the first try).
  const int cold_tries = o.quick ? 1 : 3;
  for (const Route& r : routes) {
    if (r.from == "es" && r.to == "en") continue;  // same kind of start as en->es; saves time
    std::vector<double> first_ms;
    for (int i = 0; i < cold_tries; ++i) {
      translate::ApertiumTranslator cold(options);
      const auto a = Clock::now();
      auto t = cold.translate(texts_for(r).front(), r.from, r.to);
      const auto b = Clock::now();
      if (!t)
        throw std::runtime_error("apertium first use " + r.label() + ": " + t.error().message);
      first_ms.push_back(ms_between(a, b));
    }
    const auto via = apertium->route(r.from, r.to).value_or(std::vector<std::string>{});
    emit({{"bench", "apertium"},
          {"step", "first_use"},
          {"route", r.label()},
          {"via", join_via(via)},
          {"pipelines_started", via.size() + 1},
          {"first_use_ms", json::value_from(first_ms)},
          {"first_use_ms_median", percentile(first_ms, 0.5)}});
    std::fprintf(stderr, "apertium %s first use (%zu pipeline%s start): %s ms\n", r.label().c_str(),
                 via.size() + 1, via.empty() ? "" : "s",
                 [&] {
                   std::string s;
                   for (double x : first_ms) s += (s.empty() ? "" : ", ") + ms(x);
                   return s;
                 }()
                     .c_str());
    table.push_back({"apertium",
                     r.label() + " first use" + (via.empty() ? "" : " (via " + join_via(via) + ")"),
                     "1", std::to_string(first_ms.size()), "", ms(percentile(first_ms, 0.5)), "",
                     "", "pipeline start + 1st sentence; median of tries"});
  }

  // Warm: every route's pipelines running, every sentence seen once.
  for (const Route& r : routes) {
    for (const auto& text : texts_for(r)) {
      auto t = apertium->translate(text, r.from, r.to);
      if (!t) throw std::runtime_error("apertium warm-up " + r.label() + ": " + t.error().message);
    }
    auto sample = apertium->translate(texts_for(r).front(), r.from, r.to);
    if (sample) {
      std::fprintf(stderr, "apertium %s: \"%s\" -> \"%s\"\n", r.label().c_str(),
                   texts_for(r).front().c_str(), sample->text.c_str());
      emit({{"bench", "apertium"},
            {"step", "sample"},
            {"route", r.label()},
            {"text", texts_for(r).front()},
            {"translation", sample->text},
            {"via", join_via(sample->via)}});
    }
  }

  const int passes = o.quick ? 4 : 40;
  auto measure = [&](const std::string& what, const std::vector<Route>& per_thread,
                     std::size_t threads, int step_passes) {
    std::set<pid_t> groups;
    for (const auto& r : per_thread) {
      auto g = route_groups(*apertium, r);
      groups.insert(g.begin(), g.end());
    }
    const auto& texts = texts_for(per_thread.front());
    const auto cpu_groups0 = group_cpu(groups);
    const double cpu0 = process_cpu();
    const auto m0 = machine_sample();
    auto result =
        run_concurrently(threads, step_passes, texts, [&](std::size_t t, const std::string& text) {
          const Route& r = per_thread[t % per_thread.size()];
          return apertium->translate(text, r.from, r.to);
        });
    const auto m1 = machine_sample();
    const double cpu_self = process_cpu() - cpu0;
    auto cpu_groups = group_cpu(groups);
    for (auto& [command, seconds] : cpu_groups) {
      const auto before = cpu_groups0.find(command);
      if (before != cpu_groups0.end()) seconds -= before->second;
    }
    const double n = static_cast<double>(result.ms.size());
    const double per_second = n / result.wall;
    const double pipeline_ms = n > 0 ? total(cpu_groups) / n * 1000 : 0;
    const double self_ms = n > 0 ? cpu_self / n * 1000 : 0;
    // The busiest stages, for "where the time goes".
    std::vector<std::pair<double, std::string>> stages;
    json::object stage_json;
    for (const auto& [command, seconds] : cpu_groups) {
      stages.emplace_back(seconds, command);
      stage_json[command] = n > 0 ? seconds / n * 1000 : 0;
    }
    std::sort(stages.rbegin(), stages.rend());
    std::string top;
    for (std::size_t i = 0; i < std::min<std::size_t>(3, stages.size()); ++i) {
      top += (top.empty() ? "" : ", ") + stages[i].second + " " +
             fmt("%.2f", n > 0 ? stages[i].first / n * 1000 : 0);
    }
    const double cores = busy_cores(m0, m1);
    const double ours = (cpu_self + total(cpu_groups)) / result.wall;
    emit({{"bench", "apertium"},
          {"step", "steady"},
          {"case", what},
          {"threads", threads},
          {"translations", result.ms.size()},
          {"errors", result.errors},
          {"per_second", per_second},
          {"ms_mean", mean(result.ms)},
          {"ms_p50", percentile(result.ms, 0.5)},
          {"ms_p95", percentile(result.ms, 0.95)},
          {"ms_p99", percentile(result.ms, 0.99)},
          {"ms_max", percentile(result.ms, 1.0)},
          {"pipeline_cpu_ms_per_translation", pipeline_ms},
          {"caller_cpu_ms_per_translation", self_ms},
          {"pipeline_cpu_ms_by_stage", stage_json},
          {"machine_busy_cores", cores},
          {"other_busy_cores", std::max(0.0, cores - ours)}});
    std::fprintf(stderr,
                 "apertium %-22s %zu thr: %5.0f/s, p50 %.2f p95 %.2f p99 %.2f ms; CPU/translation: "
                 "pipeline %.2f ms (%s), caller %.3f ms; others %.2f cores%s%s\n",
                 what.c_str(), threads, per_second, percentile(result.ms, 0.5),
                 percentile(result.ms, 0.95), percentile(result.ms, 0.99), pipeline_ms, top.c_str(),
                 self_ms, std::max(0.0, cores - ours), result.errors ? "; errors: " : "",
                 result.first_error.c_str());
    table.push_back({"apertium", what, std::to_string(threads), std::to_string(result.ms.size()),
                     rate(per_second), ms(percentile(result.ms, 0.5)),
                     ms(percentile(result.ms, 0.95)), ms(percentile(result.ms, 0.99)),
                     fmt("CPU %.2f ms/translation", pipeline_ms + self_ms) +
                         (result.errors ? ", " + std::to_string(result.errors) + " errors" : "")});
    return result;
  };

  for (const Route& r : routes) {
    auto via = apertium->route(r.from, r.to).value_or(std::vector<std::string>{});
    const std::string what = r.label() + (via.empty() ? "" : " (via " + join_via(via) + ")");
    auto one = measure(what, {r}, 1, passes);
    if (r.from == "en" && r.to == "es") {
      shared.apertium_en_es_p50_ms = percentile(one.ms, 0.5);
      shared.apertium_en_es_rate_1 = static_cast<double>(one.ms.size()) / one.wall;
    }
    if (r.from == "en") {
      auto two = measure(what, {r}, 2, passes / 2);
      if (r.to == "es")
        shared.apertium_en_es_rate_2 = static_cast<double>(two.ms.size()) / two.wall;
    }
  }
  const bool es = std::any_of(routes.begin(), routes.end(),
                              [](const Route& r) { return r.from == "en" && r.to == "es"; });
  const bool ca = std::any_of(routes.begin(), routes.end(),
                              [](const Route& r) { return r.from == "en" && r.to == "ca"; });
  if (es && ca) measure("en->es + en->ca at once", {{"en", "es"}, {"en", "ca"}}, 2, passes / 2);
  if (es) shared.apertium = std::move(apertium);
}

// --- openai ------------------------------------------------------------------------------------

Result<outbound::HttpResponse> control(outbound::HttpClient& http, const std::string& root,
                                       const std::string& method, const std::string& path,
                                       const std::string& body = "") {
  outbound::HttpRequest request;
  request.method = method;
  request.url = root + path;
  request.body = body;
  if (!body.empty()) request.headers.add("Content-Type", "application/json");
  request.timeout = 10s;
  request.max_response_bytes = 64 * 1024 * 1024;
  return http.send(request);
}

// The time RequestBudget last read on this thread. acquire() reads its clock once per try and
// returns as soon as it admits, and OpenAiTranslator sends right after: so inside send() this is
// the admission time the budget recorded.
thread_local Clock::time_point budget_clock_read{};

// Forwards to another client and remembers, for each request, when the budget admitted it and
// when it was sent.
class RecordingHttpClient final : public outbound::HttpClient {
 public:
  explicit RecordingHttpClient(outbound::HttpClient& next) : next_(next) {}
  Result<outbound::HttpResponse> send(const outbound::HttpRequest& request) override {
    {
      std::lock_guard lock(mutex_);
      admitted_.push_back(budget_clock_read);
      sent_.push_back(Clock::now());
    }
    return next_.send(request);
  }
  std::vector<Clock::time_point> admitted() {
    std::lock_guard lock(mutex_);
    return admitted_;
  }
  std::vector<Clock::time_point> sent() {
    std::lock_guard lock(mutex_);
    return sent_;
  }

 private:
  outbound::HttpClient& next_;
  std::mutex mutex_;
  std::vector<Clock::time_point> admitted_, sent_;
};

void bench_openai(const Options& o, const std::vector<Sentence>& sentences) {
  if (o.openai_url.empty()) {
    std::fprintf(stderr, "openai: skipped (no --openai-url)\n");
    return;
  }
  // The control API is at the fake's root, the OpenAI API under /v1.
  std::string root = o.openai_url;
  if (const auto v1 = root.rfind("/v1"); v1 != std::string::npos && v1 + 3 == root.size()) {
    root.resize(v1);
  }
  outbound::CurlHttpClient http;
  if (auto r = control(http, root, "POST", "/__reset", "{}"); !r || r->status != 200) {
    throw std::runtime_error("openai: the fake does not answer at " + root);
  }
  const auto english = texts_in(sentences, "en");

  translate::OpenAiTranslatorOptions options;
  options.base_url = o.openai_url;
  options.api_key = "sk-test";
  options.max_retries = 0;
  options.requests_per_minute = 0;  // no client-side limit: measure the client and the HTTP path
  options.tokens_per_minute = 0;
  options.timeout = 10s;
  translate::OpenAiTranslator translator(http, options);

  for (int latency : {0, o.openai_latency_ms}) {
    for (std::size_t threads : {std::size_t{1}, std::size_t{4}, std::size_t{8}}) {
      // The same number of requests per caller in every step, enough for a stable p95.
      const int per_thread =
          latency == 0 ? (o.quick ? 300 : 1000) / static_cast<int>(threads) : (o.quick ? 3 : 20);
      const int requests = per_thread * static_cast<int>(threads);
      (void)control(http, root, "POST", "/__reset", "{}");
      if (latency > 0) {
        json::array responses;
        for (int i = 0; i < requests; ++i) responses.push_back(json::object{{"delay_ms", latency}});
        auto scripted = control(http, root, "POST", "/__script",
                                json::serialize(json::object{{"responses", responses}}));
        if (!scripted || scripted->status != 200)
          throw std::runtime_error("openai: /__script failed");
      }
      const double cpu0 = process_cpu();
      const double fake0 = pid_cpu(o.openai_pid);
      const auto m0 = machine_sample();
      // passes = 1 over a list of exactly per_thread texts.
      std::vector<std::string> texts;
      for (int i = 0; i < per_thread; ++i)
        texts.push_back(english[static_cast<std::size_t>(i) % english.size()]);
      auto result = run_concurrently(
          threads, 1, texts,
          [&](std::size_t, const std::string& text) {
            return translator.translate(text, "en", "es");
          },
          Clock::now() + 60s);
      const auto m1 = machine_sample();
      const double client_ms = (process_cpu() - cpu0) / static_cast<double>(requests) * 1000;
      const double fake_ms =
          o.openai_pid > 0 ? (pid_cpu(o.openai_pid) - fake0) / static_cast<double>(requests) * 1000
                           : 0;
      const double n = static_cast<double>(result.ms.size());
      const double per_second = n / result.wall;
      const std::string what = latency == 0
                                   ? "fake answers at once"
                                   : "fake answers after " + std::to_string(latency) + " ms";
      emit({{"bench", "openai"},
            {"case", what},
            {"fake_latency_ms", latency},
            {"threads", threads},
            {"translations", result.ms.size()},
            {"errors", result.errors},
            {"per_second", per_second},
            {"ms_p50", percentile(result.ms, 0.5)},
            {"ms_p95", percentile(result.ms, 0.95)},
            {"ms_p99", percentile(result.ms, 0.99)},
            {"client_cpu_ms_per_request", client_ms},
            {"fake_cpu_ms_per_request", fake_ms},
            {"machine_busy_cores", busy_cores(m0, m1)}});
      std::fprintf(stderr,
                   "openai %-28s %zu thr: %6.1f/s, p50 %.2f p95 %.2f ms; CPU per request: client "
                   "%.3f ms, fake %.3f ms%s%s\n",
                   what.c_str(), threads, per_second, percentile(result.ms, 0.5),
                   percentile(result.ms, 0.95), client_ms, fake_ms,
                   result.errors ? "; errors: " : "", result.first_error.c_str());
      table.push_back(
          {"openai", what, std::to_string(threads), std::to_string(result.ms.size()),
           rate(per_second), ms(percentile(result.ms, 0.5)), ms(percentile(result.ms, 0.95)),
           ms(percentile(result.ms, 0.99)),
           fmt("client CPU %.2f ms/req", client_ms) +
               (o.openai_pid > 0 ? fmt(", fake %.2f", fake_ms) : "") +
               (result.errors ? ", " + std::to_string(result.errors) + " errors" : "")});
    }
  }

  // The client-side rate limit: 120 requests per (shortened) window, 8 callers that want more.
  // Counted twice: when the client sends (RequestBudget::acquire admitted the request just
  // before: what the limit promises) and when the fake receives (what a service would count,
  // arrival jitter included).
  {
    translate::OpenAiTranslatorOptions limited = options;
    limited.requests_per_minute = 120;
    limited.tokens_per_minute = 0;
    limited.rate_window = 1000ms;
    limited.max_budget_wait = 5s;
    RecordingHttpClient recording(http);
    auto budget = std::make_shared<translate::RequestBudget>(
        translate::BudgetLimits{limited.requests_per_minute, limited.tokens_per_minute,
                                limited.rate_window},
        [] {
          budget_clock_read = Clock::now();
          return budget_clock_read;
        });
    translate::OpenAiTranslator throttled(recording, limited, {}, budget);
    const auto run_for = o.quick ? 3s : 6s;
    const std::size_t threads = 8;
    (void)control(http, root, "POST", "/__reset", "{}");
    std::atomic<std::size_t> ok{0}, refused{0};
    const auto t0 = Clock::now();
    const auto deadline = t0 + run_for;
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        // Bounded: at most 2000 calls, and none starts after the deadline (a call waits at most
        // one window for the budget).
        for (std::size_t i = 0; i < 2000 && Clock::now() < deadline; ++i) {
          auto r = throttled.translate(english[(i + t) % english.size()], "en", "es");
          (r ? ok : refused).fetch_add(1);
        }
      });
    }
    for (auto& w : workers) w.join();
    const double wall = seconds_since(t0);
    auto recorded = control(http, root, "GET", "/__requests");
    if (!recorded || recorded->status != 200)
      throw std::runtime_error("openai: /__requests failed");
    std::vector<double> received;  // ms, the fake's clock (ms since the epoch)
    const json::value requests = json::parse(recorded->body);
    for (const auto& entry : requests.as_array()) {
      const auto& e = entry.as_object();
      if (e.at("path").as_string() == "/v1/chat/completions") {
        received.push_back(e.at("received_at").to_number<double>());
      }
    }
    std::vector<double> sent, admitted;  // ms since t0, the client's steady clock
    for (const auto& at : recording.sent()) sent.push_back(ms_between(t0, at));
    for (const auto& at : recording.admitted()) admitted.push_back(ms_between(t0, at));
    // Most requests in any window [t, t + 1000 ms), and the count in each consecutive second
    // from the first request.
    auto max_in_window = [](std::vector<double> at) {
      std::sort(at.begin(), at.end());
      std::size_t most = 0;
      for (std::size_t i = 0, j = 0; i < at.size(); ++i) {
        while (j < at.size() && at[j] < at[i] + 1000.0) ++j;
        most = std::max(most, j - i);
      }
      return most;
    };
    auto per_second = [](std::vector<double> at) {
      std::sort(at.begin(), at.end());
      json::array counts;
      std::string text;
      if (at.empty()) return std::make_pair(counts, text);
      std::vector<std::size_t> bins;
      for (double t : at) {
        const auto bin = static_cast<std::size_t>((t - at.front()) / 1000.0);
        if (bins.size() <= bin) bins.resize(bin + 1, 0);
        ++bins[bin];
      }
      for (std::size_t b : bins) {
        counts.push_back(b);
        text += (text.empty() ? "" : " ") + std::to_string(b);
      }
      return std::make_pair(counts, text);
    };
    const std::size_t admitted_max = max_in_window(admitted);
    const std::size_t sent_max = max_in_window(sent);
    const std::size_t received_max = max_in_window(received);
    const auto [sent_bins, sent_text] = per_second(sent);
    emit({{"bench", "openai"},
          {"case", "rate limit"},
          {"requests_per_window_limit", 120},
          {"rate_window_ms", 1000},
          {"threads", threads},
          {"seconds", wall},
          {"requests_sent", sent.size()},
          {"requests_seen_by_fake", received.size()},
          {"translations_ok", ok.load()},
          {"refused_rate_limited", refused.load()},
          {"max_admitted_in_any_window", admitted_max},
          {"max_sent_in_any_window", sent_max},
          {"max_received_in_any_window", received_max},
          {"sent_per_second_from_first", sent_bins},
          {"requests_per_second", static_cast<double>(sent.size()) / wall}});
    std::fprintf(stderr,
                 "openai rate limit 120 per 1 s window, 8 callers for %.1f s: %zu requests sent "
                 "(per second: %s); most in any 1 s window: %zu admitted by the budget, %zu "
                 "sent, %zu received by the fake; %zu refused (budget wait)\n",
                 wall, sent.size(), sent_text.c_str(), admitted_max, sent_max, received_max,
                 refused.load());
    table.push_back({"openai", "rate limit 120/window (1 s)", std::to_string(threads),
                     std::to_string(sent.size()), rate(static_cast<double>(sent.size()) / wall), "",
                     "", "",
                     "most in any 1 s window: admitted " + std::to_string(admitted_max) +
                         ", sent " + std::to_string(sent_max) + ", received " +
                         std::to_string(received_max) + " (limit 120); per s: " + sent_text});
  }
  (void)control(http, root, "POST", "/__reset", "{}");
}

// --- queue -------------------------------------------------------------------------------------

struct QueueBench {
  std::string label;
  store::Database& db;
  translate::TranslationQueue& queue;
  std::int64_t room = 0;
  std::int64_t seq = 0;
  std::vector<std::string> texts;

  void fail_on(const Error& e, const std::string& what) {
    throw std::runtime_error("queue " + label + ": " + what + ": " + e.message);
  }

  void reset() {
    auto lease = db.acquire();
    if (!lease) fail_on(lease.error(), "acquire");
    if (auto r = (*lease)->execute("DELETE FROM translation_jobs"); !r)
      fail_on(r.error(), "delete jobs");
    if (auto r = (*lease)->execute("DELETE FROM messages WHERE chatroom_id = $1", {room}); !r) {
      fail_on(r.error(), "delete messages");
    }
  }

  // n stored messages to translate (not timed), in one transaction.
  std::vector<std::int64_t> messages(std::size_t n) {
    auto lease = db.acquire();
    if (!lease) fail_on(lease.error(), "acquire");
    auto tx = store::Transaction::begin(**lease);
    if (!tx) fail_on(tx.error(), "begin");
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < n; ++i) {
      auto row = (*lease)->query(
          "INSERT INTO messages (chatroom_id, room_seq, kind, text, original_language, "
          "created_at) VALUES ($1, $2, 'text', $3, 'en', $4) RETURNING id",
          {room, ++seq, texts[i % texts.size()], std::int64_t{0}});
      if (!row) fail_on(row.error(), "insert message");
      ids.push_back(*(*row)[0].get<std::int64_t>(std::size_t{0}));
    }
    if (auto done = tx->commit(); !done) fail_on(done.error(), "commit");
    return ids;
  }

  translate::NewJob job_for(std::int64_t message, std::size_t i) const {
    translate::NewJob job;
    job.message_id = message;
    job.room_id = room;
    job.text = texts[i % texts.size()];
    job.source = "en";
    job.target = "es";
    return job;
  }

  void check_all_delivered(const std::string& step, std::size_t expected) {
    auto stats = queue.stats();
    if (!stats) fail_on(stats.error(), "stats");
    if (stats->done != static_cast<std::int64_t>(expected) || stats->undelivered != 0 ||
        stats->dead != 0 || stats->queued != 0 || stats->running != 0) {
      std::fprintf(stderr,
                   "queue %s %s: WARNING: expected %zu done and delivered; stats: queued %lld "
                   "running %lld done %lld undelivered %lld dead %lld\n",
                   label.c_str(), step.c_str(), expected, static_cast<long long>(stats->queued),
                   static_cast<long long>(stats->running), static_cast<long long>(stats->done),
                   static_cast<long long>(stats->undelivered), static_cast<long long>(stats->dead));
    }
  }
};

// Counts on_done calls; the waiter wakes when `target` is reached.
struct DoneCounter {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t done = 0;
  void add() {
    {
      std::lock_guard lock(mutex);
      ++done;
    }
    changed.notify_all();
  }
  bool wait_for(std::size_t target, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return done >= target; });
  }
  std::size_t value() {
    std::lock_guard lock(mutex);
    return done;
  }
};

translate::Translation noop_translation(const translate::Job& job) {
  return translate::Translation{
      "Hola, ¿qué tal?", job.source.value_or("en"), job.target, "noop", {}};
}

void bench_queue_on(const Options& o, const std::string& label, const std::string& url,
                    const std::vector<Sentence>& sentences, Shared& shared) {
  store::DatabaseOptions db_options;  // Parley's defaults: a pool of 4 (PARLEY_DB_POOL_SIZE)
  auto opened = store::open_database(url, db_options);
  if (!opened) throw std::runtime_error("queue " + label + ": " + opened.error().message);
  store::Database& db = **opened;
  if (auto m = store::migrate(db); !m) throw std::runtime_error("migrate: " + m.error().message);
  core::SystemClock clock;
  translate::TranslationQueue queue(db, clock);  // Parley's default queue options
  QueueBench q{label, db, queue, 0, 0, texts_in(sentences, "en")};
  {
    auto lease = db.acquire();
    if (!lease) q.fail_on(lease.error(), "acquire");
    auto room = (*lease)->query(
        "INSERT INTO chatrooms (name, created_at, updated_at) VALUES ('bench', 0, 0) RETURNING id");
    if (!room) q.fail_on(room.error(), "room");
    q.room = *(*room)[0].get<std::int64_t>(std::size_t{0});
  }
  // Jobs per step: what the warm-up pass says this database does in ~4 s (1.5 s quick), within
  // [100, 2000] ([50, 300] quick), so that a slow disk does not make the run long. Enqueueing
  // also stops after step_time whatever the count.
  std::size_t jobs = o.quick ? 300 : 2000;
  const auto step_time = o.quick ? 3s : 8s;
  const std::string where = label;

  auto record = [&](const std::string& what, std::size_t threads, std::size_t n, double wall,
                    double cpu, const std::vector<double>& latency_ms, json::object extra,
                    const std::string& note) {
    json::object line{{"bench", "queue"},
                      {"database", label},
                      {"case", what},
                      {"threads", threads},
                      {"jobs", n},
                      {"seconds", wall},
                      {"per_second", static_cast<double>(n) / wall},
                      {"us_per_job", wall / static_cast<double>(n) * 1e6},
                      {"cpu_us_per_job", cpu / static_cast<double>(n) * 1e6}};
    if (!latency_ms.empty()) {
      line["latency_ms_p50"] = percentile(latency_ms, 0.5);
      line["latency_ms_p95"] = percentile(latency_ms, 0.95);
      line["latency_ms_p99"] = percentile(latency_ms, 0.99);
    }
    for (auto& [k, v] : extra) line[k] = v;
    emit(std::move(line));
    std::fprintf(
        stderr, "queue %-7s %-34s %zu thr: %6zu jobs, %7.0f/s, %7.0f us/job (CPU %.0f us)%s\n",
        label.c_str(), what.c_str(), threads, n, static_cast<double>(n) / wall,
        wall / static_cast<double>(n) * 1e6, cpu / static_cast<double>(n) * 1e6,
        latency_ms.empty() ? ""
                           : fmt(", latency p50 %.2f ms", percentile(latency_ms, 0.5)).c_str());
    const bool show_latency =
        !latency_ms.empty() && what.find("one job at a time") != std::string::npos;
    table.push_back({"queue " + where, what, std::to_string(threads), std::to_string(n),
                     show_latency ? "" : rate(static_cast<double>(n) / wall),
                     show_latency ? ms(percentile(latency_ms, 0.5)) : "",
                     show_latency ? ms(percentile(latency_ms, 0.95)) : "",
                     show_latency ? ms(percentile(latency_ms, 0.99)) : "", note});
  };

  auto worker_options = [&](std::size_t threads) {
    translate::QueueWorkerOptions w;  // Parley's defaults otherwise (lease 2 min, idle 200 ms)
    w.name = "bench";
    w.threads = threads;
    return w;
  };

  // 0. Not timed: one pass through the queue first, so that the SQLite WAL file has grown to
  //    its working size (a fresh file's first commits also extend it, which costs more on a
  //    disk) and PostgreSQL has planned its statements.
  {
    q.reset();
    auto warm = q.messages(o.quick ? 100 : 300);
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < warm.size(); ++i) {
      if (auto id = queue.enqueue(q.job_for(warm[i], i)); !id) q.fail_on(id.error(), "enqueue");
    }
    DoneCounter done;
    translate::QueueWorker worker(
        queue,
        [](const translate::Job& job) -> Result<translate::Translation> {
          return noop_translation(job);
        },
        [&](const translate::Job&, const translate::Translation&) { done.add(); },
        worker_options(2));
    if (!done.wait_for(warm.size(), 60s))
      std::fprintf(stderr, "queue %s: warm-up incomplete\n", label.c_str());
    const double warm_rate = static_cast<double>(done.value()) / seconds_since(t0);
    const double wanted = warm_rate * (o.quick ? 1.5 : 4.0);
    jobs = static_cast<std::size_t>(
        std::clamp(wanted, o.quick ? 50.0 : 100.0, o.quick ? 300.0 : 2000.0));
    std::fprintf(stderr,
                 "queue %s: warm-up %.0f jobs/s (enqueue, then 2 workers): %zu jobs per step\n",
                 label.c_str(), warm_rate, jobs);
  }
  // The disk under a SQLite file: how long a 4 KiB write + fdatasync takes right now (SQLite
  // syncs the WAL on every commit with synchronous=FULL, Parley's setting).
  std::string sync_note;
  if (url.rfind("sqlite:///", 0) == 0 && url.find(":memory:") == std::string::npos) {
    const std::string probe = url.substr(std::string("sqlite:///").size()) + ".sync-probe";
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      std::vector<double> sync_ms;
      const std::string block(4096, 'x');
      for (int i = 0; i < 50; ++i) {
        const auto a = Clock::now();
        if (::pwrite(fd, block.data(), block.size(), 0) < 0 || ::fdatasync(fd) != 0) break;
        sync_ms.push_back(ms_between(a, Clock::now()));
      }
      ::close(fd);
      ::unlink(probe.c_str());
      sync_note = fmt("; 4 KiB fdatasync here: p50 %.2f ms, p95 %.2f ms", percentile(sync_ms, 0.5),
                      percentile(sync_ms, 0.95));
      emit({{"bench", "queue"},
            {"database", label},
            {"case", "fdatasync probe"},
            {"fdatasync_ms_p50", percentile(sync_ms, 0.5)},
            {"fdatasync_ms_p95", percentile(sync_ms, 0.95)}});
      std::fprintf(stderr, "queue %s: 4 KiB write + fdatasync p50 %.3f ms, p95 %.3f ms\n",
                   label.c_str(), percentile(sync_ms, 0.5), percentile(sync_ms, 0.95));
    }
  }

  // 1. Enqueue only (one thread, as the chat path does per message and language).
  q.reset();
  auto ids = q.messages(jobs);
  std::size_t enqueued = 0;
  {
    std::vector<double> call_ms;
    const double cpu0 = process_cpu();
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < ids.size() && Clock::now() < t0 + step_time; ++i) {
      const auto a = Clock::now();
      auto id = queue.enqueue(q.job_for(ids[i], i));
      if (!id) q.fail_on(id.error(), "enqueue");
      call_ms.push_back(ms_between(a, Clock::now()));
      ++enqueued;
    }
    const double wall = seconds_since(t0);
    record("enqueue only", 1, enqueued, wall, process_cpu() - cpu0, {},
           {{"enqueue_ms_p50", percentile(call_ms, 0.5)},
            {"enqueue_ms_p95", percentile(call_ms, 0.95)}},
           fmt("%.0f us/enqueue", wall / static_cast<double>(enqueued) * 1e6) +
               fmt(" (p50 %.3f ms)", percentile(call_ms, 0.5)) + sync_note);
  }

  // 2. Draining that backlog: claim -> complete -> on_done -> mark_delivered, one worker thread.
  {
    DoneCounter done;
    const double cpu0 = process_cpu();
    const auto t0 = Clock::now();
    translate::QueueWorker worker(
        queue,
        [](const translate::Job& job) -> Result<translate::Translation> {
          return noop_translation(job);
        },
        [&](const translate::Job&, const translate::Translation&) { done.add(); },
        worker_options(1));
    const bool all = done.wait_for(enqueued, 120s);
    worker.stop();
    const double wall = seconds_since(t0);
    if (!all)
      std::fprintf(stderr, "queue %s drain: only %zu of %zu jobs in 120 s\n", label.c_str(),
                   done.value(), enqueued);
    record(
        "drain a backlog (no-op engine)", 1, done.value(), wall, process_cpu() - cpu0, {}, {},
        fmt("%.0f us/job: claim+complete+deliver", wall / static_cast<double>(done.value()) * 1e6));
    q.check_all_delivered("drain", enqueued);
  }

  // 3. End to end while enqueueing: a producer thread enqueues (and wakes the workers) as fast as
  //    it can; 1 and 2 worker threads; wall time from the first enqueue to the last delivery.
  auto end_to_end = [&](std::size_t threads, std::size_t n_jobs, const std::string& what,
                        const translate::TranslateFunction& translate_fn) {
    q.reset();
    auto message_ids = q.messages(n_jobs);
    std::map<std::int64_t, std::size_t> index_of;  // message id -> job index (read-only below)
    for (std::size_t i = 0; i < message_ids.size(); ++i) index_of[message_ids[i]] = i;
    std::vector<std::atomic<std::int64_t>> queued_at(n_jobs);
    std::vector<double> latency_ms(n_jobs, -1);
    std::mutex latency_mutex;
    DoneCounter done;
    const auto epoch = Clock::now();
    auto since_epoch_ns = [&] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - epoch).count();
    };
    const double cpu0 = process_cpu();
    const auto m0 = machine_sample();
    translate::QueueWorker worker(
        queue, translate_fn,
        [&](const translate::Job& job, const translate::Translation&) {
          const auto found = index_of.find(job.message_id.value_or(0));
          if (found != index_of.end()) {
            const std::size_t index = found->second;
            const double waited =
                static_cast<double>(since_epoch_ns() - queued_at[index].load()) / 1e6;
            std::lock_guard lock(latency_mutex);
            latency_ms[index] = waited;
          }
          done.add();
        },
        worker_options(threads));
    const auto t0 = Clock::now();
    std::size_t produced = 0;
    for (std::size_t i = 0; i < n_jobs && Clock::now() < t0 + step_time; ++i) {
      queued_at[i].store(since_epoch_ns());
      auto id = queue.enqueue(q.job_for(message_ids[i], i));
      if (!id) q.fail_on(id.error(), "enqueue");
      worker.wake();
      ++produced;
    }
    const bool all = done.wait_for(produced, 120s);
    worker.stop();
    const double wall = seconds_since(t0);
    const auto m1 = machine_sample();
    if (!all)
      std::fprintf(stderr, "queue %s %s: only %zu of %zu jobs in 120 s\n", label.c_str(),
                   what.c_str(), done.value(), produced);
    std::vector<double> latencies;
    for (double l : latency_ms) {
      if (l >= 0) latencies.push_back(l);
    }
    const double per_job_us = wall / static_cast<double>(done.value()) * 1e6;
    record(what, threads, done.value(), wall, process_cpu() - cpu0, latencies,
           {{"machine_busy_cores", busy_cores(m0, m1)},
            {"bench_process_cores", (process_cpu() - cpu0) / wall}},
           fmt("%.0f us/job", per_job_us) +
               fmt(", CPU %.0f us/job",
                   (process_cpu() - cpu0) / static_cast<double>(done.value()) * 1e6));
    q.check_all_delivered(what, produced);
    return std::make_pair(static_cast<double>(done.value()) / wall, per_job_us);
  };
  const translate::TranslateFunction noop =
      [](const translate::Job& job) -> Result<translate::Translation> {
    return noop_translation(job);
  };
  const auto e2e1 = end_to_end(1, jobs, "end to end (no-op engine)", noop);
  const auto e2e2 = end_to_end(2, jobs, "end to end (no-op engine)", noop);

  // 4. One job at a time: enqueue, wake, wait for on_done; the latency the queue adds to a
  //    translation when nothing else is queued.
  {
    const std::size_t n = o.quick ? 30 : 100;
    q.reset();
    auto message_ids = q.messages(n);
    DoneCounter done;
    std::vector<double> latency_ms;
    const double cpu0 = process_cpu();
    translate::QueueWorker worker(
        queue, noop, [&](const translate::Job&, const translate::Translation&) { done.add(); },
        worker_options(1));
    std::this_thread::sleep_for(20ms);  // the thread is idle (asleep in its poll) before each job
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      const auto a = Clock::now();
      auto id = queue.enqueue(q.job_for(message_ids[i], i));
      if (!id) q.fail_on(id.error(), "enqueue");
      worker.wake();
      if (!done.wait_for(i + 1, 10s)) {
        std::fprintf(stderr, "queue %s: a single job took over 10 s\n", label.c_str());
        break;
      }
      latency_ms.push_back(ms_between(a, Clock::now()));
      std::this_thread::sleep_for(2ms);  // let mark_delivered finish: measure an idle queue
    }
    const double wall = seconds_since(t0);
    worker.stop();
    record("one job at a time (no-op engine)", 1, latency_ms.size(), wall, process_cpu() - cpu0,
           latency_ms, {}, "enqueue -> on_done latency");
  }

  // 5. What one claim costs with B jobs waiting: claim() selects every due job and sorts them
  //    by created_at to take the oldest, so its cost may grow with the backlog (a burst, or an
  //    engine that was down). The backlog is inserted directly in one statement (set-up, not
  //    timed); then 50 claims of one job each, as QueueWorker makes them.
  for (const std::int64_t backlog :
       o.quick ? std::vector<std::int64_t>{0, 5000} : std::vector<std::int64_t>{0, 1000, 10000}) {
    q.reset();
    constexpr int kClaims = 50;
    {
      auto lease = db.acquire();
      if (!lease) q.fail_on(lease.error(), "acquire");
      auto inserted = (*lease)->execute(
          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) "
          "INSERT INTO translation_jobs (text, target_language, source_language, state, "
          "attempts, max_attempts, run_after, created_at, updated_at) "
          "SELECT 'Are you coming to the meeting?', 'es', 'en', 'queued', 0, 5, 0, $2 + i, $2 + i "
          "FROM n",
          {backlog + kClaims, clock.now_ms() - 3'600'000});
      if (!inserted) q.fail_on(inserted.error(), "backlog");
    }
    std::vector<double> claim_ms;
    const double cpu0 = process_cpu();
    const auto t0 = Clock::now();
    for (int i = 0; i < kClaims; ++i) {
      const auto a = Clock::now();
      auto claimed = queue.claim("bench/claims", 1, 120s);
      if (!claimed) q.fail_on(claimed.error(), "claim");
      if (claimed->size() != 1)
        throw std::runtime_error("queue " + label + ": a claim found no job");
      claim_ms.push_back(ms_between(a, Clock::now()));
    }
    const double wall = seconds_since(t0);
    const double cpu_us = (process_cpu() - cpu0) / kClaims * 1e6;
    const std::string what = "claim, " + std::to_string(backlog) + " more queued";
    emit({{"bench", "queue"},
          {"database", label},
          {"case", "claim with a backlog"},
          {"backlog", backlog},
          {"claims", kClaims},
          {"claim_ms_p50", percentile(claim_ms, 0.5)},
          {"claim_ms_p95", percentile(claim_ms, 0.95)},
          {"cpu_us_per_claim", cpu_us},
          {"seconds", wall}});
    std::fprintf(stderr, "queue %-7s %-34s: p50 %.3f ms, p95 %.3f ms, CPU %.0f us per claim\n",
                 label.c_str(), what.c_str(), percentile(claim_ms, 0.5), percentile(claim_ms, 0.95),
                 cpu_us);
    table.push_back({"queue " + where, what, "1", std::to_string(kClaims), "",
                     ms(percentile(claim_ms, 0.5)), ms(percentile(claim_ms, 0.95)),
                     ms(percentile(claim_ms, 0.99)),
                     fmt("CPU %.0f us/claim (this process)", cpu_us)});
  }

  // 6. The same end to end pipeline with Apertium en->es doing the translating.
  if (shared.apertium) {
    translate::ApertiumTranslator& apertium = *shared.apertium;
    const translate::TranslateFunction with_apertium = [&apertium](const translate::Job& job) {
      return apertium.translate(job.text, job.source.value_or("en"), job.target);
    };
    const std::size_t n = std::min<std::size_t>(jobs, o.quick ? 150 : 600);
    for (std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
      end_to_end(threads, n, "end to end with Apertium en->es", with_apertium);
    }
  }

  // The comparison the issue asks for.
  if (shared.apertium_en_es_p50_ms > 0) {
    const double fraction = e2e1.second / 1000.0 / shared.apertium_en_es_p50_ms;
    std::fprintf(
        stderr,
        "queue %s: overhead %.0f us/job (1 worker) = %.2f x an Apertium en->es translation "
        "(p50 %.2f ms); 2 workers %.0f us/job\n",
        label.c_str(), e2e1.second, fraction, shared.apertium_en_es_p50_ms, e2e2.second);
    emit({{"bench", "queue"},
          {"database", label},
          {"case", "overhead vs apertium"},
          {"queue_us_per_job_1_worker", e2e1.second},
          {"queue_us_per_job_2_workers", e2e2.second},
          {"apertium_en_es_ms_p50", shared.apertium_en_es_p50_ms},
          {"overhead_fraction_of_apertium", fraction}});
    table.push_back({"queue " + where, "overhead vs Apertium en->es", "1", "", "", "", "", "",
                     fmt("%.0f us/job (1 worker) = %.2f x one translation (p50 %.2f ms)",
                         e2e1.second, fraction, shared.apertium_en_es_p50_ms)});
  }
  q.reset();
}

void bench_queue(const Options& o, const std::vector<Sentence>& sentences, Shared& shared) {
  if (o.databases.empty()) {
    std::fprintf(stderr, "queue: skipped (no --db, no PARLEY_TEST_POSTGRES_URL)\n");
    return;
  }
  for (const auto& [label, url] : o.databases) bench_queue_on(o, label, url, sentences, shared);
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
      if (arg == "--sentences") {
        o.sentences = value();
      } else if (arg == "--modes-dir") {
        o.modes_dir = value();
      } else if (arg == "--openai-url") {
        o.openai_url = value();
      } else if (arg == "--openai-pid") {
        o.openai_pid = std::stol(value());
      } else if (arg == "--openai-latency-ms") {
        o.openai_latency_ms = std::stoi(value());
      } else if (arg == "--db") {
        const std::string v = value();
        const auto eq = v.find('=');
        if (eq == std::string::npos) throw std::runtime_error("--db wants LABEL=URL");
        o.databases.emplace_back(v.substr(0, eq), v.substr(eq + 1));
      } else if (arg == "--only") {
        const auto parts = split(value(), ',');
        o.only = std::set<std::string>(parts.begin(), parts.end());
      } else if (arg == "--quick") {
        o.quick = true;
      } else if (arg == "--jsonl") {
        jsonl.open(value());
        if (!jsonl) throw std::runtime_error("cannot write the --jsonl file");
      } else {
        std::cerr << "usage: parley-translation-bench [--sentences FILE] [--quick] [--only "
                     "langid,apertium,openai,queue] [--modes-dir DIR] [--openai-url URL "
                     "[--openai-pid PID] [--openai-latency-ms 300]] [--db LABEL=URL ...] "
                     "[--jsonl FILE]\n";
        return arg == "--help" ? 0 : 2;
      }
    }
    if (const char* pg = std::getenv("PARLEY_TEST_POSTGRES_URL"); pg != nullptr && *pg != '\0') {
      o.databases.emplace_back("postgres", pg);
    }
    const auto sentences = read_sentences(o.sentences);
    Shared shared;
    if (o.only.contains("langid")) bench_langid(o, sentences);
    if (o.only.contains("apertium")) bench_apertium(o, sentences, shared);
    if (o.only.contains("openai")) bench_openai(o, sentences);
    if (o.only.contains("queue")) bench_queue(o, sentences, shared);
    print_table();
  } catch (const std::exception& e) {
    std::cerr << "parley-translation-bench: " << e.what() << '\n';
    if (!table.empty()) print_table();
    return 1;
  }
  return 0;
}
