#include "translate/apertium/apertium_translator.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <set>
#include <system_error>

#include "translate/apertium/apertium_text.hpp"
#include "translate/apertium/pipeline_process.hpp"

namespace parley::translate {
namespace {

namespace fs = std::filesystem;

// Lower-case primary subtag of a language tag ("es-ES" → "es"); "" when it is none.
std::string primary_subtag(std::string_view tag) {
  const std::string_view primary = tag.substr(0, tag.find_first_of("-_"));
  if (primary.size() < 2 || primary.size() > 3) return {};
  std::string code;
  for (const char c : primary) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return {};
    code.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return code;
}

// "eng-spa" → ("eng", "spa"); nullopt for variants ("eng-cat_valencia") and anything else.
std::optional<std::pair<std::string, std::string>> split_mode_name(std::string_view name) {
  const auto dash = name.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view from = name.substr(0, dash);
  const std::string_view to = name.substr(dash + 1);
  const auto is_code = [](std::string_view code) {
    return code.size() >= 2 && code.size() <= 3 &&
           std::all_of(code.begin(), code.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  };
  if (!is_code(from) || !is_code(to)) return std::nullopt;
  return std::make_pair(std::string(from), std::string(to));
}

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

struct ApertiumTranslator::Slot {
  std::string mode_name;  // "eng-spa": named in errors and logs
  std::string mode_path;
  std::mutex mutex;  // one request at a time per pipeline; guards `pipeline`
  std::unique_ptr<apertium::PipelineProcess> pipeline;
  std::atomic<std::int64_t> last_used{0};
};

ApertiumTranslator::ApertiumTranslator(ApertiumOptions options) : options_(std::move(options)) {
  for (auto& language : options_.pivot_preference) language = primary_subtag(language);
  std::error_code error;
  std::vector<fs::path> modes;
  for (fs::directory_iterator it(options_.modes_dir, error), end; !error && it != end;
       it.increment(error)) {
    if (it->path().extension() == ".mode") modes.push_back(it->path());
  }
  std::sort(modes.begin(), modes.end());  // the same choice on every start when codes collide
  for (const auto& path : modes) {
    const std::string name = path.stem().string();
    const auto codes = split_mode_name(name);
    if (!codes) continue;
    std::string source = apertium::iso_from_apertium_code(codes->first);
    std::string target = apertium::iso_from_apertium_code(codes->second);
    if (source.empty() || target.empty() || source == target) continue;
    PairKey key{std::move(source), std::move(target)};
    if (slots_.contains(key)) continue;
    auto slot = std::make_unique<Slot>();
    slot->mode_name = name;
    slot->mode_path = path.string();
    slots_.emplace(std::move(key), std::move(slot));
  }
}

ApertiumTranslator::~ApertiumTranslator() = default;

std::vector<std::pair<std::string, std::string>> ApertiumTranslator::pairs() const {
  std::vector<std::pair<std::string, std::string>> result;
  result.reserve(slots_.size());
  for (const auto& [key, slot] : slots_) result.push_back(key);
  return result;
}

ApertiumTranslator::Slot* ApertiumTranslator::find_slot(const std::string& source,
                                                        const std::string& target) const {
  const auto it = slots_.find(PairKey{source, target});
  return it == slots_.end() ? nullptr : it->second.get();
}

std::optional<std::vector<std::string>> ApertiumTranslator::route(std::string_view source,
                                                                  std::string_view target) const {
  const std::string from = primary_subtag(source);
  const std::string to = primary_subtag(target);
  if (from.empty() || to.empty() || from == to) return std::nullopt;
  if (find_slot(from, to) != nullptr) return std::vector<std::string>{};
  std::set<std::string> bridges;
  for (const auto& [key, slot] : slots_) {
    if (key.first == from && key.second != to && find_slot(key.second, to) != nullptr) {
      bridges.insert(key.second);
    }
  }
  if (bridges.empty()) return std::nullopt;
  for (const auto& preferred : options_.pivot_preference) {
    if (bridges.contains(preferred)) return std::vector<std::string>{preferred};
  }
  return std::vector<std::string>{*bridges.begin()};
}

bool ApertiumTranslator::supports(std::string_view source, std::string_view target) const {
  return route(source, target).has_value();
}

void ApertiumTranslator::stop(Slot& slot) {
  if (slot.pipeline) {
    slot.pipeline.reset();  // kills and reaps
    --running_;
  }
}

Result<void> ApertiumTranslator::ensure_running(Slot& slot) {
  if (slot.pipeline && !slot.pipeline->is_usable()) stop(slot);
  if (slot.pipeline) return {};
  {
    const std::lock_guard lifecycle(lifecycle_);
    if (running_.load() >= options_.max_pipelines) {
      // Make room: stop the least recently used pipeline that is idle right now.
      std::vector<Slot*> others;
      for (const auto& [key, other] : slots_) {
        if (other.get() != &slot) others.push_back(other.get());
      }
      std::sort(others.begin(), others.end(), [](const Slot* a, const Slot* b) {
        return a->last_used.load() < b->last_used.load();
      });
      for (Slot* other : others) {
        if (running_.load() < options_.max_pipelines) break;
        const std::unique_lock other_lock(other->mutex, std::try_to_lock);
        if (other_lock.owns_lock()) stop(*other);
      }
      if (running_.load() >= options_.max_pipelines) {
        return Error(Errc::busy, "every translation pipeline is busy; try again shortly",
                     std::chrono::milliseconds{200});
      }
    }
    ++running_;  // reserved before the (slow) start, so concurrent starts respect the bound
  }
  auto spawned = apertium::PipelineProcess::spawn(slot.mode_path);
  if (!spawned) {
    --running_;
    return spawned.error();
  }
  slot.pipeline = std::move(*spawned);
  // The first sentence waits for every stage to load its dictionaries.
  const std::string probe = apertium::escape_for_apertium("ok") + std::string("\n\0", 2);
  auto answered = slot.pipeline->round_trip(probe, options_.start_timeout);
  if (!answered) {
    stop(slot);
    return Error(answered.error().code, "the Apertium " + slot.mode_name +
                                            " pipeline did not start (" + answered.error().message +
                                            ")");
  }
  slot.last_used = ++use_clock_;  // a fresh pipeline is not the first to evict
  return {};
}

Result<std::string> ApertiumTranslator::run(Slot& slot, std::string_view text) {
  const std::lock_guard lock(slot.mutex);
  auto running = ensure_running(slot);
  if (!running) return running.error();
  slot.last_used = ++use_clock_;
  // "\n" before the NUL: lt-proc -b stalls when the NUL directly follows a word's '$'.
  std::string payload = apertium::escape_for_apertium(text);
  payload += '\n';
  payload += '\0';
  auto output = slot.pipeline->round_trip(payload, options_.request_timeout);
  if (!output) {
    stop(slot);  // the next request starts a fresh pipeline
    return Error(output.error().code, "Apertium " + slot.mode_name + ": " + output.error().message);
  }
  if (!slot.pipeline->is_usable()) stop(slot);  // answered, but out of step: restart next time
  std::string& raw = *output;
  if (!raw.empty() && raw.back() == '\n') raw.pop_back();  // the "\n" added above
  return apertium::unescape_apertium_output(raw);
}

Result<void> ApertiumTranslator::start(std::string_view source, std::string_view target) {
  Slot* slot = find_slot(primary_subtag(source), primary_subtag(target));
  if (slot == nullptr) {
    return fail(Errc::unsupported, "no Apertium pair is installed for " + std::string(source) +
                                       " → " + std::string(target));
  }
  const std::lock_guard lock(slot->mutex);
  return ensure_running(*slot);
}

Result<Translation> ApertiumTranslator::translate(std::string_view text, std::string_view source,
                                                  std::string_view target) {
  if (is_blank(text)) return fail(Errc::validation_failed, "the text to translate is empty");
  if (text.size() > kMaxTranslationBytes) {
    return fail(Errc::validation_failed, "the text to translate is longer than " +
                                             std::to_string(kMaxTranslationBytes) + " bytes");
  }
  if (!apertium::is_valid_utf8(text)) {
    return fail(Errc::validation_failed, "the text to translate is not valid UTF-8");
  }
  const std::string from = primary_subtag(source);
  const std::string to = primary_subtag(target);
  if (from.empty() || to.empty()) {
    return fail(Errc::validation_failed, "source and target must be language codes");
  }
  if (from == to) {
    return fail(Errc::validation_failed, "source and target languages are the same");
  }
  const auto via = route(from, to);
  if (!via) {
    return fail(Errc::unsupported, "Apertium cannot translate " + from + " → " + to);
  }
  std::vector<Slot*> hops;
  std::string hop_source = from;
  for (const auto& middle : *via) {
    hops.push_back(find_slot(hop_source, middle));
    hop_source = middle;
  }
  hops.push_back(find_slot(hop_source, to));

  std::string current(text);
  for (Slot* hop : hops) {
    auto translated = run(*hop, current);
    if (!translated) return translated.error();
    current = std::move(*translated);
  }
  Translation result;
  result.text = std::move(current);
  result.source = from;
  result.target = to;
  result.engine = "apertium";
  result.via = *via;
  return result;
}

std::optional<pid_t> ApertiumTranslator::pipeline_process_group_for_testing(
    std::string_view source, std::string_view target) const {
  Slot* slot = find_slot(primary_subtag(source), primary_subtag(target));
  if (slot == nullptr) return std::nullopt;
  const std::lock_guard lock(slot->mutex);
  if (!slot->pipeline) return std::nullopt;
  return slot->pipeline->process_group();
}

}  // namespace parley::translate
