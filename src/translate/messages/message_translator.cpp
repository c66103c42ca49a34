#include "translate/messages/message_translator.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <cctype>

namespace parley::translate {

namespace {

// Undelivered results handed over per round at start-up.
constexpr std::size_t kRedeliveryBatch = 100;

// Characters as people count them (UTF-8 code points), the unit of the daily quota.
std::int64_t characters(std::string_view text) {
  std::int64_t count = 0;
  for (const char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) ++count;
  }
  return count;
}

}  // namespace

Result<void> MessageTranslator::charge(std::optional<std::int64_t> payer, const Translator& engine,
                                       std::string_view text) {
  if (options_.quotas == nullptr || !payer) return {};
  if (engine.name() != "apertium") {
    if (auto allowed = options_.quotas->require(*payer, core::Entitlement::cloud_engines);
        !allowed) {
      return allowed.error();
    }
  }
  return options_.quotas->consume(*payer, core::Metered::translated_chars, characters(text));
}

void MessageTranslator::refund(std::optional<std::int64_t> payer, std::string_view text) noexcept {
  if (options_.quotas == nullptr || !payer) return;
  options_.quotas->refund(*payer, core::Metered::translated_chars, characters(text));
}

boost::json::object to_json(const Translation& translation) {
  boost::json::array via;
  for (const auto& language : translation.via) via.emplace_back(language);
  return boost::json::object{{"language", translation.target},
                             {"text", translation.text},
                             {"source", translation.source},
                             {"engine", translation.engine},
                             {"via", std::move(via)}};
}

std::string listener_language(std::string_view tag) {
  std::string code = normalize_language_tag(tag);
  if (!code.empty()) return code;
  std::string lowered(tag);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

MessageTranslator::MessageTranslator(TranslationEngines& engines, TranslationQueue& queue,
                                     TranslationCache& cache, MessageTranslations& stored,
                                     MessageTranslatorOptions options)
    : engines_(engines),
      queue_(queue),
      cache_(cache),
      stored_(stored),
      options_(std::move(options)) {}

MessageTranslator::~MessageTranslator() { stop(); }

void MessageTranslator::log_warning(std::string_view event, boost::json::object fields) const {
  if (options_.logger != nullptr) options_.logger->warning(event, std::move(fields));
}

void MessageTranslator::set_paused(bool paused) {
  paused_.store(paused);
  if (worker_) worker_->set_paused(paused);
}

Result<void> MessageTranslator::start(TranslationSink& sink) {
  if (worker_) return fail(Errc::conflict, "the translator is already running");
  sink_ = &sink;
  // Results a crashed process finished but never delivered: deliver them now (to whoever is
  // listening) so that they are settled and catch-up reads include them.
  for (;;) {
    auto finished = queue_.undelivered(kRedeliveryBatch);
    if (!finished) return finished.error();
    if (finished->empty()) break;
    std::size_t settled = 0;
    for (const auto& item : *finished) {
      if (item.job.message_id && item.job.room_id) {
        sink.translation_ready({*item.job.message_id, *item.job.room_id}, item.result,
                               [this, id = item.job.id] { (void)queue_.mark_delivered(id); });
      } else {
        (void)queue_.mark_delivered(item.job.id);
      }
      auto record = queue_.find(item.job.id);
      if (record && *record && (*record)->delivered_at) ++settled;
    }
    if (settled == 0)
      return fail(Errc::unavailable, "finished translations cannot be marked delivered");
  }
  QueueWorkerOptions worker;
  worker.name = options_.worker_name;
  worker.threads = options_.threads;
  worker.lease = options_.lease;
  worker.logger = options_.logger;
  worker.mark_delivered = false;  // the sink settles each result after delivering it
  worker_ = std::make_unique<QueueWorker>(
      queue_, [this](const Job& job) { return run_job(job); },
      [this](const Job& job, const Translation& translation) { job_done(job, translation); },
      std::move(worker), [this](const Job& job, const Error& error) { job_dead(job, error); });
  if (paused_.load()) worker_->set_paused(true);
  return {};
}

void MessageTranslator::stop() {
  if (worker_) worker_->stop();
}

std::string MessageTranslator::detect(std::string_view text, std::string_view declared) const {
  const std::string hint = declared.empty() ? std::string() : listener_language(declared);
  auto found = engines_.detector().detect(text, hint);
  if (found.language == "und" && !hint.empty()) return hint;
  return found.language;
}

std::map<std::string, TargetPreview> MessageTranslator::preview(
    std::string_view text, std::string_view source, const std::set<std::string>& targets,
    std::int64_t room_id) const {
  std::map<std::string, TargetPreview> out;
  const bool glossary = glossary_applies(room_id, text);
  for (const auto& target : targets) {
    if (target == source) continue;
    TargetPreview item;
    if (auto engine = engines_.translator_for(source, target); !engine) {
      item.state = TargetPreview::State::refused;
      item.error = engine.error();
    } else if (auto cached =
                   glossary ? std::nullopt : cache_.find_in_memory(text, source, target)) {
      item.state = TargetPreview::State::ready;
      item.translation = std::move(*cached);
    }
    out.emplace(target, std::move(item));
  }
  return out;
}

Result<void> MessageTranslator::translate_message(const MessageRef& message, std::string_view text,
                                                  std::string_view source,
                                                  const std::set<std::string>& targets,
                                                  const std::set<std::string>& announced,
                                                  std::optional<std::int64_t> payer,
                                                  std::string_view request_id) {
  bool queued = false;
  // The room's glossary may fix some of its terms: no cached translation then (a job applies it).
  const bool glossary = glossary_applies(message.room_id, text);
  for (const auto& target : targets) {
    if (target == source) continue;
    auto engine = engines_.translator_for(source, target);
    if (!engine) continue;
    auto cached = glossary ? Result<std::optional<Translation>>(std::nullopt)
                           : cache_.find(text, source, target);
    if (!cached) return cached.error();
    if (*cached) {
      Translation translation = std::move(**cached);
      translation.source = std::string(source);
      translation.target = target;
      if (announced.count(target) != 0) {
        // The listeners got it with the message: keep it for history.
        if (auto put = stored_.put(message.message_id, translation); !put) return put.error();
        continue;
      }
      if (sink_ == nullptr) return fail(Errc::unavailable, "the translator is not running");
      Result<bool> put = false;
      // Stored inside the sink's delivery, so that it is settled exactly when delivered.
      sink_->translation_ready(message, translation,
                               [&] { put = stored_.put(message.message_id, translation); });
      if (!put) return put.error();
      continue;
    }
    // Already queued (a retried message delivered again): neither queued nor paid twice.
    auto existing = queue_.job_for(message.message_id, target);
    if (!existing) return existing.error();
    if (*existing) continue;
    if (auto charged = charge(payer, **engine, text); !charged) {
      if (charged.error().code != Errc::quota_exceeded) return charged.error();
      if (sink_ != nullptr) sink_->translation_failed(message, target, charged.error());
      continue;
    }
    NewJob job;
    job.message_id = message.message_id;
    job.room_id = message.room_id;
    job.text = std::string(text);
    job.source = std::string(source);
    job.target = target;
    if (!request_id.empty()) job.request_id = std::string(request_id);
    if (auto id = queue_.enqueue(job); !id) {
      refund(payer, text);
      // Corrected meanwhile: the correction translates it from its new language.
      if (id.error().code == Errc::conflict) return {};
      return id.error();
    }
    queued = true;
  }
  if (queued && worker_) worker_->wake();
  return {};
}

Result<RequestOutcome> MessageTranslator::request(const MessageRef& message, std::string_view text,
                                                  std::string_view source, std::string_view target,
                                                  std::optional<std::int64_t> payer,
                                                  std::string_view request_id) {
  if (target == source) {
    return fail(Errc::validation_failed, "the message is already in '" + std::string(target) + "'");
  }
  auto engine = engines_.translator_for(source, target);
  if (!engine) return engine.error();
  const std::int64_t ids[] = {message.message_id};
  auto settled = stored_.find_settled(ids, target);
  if (!settled) return settled.error();
  if (!settled->empty()) return RequestOutcome{std::move(settled->front()), false};
  // Paid for only when this request makes the translation (not when the room's job runs).
  auto existing = queue_.job_for(message.message_id, target);
  if (!existing) return existing.error();
  if (!*existing) {
    if (auto charged = charge(payer, **engine, text); !charged) return charged.error();
  } else {
    payer.reset();  // nothing to refund below
  }

  NewJob job;
  job.message_id = message.message_id;
  job.room_id = message.room_id;
  job.text = std::string(text);
  job.source = std::string(source);
  job.target = std::string(target);
  if (!request_id.empty()) job.request_id = std::string(request_id);
  auto id = queue_.enqueue(job);
  if (!id) {
    refund(payer, text);
    return id.error();
  }
  auto record = queue_.find(*id);
  if (!record) return record.error();
  if (*record && (*record)->state == JobState::dead) {
    refund(payer, text);
    const auto code = parse_code((*record)->last_error_code.value_or("internal"));
    return fail(code.value_or(Errc::internal),
                (*record)->last_error.value_or("the translation failed"));
  }
  if (worker_) worker_->wake();
  return RequestOutcome{std::nullopt, true};
}

Result<Translation> MessageTranslator::translate_text(std::string_view text,
                                                      std::string_view source,
                                                      std::string_view target,
                                                      std::optional<std::int64_t> payer) {
  auto engine = engines_.translator_for(source, target);
  if (!engine) return engine.error();
  auto cached = cache_.find(text, source, target);
  if (cached && *cached) return std::move(**cached);
  if (auto charged = charge(payer, **engine, text); !charged) return charged.error();
  auto translation = (*engine)->translate(text, source, target);
  if (!translation) {
    refund(payer, text);
    return translation.error();
  }
  if (translation->source.empty()) translation->source = std::string(source);
  if (translation->target.empty()) translation->target = std::string(target);
  if (auto put = cache_.put(text, *translation); !put) {
    log_warning("translation_cache_put_failed", {{"error", put.error().message}});
  }
  return translation;
}

Result<std::vector<MessageTranslation>> MessageTranslator::settled(
    std::span<const std::int64_t> message_ids, std::string_view language) {
  return stored_.find_settled(message_ids, language);
}

Result<Translation> MessageTranslator::run_job(const Job& job) {
  const std::string source = job.source ? *job.source : detect(job.text, {});
  if (source == "und") {
    return fail(Errc::validation_failed, "the language of the text could not be detected");
  }
  std::vector<GlossaryEntry> entries;
  if (options_.glossary != nullptr && job.room_id) {
    auto terms = options_.glossary->terms(*job.room_id);
    if (!terms) return terms.error();
    entries = glossary_entries(*terms, job.text, job.target);
  }
  if (entries.empty()) return translate_text(job.text, source, job.target);
  // Fixed by the room's glossary: made for this room, so neither read from nor kept in the cache.
  auto engine = engines_.translator_for(source, job.target);
  if (!engine) return engine.error();
  auto translation = translate_honouring(**engine, job.text, source, job.target, entries);
  if (!translation) return translation.error();
  if (translation->source.empty()) translation->source = source;
  if (translation->target.empty()) translation->target = job.target;
  return translation;
}

bool MessageTranslator::glossary_applies(std::int64_t room_id, std::string_view text) const {
  return options_.glossary != nullptr && room_id != 0 &&
         options_.glossary->may_apply(room_id, text);
}

void MessageTranslator::job_done(const Job& job, const Translation& translation) {
  if (!job.message_id || !job.room_id || sink_ == nullptr) {
    (void)queue_.mark_delivered(job.id);
    return;
  }
  sink_->translation_ready({*job.message_id, *job.room_id}, translation, [this, id = job.id] {
    if (auto marked = queue_.mark_delivered(id); !marked) {
      log_warning("translation_mark_delivered_failed",
                  {{"job", id}, {"error", marked.error().message}});
    }
  });
}

void MessageTranslator::job_dead(const Job& job, const Error& error) {
  boost::json::object fields{{"job", job.id},
                             {"target", job.target},
                             {"code", to_code(error.code)},
                             {"error", error.message}};
  if (job.request_id) fields["request_id"] = *job.request_id;
  log_warning("translation_dead_lettered", std::move(fields));
  if (job.message_id && job.room_id && sink_ != nullptr) {
    sink_->translation_failed({*job.message_id, *job.room_id}, job.target, error);
  }
}

}  // namespace parley::translate
